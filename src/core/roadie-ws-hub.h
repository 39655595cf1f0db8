/* roadie-ws-hub.h: the server side of every inbound WebSocket endpoint.
 *
 * Three endpoints, each its own listener with a WebSocket at "/":
 *  - ENGINE  (:8080): hello, then frames; GET /health with the statistics
 *  - BROWSER (:8766): hello, then frames; pinged, dropped after missed pongs
 *  - DJ      (:9000): dj_auth first (auth_ok, or auth_failed + close 4001,
 *                     repeated failures from one address slowed down), then
 *                     dj_heartbeat → heartbeat_ack, dj_frame → "dj-frame"
 * A client that cannot keep up gets the latest frame, not a growing queue.
 * Malformed input gets an error message and a close for that client only.
 */
#pragma once

#include <json-glib/json-glib.h>
#include <libsoup/soup.h>

#include "roadie-dj-keys.h"

G_BEGIN_DECLS

typedef enum
{
  ROADIE_WS_ENDPOINT_ENGINE,
  ROADIE_WS_ENDPOINT_BROWSER,
  ROADIE_WS_ENDPOINT_DJ,
  ROADIE_WS_N_ENDPOINTS
} RoadieWsEndpoint;

#define ROADIE_TYPE_WS_HUB (roadie_ws_hub_get_type ())

G_DECLARE_FINAL_TYPE (RoadieWsHub, roadie_ws_hub, ROADIE, WS_HUB, GObject)

/* Properties:
 *   server-name               string  "roadie-engine" (in hello)
 *   ping-interval-ms          uint    15000  browser (and engine) pings
 *   missed-pongs              uint    2      dropped after this many
 *   max-clients               uint    256    per endpoint
 *   max-message-bytes         uint    65536  incoming (never 0)
 *   stats-log-interval-ms     uint    60000  0 = never
 *   mc-connected              boolean        from the visualizer link
 *   mc-reconnect-count        uint           from the visualizer link
 *   auth-timeout-ms           uint    5000   DJs must send dj_auth by then (1008)
 *   auth-delay-initial-ms     uint    250    delay before auth answers to an
 *   auth-delay-max-ms         uint    8000     address after its 1st failure,
 *                                            doubled per failure, capped
 *   auth-forget-ms            uint    60000  failures forgotten after this quiet
 * Signals:
 *   "dj-connected"    (const char *dj_id, const char *dj_name)
 *   "dj-disconnected" (const char *dj_id)
 *   "dj-frame"        (const char *dj_id, JsonObject *frame)
 *   "set-active-dj"   (const char *dj_id)   from an authenticated admin
 *   "clients-changed" (RoadieWsEndpoint)    a client joined (after its hello)
 *                                            or left that endpoint
 *
 * Pings go to every endpoint's clients (DJs too: a half-open DJ must not
 * stay "current"), every ping-interval-ms rounded to whole seconds (at
 * least 1; libsoup 3.2's keepalive unit); a pong or any message counts as
 * alive. The admin is the DJ whose dj_id is "admin" in the keys file: it
 * may send set_active_dj, and is not itself counted or announced as a DJ.
 * "dj-frame" carries the session's dj_id (also written into the object).
 * dj-connected/dj-disconnected and the dj_* statistics count signed-in
 * DJs; browser_* count the BROWSER endpoint only (the ENGINE endpoint also
 * sees Roadie's own health probes). A full endpoint answers handshakes
 * with HTTP 503. Close codes are listed in roadie-ws-hub.c.
 */
RoadieWsHub *roadie_ws_hub_new             (void);
/* bind: an IP address (NULL or "localhost" = 127.0.0.1); port 0 = ephemeral. */
gboolean     roadie_ws_hub_listen          (RoadieWsHub      *self,
                                            RoadieWsEndpoint  endpoint,
                                            const char       *bind,
                                            guint             port,
                                            GError          **error);
guint        roadie_ws_hub_get_port        (RoadieWsHub      *self,
                                            RoadieWsEndpoint  endpoint);
/* Takes its own reference; NULL = no keys (every DJ is refused). */
void         roadie_ws_hub_set_dj_keys     (RoadieWsHub      *self,
                                            RoadieDjKeys     *keys);
/* What a plain GET / (not a WebSocket handshake) answers on endpoint,
 * e.g. the preview page; NULL body = 400 with a hint (the default). */
void         roadie_ws_hub_set_page        (RoadieWsHub      *self,
                                            RoadieWsEndpoint  endpoint,
                                            const char       *content_type,
                                            GBytes           *body);
/* Sends text to every client of endpoint; slow clients get the latest. */
void         roadie_ws_hub_broadcast       (RoadieWsHub      *self,
                                            RoadieWsEndpoint  endpoint,
                                            const char       *text);
guint        roadie_ws_hub_get_n_clients   (RoadieWsHub      *self,
                                            RoadieWsEndpoint  endpoint);
/* For tests and diagnostics, over the clients of an endpoint: */
typedef struct
{
  guint   max_frames;        /* most frames the hub holds for one client: its
                              * pending frame plus whole frames still in
                              * libsoup's queue (measured against the
                              * kernel's TCP counters) */
  gsize   max_kernel_bytes;  /* largest kernel send queue (SIOCOUTQ) */
  guint64 skipped;           /* frames skipped for slow clients still here */
} RoadieWsBacklog;

void         roadie_ws_hub_get_backlog     (RoadieWsHub      *self,
                                            RoadieWsEndpoint  endpoint,
                                            RoadieWsBacklog  *backlog);
/* The seed's statistics object: dj_connects, dj_disconnects,
 * browser_connects, browser_disconnects, mc_reconnect_count, current_djs,
 * current_browsers, mc_connected. */
JsonNode    *roadie_ws_hub_build_stats     (RoadieWsHub      *self);
/* A message each new client of endpoint (ENGINE or BROWSER) gets right
 * after its hello, e.g. the current statistics: func returns the text
 * (newly allocated), or NULL for none. func NULL = nothing. */
typedef char *(*RoadieWsHubWelcomeFunc) (RoadieWsHub *hub,
                                         gpointer     user_data);
void         roadie_ws_hub_set_welcome     (RoadieWsHub            *self,
                                            RoadieWsEndpoint        endpoint,
                                            RoadieWsHubWelcomeFunc  func,
                                            gpointer                user_data);
/* Calls func for every signed-in DJ (not the admin), oldest connection
 * first. */
typedef void (*RoadieWsHubDjFunc) (const char *dj_id,
                                   const char *dj_name,
                                   gpointer    user_data);
void         roadie_ws_hub_foreach_dj      (RoadieWsHub            *self,
                                            RoadieWsHubDjFunc       func,
                                            gpointer                user_data);
/* Closes every client (1001) and stops listening. */
void         roadie_ws_hub_shutdown        (RoadieWsHub      *self);

G_END_DECLS
