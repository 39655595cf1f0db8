/* roadie-settings.c: stub, being written. */
#include "config.h"

#include "roadie-settings.h"
