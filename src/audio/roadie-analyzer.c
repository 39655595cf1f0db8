/* roadie-analyzer.c: being written. */
#include "config.h"

#include "roadie-analyzer.h"
