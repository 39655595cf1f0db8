#include "config.h"

#include "roadie-application.h"
