#include "config.h"

#include "roadie-engine-server.h"
