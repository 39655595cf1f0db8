/* roadie-application.h: the single-instance Roadie application.
 *
 * Owns the settings, the supervisor and the control API; shows the window,
 * or with --headless runs without one until SIGTERM/SIGINT.
 */
#pragma once

#include <adwaita.h>

#include "roadie-supervisor.h"

G_BEGIN_DECLS

#define ROADIE_TYPE_APPLICATION (roadie_application_get_type ())

G_DECLARE_FINAL_TYPE (RoadieApplication, roadie_application, ROADIE, APPLICATION, AdwApplication)

RoadieApplication *roadie_application_new            (gboolean           headless);
RoadieSupervisor  *roadie_application_get_supervisor (RoadieApplication *self);

G_END_DECLS
