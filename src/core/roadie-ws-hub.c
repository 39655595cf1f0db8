/* roadie-ws-hub.c: being written. */
#include "config.h"

#include "roadie-ws-hub.h"
