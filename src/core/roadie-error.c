/* roadie-error.c: the Roadie error domain. */
#include "config.h"

#include "roadie-error.h"

G_DEFINE_QUARK (roadie-error-quark, roadie_error)
