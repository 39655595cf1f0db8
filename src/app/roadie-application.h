/* roadie-application.h: the single-instance Roadie application.
 *
 * Owns the RoadieService (settings, supervisor, control API) and shows the
 * window. `roadie --headless` does not use it: see roadie-headless.h.
 */
#pragma once

#include <adwaita.h>

#include "roadie-notifier.h"
#include "roadie-service.h"
#include "roadie-supervisor.h"

G_BEGIN_DECLS

#define ROADIE_TYPE_APPLICATION (roadie_application_get_type ())

G_DECLARE_FINAL_TYPE (RoadieApplication, roadie_application, ROADIE, APPLICATION, AdwApplication)

RoadieApplication *roadie_application_new            (void);
/* NULL before startup. */
RoadieService     *roadie_application_get_service    (RoadieApplication *self);
RoadieSupervisor  *roadie_application_get_supervisor (RoadieApplication *self);
RoadieNotifier    *roadie_application_get_notifier   (RoadieApplication *self);

G_END_DECLS
