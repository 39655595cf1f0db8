/* roadie-supervisor.h: keeps the audio server running.
 *
 * Starts the server through roadie-reaper, proves readiness with a WebSocket
 * handshake, health-checks it, restarts it with backoff inside a sliding
 * restart window, stops it with SIGTERM then SIGKILL, and logs its output in
 * the seed's format. All on the GLib main loop; nothing here blocks.
 */
#pragma once

#include <json-glib/json-glib.h>

#include "roadie-settings.h"
#include "roadie-log-writer.h"

G_BEGIN_DECLS

typedef enum
{
  ROADIE_SUPERVISOR_STATE_STOPPED,
  ROADIE_SUPERVISOR_STATE_STARTING,
  ROADIE_SUPERVISOR_STATE_RUNNING,
  ROADIE_SUPERVISOR_STATE_UNHEALTHY,
  ROADIE_SUPERVISOR_STATE_BACKOFF,
  ROADIE_SUPERVISOR_STATE_FAILED,
  ROADIE_SUPERVISOR_STATE_STOPPING,
  ROADIE_SUPERVISOR_STATE_ATTACHED,
} RoadieSupervisorState;

#define ROADIE_TYPE_SUPERVISOR_STATE (roadie_supervisor_state_get_type ())
GType       roadie_supervisor_state_get_type  (void);
/* "stopped", "starting", … as in the status JSON */
const char *roadie_supervisor_state_to_string (RoadieSupervisorState state);
/* A server process is up and answering (or was until just now): running,
 * unhealthy or attached. */
gboolean    roadie_supervisor_state_is_up     (RoadieSupervisorState state);

#define ROADIE_TYPE_SUPERVISOR (roadie_supervisor_get_type ())

G_DECLARE_FINAL_TYPE (RoadieSupervisor, roadie_supervisor, ROADIE, SUPERVISOR, GObject)

/* Signals:
 *   "changed"      ()                               any status field changed
 *   "output-line"  (RoadieLogStream, const char *)  a line of server output
 *   "gave-up"      (const char *message)            restart limit hit
 * Properties: "settings" (construct-only), "state" (read-only, notified).
 */
RoadieSupervisor      *roadie_supervisor_new                (RoadieSettings   *settings);
RoadieSettings        *roadie_supervisor_get_settings       (RoadieSupervisor *self);

/* What launch does with auto-start: attach to a server that already answers
 * on the port, or start one if auto-start is on. */
void                   roadie_supervisor_auto_start         (RoadieSupervisor *self);
/* Non-blocking; FALSE with a DJ-readable error when the pre-flight checks
 * fail (executable, working dir, port). Clears `failed`. */
gboolean               roadie_supervisor_start              (RoadieSupervisor *self,
                                                             GError          **error);
/* Begins a graceful stop; ROADIE_ERROR_NOT_OWNED when attached. */
gboolean               roadie_supervisor_stop               (RoadieSupervisor *self,
                                                             GError          **error);
gboolean               roadie_supervisor_restart            (RoadieSupervisor *self,
                                                             GError          **error);
/* Stops and completes once nothing is left running (for quitting). */
void                   roadie_supervisor_stop_async         (RoadieSupervisor   *self,
                                                             GCancellable       *cancellable,
                                                             GAsyncReadyCallback callback,
                                                             gpointer            user_data);
gboolean               roadie_supervisor_stop_finish        (RoadieSupervisor   *self,
                                                             GAsyncResult       *result,
                                                             GError            **error);

RoadieSupervisorState  roadie_supervisor_get_state          (RoadieSupervisor *self);
/* pid of the audio server itself (not the reaper); 0 when none */
GPid                   roadie_supervisor_get_pid            (RoadieSupervisor *self);
gint64                 roadie_supervisor_get_uptime_ms      (RoadieSupervisor *self);
guint                  roadie_supervisor_get_restart_count  (RoadieSupervisor *self);
guint                  roadie_supervisor_get_max_restarts   (RoadieSupervisor *self);
/* -1 unless in backoff */
gint64                 roadie_supervisor_get_next_restart_in_ms (RoadieSupervisor *self);
/* FALSE when the server has not exited yet; code -1 when killed, signum 0
 * when not; *at is owned by the supervisor (valid until the next exit). */
gboolean               roadie_supervisor_get_last_exit      (RoadieSupervisor *self,
                                                             int              *code,
                                                             int              *signum,
                                                             GDateTime       **at);
/* The last problem in words a DJ can act on, or NULL. */
const char            *roadie_supervisor_get_last_error     (RoadieSupervisor *self);
gboolean               roadie_supervisor_get_is_healthy     (RoadieSupervisor *self);
/* The executable that is (or would be) started. */
char                  *roadie_supervisor_dup_executable_path (RoadieSupervisor *self);
const char            *roadie_supervisor_get_log_path       (RoadieSupervisor *self);

/* The seed's status object plus state, uptimeMs, lastExit, nextRestartInMs,
 * restartWindowMs and lastError. */
JsonNode              *roadie_supervisor_build_status       (RoadieSupervisor *self);

G_END_DECLS
