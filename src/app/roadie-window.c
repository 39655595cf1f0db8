#include "config.h"

#include "roadie-window.h"
