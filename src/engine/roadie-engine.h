/* roadie-engine.h: roadie-engine's connectivity, wired together.
 *
 * One RoadieWsHub with the three listeners (engine :8080, browsers :8766,
 * DJs :9000), an optional DJ relay link that sends this engine's frames to
 * a remote VJ server, an optional visualizer link whose state feeds the
 * hub's mc_connected and mc_reconnect_count, the VJ-server role (the
 * active remote DJ's frames go out to browsers), and the analysis frames
 * of an audio feed (or the synthetic test frames instead).
 *
 * Properties (read-only, notified): "active-dj" (string, NULL when no DJ
 * is connected), "relay-state" (RoadieWsClientState; disconnected when
 * there is no relay).
 */
#pragma once

#include <gio/gio.h>

#include "roadie-audio-feed.h"
#include "roadie-engine-options.h"
#include "roadie-ws-client.h"
#include "roadie-ws-hub.h"

G_BEGIN_DECLS

#define ROADIE_TYPE_ENGINE (roadie_engine_get_type ())

G_DECLARE_FINAL_TYPE (RoadieEngine, roadie_engine, ROADIE, ENGINE, GObject)

RoadieEngine        *roadie_engine_new             (void);
/* Takes feed; its analysis goes out at --fps once started. Before start. */
void                 roadie_engine_set_audio_feed  (RoadieEngine               *self,
                                                    RoadieAudioFeed            *feed);
/* Loads the DJ keys, listens, starts the links and the test frames. On a
 * listener that cannot open, the error names the option to change. */
gboolean             roadie_engine_start           (RoadieEngine               *self,
                                                    const RoadieEngineOptions  *options,
                                                    GError                    **error);
RoadieWsHub         *roadie_engine_get_hub         (RoadieEngine               *self);
/* The port a listener got, 0 when it is off. */
guint                roadie_engine_get_port        (RoadieEngine               *self,
                                                    RoadieWsEndpoint            endpoint);
const char          *roadie_engine_get_active_dj   (RoadieEngine               *self);
RoadieWsClientState  roadie_engine_get_relay_state (RoadieEngine               *self);
/* Closes every client (1001) and both links, then completes once the
 * clients are gone or a short grace period (50 ms) has passed. */
void                 roadie_engine_shutdown_async  (RoadieEngine               *self,
                                                    GCancellable               *cancellable,
                                                    GAsyncReadyCallback         callback,
                                                    gpointer                    user_data);
gboolean             roadie_engine_shutdown_finish (RoadieEngine               *self,
                                                    GAsyncResult               *result,
                                                    GError                    **error);

G_END_DECLS
