/* roadie-port.c: stub, being written. */
#include "config.h"

#include "roadie-port.h"
