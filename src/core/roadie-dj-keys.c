/* roadie-dj-keys.c: being written. */
#include "config.h"

#include "roadie-dj-keys.h"
