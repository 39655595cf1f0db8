/* roadie-error.h: the Roadie error domain.
 *
 * Every error a DJ may see comes from here, with a message that says what
 * to do about it, not just what went wrong.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define ROADIE_ERROR (roadie_error_quark ())

typedef enum
{
  ROADIE_ERROR_FAILED,
  ROADIE_ERROR_EXECUTABLE_MISSING,
  ROADIE_ERROR_EXECUTABLE_NOT_EXECUTABLE,
  ROADIE_ERROR_EXECUTABLE_NOT_REGULAR,
  ROADIE_ERROR_WORKING_DIR_MISSING,
  ROADIE_ERROR_PORT_IN_USE,
  ROADIE_ERROR_HELPER_MISSING,
  ROADIE_ERROR_SPAWN_FAILED,
  ROADIE_ERROR_STARTUP_TIMEOUT,
  ROADIE_ERROR_NOT_OWNED,
  ROADIE_ERROR_INVALID_SETTING,
  ROADIE_ERROR_LOG_UNWRITABLE,
  ROADIE_ERROR_TOKEN,
} RoadieError;

GQuark roadie_error_quark (void);

G_END_DECLS
