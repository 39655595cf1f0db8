/* roadie-control-token.c: stub, being written. */
#include "config.h"

#include "roadie-control-token.h"
