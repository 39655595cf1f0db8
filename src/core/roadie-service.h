/* roadie-service.h: what Roadie runs, with or without a window.
 *
 * RoadieService owns the settings of this run, the supervisor, the control
 * API token and the control API itself. The window application and
 * `roadie --headless` both own exactly one; neither needs GTK for it.
 */
#pragma once

#include "roadie-control-api.h"
#include "roadie-settings.h"
#include "roadie-supervisor.h"

G_BEGIN_DECLS

#define ROADIE_TYPE_SERVICE (roadie_service_get_type ())

G_DECLARE_FINAL_TYPE (RoadieService, roadie_service, ROADIE, SERVICE, GObject)

/* settings: a GSettings for io.github.roadie.Roadie. The process
 * environment is laid over it (the seed's variables) for this run. */
RoadieService    *roadie_service_new                  (GSettings           *settings);
RoadieSettings   *roadie_service_get_settings         (RoadieService       *self);
RoadieSupervisor *roadie_service_get_supervisor       (RoadieService       *self);
/* NULL until startup, and when the API is off or could not listen. */
RoadieControlApi *roadie_service_get_control_api      (RoadieService       *self);
/* Why the control API is not running although it is enabled, or NULL.
 * Notified as "control-api-problem". */
const char       *roadie_service_get_control_api_problem (RoadieService    *self);

/* Starts the control API (if enabled) and lets the supervisor attach to a
 * running server or auto-start one. Call once, after any overrides. */
void              roadie_service_startup              (RoadieService       *self);
/* Shuts the control API down, then stops the server gracefully; completes
 * once nothing Roadie started is left running. */
void              roadie_service_shutdown_async       (RoadieService       *self,
                                                       GCancellable        *cancellable,
                                                       GAsyncReadyCallback  callback,
                                                       gpointer             user_data);
gboolean          roadie_service_shutdown_finish      (RoadieService       *self,
                                                       GAsyncResult        *result,
                                                       GError             **error);
gboolean          roadie_service_is_shut_down         (RoadieService       *self);

/* Which commands make sense in a state; shared by the window and the
 * application actions so both enable the same things. */
gboolean          roadie_service_state_can_start      (RoadieSupervisorState state);
gboolean          roadie_service_state_can_stop       (RoadieSupervisorState state);
gboolean          roadie_service_state_can_restart    (RoadieSupervisorState state);

G_END_DECLS
