/* roadie-output-reader.c: stub, being written. */
#include "config.h"

#include "roadie-output-reader.h"
