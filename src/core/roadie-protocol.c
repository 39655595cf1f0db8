/* roadie-protocol.c: being written. */
#include "config.h"

#include "roadie-protocol.h"
