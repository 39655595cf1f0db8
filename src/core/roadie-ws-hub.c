/* roadie-ws-hub.c: the server side of every inbound WebSocket endpoint.
 *
 * Each endpoint is its own SoupServer bound to one address, with the
 * WebSocket at "/" and GET /health (the statistics) beside it.
 *
 * Who gets what:
 *  - ENGINE and BROWSER clients get hello on connect, then every broadcast.
 *    Their messages are read only to be checked: malformed ones close the
 *    connection, anything else is ignored.
 *  - DJ clients must send dj_auth within auth-timeout-ms, and nothing
 *    else first (1008). A wrong key or unknown dj_id (the same answer for
 *    both, so ids cannot be probed) gets auth_failed and close 4001; so
 *    does every DJ when no keys are loaded. Each failure from an address
 *    doubles the delay before the next answer to that address
 *    (auth-delay-initial-ms, capped at auth-delay-max-ms, forgotten after
 *    auth-forget-ms without failures); while the penalty lasts every auth
 *    answer to that address waits, right or wrong, so timing tells
 *    nothing. Messages a DJ sends while its answer waits are dropped.
 *    After auth_ok: dj_heartbeat → heartbeat_ack, frame or dj_frame →
 *    "dj-frame" with the dj_id of the session (the message's own dj_id is
 *    overwritten, never trusted), set_active_dj → "set-active-dj" when the
 *    session is the admin (dj_id "admin" in the keys file), else an error
 *    message and the connection stays. The admin is not a DJ: it is not
 *    counted, announced, or taken as a frame source. A second session of
 *    the same dj_id replaces the first (closed 1008), so a DJ whose old
 *    connection went half-open can come straight back.
 *
 * Close codes the hub sends: 1001 shutdown or no answer to pings, 1002
 * WebSocket protocol errors (from libsoup), 1003 binary message, 1007 text
 * that is not a valid message (invalid UTF-8, not strict JSON, not an
 * object, wrong field types), 1008 policy (no dj_auth first, auth timeout,
 * replaced session, the rare client that slips past max-clients), 1009
 * message over max-message-bytes, 4001 authentication failed. Every one
 * of them is preceded by {"type":"error","reason":...} except 1001 and
 * 4001 (which has auth_failed instead). A full endpoint turns handshakes
 * away with HTTP 503: libsoup 3.2 cannot send 1013 (it rewrites close codes
 * below 3000 that it does not know into 1002).
 *
 * libsoup reports protocol errors, invalid UTF-8 and oversized frames
 * through its "error" signal while the connection is still open, then
 * closes by itself; the hub answers in that signal so the client learns
 * why. For an oversized frame libsoup 3.2 drops the connection without a
 * close frame; the hub's close frame goes out first.
 *
 * Liveness: libsoup sends a ping every ping-interval-ms (rounded to whole
 * seconds, its keepalive unit); a pong or any message counts as a sign of
 * life, and a client silent for missed-pongs ping periods is dropped. One
 * timer per hub checks every client, not one per client.
 *
 * Slow consumers: libsoup 3.2 queues outgoing frames without bound and
 * has no public send-buffer size, so the hub looks at the kernel's send
 * queue (SIOCOUTQ) before handing a frame over. When it is nearly full the
 * frame becomes the client's one pending frame, replacing (and counting as
 * skipped) any older pending one; a shared drain timer and the next
 * broadcast send it once the queue has room. A client thus costs at most
 * one pending frame plus the one libsoup may be writing.
 */
#include "config.h"

#include <string.h>
#include <netinet/in.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <linux/sockios.h>
#include <linux/tcp.h>

#include <glib-unix.h>

#include "roadie-error.h"
#include "roadie-http.h"
#include "roadie-port.h"
#include "roadie-protocol.h"
#include "roadie-ws-hub.h"

#define CLOSE_AUTH_FAILED 4001

/* The kernel send queue a client may have before frames wait: enough for
 * about a second of 1 KB frames at 60 fps, so a healthy client never
 * waits, and small enough that a stalled one is noticed at once. */
#define SEND_QUEUE_BUDGET (64 * 1024)

/* How often frames waiting for a slow client are retried. */
#define DRAIN_INTERVAL_MS 20

/* Client pings are not reported by libsoup, so their bytes cannot be told
 * from a growing fragmented message; this much per second is forgiven,
 * far above any keepalive and far below a real flood. */
#define INPUT_FORGIVEN_BYTES_PER_S 64

/* The keys file's dj_id that may choose the active DJ. */
#define ADMIN_DJ_ID "admin"

typedef struct _Client Client;

typedef struct
{
  RoadieWsHub      *hub;
  RoadieWsEndpoint  kind;
  SoupServer       *server;
  guint             port;
  GQueue            clients;        /* Client *, oldest first */
  char             *page_type;      /* GET / for plain HTTP, or NULL */
  GBytes           *page;
  RoadieWsHubWelcomeFunc welcome;   /* sent after hello, or NULL */
  gpointer          welcome_data;
} Endpoint;

struct _Client
{
  Endpoint                *endpoint;
  GList                    link;    /* in endpoint->clients */
  SoupWebsocketConnection *connection;
  GSocket                 *socket;
  char                    *address;
  gint64                   last_alive_us;

  /* DJ endpoint */
  gboolean                 authenticated;
  gboolean                 is_admin;
  gboolean                 answer_pending;
  gboolean                 verdict;
  char                    *refusal;
  char                    *dj_id;
  char                    *dj_name;
  guint                    auth_timeout_id;
  guint                    auth_answer_id;

  /* latest frame wins */
  GBytes                  *pending;
  guint64                  skipped;
  guint64                  handed_bytes;
  guint64                  kernel_baseline;
  gsize                    last_frame_wire;

  /* incoming: what libsoup took in since the last whole message */
  guint                    input_watch_id;
  gint64                   input_baseline;
  gint64                   input_forgiven_us;
};

typedef struct
{
  guint  failures;
  gint64 last_failure_us;
} Penalty;

struct _RoadieWsHub
{
  GObject       parent_instance;

  char         *server_name;
  guint         ping_interval_ms;
  guint         missed_pongs;
  guint         max_clients;
  guint         max_message_bytes;
  guint         stats_log_interval_ms;
  gboolean      mc_connected;
  guint         mc_reconnect_count;
  guint         auth_timeout_ms;
  guint         auth_delay_initial_ms;
  guint         auth_delay_max_ms;
  guint         auth_forget_ms;

  Endpoint      endpoints[ROADIE_WS_N_ENDPOINTS];
  RoadieDjKeys *keys;
  GHashTable   *penalties;          /* address → Penalty */
  GHashTable   *djs;                /* dj_id → Client *, authenticated non-admin */

  guint64       dj_connects;
  guint64       dj_disconnects;
  guint64       browser_connects;
  guint64       browser_disconnects;

  guint         n_pending;
  guint         drain_id;
  guint         liveness_id;
  guint         stats_log_id;
};

G_DEFINE_FINAL_TYPE (RoadieWsHub, roadie_ws_hub, G_TYPE_OBJECT)

