/* roadie-engine-link.h: the window's WebSocket link to the supervised server.
 *
 * Follows the supervisor: while the server is running, unhealthy or
 * attached the link connects to ws://127.0.0.1:<ws-port>/ (read again for
 * every start) with the engine-link profile; otherwise it is closed, with
 * no timer left behind. It turns the server's messages back into data:
 * `frame` into a RoadieLiveFrame ("frame" signal), `stats` into a
 * JsonObject ("stats-changed"), and says in "analysis" what the spectrum
 * view can show.
 */
#pragma once

#include <json-glib/json-glib.h>

#include "roadie-live-frame.h"
#include "roadie-supervisor.h"
#include "roadie-ws-client.h"

G_BEGIN_DECLS

typedef enum
{
  ROADIE_ENGINE_ANALYSIS_DISCONNECTED,  /* server not running, or the link is down */
  ROADIE_ENGINE_ANALYSIS_WAITING,       /* connected, no frame yet */
  ROADIE_ENGINE_ANALYSIS_LIVE,          /* frames with audio */
  ROADIE_ENGINE_ANALYSIS_NO_AUDIO,      /* frames say "audio":false */
  ROADIE_ENGINE_ANALYSIS_NOT_ROADIE,    /* connected, no frame within 2 s: a
                                         * third-party server, no analysis */
  ROADIE_ENGINE_ANALYSIS_STALLED,       /* frames stopped for over 1 s */
} RoadieEngineAnalysis;

#define ROADIE_TYPE_ENGINE_ANALYSIS (roadie_engine_analysis_get_type ())
GType       roadie_engine_analysis_get_type  (void);
/* "disconnected", "waiting", "live", "no-audio", "not-roadie", "stalled" */
const char *roadie_engine_analysis_to_string (RoadieEngineAnalysis analysis);

#define ROADIE_TYPE_ENGINE_LINK (roadie_engine_link_get_type ())

G_DECLARE_FINAL_TYPE (RoadieEngineLink, roadie_engine_link, ROADIE, ENGINE_LINK, GObject)

/* Properties (read-only, notified on change):
 *   analysis     RoadieEngineAnalysis
 *   server-name  string  from the server's hello, NULL before one / when down
 *   link-state   RoadieWsClientState  (DISCONNECTED while closed)
 * Signals:
 *   "frame"          (gpointer frame)  a const RoadieLiveFrame *, valid
 *                                      during the emission
 *   "stats-changed"  ()                a stats message came, or the link
 *                                      went down (stats then NULL)
 */
/* profile_settings: the engine-link profile's settings
 * (roadie_ws_profile_settings_new), or NULL for the seed's defaults. */
RoadieEngineLink     *roadie_engine_link_new             (RoadieSupervisor *supervisor,
                                                          GSettings        *profile_settings);
RoadieEngineAnalysis  roadie_engine_link_get_analysis    (RoadieEngineLink *self);
const char           *roadie_engine_link_get_server_name (RoadieEngineLink *self);
RoadieWsClientState   roadie_engine_link_get_link_state  (RoadieEngineLink *self);
/* The latest statistics (a new reference), or NULL when none are known. */
JsonObject           *roadie_engine_link_dup_stats       (RoadieEngineLink *self);
/* The latest frame, or NULL before the first one of this connection. */
const RoadieLiveFrame *roadie_engine_link_get_frame      (RoadieEngineLink *self);
/* For tests: GSources owned by the link and its client (0 once closed). */
guint                 roadie_engine_link_count_sources   (RoadieEngineLink *self);

G_END_DECLS
