/* roadie-window.h: the main window: Start/Stop, Restart, the status, the
 * live view, the connections and the log. */
#pragma once

#include <adwaita.h>

#include "roadie-engine-link.h"
#include "roadie-supervisor.h"

G_BEGIN_DECLS

#define ROADIE_TYPE_WINDOW (roadie_window_get_type ())

G_DECLARE_FINAL_TYPE (RoadieWindow, roadie_window, ROADIE, WINDOW, AdwApplicationWindow)

RoadieWindow *roadie_window_new (GtkApplication   *application,
                                 RoadieSupervisor *supervisor);

/* Why the control API is not running, or NULL; shown as a warning row.
 * Also the "control-api-problem" property. */
void          roadie_window_set_control_api_problem (RoadieWindow *self,
                                                     const char   *message);
/* The link that feeds the live view and the connections page; NULL: none. */
void          roadie_window_set_engine_link         (RoadieWindow     *self,
                                                     RoadieEngineLink *link);

G_END_DECLS
