/* roadie-analysis-frame.c: being written. */
#include "config.h"

#include "roadie-analysis-frame.h"
