/* roadie-ws-client.c: being written. */
#include "config.h"

#include "roadie-ws-client.h"
