/* roadie-ws-probe.c: stub, being written. */
#include "config.h"

#include "roadie-ws-probe.h"
