/* roadie-ws-profile.c: being written. */
#include "config.h"

#include "roadie-ws-profile.h"
