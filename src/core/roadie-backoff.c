/* roadie-backoff.c: stub, being written. */
#include "config.h"

#include "roadie-backoff.h"
