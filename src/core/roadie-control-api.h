/* roadie-control-api.h: the HTTP control API on 127.0.0.1:control-api-port.
 *
 *   GET  /api/audio-server/status
 *   POST /api/audio-server/start|stop|restart   (Authorization: Bearer TOKEN)
 *
 * Refusals, all JSON {"error": "..."}: Host not 127.0.0.1/localhost/[::1]
 * (with or without :port) 403, checked first; unknown path 404; wrong
 * method 405 with Allow; no Authorization, or one that is not a Bearer
 * credential, 401 with WWW-Authenticate; a Bearer token that does not
 * match 403; a body that is neither empty nor a JSON object 400; the
 * supervisor refusing (pre-flight, not owned) 409. No CORS headers.
 */
#pragma once

#include "roadie-supervisor.h"

G_BEGIN_DECLS

#define ROADIE_TYPE_CONTROL_API (roadie_control_api_get_type ())

G_DECLARE_FINAL_TYPE (RoadieControlApi, roadie_control_api, ROADIE, CONTROL_API, GObject)

RoadieControlApi *roadie_control_api_new    (RoadieSupervisor *supervisor,
                                             const char       *token);
/* Listens on 127.0.0.1:port (0 = ephemeral). Fails with ROADIE_ERROR_PORT_IN_USE. */
gboolean          roadie_control_api_listen (RoadieControlApi *self,
                                             guint             port,
                                             GError          **error);
guint             roadie_control_api_get_port (RoadieControlApi *self);
/* Replaces the token (after roadie_control_token_regenerate). */
void              roadie_control_api_set_token (RoadieControlApi *self,
                                                const char       *token);
void              roadie_control_api_shutdown (RoadieControlApi *self);

G_END_DECLS
