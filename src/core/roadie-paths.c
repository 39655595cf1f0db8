/* roadie-paths.c: stub, being written. */
#include "config.h"

#include "roadie-paths.h"
