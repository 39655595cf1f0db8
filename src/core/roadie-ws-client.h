/* roadie-ws-client.h: one reconnecting WebSocket client for every outbound link.
 *
 * Connects with a real deadline over connect and handshake, reconnects with
 * exponential backoff and jitter, keeps a bounded FIFO of outgoing messages
 * while it is away, sends the DJ profile's application heartbeat and keeps
 * its own pong deadline (libsoup 3.2 has keepalive pings but no pong
 * timeout). An authentication failure is final. close() is final too.
 *
 * The schedule: a series of attempts starts with connect() (an initial
 * series, at most max-connect-attempts) or with the loss of a link that was
 * up (a reconnect series, at most max-reconnect-attempts; only with
 * auto-reconnect, else the client goes to disconnected). Attempt 1 of an
 * initial series starts at once; the n-th wait of a series is
 * min (initial-backoff × multiplier^(n−1), max-backoff) ± jitter, from
 * roadie_backoff_delay_ms(). One deliberate deviation from the seed: the
 * first wait after a loss is uniform in [0, initial-backoff] ("full
 * jitter"), because ±10 % around 5 s still brings a whole fleet that lost
 * the same server at the same instant back within one second; later waits
 * follow the seed's schedule. A successful connection resets the series.
 *
 * Liveness: a connection whose peer stopped answering is found by our own
 * pong deadline: libsoup sends a ping every ping-interval (keepalive-interval,
 * whole seconds, rounded up), and when neither a pong nor a message has come
 * for pong-timeout the link is dropped ("Pong timeout") and reconnected. We
 * keep this timer even where libsoup ≥ 3.6 has a pong timeout of its own:
 * ours counts every message as a sign of life and has millisecond precision.
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

/* Largest message the client accepts from a server (libsoup's limit is per
 * frame; 0 would mean none at all). */
#define ROADIE_WS_CLIENT_MAX_INCOMING_PAYLOAD (1024 * 1024)

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
 *   last-error                string  why the last attempt failed or the link was lost (read-only)
 * Signals:
 *   "message" (const char *text, JsonObject *object-or-NULL)  each text message
 */
RoadieWsClient     *roadie_ws_client_new        (const char     *url);
/* Starts a new series of attempts (from disconnected, gave-up or
 * auth-failed); in backoff, makes the next attempt at once. */
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
const char         *roadie_ws_client_get_auth_failure_reason (RoadieWsClient *self);
const char         *roadie_ws_client_get_last_error          (RoadieWsClient *self);
guint64             roadie_ws_client_get_dropped_count       (RoadieWsClient *self);
guint               roadie_ws_client_get_reconnect_count     (RoadieWsClient *self);
/* Milliseconds until the next attempt while in backoff (0 when it is due),
 * else -1: for "Reconnecting in 4 s". */
gint64              roadie_ws_client_get_next_attempt_in_ms  (RoadieWsClient *self);

G_END_DECLS
