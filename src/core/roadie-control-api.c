/* roadie-control-api.c: stub, being written. */
#include "config.h"

#include "roadie-control-api.h"
