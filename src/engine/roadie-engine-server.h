/* roadie-engine-server.h: roadie-engine's network side.
 *
 * First cut: a SoupServer with a WebSocket endpoint at "/" that greets every
 * client with the hello message, and GET /health with a JSON answer.
 * Properties: "port" and "n-clients" (read-only, notified).
 */
#pragma once

#include <libsoup/soup.h>

G_BEGIN_DECLS

#define ROADIE_TYPE_ENGINE_SERVER (roadie_engine_server_get_type ())

G_DECLARE_FINAL_TYPE (RoadieEngineServer, roadie_engine_server, ROADIE, ENGINE_SERVER, GObject)

RoadieEngineServer *roadie_engine_server_new         (void);
/* bind: an IP address ("127.0.0.1", "0.0.0.0", "::1"); port 0 = ephemeral */
gboolean            roadie_engine_server_listen      (RoadieEngineServer *self,
                                                      const char         *bind,
                                                      guint               port,
                                                      GError            **error);
guint               roadie_engine_server_get_port    (RoadieEngineServer *self);
guint               roadie_engine_server_get_n_clients (RoadieEngineServer *self);
/* Stops listening and closes every client with 1001 at once. */
void                roadie_engine_server_shutdown    (RoadieEngineServer *self);
/* The same, but completes once every client acknowledged the close or a
 * short grace period (50 ms) passed: what SIGTERM does. */
void                roadie_engine_server_shutdown_async  (RoadieEngineServer  *self,
                                                          GCancellable        *cancellable,
                                                          GAsyncReadyCallback  callback,
                                                          gpointer             user_data);
gboolean            roadie_engine_server_shutdown_finish (RoadieEngineServer  *self,
                                                          GAsyncResult        *result,
                                                          GError             **error);

G_END_DECLS
