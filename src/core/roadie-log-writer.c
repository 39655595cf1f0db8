/* roadie-log-writer.c: stub, being written. */
#include "config.h"

#include "roadie-log-writer.h"
