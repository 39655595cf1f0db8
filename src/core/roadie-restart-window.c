/* roadie-restart-window.c: stub, being written. */
#include "config.h"

#include "roadie-restart-window.h"