enum {
  PROP_0,
  PROP_SERVER_NAME,
  PROP_PING_INTERVAL_MS,
  PROP_MISSED_PONGS,
  PROP_MAX_CLIENTS,
  PROP_MAX_MESSAGE_BYTES,
  PROP_STATS_LOG_INTERVAL_MS,
  PROP_MC_CONNECTED,
  PROP_MC_RECONNECT_COUNT,
  PROP_AUTH_TIMEOUT_MS,
  PROP_AUTH_DELAY_INITIAL_MS,
  PROP_AUTH_DELAY_MAX_MS,
  PROP_AUTH_FORGET_MS,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

enum {
  DJ_CONNECTED,
  DJ_DISCONNECTED,
  DJ_FRAME,
  SET_ACTIVE_DJ,
  CLIENTS_CHANGED,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

static const char * const endpoint_names[ROADIE_WS_N_ENDPOINTS] = {
  [ROADIE_WS_ENDPOINT_ENGINE] = "engine",
  [ROADIE_WS_ENDPOINT_BROWSER] = "browser",
  [ROADIE_WS_ENDPOINT_DJ] = "DJ",
};

static void client_detach        (Client *client);
static void restart_liveness     (RoadieWsHub *self);
static void restart_stats_log    (RoadieWsHub *self);

/* --- small helpers ------------------------------------------------------- */

static gboolean
client_is_open (Client *client)
{
  return soup_websocket_connection_get_state (client->connection) == SOUP_WEBSOCKET_STATE_OPEN;
}

/* Whether broadcasts on the endpoint go to this client: DJs only once
 * they are signed in. */
static gboolean
client_receives_broadcasts (Client *client)
{
  if (client->endpoint->kind == ROADIE_WS_ENDPOINT_DJ)
    return client->authenticated;
  return TRUE;
}

static guint
keepalive_seconds (RoadieWsHub *self)
{
  if (self->ping_interval_ms == 0)
    return 0;
  /* libsoup 3.2 counts keepalive in whole seconds. */
  return MAX (1, (self->ping_interval_ms + 500) / 1000);
}

static const char *
client_label (Client *client)
{
  if (client->dj_id != NULL)
    return client->dj_id;
  return client->address != NULL ? client->address : "?";
}

/* Sends text now, around the latest-frame logic: for replies and errors,
 * which are rare and must not be replaced by a frame. */
static void
client_send_now (Client     *client,
                 const char *text)
{
  if (client_is_open (client))
    soup_websocket_connection_send_text (client->connection, text);
}

/* An error message, then the close. The reason goes to the client and the
 * debug log; never any secret: reasons are built from what the hub saw,
 * not from keys. */
static void
client_fail (Client     *client,
             gushort     code,
             const char *reason)
{
  g_autofree char *error = NULL;

  if (!client_is_open (client))
    return;

  g_info ("%s client %s: %s (closing with %u)",
          endpoint_names[client->endpoint->kind], client_label (client), reason, code);

  error = roadie_message_error (reason);
  soup_websocket_connection_send_text (client->connection, error);
  soup_websocket_connection_close (client->connection, code, reason);
}

/* --- slow consumers ------------------------------------------------------ */

static gsize
frame_wire_size (gsize payload)
{
  /* Server frames are unmasked: 2, 4 or 10 header bytes. */
  if (payload < 126)
    return payload + 2;
  if (payload < 65536)
    return payload + 4;
  return payload + 10;
}

/* Bytes the kernel has taken from this socket so far (acknowledged or
 * still queued), or -1 when it cannot say. */
static gint64
kernel_bytes_taken (Client *client)
{
  struct tcp_info info = { 0 };
  socklen_t len = sizeof info;
  int outq = 0;
  int fd;

  if (client->socket == NULL || g_socket_is_closed (client->socket))
    return -1;
  fd = g_socket_get_fd (client->socket);
  if (getsockopt (fd, IPPROTO_TCP, TCP_INFO, &info, &len) != 0
      || len < G_STRUCT_OFFSET (struct tcp_info, tcpi_bytes_acked) + sizeof info.tcpi_bytes_acked
      || ioctl (fd, SIOCOUTQ, &outq) != 0)
    return -1;
  return (gint64) info.tcpi_bytes_acked + outq;
}

/* Bytes libsoup has read from this socket so far (received by the kernel
 * and no longer queued), or -1 when the kernel cannot say. */
static gint64
kernel_bytes_consumed (Client *client)
{
  struct tcp_info info = { 0 };
  socklen_t len = sizeof info;
  int inq = 0;
  int fd;

  if (client->socket == NULL || g_socket_is_closed (client->socket))
    return -1;
  fd = g_socket_get_fd (client->socket);
  if (getsockopt (fd, IPPROTO_TCP, TCP_INFO, &info, &len) != 0
      || len < G_STRUCT_OFFSET (struct tcp_info, tcpi_bytes_received) + sizeof info.tcpi_bytes_received
      || ioctl (fd, SIOCINQ, &inq) != 0)
    return -1;
  return (gint64) info.tcpi_bytes_received - inq;
}

/* TRUE when the socket's send queue is too full to take len more bytes
 * now. Costs one ioctl when the queue is empty, the common case. */
static gboolean
send_queue_is_full (Client *client,
                    gsize   len)
{
  int outq = 0;
  int sndbuf = 0;
  socklen_t optlen = sizeof sndbuf;
  gsize threshold;
  int fd;

  if (client->socket == NULL)
    return FALSE;       /* cannot tell: behave like plain libsoup */
  if (g_socket_is_closed (client->socket))
    return TRUE;

  fd = g_socket_get_fd (client->socket);
  if (ioctl (fd, SIOCOUTQ, &outq) != 0 || outq <= 0)
    return FALSE;
  if (getsockopt (fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, &optlen) != 0 || sndbuf <= 0)
    sndbuf = 2 * SEND_QUEUE_BUDGET;

  /* Half the buffer is about what it holds in payload; a frame larger
   * than the budget still goes, but only into an almost empty queue. */
  threshold = MIN ((gsize) sndbuf / 2, SEND_QUEUE_BUDGET);
  threshold = MAX (threshold, len + 256);
  return (gsize) outq + len > threshold;
}

static void
client_hand_over (Client *client,
                  GBytes *frame)
{
  gsize len = 0;
  const char *text = g_bytes_get_data (frame, &len);

  /* frame holds the text and its NUL */
  len--;
  client->last_frame_wire = frame_wire_size (len);
  client->handed_bytes += client->last_frame_wire;
  soup_websocket_connection_send_text (client->connection, text);
}

static void
client_set_pending (Client *client,
                    GBytes *frame)
{
  RoadieWsHub *self = client->endpoint->hub;

  if (client->pending == NULL && frame != NULL)
    self->n_pending++;
  else if (client->pending != NULL && frame == NULL)
    self->n_pending--;
  g_clear_pointer (&client->pending, g_bytes_unref);
  if (frame != NULL)
    client->pending = g_bytes_ref (frame);
}

/* Sends the pending frame if the queue has room; TRUE when none is left. */
static gboolean
client_flush_pending (Client *client)
{
  g_autoptr(GBytes) frame = NULL;

  if (client->pending == NULL)
    return TRUE;
  if (!client_is_open (client))
    {
      client_set_pending (client, NULL);
      return TRUE;
    }
  if (send_queue_is_full (client, g_bytes_get_size (client->pending) - 1))
    return FALSE;

  frame = g_bytes_ref (client->pending);
  client_set_pending (client, NULL);
  client_hand_over (client, frame);
  return TRUE;
}

static gboolean
drain_pending (gpointer user_data)
{
  RoadieWsHub *self = user_data;

  for (guint e = 0; e < ROADIE_WS_N_ENDPOINTS && self->n_pending > 0; e++)
    for (GList *l = self->endpoints[e].clients.head; l != NULL; l = l->next)
      client_flush_pending (l->data);

  if (self->n_pending > 0)
    return G_SOURCE_CONTINUE;
  self->drain_id = 0;
  return G_SOURCE_REMOVE;
}

static void
client_offer_frame (Client *client,
                    GBytes *frame)
{
  RoadieWsHub *self = client->endpoint->hub;

  if (!client_is_open (client))
    return;

  if (client_flush_pending (client)
      && !send_queue_is_full (client, g_bytes_get_size (frame) - 1))
    {
      client_hand_over (client, frame);
      return;
    }

  /* The client is behind: this frame replaces the one it has not had. */
  if (client->pending != NULL)
    client->skipped++;
  client_set_pending (client, frame);
  if (self->drain_id == 0)
    self->drain_id = g_timeout_add (DRAIN_INTERVAL_MS, drain_pending, self);
}

/* --- incoming size ------------------------------------------------------ */

/* libsoup 3.2 limits each incoming frame to max-incoming-payload-size but
 * not the message its fragments add up to: it keeps appending until the
 * last fragment, and only then does the hub see the size. So the hub
 * watches how much libsoup has read since the last whole message (from the
 * kernel's TCP counters, whenever the socket is readable, in the same main
 * loop iterations as libsoup's own reads) and stops a client whose message
 * in progress outgrows twice the limit plus headroom. Pongs are accounted
 * exactly; client pings, which libsoup does not report, are covered by a
 * small allowance per second. */
static gboolean
input_check (gint          fd,
             GIOCondition  condition,
             gpointer      user_data)
{
  Client *client = user_data;
  RoadieWsHub *self = client->endpoint->hub;
  gint64 consumed;
  gint64 now;
  gint64 forgiven;
  gint64 allowance;

  if (!client_is_open (client))
    {
      /* Closing: libsoup may stop reading, so the socket would stay
       * readable and this watch would spin. */
      client->input_watch_id = 0;
      return G_SOURCE_REMOVE;
    }

  consumed = kernel_bytes_consumed (client);
  if (consumed < 0)
    return G_SOURCE_CONTINUE;

  now = g_get_monotonic_time ();
  forgiven = (now - client->input_forgiven_us) * INPUT_FORGIVEN_BYTES_PER_S / G_USEC_PER_SEC;
  if (forgiven > 0)
    {
      client->input_baseline = MIN (client->input_baseline + forgiven, consumed);
      client->input_forgiven_us = now;
    }

  allowance = 2 * (gint64) self->max_message_bytes + 64 * 1024;
  if (consumed - client->input_baseline > allowance)
    {
      g_autofree char *reason = g_strdup_printf ("the message is larger than %u bytes", self->max_message_bytes);

      g_debug ("%s client %s: %" G_GINT64_FORMAT " bytes read since its last whole message",
               endpoint_names[client->endpoint->kind], client_label (client),
               consumed - client->input_baseline);
      client->input_watch_id = 0;
      client_fail (client, SOUP_WEBSOCKET_CLOSE_TOO_BIG, reason);
      /* libsoup would go on assembling fragments until the client
       * answers the close; end the stream both ways now. */
      if (client->socket != NULL && !g_socket_is_closed (client->socket))
        g_socket_shutdown (client->socket, TRUE, TRUE, NULL);
      return G_SOURCE_REMOVE;
    }
  return G_SOURCE_CONTINUE;
}

static void
input_mark_message (Client *client)
{
  gint64 consumed = kernel_bytes_consumed (client);

  if (consumed >= 0)
    client->input_baseline = consumed;
}

/* --- liveness ------------------------------------------------------------ */

static void
client_drop_silent (Client *client)
{
  guint seconds = keepalive_seconds (client->endpoint->hub);

  g_info ("%s client %s answered no ping for %u s: dropping it",
          endpoint_names[client->endpoint->kind], client_label (client),
          seconds * client->endpoint->hub->missed_pongs);

  if (client_is_open (client))
    soup_websocket_connection_close (client->connection, SOUP_WEBSOCKET_CLOSE_GOING_AWAY,
                                     "no answer to pings");
  /* The peer will not finish the close handshake; shutting the socket
   * down makes libsoup see the end now instead of after its 5 s wait. */
  if (client->socket != NULL && !g_socket_is_closed (client->socket))
    g_socket_shutdown (client->socket, TRUE, TRUE, NULL);
  client_detach (client);
}

static gboolean
check_liveness (gpointer user_data)
{
  RoadieWsHub *self = user_data;
  gint64 now = g_get_monotonic_time ();
  gint64 allowed_us = (gint64) keepalive_seconds (self) * self->missed_pongs * G_USEC_PER_SEC;
  gboolean dropped;

  /* Dropping a DJ emits "dj-disconnected", whose handlers may close
   * other clients: after each drop, look again from the start. */
  do
    {
      dropped = FALSE;
      for (guint e = 0; e < ROADIE_WS_N_ENDPOINTS && !dropped; e++)
        for (GList *l = self->endpoints[e].clients.head; l != NULL; l = l->next)
          {
            Client *client = l->data;

            if (client_is_open (client) && now - client->last_alive_us > allowed_us)
              {
                client_drop_silent (client);
                dropped = TRUE;
                break;
              }
          }
    }
  while (dropped);

  return G_SOURCE_CONTINUE;
}

static gboolean
hub_is_listening (RoadieWsHub *self)
{
  for (guint e = 0; e < ROADIE_WS_N_ENDPOINTS; e++)
    if (self->endpoints[e].server != NULL)
      return TRUE;
  return FALSE;
}

static void
restart_liveness (RoadieWsHub *self)
{
  guint seconds = keepalive_seconds (self);

  g_clear_handle_id (&self->liveness_id, g_source_remove);
  for (guint e = 0; e < ROADIE_WS_N_ENDPOINTS; e++)
    for (GList *l = self->endpoints[e].clients.head; l != NULL; l = l->next)
      {
        Client *client = l->data;

        client->last_alive_us = g_get_monotonic_time ();
        if (client_is_open (client))
          soup_websocket_connection_set_keepalive_interval (client->connection, seconds);
      }

  /* A quarter of the ping period: a silent client is dropped at most that
   * much after its allowance runs out. */
  if (seconds > 0 && hub_is_listening (self))
    self->liveness_id = g_timeout_add (CLAMP (seconds * 1000 / 4, 100, 1000), check_liveness, self);
}

/* --- statistics ---------------------------------------------------------- */

static gboolean
log_stats (gpointer user_data)
{
  RoadieWsHub *self = user_data;
  g_autoptr(JsonNode) stats = roadie_ws_hub_build_stats (self);
  g_autofree char *text = json_to_string (stats, FALSE);

  g_message ("%s", text);
  return G_SOURCE_CONTINUE;
}

static void
restart_stats_log (RoadieWsHub *self)
{
  g_clear_handle_id (&self->stats_log_id, g_source_remove);
  if (self->stats_log_interval_ms > 0 && hub_is_listening (self))
    self->stats_log_id = g_timeout_add (self->stats_log_interval_ms, log_stats, self);
}

/* --- DJ authentication --------------------------------------------------- */

static Penalty *
lookup_penalty (RoadieWsHub *self,
                const char  *address,
                gint64       now)
{
  Penalty *penalty = g_hash_table_lookup (self->penalties, address);

  if (penalty != NULL && now - penalty->last_failure_us > (gint64) self->auth_forget_ms * 1000)
    {
      g_hash_table_remove (self->penalties, address);
      penalty = NULL;
    }
  return penalty;
}

static guint
penalty_delay_ms (RoadieWsHub *self,
                  Penalty     *penalty)
{
  guint64 delay;

  if (penalty == NULL || penalty->failures == 0 || self->auth_delay_initial_ms == 0)
    return 0;
  delay = (guint64) self->auth_delay_initial_ms << MIN (penalty->failures - 1, 20);
  return (guint) MIN (delay, (guint64) self->auth_delay_max_ms);
}

static void
record_failure (RoadieWsHub *self,
                const char  *address)
{
  gint64 now = g_get_monotonic_time ();
  Penalty *penalty = lookup_penalty (self, address, now);

  if (penalty == NULL)
    {
      GHashTableIter iter;
      gpointer value;

      /* Forget quiet addresses now and then, so the table stays small. */
      if (g_hash_table_size (self->penalties) >= 256)
        {
          g_hash_table_iter_init (&iter, self->penalties);
          while (g_hash_table_iter_next (&iter, NULL, &value))
            if (now - ((Penalty *) value)->last_failure_us > (gint64) self->auth_forget_ms * 1000)
              g_hash_table_iter_remove (&iter);
        }
      penalty = g_new0 (Penalty, 1);
      g_hash_table_insert (self->penalties, g_strdup (address), penalty);
    }
  penalty->failures++;
  penalty->last_failure_us = now;
}

static void
sign_in (Client *client)
{
  RoadieWsHub *self = client->endpoint->hub;
  g_autofree char *ok = roadie_message_auth_ok ();
  Client *previous;

  client->authenticated = TRUE;
  client->is_admin = g_str_equal (client->dj_id, ADMIN_DJ_ID);
  client_send_now (client, ok);

  if (client->is_admin)
    {
      g_info ("The admin signed in from %s", client->address);
      return;
    }

  previous = g_hash_table_lookup (self->djs, client->dj_id);
  if (previous != NULL)
    {
      g_autofree char *dj_id = g_strdup (previous->dj_id);

      /* The old session stops being this DJ now, so its later close is
       * not mistaken for the DJ leaving. */
      previous->authenticated = FALSE;
      g_hash_table_remove (self->djs, dj_id);
      self->dj_disconnects++;
      client_fail (previous, SOUP_WEBSOCKET_CLOSE_POLICY_VIOLATION,
                   "this DJ signed in again on another connection");
      g_signal_emit (self, signals[DJ_DISCONNECTED], 0, dj_id);
    }

  g_hash_table_insert (self->djs, g_strdup (client->dj_id), client);
  self->dj_connects++;
  g_info ("DJ %s (%s) signed in from %s", client->dj_id, client->dj_name, client->address);
  g_signal_emit (self, signals[DJ_CONNECTED], 0, client->dj_id, client->dj_name);
}

static void
answer_auth (Client *client)
{
  RoadieWsHub *self = client->endpoint->hub;
  g_autofree char *failed = NULL;

  client->answer_pending = FALSE;
  if (!client_is_open (client))
    return;

  if (client->verdict)
    {
      sign_in (client);
      return;
    }

  record_failure (self, client->address);
  g_info ("DJ sign-in as “%s” from %s refused: %s", client->dj_id, client->address, client->refusal);
  failed = roadie_message_auth_failed (client->refusal);
  client_send_now (client, failed);
  soup_websocket_connection_close (client->connection, CLOSE_AUTH_FAILED, "authentication failed");
}

static gboolean
auth_answer_due (gpointer user_data)
{
  Client *client = user_data;

  client->auth_answer_id = 0;
  answer_auth (client);
  return G_SOURCE_REMOVE;
}

static gboolean
auth_timed_out (gpointer user_data)
{
  Client *client = user_data;
  RoadieWsHub *self = client->endpoint->hub;
  g_autofree char *reason = g_strdup_printf ("no dj_auth within %u ms of connecting",
                                             self->auth_timeout_ms);

  client->auth_timeout_id = 0;
  client_fail (client, SOUP_WEBSOCKET_CLOSE_POLICY_VIOLATION, reason);
  return G_SOURCE_REMOVE;
}

static void
handle_dj_auth (Client        *client,
                RoadieMessage *message)
{
  RoadieWsHub *self = client->endpoint->hub;
  const char *dj_id = json_object_get_string_member (message->object, "dj_id");
  const char *dj_key = json_object_get_string_member (message->object, "dj_key");
  const char *dj_name = json_object_get_string_member_with_default (message->object, "dj_name", "");
  guint delay;

  g_clear_handle_id (&client->auth_timeout_id, g_source_remove);

  g_free (client->dj_id);
  g_free (client->dj_name);
  g_clear_pointer (&client->refusal, g_free);
  client->dj_id = g_strdup (dj_id);
  client->dj_name = g_strdup (*dj_name != '\0' ? dj_name : dj_id);

  if (self->keys == NULL || roadie_dj_keys_count (self->keys) == 0)
    {
      client->verdict = FALSE;
      client->refusal = g_strdup ("this server has no DJ keys loaded, so it accepts no DJs "
                                  "(start it with a DJ keys file)");
    }
  else
    {
      client->verdict = roadie_dj_keys_check (self->keys, dj_id, dj_key);
      if (!client->verdict)
        client->refusal = g_strdup ("unknown DJ or wrong key");
    }

  delay = penalty_delay_ms (self, lookup_penalty (self, client->address, g_get_monotonic_time ()));
  if (delay == 0)
    {
      answer_auth (client);
      return;
    }

  g_debug ("DJ sign-in from %s answered in %u ms (earlier failures)", client->address, delay);
  client->answer_pending = TRUE;
  client->auth_answer_id = g_timeout_add (delay, auth_answer_due, client);
}

/* --- messages ------------------------------------------------------------ */

static void
handle_dj_message (Client        *client,
                   RoadieMessage *message)
{
  RoadieWsHub *self = client->endpoint->hub;

  if (client->answer_pending)
    {
      g_debug ("DJ %s: message dropped while its sign-in answer waits", client_label (client));
      return;
    }

  if (!client->authenticated)
    {
      if (message->type == ROADIE_MESSAGE_DJ_AUTH)
        handle_dj_auth (client, message);
      else
        client_fail (client, SOUP_WEBSOCKET_CLOSE_POLICY_VIOLATION,
                     "send dj_auth first: this endpoint is for signed-in DJs");
      return;
    }

  switch (message->type)
    {
    case ROADIE_MESSAGE_DJ_HEARTBEAT:
      {
        g_autofree char *ack = roadie_message_heartbeat_ack (roadie_protocol_now ());
        client_send_now (client, ack);
      }
      break;

    case ROADIE_MESSAGE_FRAME:
    case ROADIE_MESSAGE_DJ_FRAME:
      if (client->is_admin)
        break;
      json_object_set_string_member (message->object, "dj_id", client->dj_id);
      g_signal_emit (self, signals[DJ_FRAME], 0, client->dj_id, message->object);
      break;

    case ROADIE_MESSAGE_SET_ACTIVE_DJ:
      if (client->is_admin)
        {
          g_signal_emit (self, signals[SET_ACTIVE_DJ], 0,
                         json_object_get_string_member (message->object, "dj_id"));
        }
      else
        {
          g_autofree char *error = roadie_message_error ("only the admin may choose the active DJ");
          client_send_now (client, error);
        }
      break;

    case ROADIE_MESSAGE_UNKNOWN:
    case ROADIE_MESSAGE_HELLO:
    case ROADIE_MESSAGE_DJ_AUTH:
    case ROADIE_MESSAGE_AUTH_OK:
    case ROADIE_MESSAGE_AUTH_FAILED:
    case ROADIE_MESSAGE_HEARTBEAT_ACK:
    case ROADIE_MESSAGE_STATS:
    case ROADIE_MESSAGE_ERROR:
    default:
      break;
    }
}

static void
client_message (SoupWebsocketConnection *connection,
                int                      type,
                GBytes                  *data,
                gpointer                 user_data)
{
  Client *client = user_data;
  RoadieWsHub *self = client->endpoint->hub;
  g_autoptr(RoadieMessage) message = NULL;
  g_autoptr(GError) error = NULL;
  gushort code = 0;
  const char *text;
  gsize len = 0;

  client->last_alive_us = g_get_monotonic_time ();
  if (!client_is_open (client))
    return;
  input_mark_message (client);

  if (type != SOUP_WEBSOCKET_DATA_TEXT)
    {
      client_fail (client, SOUP_WEBSOCKET_CLOSE_UNSUPPORTED_DATA,
                   "binary messages are not accepted: send JSON text");
      return;
    }

  text = g_bytes_get_data (data, &len);
  message = roadie_message_parse (text, len, self->max_message_bytes, &code, &error);
  if (message == NULL)
    {
      client_fail (client, code, error->message);
      return;
    }

  if (client->endpoint->kind == ROADIE_WS_ENDPOINT_DJ)
    handle_dj_message (client, message);
  else if (message->type == ROADIE_MESSAGE_SET_ACTIVE_DJ)
    {
      g_autofree char *reply = roadie_message_error ("only the admin, signed in on the DJ endpoint, "
                                                     "may choose the active DJ");
      client_send_now (client, reply);
    }
}

static void
client_pong (SoupWebsocketConnection *connection,
             GBytes                  *data,
             gpointer                 user_data)
{
  Client *client = user_data;
  gsize len = g_bytes_get_size (data);

  client->last_alive_us = g_get_monotonic_time ();
  /* A client's pong is a masked control frame: 6 header bytes. */
  client->input_baseline += 6 + MIN (len, 125);
}

/* libsoup found the client breaking the WebSocket protocol, sending
 * invalid UTF-8 or too large a frame: it is still open here, and will
 * close right after this handler with the code in the error. Say why
 * first. */
static void
client_error (SoupWebsocketConnection *connection,
              GError                  *error,
              gpointer                 user_data)
{
  Client *client = user_data;
  RoadieWsHub *self = client->endpoint->hub;
  g_autofree char *too_big = NULL;
  const char *reason;

  if (error->domain != SOUP_WEBSOCKET_ERROR)
    {
      g_debug ("%s client %s: %s", endpoint_names[client->endpoint->kind],
               client_label (client), error->message);
      return;
    }

  switch (error->code)
    {
    case SOUP_WEBSOCKET_CLOSE_BAD_DATA:
      reason = "the text message is not valid UTF-8";
      break;

    case SOUP_WEBSOCKET_CLOSE_TOO_BIG:
      too_big = g_strdup_printf ("the message is larger than %u bytes", self->max_message_bytes);
      reason = too_big;
      break;

    case SOUP_WEBSOCKET_CLOSE_PROTOCOL_ERROR:
      reason = "WebSocket protocol error";
      break;

    default:
      reason = error->message;
      break;
    }
  client_fail (client, error->code, reason);

  /* After a framing error libsoup cannot read past the bad frame, so the
   * client's answering close frame would never be seen and the TCP
   * connection would linger for libsoup's 5 s close timeout. RFC 6455
   * 7.1.7 says to close the connection after failing it: end our side now
   * (the close frame is already in the kernel, ahead of the FIN). */
  if (error->code == SOUP_WEBSOCKET_CLOSE_PROTOCOL_ERROR
      && client->socket != NULL && !g_socket_is_closed (client->socket))
    g_socket_shutdown (client->socket, FALSE, TRUE, NULL);
}

static void
client_closed (SoupWebsocketConnection *connection,
               gpointer                 user_data)
{
  client_detach (user_data);
}

/* Forgets the client: statistics, signals, timers, references. The
 * connection itself may still be closing; libsoup finishes that alone. */
static void
client_detach (Client *client)
{
  Endpoint *endpoint = client->endpoint;
  RoadieWsHub *self = endpoint->hub;
  g_autofree char *gone_dj = NULL;

  g_queue_unlink (&endpoint->clients, &client->link);
  g_clear_handle_id (&client->auth_timeout_id, g_source_remove);
  g_clear_handle_id (&client->auth_answer_id, g_source_remove);
  g_clear_handle_id (&client->input_watch_id, g_source_remove);
  client_set_pending (client, NULL);
  g_signal_handlers_disconnect_by_data (client->connection, client);

  if (client->skipped > 0)
    g_info ("%s client %s was too slow for %" G_GUINT64_FORMAT " frames (sent the latest instead)",
            endpoint_names[endpoint->kind], client_label (client), client->skipped);

  if (endpoint->kind == ROADIE_WS_ENDPOINT_BROWSER)
    self->browser_disconnects++;
  if (client->authenticated && !client->is_admin
      && g_hash_table_lookup (self->djs, client->dj_id) == client)
    {
      g_hash_table_remove (self->djs, client->dj_id);
      self->dj_disconnects++;
      gone_dj = g_strdup (client->dj_id);
      g_info ("DJ %s left", client->dj_id);
    }

  g_clear_object (&client->connection);
  g_clear_object (&client->socket);
  g_free (client->address);
  g_free (client->dj_id);
  g_free (client->dj_name);
  g_free (client->refusal);
  g_free (client);

  if (gone_dj != NULL)
    g_signal_emit (self, signals[DJ_DISCONNECTED], 0, gone_dj);
  g_signal_emit (self, signals[CLIENTS_CHANGED], 0, endpoint->kind);
}

/* --- connections --------------------------------------------------------- */

static GSocket *
find_socket (SoupServerMessage       *msg,
             SoupWebsocketConnection *connection)
{
  GSocket *socket = soup_server_message_get_socket (msg);
  GIOStream *stream;

  if (socket != NULL)
    return g_object_ref (socket);

  stream = soup_websocket_connection_get_io_stream (connection);
  if (G_IS_SOCKET_CONNECTION (stream))
    return g_object_ref (g_socket_connection_get_socket (G_SOCKET_CONNECTION (stream)));
  return NULL;
}

static void
websocket_connected (SoupServer              *server,
                     SoupServerMessage       *msg,
                     const char              *path,
                     SoupWebsocketConnection *connection,
                     gpointer                 user_data)
{
  Endpoint *endpoint = user_data;
  RoadieWsHub *self = endpoint->hub;
  Client *client;
  gint64 taken;

  if (endpoint->clients.length >= self->max_clients)
    {
      /* Handshakes racing past the 503 check in handle_request. */
      soup_websocket_connection_close (connection, SOUP_WEBSOCKET_CLOSE_POLICY_VIOLATION,
                                       "too many clients on this endpoint; try again later");
      return;
    }

  client = g_new0 (Client, 1);
  client->endpoint = endpoint;
  client->link.data = client;
  client->connection = g_object_ref (connection);
  client->socket = find_socket (msg, connection);
  client->address = g_strdup (soup_server_message_get_remote_host (msg));
  client->last_alive_us = g_get_monotonic_time ();
  if (client->address == NULL)
    client->address = g_strdup ("unknown address");
  g_queue_push_tail_link (&endpoint->clients, &client->link);

  if (client->socket != NULL)
    {
      /* Frames are small and sent one at a time: Nagle would hold each
       * behind the previous one's ACK. */
      g_socket_set_option (client->socket, IPPROTO_TCP, TCP_NODELAY, 1, NULL);
      /* libsoup reads until the socket is empty before it hands anything
       * over, so the receive buffer bounds how far a fragmented message
       * can outgrow the limit before input_check() sees it. Two messages'
       * worth keeps a fast sender at full speed. */
      g_socket_set_option (client->socket, SOL_SOCKET, SO_RCVBUF,
                           MAX (2 * self->max_message_bytes, 64 * 1024), NULL);
    }
  else
    g_debug ("%s client %s: no socket to watch; slow-consumer protection is off for it",
             endpoint_names[endpoint->kind], client->address);

  taken = kernel_bytes_taken (client);
  client->kernel_baseline = taken > 0 ? taken : 0;
  client->input_baseline = MAX (0, kernel_bytes_consumed (client));
  client->input_forgiven_us = g_get_monotonic_time ();
  if (client->socket != NULL)
    client->input_watch_id = g_unix_fd_add (g_socket_get_fd (client->socket), G_IO_IN,
                                            input_check, client);

  soup_websocket_connection_set_max_incoming_payload_size (connection, self->max_message_bytes);
  soup_websocket_connection_set_keepalive_interval (connection, keepalive_seconds (self));
  g_signal_connect (connection, "message", G_CALLBACK (client_message), client);
  g_signal_connect (connection, "pong", G_CALLBACK (client_pong), client);
  g_signal_connect (connection, "error", G_CALLBACK (client_error), client);
  g_signal_connect (connection, "closed", G_CALLBACK (client_closed), client);

  switch (endpoint->kind)
    {
    case ROADIE_WS_ENDPOINT_DJ:
      client->auth_timeout_id = g_timeout_add (self->auth_timeout_ms, auth_timed_out, client);
      break;

    case ROADIE_WS_ENDPOINT_BROWSER:
      self->browser_connects++;
      G_GNUC_FALLTHROUGH;
    case ROADIE_WS_ENDPOINT_ENGINE:
    case ROADIE_WS_N_ENDPOINTS:
    default:
      {
        g_autofree char *hello = roadie_message_hello (self->server_name, PACKAGE_VERSION);
        g_autofree char *welcome = NULL;

        client_send_now (client, hello);
        if (endpoint->welcome != NULL)
          welcome = endpoint->welcome (self, endpoint->welcome_data);
        if (welcome != NULL)
          client_send_now (client, welcome);
      }
      break;
    }

  g_debug ("%s client %s connected", endpoint_names[endpoint->kind], client->address);
  g_signal_emit (self, signals[CLIENTS_CHANGED], 0, endpoint->kind);
}

static void
handle_request (SoupServer        *server,
                SoupServerMessage *msg,
                const char        *path,
                GHashTable        *query,
                gpointer           user_data)
{
  Endpoint *endpoint = user_data;
  RoadieWsHub *self = endpoint->hub;
  const char *method = soup_server_message_get_method (msg);

  if (g_strcmp0 (path, "/health") == 0)
    {
      g_autoptr(JsonNode) stats = NULL;

      if (method != SOUP_METHOD_GET && method != SOUP_METHOD_HEAD)
        {
          soup_message_headers_replace (soup_server_message_get_response_headers (msg),
                                        "Allow", "GET, HEAD");
          roadie_http_respond_error (msg, SOUP_STATUS_METHOD_NOT_ALLOWED, "/health only answers GET");
          return;
        }
      stats = roadie_ws_hub_build_stats (self);
      roadie_http_respond_json (msg, SOUP_STATUS_OK, stats);
      return;
    }

  if (g_strcmp0 (path, "/") == 0)
    {
      if (soup_websocket_server_check_handshake (msg, NULL, NULL, NULL, NULL))
        {
          if (endpoint->clients.length >= self->max_clients)
            {
              g_autofree char *message = g_strdup_printf ("this %s endpoint has its %u clients; try again later",
                                                          endpoint_names[endpoint->kind], self->max_clients);

              g_info ("%s endpoint full (%u clients): turned %s away",
                      endpoint_names[endpoint->kind], self->max_clients,
                      soup_server_message_get_remote_host (msg));
              soup_message_headers_replace (soup_server_message_get_response_headers (msg),
                                            "Retry-After", "5");
              roadie_http_respond_error (msg, SOUP_STATUS_SERVICE_UNAVAILABLE, message);
            }
          /* Otherwise leaving the status unset lets SoupServer complete
           * the handshake and call websocket_connected(). */
          return;
        }
      if (endpoint->page != NULL && (method == SOUP_METHOD_GET || method == SOUP_METHOD_HEAD))
        {
          soup_server_message_set_status (msg, SOUP_STATUS_OK, NULL);
          soup_server_message_set_response (msg, endpoint->page_type, SOUP_MEMORY_COPY,
                                            g_bytes_get_data (endpoint->page, NULL),
                                            g_bytes_get_size (endpoint->page));
          return;
        }
      roadie_http_respond_error (msg, SOUP_STATUS_BAD_REQUEST,
                                 "this is a WebSocket endpoint: connect with a WebSocket client, or GET /health");
      return;
    }

  roadie_http_respond_error (msg, SOUP_STATUS_NOT_FOUND, "no such path here; try GET /health");
}

/* --- GObject ------------------------------------------------------------- */

static void
roadie_ws_hub_dispose (GObject *object)
{
  RoadieWsHub *self = (RoadieWsHub *)object;

  roadie_ws_hub_shutdown (self);
  g_clear_pointer (&self->keys, roadie_dj_keys_free);
  for (guint e = 0; e < ROADIE_WS_N_ENDPOINTS; e++)
    {
      g_clear_pointer (&self->endpoints[e].page, g_bytes_unref);
      g_clear_pointer (&self->endpoints[e].page_type, g_free);
    }

  G_OBJECT_CLASS (roadie_ws_hub_parent_class)->dispose (object);
}

static void
roadie_ws_hub_finalize (GObject *object)
{
  RoadieWsHub *self = (RoadieWsHub *)object;

  g_clear_pointer (&self->server_name, g_free);
  g_clear_pointer (&self->penalties, g_hash_table_unref);
  g_clear_pointer (&self->djs, g_hash_table_unref);

  G_OBJECT_CLASS (roadie_ws_hub_parent_class)->finalize (object);
}

static void
roadie_ws_hub_get_property (GObject    *object,
                            guint       prop_id,
                            GValue     *value,
                            GParamSpec *pspec)
{
  RoadieWsHub *self = ROADIE_WS_HUB (object);

  switch (prop_id)
    {
    case PROP_SERVER_NAME:
      g_value_set_string (value, self->server_name);
      break;

    case PROP_PING_INTERVAL_MS:
      g_value_set_uint (value, self->ping_interval_ms);
      break;

    case PROP_MISSED_PONGS:
      g_value_set_uint (value, self->missed_pongs);
      break;

    case PROP_MAX_CLIENTS:
      g_value_set_uint (value, self->max_clients);
      break;

    case PROP_MAX_MESSAGE_BYTES:
      g_value_set_uint (value, self->max_message_bytes);
      break;

    case PROP_STATS_LOG_INTERVAL_MS:
      g_value_set_uint (value, self->stats_log_interval_ms);
      break;

    case PROP_MC_CONNECTED:
      g_value_set_boolean (value, self->mc_connected);
      break;

    case PROP_MC_RECONNECT_COUNT:
      g_value_set_uint (value, self->mc_reconnect_count);
      break;

    case PROP_AUTH_TIMEOUT_MS:
      g_value_set_uint (value, self->auth_timeout_ms);
      break;

    case PROP_AUTH_DELAY_INITIAL_MS:
      g_value_set_uint (value, self->auth_delay_initial_ms);
      break;

    case PROP_AUTH_DELAY_MAX_MS:
      g_value_set_uint (value, self->auth_delay_max_ms);
      break;

    case PROP_AUTH_FORGET_MS:
      g_value_set_uint (value, self->auth_forget_ms);
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

/* Stores a uint property; TRUE (and notifies) when it changed. */
static gboolean
set_uint (RoadieWsHub  *self,
          guint        *field,
          const GValue *value,
          guint         prop_id)
{
  guint new_value = g_value_get_uint (value);

  if (*field == new_value)
    return FALSE;
  *field = new_value;
  g_object_notify_by_pspec (G_OBJECT (self), properties[prop_id]);
  return TRUE;
}

static void
roadie_ws_hub_set_property (GObject      *object,
                            guint         prop_id,
                            const GValue *value,
                            GParamSpec   *pspec)
{
  RoadieWsHub *self = ROADIE_WS_HUB (object);

  switch (prop_id)
    {
    case PROP_SERVER_NAME:
      if (g_strcmp0 (self->server_name, g_value_get_string (value)) != 0)
        {
          g_free (self->server_name);
          self->server_name = g_value_dup_string (value);
          if (self->server_name == NULL)
            self->server_name = g_strdup ("roadie-engine");
          g_object_notify_by_pspec (object, pspec);
        }
      break;

    case PROP_PING_INTERVAL_MS:
      if (set_uint (self, &self->ping_interval_ms, value, prop_id))
        restart_liveness (self);
      break;

    case PROP_MISSED_PONGS:
      set_uint (self, &self->missed_pongs, value, prop_id);
      break;

    case PROP_MAX_CLIENTS:
      set_uint (self, &self->max_clients, value, prop_id);
      break;

    case PROP_MAX_MESSAGE_BYTES:
      if (set_uint (self, &self->max_message_bytes, value, prop_id))
        for (guint e = 0; e < ROADIE_WS_N_ENDPOINTS; e++)
          for (GList *l = self->endpoints[e].clients.head; l != NULL; l = l->next)
            soup_websocket_connection_set_max_incoming_payload_size (((Client *) l->data)->connection,
                                                                     self->max_message_bytes);
      break;

    case PROP_STATS_LOG_INTERVAL_MS:
      if (set_uint (self, &self->stats_log_interval_ms, value, prop_id))
        restart_stats_log (self);
      break;

    case PROP_MC_CONNECTED:
      if (self->mc_connected != g_value_get_boolean (value))
        {
          self->mc_connected = g_value_get_boolean (value);
          g_object_notify_by_pspec (object, pspec);
        }
      break;

    case PROP_MC_RECONNECT_COUNT:
      set_uint (self, &self->mc_reconnect_count, value, prop_id);
      break;

    case PROP_AUTH_TIMEOUT_MS:
      set_uint (self, &self->auth_timeout_ms, value, prop_id);
      break;

    case PROP_AUTH_DELAY_INITIAL_MS:
      set_uint (self, &self->auth_delay_initial_ms, value, prop_id);
      break;

    case PROP_AUTH_DELAY_MAX_MS:
      set_uint (self, &self->auth_delay_max_ms, value, prop_id);
      break;

    case PROP_AUTH_FORGET_MS:
      set_uint (self, &self->auth_forget_ms, value, prop_id);
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static GParamSpec *
uint_property (const char *name,
               guint       minimum,
               guint       maximum,
               guint       default_value)
{
  return g_param_spec_uint (name, NULL, NULL, minimum, maximum, default_value,
                            (G_PARAM_READWRITE | G_PARAM_CONSTRUCT | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY));
}

static void
roadie_ws_hub_class_init (RoadieWsHubClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = roadie_ws_hub_dispose;
  object_class->finalize = roadie_ws_hub_finalize;
  object_class->get_property = roadie_ws_hub_get_property;
  object_class->set_property = roadie_ws_hub_set_property;

  properties[PROP_SERVER_NAME] =
    g_param_spec_string ("server-name", NULL, NULL,
                         "roadie-engine",
                         (G_PARAM_READWRITE | G_PARAM_CONSTRUCT | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY));
  /* The seed: browsers pinged every 15 s, dropped after 2 missed pongs. */
  properties[PROP_PING_INTERVAL_MS] = uint_property ("ping-interval-ms", 0, 3600 * 1000, 15000);
  properties[PROP_MISSED_PONGS] = uint_property ("missed-pongs", 1, 100, 2);
  properties[PROP_MAX_CLIENTS] = uint_property ("max-clients", 1, 100000, 256);
  /* Never 0: libsoup 3.2 reads 0 as "no limit". */
  properties[PROP_MAX_MESSAGE_BYTES] = uint_property ("max-message-bytes", 128, 64 * 1024 * 1024, 65536);
  properties[PROP_STATS_LOG_INTERVAL_MS] = uint_property ("stats-log-interval-ms", 0, G_MAXUINT, 60000);
  properties[PROP_MC_CONNECTED] =
    g_param_spec_boolean ("mc-connected", NULL, NULL,
                          FALSE,
                          (G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY));
  properties[PROP_MC_RECONNECT_COUNT] =
    g_param_spec_uint ("mc-reconnect-count", NULL, NULL,
                       0, G_MAXUINT, 0,
                       (G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY));
  properties[PROP_AUTH_TIMEOUT_MS] = uint_property ("auth-timeout-ms", 100, 600000, 5000);
  properties[PROP_AUTH_DELAY_INITIAL_MS] = uint_property ("auth-delay-initial-ms", 0, 60000, 250);
  properties[PROP_AUTH_DELAY_MAX_MS] = uint_property ("auth-delay-max-ms", 0, 600000, 8000);
  properties[PROP_AUTH_FORGET_MS] = uint_property ("auth-forget-ms", 1000, 24 * 3600 * 1000, 60000);

  g_object_class_install_properties (object_class, N_PROPS, properties);

  signals[DJ_CONNECTED] =
    g_signal_new ("dj-connected",
                  G_TYPE_FROM_CLASS (klass),
                  G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL,
                  G_TYPE_NONE, 2, G_TYPE_STRING, G_TYPE_STRING);
  signals[DJ_DISCONNECTED] =
    g_signal_new ("dj-disconnected",
                  G_TYPE_FROM_CLASS (klass),
                  G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL,
                  G_TYPE_NONE, 1, G_TYPE_STRING);
  signals[DJ_FRAME] =
    g_signal_new ("dj-frame",
                  G_TYPE_FROM_CLASS (klass),
                  G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL,
                  G_TYPE_NONE, 2, G_TYPE_STRING, JSON_TYPE_OBJECT);
  signals[SET_ACTIVE_DJ] =
    g_signal_new ("set-active-dj",
                  G_TYPE_FROM_CLASS (klass),
                  G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL,
                  G_TYPE_NONE, 1, G_TYPE_STRING);
  signals[CLIENTS_CHANGED] =
    g_signal_new ("clients-changed",
                  G_TYPE_FROM_CLASS (klass),
                  G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL,
                  G_TYPE_NONE, 1, G_TYPE_UINT);
}

static void
roadie_ws_hub_init (RoadieWsHub *self)
{
  for (guint e = 0; e < ROADIE_WS_N_ENDPOINTS; e++)
    {
      self->endpoints[e].hub = self;
      self->endpoints[e].kind = e;
      g_queue_init (&self->endpoints[e].clients);
    }
  self->penalties = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  self->djs = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
}

/* --- public -------------------------------------------------------------- */

RoadieWsHub *
roadie_ws_hub_new (void)
{
  return g_object_new (ROADIE_TYPE_WS_HUB, NULL);
}

gboolean
roadie_ws_hub_listen (RoadieWsHub       *self,
                      RoadieWsEndpoint   endpoint,
                      const char        *bind,
                      guint              port,
                      GError           **error)
{
  Endpoint *e;
  g_autoptr(SoupServer) server = NULL;
  g_autofree char *consequence = NULL;

  g_return_val_if_fail (ROADIE_IS_WS_HUB (self), FALSE);
  g_return_val_if_fail (endpoint < ROADIE_WS_N_ENDPOINTS, FALSE);
  g_return_val_if_fail (port <= G_MAXUINT16, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  e = &self->endpoints[endpoint];
  if (e->server != NULL)
    {
      g_set_error (error, ROADIE_ERROR, ROADIE_ERROR_FAILED,
                   "The %s endpoint already listens on port %u", endpoint_names[endpoint], e->port);
      return FALSE;
    }

  server = soup_server_new (NULL, NULL);
  /* No permessage-deflate: frames are small, compressing each one per
   * client costs CPU at 60 fps, and libsoup 3.2 inflates without bound. */
  soup_server_remove_websocket_extension (server, SOUP_TYPE_WEBSOCKET_EXTENSION_DEFLATE);
  soup_server_add_handler (server, "/", handle_request, e, NULL);
  soup_server_add_websocket_handler (server, "/", NULL, NULL, websocket_connected, e, NULL);

  consequence = g_strdup_printf ("the %s endpoint cannot listen there", endpoint_names[endpoint]);
  if (!roadie_http_server_listen (server, bind, port, consequence,
                                  "Stop the other program or choose another port.", error))
    return FALSE;

  e->server = g_steal_pointer (&server);
  e->port = roadie_http_server_get_port (e->server);
  g_info ("WebSocket %s endpoint listening on ws://%s:%u/", endpoint_names[endpoint],
          bind != NULL ? bind : "127.0.0.1", e->port);

  if (self->liveness_id == 0)
    restart_liveness (self);
  if (self->stats_log_id == 0)
    restart_stats_log (self);

  return TRUE;
}

guint
roadie_ws_hub_get_port (RoadieWsHub      *self,
                        RoadieWsEndpoint  endpoint)
{
  g_return_val_if_fail (ROADIE_IS_WS_HUB (self), 0);
  g_return_val_if_fail (endpoint < ROADIE_WS_N_ENDPOINTS, 0);

  return self->endpoints[endpoint].port;
}

void
roadie_ws_hub_set_dj_keys (RoadieWsHub  *self,
                           RoadieDjKeys *keys)
{
  g_return_if_fail (ROADIE_IS_WS_HUB (self));

  if (keys != NULL)
    roadie_dj_keys_ref (keys);
  g_clear_pointer (&self->keys, roadie_dj_keys_free);
  self->keys = keys;
}

void
roadie_ws_hub_set_page (RoadieWsHub      *self,
                        RoadieWsEndpoint  endpoint,
                        const char       *content_type,
                        GBytes           *body)
{
  Endpoint *e;

  g_return_if_fail (ROADIE_IS_WS_HUB (self));
  g_return_if_fail (endpoint < ROADIE_WS_N_ENDPOINTS);

  e = &self->endpoints[endpoint];
  g_clear_pointer (&e->page, g_bytes_unref);
  g_clear_pointer (&e->page_type, g_free);
  if (body != NULL)
    {
      e->page = g_bytes_ref (body);
      e->page_type = g_strdup (content_type != NULL ? content_type : "text/html; charset=utf-8");
    }
}

void
roadie_ws_hub_broadcast (RoadieWsHub      *self,
                         RoadieWsEndpoint  endpoint,
                         const char       *text)
{
  g_autoptr(GBytes) frame = NULL;
  Endpoint *e;

  g_return_if_fail (ROADIE_IS_WS_HUB (self));
  g_return_if_fail (endpoint < ROADIE_WS_N_ENDPOINTS);
  g_return_if_fail (text != NULL);

  e = &self->endpoints[endpoint];
  if (e->clients.length == 0)
    return;
  /* libsoup would refuse it once per client. */
  g_return_if_fail (g_utf8_validate (text, -1, NULL));

  /* One copy shared by every client that has to keep it pending. */
  frame = g_bytes_new (text, strlen (text) + 1);
  for (GList *l = e->clients.head; l != NULL; l = l->next)
    if (client_receives_broadcasts (l->data))
      client_offer_frame (l->data, frame);
}

guint
roadie_ws_hub_get_n_clients (RoadieWsHub      *self,
                             RoadieWsEndpoint  endpoint)
{
  g_return_val_if_fail (ROADIE_IS_WS_HUB (self), 0);
  g_return_val_if_fail (endpoint < ROADIE_WS_N_ENDPOINTS, 0);

  return self->endpoints[endpoint].clients.length;
}

void
roadie_ws_hub_get_backlog (RoadieWsHub      *self,
                           RoadieWsEndpoint  endpoint,
                           RoadieWsBacklog  *backlog)
{
  g_return_if_fail (ROADIE_IS_WS_HUB (self));
  g_return_if_fail (endpoint < ROADIE_WS_N_ENDPOINTS);
  g_return_if_fail (backlog != NULL);

  memset (backlog, 0, sizeof *backlog);
  for (GList *l = self->endpoints[endpoint].clients.head; l != NULL; l = l->next)
    {
      Client *client = l->data;
      guint frames = client->pending != NULL ? 1 : 0;
      gint64 taken = kernel_bytes_taken (client);
      int outq = 0;

      /* What was handed to libsoup and has not reached the kernel is
       * still in libsoup's queue. Its own pings and pongs reach the
       * kernel too and are not counted in handed_bytes, so this may
       * undercount by a few bytes per ping, never by a frame. */
      if (taken >= 0 && client->last_frame_wire > 0)
        {
          gint64 held = (gint64) client->handed_bytes - (taken - (gint64) client->kernel_baseline);

          if (held > 0)
            frames += (held + client->last_frame_wire - 1) / client->last_frame_wire;
        }
      if (client->socket != NULL && !g_socket_is_closed (client->socket)
          && ioctl (g_socket_get_fd (client->socket), SIOCOUTQ, &outq) == 0 && outq > 0)
        backlog->max_kernel_bytes = MAX (backlog->max_kernel_bytes, (gsize) outq);
      backlog->max_frames = MAX (backlog->max_frames, frames);
      backlog->skipped += client->skipped;
    }
}

JsonNode *
roadie_ws_hub_build_stats (RoadieWsHub *self)
{
  g_autoptr(JsonBuilder) builder = json_builder_new ();

  g_return_val_if_fail (ROADIE_IS_WS_HUB (self), NULL);

  /* The seed's object, in the seed's order. */
  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "dj_connects");
  json_builder_add_int_value (builder, self->dj_connects);
  json_builder_set_member_name (builder, "dj_disconnects");
  json_builder_add_int_value (builder, self->dj_disconnects);
  json_builder_set_member_name (builder, "browser_connects");
  json_builder_add_int_value (builder, self->browser_connects);
  json_builder_set_member_name (builder, "browser_disconnects");
  json_builder_add_int_value (builder, self->browser_disconnects);
  json_builder_set_member_name (builder, "mc_reconnect_count");
  json_builder_add_int_value (builder, self->mc_reconnect_count);
  json_builder_set_member_name (builder, "current_djs");
  json_builder_add_int_value (builder, g_hash_table_size (self->djs));
  json_builder_set_member_name (builder, "current_browsers");
  json_builder_add_int_value (builder, self->endpoints[ROADIE_WS_ENDPOINT_BROWSER].clients.length);
  json_builder_set_member_name (builder, "mc_connected");
  json_builder_add_boolean_value (builder, self->mc_connected);
  json_builder_end_object (builder);

  return json_builder_get_root (builder);
}

void
roadie_ws_hub_set_welcome (RoadieWsHub            *self,
                           RoadieWsEndpoint        endpoint,
                           RoadieWsHubWelcomeFunc  func,
                           gpointer                user_data)
{
  g_return_if_fail (ROADIE_IS_WS_HUB (self));
  g_return_if_fail (endpoint < ROADIE_WS_N_ENDPOINTS);

  self->endpoints[endpoint].welcome = func;
  self->endpoints[endpoint].welcome_data = user_data;
}

void
roadie_ws_hub_foreach_dj (RoadieWsHub       *self,
                          RoadieWsHubDjFunc  func,
                          gpointer           user_data)
{
  g_return_if_fail (ROADIE_IS_WS_HUB (self));
  g_return_if_fail (func != NULL);

  /* The endpoint's queue, not the table: a stable order for displays. */
  for (GList *l = self->endpoints[ROADIE_WS_ENDPOINT_DJ].clients.head; l != NULL; l = l->next)
    {
      Client *client = l->data;

      if (client->authenticated && !client->is_admin
          && g_hash_table_lookup (self->djs, client->dj_id) == client)
        func (client->dj_id, client->dj_name, user_data);
    }
}

void
roadie_ws_hub_shutdown (RoadieWsHub *self)
{
  g_return_if_fail (ROADIE_IS_WS_HUB (self));

  for (guint e = 0; e < ROADIE_WS_N_ENDPOINTS; e++)
    {
      Endpoint *endpoint = &self->endpoints[e];

      if (endpoint->server != NULL)
        {
          soup_server_disconnect (endpoint->server);
          g_clear_object (&endpoint->server);
          endpoint->port = 0;
        }

      while (endpoint->clients.head != NULL)
        {
          Client *client = endpoint->clients.head->data;

          if (client_is_open (client))
            soup_websocket_connection_close (client->connection, SOUP_WEBSOCKET_CLOSE_GOING_AWAY,
                                             "the server is shutting down");
          client_detach (client);
        }
    }

  g_clear_handle_id (&self->drain_id, g_source_remove);
  g_clear_handle_id (&self->liveness_id, g_source_remove);
  g_clear_handle_id (&self->stats_log_id, g_source_remove);
}
