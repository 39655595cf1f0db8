/* roadie-ws-client.h: one reconnecting WebSocket client for every outbound link.
 *
 * Connects with a real deadline over connect and handshake, reconnects with
 * exponential backoff and jitter, keeps a bounded FIFO of outgoing messages
 * while it is away, sends the DJ profile's application heartbeat and keeps
 * its own pong deadline (libsoup 3.2 has keepalive pings but no pong
 * timeout). An authentication failure is final. close() is final too.
 */
#pragma once

#include <json-glib/json-glib.h>
#include <libsoup/soup.h>

G_BEGIN_DECLS

typedef enum
{
  ROADIE_WS_CLIENT_STATE_DISCONNECTED,
  ROADIE_WS_CLIENT_STATE_CONNECTING,
  ROADIE_WS_CLIENT_STATE_CONNECTED,
  ROADIE_WS_CLIENT_STATE_BACKOFF,
  ROADIE_WS_CLIENT_STATE_GAVE_UP,
  ROADIE_WS_CLIENT_STATE_AUTH_FAILED,
  ROADIE_WS_CLIENT_STATE_CLOSED,
} RoadieWsClientState;

#define ROADIE_TYPE_WS_CLIENT_STATE (roadie_ws_client_state_get_type ())
GType       roadie_ws_client_state_get_type  (void);
/* "disconnected", "connecting", "connected", "backoff", "gave-up", "auth-failed", "closed" */
const char *roadie_ws_client_state_to_string (RoadieWsClientState state);

/* The close code and message type that mean "wrong credentials, stop". */
#define ROADIE_WS_CLOSE_AUTH_FAILED 4001

#define ROADIE_TYPE_WS_CLIENT (roadie_ws_client_get_type ())

G_DECLARE_FINAL_TYPE (RoadieWsClient, roadie_ws_client, ROADIE, WS_CLIENT, GObject)

/* Properties (all readable; the parameters also writable, and a change
 * takes effect at the next timer or attempt):
 *   url                       string
 *   connect-timeout-ms        uint    10000  deadline over TCP connect + handshake
 *   auto-reconnect            boolean TRUE
 *   initial-backoff-ms        uint    1000
 *   backoff-multiplier        double  1.5
 *   max-backoff-ms            uint    30000
 *   jitter                    double  0.1    (±10 %)
 *   max-connect-attempts      uint    10     initial connects; 0 = unlimited
 *   max-reconnect-attempts    uint    10     after a loss;     0 = unlimited
 *   heartbeat-interval-ms     uint    0      app heartbeat (dj_heartbeat); 0 = off
 *   heartbeat-miss-threshold  uint    3      missed heartbeat_ack before dropping
 *   mc-connected              boolean FALSE  sent in dj_heartbeat
 *   ping-interval-ms          uint    0      WebSocket pings; 0 = off
 *   pong-timeout-ms           uint    0      no pong for this long → drop; 0 = off
 *   queue-size                uint    500    outgoing FIFO while not connected
 *   auth-message              string  NULL   sent first after each handshake
 *                                           (e.g. dj_auth); if set, the link
 *                                           counts as connected on auth_ok
 *   state                     RoadieWsClientState (read-only)
 *   next-attempt-us           int64   monotonic time of the next attempt in backoff, else 0
 *   attempt                   uint    attempts in the current series
 *   auth-failure-reason       string  why the server refused us (read-only)
 *   dropped-count             uint64  messages evicted from a full queue (read-only)
 *   reconnect-count           uint    successful reconnections after a loss (read-only)
 * Signals:
 *   "message" (const char *text, JsonObject *object-or-NULL)  each text message
 */
RoadieWsClient     *roadie_ws_client_new        (const char     *url);
/* Starts connecting (from disconnected, gave-up or auth-failed). */
void                roadie_ws_client_connect    (RoadieWsClient *self);
/* Final: closes the connection, cancels every timer; no reconnect after. */
void                roadie_ws_client_close      (RoadieWsClient *self);
/* Sends now if connected, else queues (FIFO, oldest evicted when full).
 * FALSE only after close(). */
gboolean            roadie_ws_client_send_text  (RoadieWsClient *self,
                                                 const char     *text);
gboolean            roadie_ws_client_send_json  (RoadieWsClient *self,
                                                 JsonNode       *node);
RoadieWsClientState roadie_ws_client_get_state  (RoadieWsClient *self);
const char         *roadie_ws_client_get_url    (RoadieWsClient *self);
guint               roadie_ws_client_get_queue_length (RoadieWsClient *self);
/* For tests: how many GSources the client owns right now (0 once closed). */
guint               roadie_ws_client_count_sources (RoadieWsClient *self);

G_END_DECLS
