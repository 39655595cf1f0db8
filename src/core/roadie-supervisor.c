/* roadie-supervisor.c: stub, being written. */
#include "config.h"

#include "roadie-supervisor.h"
