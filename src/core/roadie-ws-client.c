/* roadie-ws-client.c: one reconnecting WebSocket client for every outbound link.
 *
 * Each attempt is a SoupSession WebSocket handshake under our own deadline
 * (a cancellable and a timer), so a server that accepts TCP and then says
 * nothing still fails the attempt on time. Everything the client schedules
 * is one of four GSources it owns (deadline, backoff, heartbeat, pong), so
 * close() and dispose can prove nothing is left behind.
 */
#include "config.h"

#include <string.h>

#include "roadie-backoff.h"
#include "roadie-protocol.h"
#include "roadie-ws-client.h"

/* "Queue full" goes to the log at most this often. */
#define QUEUE_FULL_LOG_INTERVAL_US (5 * G_USEC_PER_SEC)

G_DEFINE_ENUM_TYPE (RoadieWsClientState, roadie_ws_client_state,
  G_DEFINE_ENUM_VALUE (ROADIE_WS_CLIENT_STATE_DISCONNECTED, "disconnected"),
  G_DEFINE_ENUM_VALUE (ROADIE_WS_CLIENT_STATE_CONNECTING, "connecting"),
  G_DEFINE_ENUM_VALUE (ROADIE_WS_CLIENT_STATE_CONNECTED, "connected"),
  G_DEFINE_ENUM_VALUE (ROADIE_WS_CLIENT_STATE_BACKOFF, "backoff"),
  G_DEFINE_ENUM_VALUE (ROADIE_WS_CLIENT_STATE_GAVE_UP, "gave-up"),
  G_DEFINE_ENUM_VALUE (ROADIE_WS_CLIENT_STATE_AUTH_FAILED, "auth-failed"),
  G_DEFINE_ENUM_VALUE (ROADIE_WS_CLIENT_STATE_CLOSED, "closed"))

typedef enum
{
  SERIES_INITIAL,     /* started by connect(): max-connect-attempts */
  SERIES_RECONNECT,   /* started by a loss: max-reconnect-attempts */
} Series;

/* One handshake in flight. It outlives the client's interest in it: the
 * callback always comes (cancelled, at worst), finds self == NULL and only
 * cleans up. */
typedef struct
{
  RoadieWsClient *self;
  GCancellable   *cancellable;
  SoupMessage    *message;
  gboolean        timed_out;
} Attempt;

struct _RoadieWsClient
{
  GObject                  parent_instance;

  char                    *url;
  guint                    connect_timeout_ms;
  gboolean                 auto_reconnect;
  guint                    initial_backoff_ms;
  double                   backoff_multiplier;
  guint                    max_backoff_ms;
  double                   jitter;
  guint                    max_connect_attempts;
  guint                    max_reconnect_attempts;
  guint                    heartbeat_interval_ms;
  guint                    heartbeat_miss_threshold;
  gboolean                 mc_connected;
  guint                    ping_interval_ms;
  guint                    pong_timeout_ms;
  guint                    queue_size;
  char                    *auth_message;

  RoadieWsClientState      state;
  Series                   series;
  guint                    attempt;
  gint64                   next_attempt_us;
  char                    *auth_failure_reason;
  char                    *last_error;
  guint64                  dropped_count;
  guint                    reconnect_count;

  GMainContext            *context;
  SoupSession             *session;
  Attempt                 *pending;          /* handshake under way */
  SoupWebsocketConnection *connection;
  gboolean                 authenticating;   /* handshake done, auth_ok awaited */
  gint64                   last_alive_us;    /* last pong or message */
  guint                    heartbeat_misses;
  gboolean                 heartbeat_outstanding;

  GSource                 *deadline_source;  /* connect timeout */
  GSource                 *backoff_source;
  GSource                 *heartbeat_source;
  GSource                 *pong_source;

  GQueue                   queue;            /* of char *, oldest first */
  gint64                   queue_full_logged_us;
  guint64                  dropped_at_flush;
};

G_DEFINE_FINAL_TYPE (RoadieWsClient, roadie_ws_client, G_TYPE_OBJECT)

enum {
  PROP_0,
  PROP_URL,
  PROP_CONNECT_TIMEOUT_MS,
  PROP_AUTO_RECONNECT,
  PROP_INITIAL_BACKOFF_MS,
  PROP_BACKOFF_MULTIPLIER,
  PROP_MAX_BACKOFF_MS,
  PROP_JITTER,
  PROP_MAX_CONNECT_ATTEMPTS,
  PROP_MAX_RECONNECT_ATTEMPTS,
  PROP_HEARTBEAT_INTERVAL_MS,
  PROP_HEARTBEAT_MISS_THRESHOLD,
  PROP_MC_CONNECTED,
  PROP_PING_INTERVAL_MS,
  PROP_PONG_TIMEOUT_MS,
  PROP_QUEUE_SIZE,
  PROP_AUTH_MESSAGE,
  PROP_STATE,
  PROP_NEXT_ATTEMPT_US,
  PROP_ATTEMPT,
  PROP_AUTH_FAILURE_REASON,
  PROP_DROPPED_COUNT,
  PROP_RECONNECT_COUNT,
  PROP_LAST_ERROR,
  N_PROPS
};

enum {
  MESSAGE,
  N_SIGNALS
};

static GParamSpec *properties[N_PROPS];
static guint signals[N_SIGNALS];

static void start_attempt (RoadieWsClient *self);

const char *
roadie_ws_client_state_to_string (RoadieWsClientState state)
{
  GEnumClass *klass = g_type_class_ref (ROADIE_TYPE_WS_CLIENT_STATE);
  GEnumValue *value = g_enum_get_value (klass, state);

  g_type_class_unref (klass);
  return value != NULL ? value->value_nick : "unknown";
}

/* Sources */

static GSource *
add_timeout (RoadieWsClient *self,
             guint           ms,
             GSourceFunc     func,
             const char     *name)
{
  GSource *source = g_timeout_source_new (ms);

  g_source_set_static_name (source, name);
  g_source_set_callback (source, func, self, NULL);
  g_source_attach (source, self->context);
  return source;
}

/* Safe from inside the source's own callback, too. */
static void
clear_source (GSource **source)
{
  if (*source != NULL)
    {
      g_source_destroy (*source);
      g_clear_pointer (source, g_source_unref);
    }
}

/* Small setters that notify only on a real change */

static void
set_state (RoadieWsClient      *self,
           RoadieWsClientState  state)
{
  if (self->state == state)
    return;
  self->state = state;
  if (state != ROADIE_WS_CLIENT_STATE_BACKOFF && self->next_attempt_us != 0)
    {
      self->next_attempt_us = 0;
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_NEXT_ATTEMPT_US]);
    }
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_STATE]);
}

static void
set_attempt (RoadieWsClient *self,
             guint           attempt)
{
  if (self->attempt == attempt)
    return;
  self->attempt = attempt;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_ATTEMPT]);
}

static void
set_string (RoadieWsClient  *self,
            char           **field,
            const char      *value,
            guint            prop_id)
{
  if (g_strcmp0 (*field, value) == 0)
    return;
  g_free (*field);
  *field = g_strdup (value);
  g_object_notify_by_pspec (G_OBJECT (self), properties[prop_id]);
}

static void
set_last_error (RoadieWsClient *self,
                const char     *why)
{
  set_string (self, &self->last_error, why, PROP_LAST_ERROR);
}

/* Connections and attempts */

static void
attempt_free (Attempt *attempt)
{
  g_clear_object (&attempt->cancellable);
  g_clear_object (&attempt->message);
  g_free (attempt);
}

static void
unref_when_closed (SoupWebsocketConnection *connection,
                   gpointer                 user_data)
{
  g_object_unref (connection);
}

/* Takes connection. The close handshake finishes on its own: the connection
 * keeps itself until "closed" (libsoup gives a silent peer 5 s), so a peer
 * sees a proper close frame, and nothing of it stays with the client. */
static void
release_connection (SoupWebsocketConnection *connection,
                    gushort                  code,
                    const char              *reason)
{
  SoupWebsocketState state = soup_websocket_connection_get_state (connection);

  if (state == SOUP_WEBSOCKET_STATE_CLOSED)
    {
      g_object_unref (connection);
      return;
    }
  g_signal_connect (connection, "closed", G_CALLBACK (unref_when_closed), NULL);
  /* Once closing, a close frame has gone out already (libsoup refuses a
   * second one). */
  if (state == SOUP_WEBSOCKET_STATE_OPEN)
    soup_websocket_connection_close (connection, code, reason);
}

static void
drop_connection (RoadieWsClient *self,
                 gushort         code,
                 const char     *reason)
{
  clear_source (&self->heartbeat_source);
  clear_source (&self->pong_source);
  self->authenticating = FALSE;
  if (self->connection != NULL)
    {
      g_signal_handlers_disconnect_by_data (self->connection, self);
      release_connection (g_steal_pointer (&self->connection), code, reason);
    }
}

static void
abandon_attempt (RoadieWsClient *self)
{
  clear_source (&self->deadline_source);
  if (self->pending != NULL)
    {
      Attempt *attempt = g_steal_pointer (&self->pending);

      attempt->self = NULL;
      g_cancellable_cancel (attempt->cancellable);
    }
}

/* Everything the client runs or holds on the network, gone; the queue and
 * the counters stay. */
static void
stop_everything (RoadieWsClient *self,
                 gushort         code)
{
  abandon_attempt (self);
  clear_source (&self->backoff_source);
  drop_connection (self, code, NULL);
}

static gboolean
connection_is_open (RoadieWsClient *self)
{
  return self->connection != NULL &&
         soup_websocket_connection_get_state (self->connection) == SOUP_WEBSOCKET_STATE_OPEN;
}

/* Backoff */

static gboolean
on_backoff_done (gpointer user_data)
{
  RoadieWsClient *self = user_data;

  clear_source (&self->backoff_source);
  start_attempt (self);
  return G_SOURCE_REMOVE;
}

static void
schedule_retry (RoadieWsClient *self)
{
  RoadieBackoffPolicy policy = {
    .initial_ms = self->initial_backoff_ms,
    .multiplier = self->backoff_multiplier,
    .max_ms = self->max_backoff_ms,
    .jitter = self->jitter,
  };
  /* The n-th wait of the series: after attempt n of an initial series,
   * before attempt n of a reconnect series (the loss itself counts as the
   * first failure there). */
  guint wait = self->series == SERIES_INITIAL ? self->attempt : self->attempt + 1;
  guint delay_ms;

  if (self->series == SERIES_RECONNECT && wait == 1)
    {
      /* Full jitter, see the header: a fleet that lost one server at once
       * comes back spread over the whole first interval. */
      guint span = MIN (self->initial_backoff_ms, self->max_backoff_ms);

      delay_ms = (guint) (g_random_double () * (span + 1.0));
      delay_ms = MIN (delay_ms, span);
    }
  else
    delay_ms = roadie_backoff_delay_ms (&policy, wait, g_random_double ());

  g_debug ("Next attempt to %s in %u ms (wait %u of this series)", self->url, delay_ms, wait);
  clear_source (&self->backoff_source);
  self->backoff_source = add_timeout (self, delay_ms, on_backoff_done, "RoadieWsClient backoff");
  self->next_attempt_us = g_get_monotonic_time () + (gint64) delay_ms * 1000;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_NEXT_ATTEMPT_US]);
  set_state (self, ROADIE_WS_CLIENT_STATE_BACKOFF);
}

static void
attempt_failed (RoadieWsClient *self,
                const char     *why)
{
  guint limit = self->series == SERIES_INITIAL ? self->max_connect_attempts
                                               : self->max_reconnect_attempts;

  clear_source (&self->deadline_source);
  drop_connection (self, SOUP_WEBSOCKET_CLOSE_GOING_AWAY, NULL);
  set_last_error (self, why);
  g_debug ("Attempt %u to reach %s failed: %s", self->attempt, self->url, why);

  if (limit != 0 && self->attempt >= limit)
    {
      g_warning ("Gave up on %s after %u attempts: %s", self->url, self->attempt, why);
      set_state (self, ROADIE_WS_CLIENT_STATE_GAVE_UP);
      return;
    }
  schedule_retry (self);
}

static void
lost_link (RoadieWsClient *self,
           const char     *why)
{
  drop_connection (self, SOUP_WEBSOCKET_CLOSE_GOING_AWAY, NULL);
  set_last_error (self, why);

  if (!self->auto_reconnect)
    {
      g_message ("Lost the link to %s: %s", self->url, why);
      set_state (self, ROADIE_WS_CLIENT_STATE_DISCONNECTED);
      return;
    }
  g_message ("Lost the link to %s: %s; reconnecting", self->url, why);
  self->series = SERIES_RECONNECT;
  set_attempt (self, 0);
  schedule_retry (self);
}

static void
auth_failed (RoadieWsClient *self,
             const char     *reason)
{
  g_autofree char *copy = g_strdup (reason);

  stop_everything (self, SOUP_WEBSOCKET_CLOSE_NORMAL);
  set_string (self, &self->auth_failure_reason, copy, PROP_AUTH_FAILURE_REASON);
  set_last_error (self, copy);
  g_warning ("%s refused our credentials (%s); not retrying", self->url, copy);
  set_state (self, ROADIE_WS_CLIENT_STATE_AUTH_FAILED);
}

/* Heartbeat and pong deadline */

static void
send_heartbeat (RoadieWsClient *self)
{
  g_autofree char *text = roadie_message_dj_heartbeat (g_get_real_time () / (double) G_USEC_PER_SEC,
                                                       self->mc_connected);

  soup_websocket_connection_send_text (self->connection, text);
}

static gboolean
on_heartbeat (gpointer user_data)
{
  RoadieWsClient *self = user_data;

  if (!connection_is_open (self))
    return G_SOURCE_CONTINUE;   /* "closed" is on its way */

  if (self->heartbeat_outstanding &&
      ++self->heartbeat_misses >= self->heartbeat_miss_threshold)
    {
      g_warning ("Heartbeat failures exceeded: %u heartbeats to %s in a row without heartbeat_ack; reconnecting",
                 self->heartbeat_misses, self->url);
      lost_link (self, "Heartbeat failures exceeded");
      return G_SOURCE_REMOVE;
    }
  send_heartbeat (self);
  self->heartbeat_outstanding = TRUE;
  return G_SOURCE_CONTINUE;
}

static gboolean on_pong_deadline (gpointer user_data);

static void
arm_pong_deadline (RoadieWsClient *self,
                   guint           ms)
{
  clear_source (&self->pong_source);
  self->pong_source = add_timeout (self, ms, on_pong_deadline, "RoadieWsClient pong deadline");
}

/* One timer, re-armed only when it fires: a pong or message merely moves
 * last_alive_us, so a busy link costs no timer churn. */
static gboolean
on_pong_deadline (gpointer user_data)
{
  RoadieWsClient *self = user_data;
  gint64 silent_ms = (g_get_monotonic_time () - self->last_alive_us) / 1000;

  clear_source (&self->pong_source);
  if (silent_ms < self->pong_timeout_ms)
    {
      arm_pong_deadline (self, self->pong_timeout_ms - (guint) silent_ms);
      return G_SOURCE_REMOVE;
    }
  g_warning ("Pong timeout: nothing from %s for %" G_GINT64_FORMAT " ms; reconnecting",
             self->url, silent_ms);
  lost_link (self, "Pong timeout");
  return G_SOURCE_REMOVE;
}

/* The queue */

static void
flush_queue (RoadieWsClient *self)
{
  guint sent = 0;
  char *text;

  while (connection_is_open (self) && (text = g_queue_pop_head (&self->queue)) != NULL)
    {
      soup_websocket_connection_send_text (self->connection, text);
      g_free (text);
      sent++;
    }
  if (self->dropped_count > self->dropped_at_flush)
    g_message ("Sent %u queued messages to %s; %" G_GUINT64_FORMAT " older ones were dropped while the queue was full",
               sent, self->url, self->dropped_count - self->dropped_at_flush);
  self->dropped_at_flush = self->dropped_count;
}

static void
enqueue (RoadieWsClient *self,
         const char     *text)
{
  gboolean dropped = FALSE;
  gint64 now;

  while (self->queue.length > 0 && self->queue.length >= self->queue_size)
    {
      g_free (g_queue_pop_head (&self->queue));
      self->dropped_count++;
      dropped = TRUE;
    }
  if (self->queue_size > 0)
    g_queue_push_tail (&self->queue, g_strdup (text));
  else
    {
      self->dropped_count++;
      dropped = TRUE;
    }
  if (!dropped)
    return;

  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_DROPPED_COUNT]);
  now = g_get_monotonic_time ();
  if (self->queue_full_logged_us == 0 || now - self->queue_full_logged_us >= QUEUE_FULL_LOG_INTERVAL_US)
    {
      g_warning ("Queue full (%u messages) for %s: dropping the oldest; %" G_GUINT64_FORMAT " dropped so far",
                 self->queue_size, self->url, self->dropped_count);
      self->queue_full_logged_us = now;
    }
}

/* The link */

static void
link_up (RoadieWsClient *self)
{
  gboolean reconnected = self->series == SERIES_RECONNECT;

  clear_source (&self->deadline_source);
  self->authenticating = FALSE;
  self->heartbeat_misses = 0;
  self->heartbeat_outstanding = FALSE;
  self->last_alive_us = g_get_monotonic_time ();
  /* A success starts the next series afresh. */
  self->series = SERIES_INITIAL;
  set_attempt (self, 0);
  set_last_error (self, NULL);
  if (reconnected)
    {
      self->reconnect_count++;
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_RECONNECT_COUNT]);
    }

  /* Before anyone hears "connected": whatever they send next must come
   * after what waited. */
  flush_queue (self);

  if (self->heartbeat_interval_ms > 0)
    self->heartbeat_source = add_timeout (self, self->heartbeat_interval_ms, on_heartbeat,
                                          "RoadieWsClient heartbeat");
  if (self->ping_interval_ms > 0 && self->pong_timeout_ms > 0)
    arm_pong_deadline (self, self->pong_timeout_ms);

  g_info ("Connected to %s", self->url);
  set_state (self, ROADIE_WS_CLIENT_STATE_CONNECTED);
}

/* A string member, or NULL when missing or not a string (json-glib's own
 * getters complain about the wrong type, and servers are not trusted). */
static const char *
string_member (JsonObject *object,
               const char *name)
{
  JsonNode *node = json_object_get_member (object, name);

  if (node == NULL || !JSON_NODE_HOLDS_VALUE (node) || json_node_get_value_type (node) != G_TYPE_STRING)
    return NULL;
  return json_node_get_string (node);
}

static void
on_message (SoupWebsocketConnection *connection,
            int                      type,
            GBytes                  *bytes,
            gpointer                 user_data)
{
  g_autoptr(RoadieWsClient) self = g_object_ref (user_data);
  g_autoptr(JsonParser) parser = NULL;
  JsonObject *object = NULL;
  const char *text;
  const char *message_type = NULL;
  gsize len;

  if (type != SOUP_WEBSOCKET_DATA_TEXT)
    return;
  self->last_alive_us = g_get_monotonic_time ();

  /* libsoup terminates the data with a NUL it does not count. */
  text = g_bytes_get_data (bytes, &len);
  parser = json_parser_new_immutable ();
  if (json_parser_load_from_data (parser, text, len, NULL))
    {
      JsonNode *root = json_parser_get_root (parser);

      if (root != NULL && JSON_NODE_HOLDS_OBJECT (root))
        {
          object = json_node_get_object (root);
          message_type = string_member (object, "type");
        }
    }

  if (g_strcmp0 (message_type, "auth_ok") == 0 && self->authenticating)
    link_up (self);
  else if (g_strcmp0 (message_type, "auth_failed") == 0)
    {
      const char *reason = string_member (object, "reason");

      auth_failed (self, reason != NULL && *reason != '\0' ? reason : "auth_failed without a reason");
    }
  else if (g_strcmp0 (message_type, "heartbeat_ack") == 0)
    {
      self->heartbeat_misses = 0;
      self->heartbeat_outstanding = FALSE;
    }

  if (self->state != ROADIE_WS_CLIENT_STATE_CLOSED)
    g_signal_emit (self, signals[MESSAGE], 0, text, object);
}

static void
on_pong (SoupWebsocketConnection *connection,
         GBytes                  *payload,
         gpointer                 user_data)
{
  RoadieWsClient *self = user_data;

  self->last_alive_us = g_get_monotonic_time ();
}

static void
on_closed (SoupWebsocketConnection *connection,
           gpointer                 user_data)
{
  g_autoptr(RoadieWsClient) self = g_object_ref (user_data);
  gushort code = soup_websocket_connection_get_close_code (connection);
  g_autofree char *data = g_strdup (soup_websocket_connection_get_close_data (connection));
  g_autofree char *why = NULL;

  if (code == ROADIE_WS_CLOSE_AUTH_FAILED)
    {
      if (data != NULL && *data != '\0')
        why = g_strdup_printf ("closed with code %u: %s", code, data);
      else
        why = g_strdup_printf ("closed with code %u", code);
      auth_failed (self, why);
      return;
    }

  if (code != 0 && data != NULL && *data != '\0')
    why = g_strdup_printf ("the server closed the link (code %u: %s)", code, data);
  else if (code != 0)
    why = g_strdup_printf ("the server closed the link (code %u)", code);
  else
    why = g_strdup ("the connection was lost");

  if (self->authenticating)
    attempt_failed (self, why);
  else
    lost_link (self, why);
}

static void
on_handshake_done (GObject      *source,
                   GAsyncResult *result,
                   gpointer      user_data)
{
  Attempt *attempt = user_data;
  RoadieWsClient *self = attempt->self;
  g_autoptr(SoupWebsocketConnection) connection = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *why = NULL;
  guint status;

  connection = soup_session_websocket_connect_finish (SOUP_SESSION (source), result, &error);
  if (self == NULL)
    {
      /* Closed, disposed or superseded meanwhile. */
      if (connection != NULL)
        release_connection (g_steal_pointer (&connection), SOUP_WEBSOCKET_CLOSE_GOING_AWAY, NULL);
      attempt_free (attempt);
      return;
    }

  g_assert (self->pending == attempt);
  self->pending = NULL;
  status = soup_message_get_status (attempt->message);
  if (status == SOUP_STATUS_UNAUTHORIZED || status == SOUP_STATUS_FORBIDDEN)
    why = g_strdup_printf ("the server refused the handshake: HTTP %u %s", status,
                           soup_message_get_reason_phrase (attempt->message));
  else if (attempt->timed_out)
    why = g_strdup_printf ("no WebSocket handshake from %s within %u ms", self->url, self->connect_timeout_ms);
  else if (connection == NULL)
    why = g_strdup (error->message);
  attempt_free (g_steal_pointer (&attempt));

  if (why != NULL)
    {
      if (connection != NULL)
        release_connection (g_steal_pointer (&connection), SOUP_WEBSOCKET_CLOSE_GOING_AWAY, NULL);
      /* No idle HTTP connection left over from a refused handshake. */
      soup_session_abort (self->session);
      if (status == SOUP_STATUS_UNAUTHORIZED || status == SOUP_STATUS_FORBIDDEN)
        auth_failed (self, why);
      else
        attempt_failed (self, why);
      return;
    }

  self->connection = g_steal_pointer (&connection);
  soup_websocket_connection_set_max_incoming_payload_size (self->connection,
                                                           ROADIE_WS_CLIENT_MAX_INCOMING_PAYLOAD);
  if (self->ping_interval_ms > 0)
    soup_websocket_connection_set_keepalive_interval (self->connection,
                                                      MAX (1, (self->ping_interval_ms + 999) / 1000));
#if SOUP_CHECK_VERSION (3, 6, 0)
  /* Where libsoup has its own pong deadline, let it close too; our timer
   * stays, for millisecond precision and because messages count as life. */
  if (self->ping_interval_ms > 0 && self->pong_timeout_ms > 0)
    soup_websocket_connection_set_keepalive_pong_timeout (self->connection,
                                                          MAX (1, (self->pong_timeout_ms + 999) / 1000));
#endif
  g_signal_connect (self->connection, "message", G_CALLBACK (on_message), self);
  g_signal_connect (self->connection, "pong", G_CALLBACK (on_pong), self);
  g_signal_connect (self->connection, "closed", G_CALLBACK (on_closed), self);
  self->last_alive_us = g_get_monotonic_time ();

  if (self->auth_message != NULL && *self->auth_message != '\0')
    {
      /* The connect deadline keeps running until auth_ok. */
      self->authenticating = TRUE;
      soup_websocket_connection_send_text (self->connection, self->auth_message);
    }
  else
    link_up (self);
}

static gboolean
on_connect_deadline (gpointer user_data)
{
  RoadieWsClient *self = user_data;
  g_autofree char *why = NULL;

  clear_source (&self->deadline_source);
  if (self->pending != NULL)
    {
      /* on_handshake_done() reports it, cancelled. */
      self->pending->timed_out = TRUE;
      g_cancellable_cancel (self->pending->cancellable);
    }
  else if (self->authenticating)
    {
      why = g_strdup_printf ("no auth_ok from %s within %u ms", self->url, self->connect_timeout_ms);
      attempt_failed (self, why);
    }
  return G_SOURCE_REMOVE;
}

static void
start_attempt (RoadieWsClient *self)
{
  g_autoptr(SoupMessage) message = NULL;
  Attempt *attempt;

  clear_source (&self->backoff_source);
  set_attempt (self, self->attempt + 1);

  if (self->url != NULL)
    message = soup_message_new (SOUP_METHOD_GET, self->url);
  if (message == NULL)
    {
      g_autofree char *why = g_strdup_printf ("“%s” is not a WebSocket address (ws://host:port/)",
                                              self->url != NULL ? self->url : "");

      set_last_error (self, why);
      g_warning ("Not connecting: %s", why);
      set_state (self, ROADIE_WS_CLIENT_STATE_GAVE_UP);
      return;
    }

  set_state (self, ROADIE_WS_CLIENT_STATE_CONNECTING);
  if (self->state != ROADIE_WS_CLIENT_STATE_CONNECTING)
    return;   /* closed by whoever heard of it */

  attempt = g_new0 (Attempt, 1);
  attempt->self = self;
  attempt->cancellable = g_cancellable_new ();
  attempt->message = g_object_ref (message);
  self->pending = attempt;
  self->deadline_source = add_timeout (self, self->connect_timeout_ms, on_connect_deadline,
                                       "RoadieWsClient connect deadline");
  soup_session_websocket_connect_async (self->session, message, NULL, NULL, G_PRIORITY_DEFAULT,
                                        attempt->cancellable, on_handshake_done, attempt);
}

/* GObject */

static void
roadie_ws_client_dispose (GObject *object)
{
  RoadieWsClient *self = ROADIE_WS_CLIENT (object);

  stop_everything (self, SOUP_WEBSOCKET_CLOSE_GOING_AWAY);
  g_queue_clear_full (&self->queue, g_free);
  if (self->session != NULL)
    soup_session_abort (self->session);
  g_clear_object (&self->session);

  G_OBJECT_CLASS (roadie_ws_client_parent_class)->dispose (object);
}

static void
roadie_ws_client_finalize (GObject *object)
{
  RoadieWsClient *self = ROADIE_WS_CLIENT (object);

  g_free (self->url);
  g_free (self->auth_message);
  g_free (self->auth_failure_reason);
  g_free (self->last_error);
  g_clear_pointer (&self->context, g_main_context_unref);

  G_OBJECT_CLASS (roadie_ws_client_parent_class)->finalize (object);
}

static void
roadie_ws_client_get_property (GObject    *object,
                               guint       prop_id,
                               GValue     *value,
                               GParamSpec *pspec)
{
  RoadieWsClient *self = ROADIE_WS_CLIENT (object);

  switch (prop_id)
    {
    case PROP_URL:
      g_value_set_string (value, self->url);
      break;
    case PROP_CONNECT_TIMEOUT_MS:
      g_value_set_uint (value, self->connect_timeout_ms);
      break;
    case PROP_AUTO_RECONNECT:
      g_value_set_boolean (value, self->auto_reconnect);
      break;
    case PROP_INITIAL_BACKOFF_MS:
      g_value_set_uint (value, self->initial_backoff_ms);
      break;
    case PROP_BACKOFF_MULTIPLIER:
      g_value_set_double (value, self->backoff_multiplier);
      break;
    case PROP_MAX_BACKOFF_MS:
      g_value_set_uint (value, self->max_backoff_ms);
      break;
    case PROP_JITTER:
      g_value_set_double (value, self->jitter);
      break;
    case PROP_MAX_CONNECT_ATTEMPTS:
      g_value_set_uint (value, self->max_connect_attempts);
      break;
    case PROP_MAX_RECONNECT_ATTEMPTS:
      g_value_set_uint (value, self->max_reconnect_attempts);
      break;
    case PROP_HEARTBEAT_INTERVAL_MS:
      g_value_set_uint (value, self->heartbeat_interval_ms);
      break;
    case PROP_HEARTBEAT_MISS_THRESHOLD:
      g_value_set_uint (value, self->heartbeat_miss_threshold);
      break;
    case PROP_MC_CONNECTED:
      g_value_set_boolean (value, self->mc_connected);
      break;
    case PROP_PING_INTERVAL_MS:
      g_value_set_uint (value, self->ping_interval_ms);
      break;
    case PROP_PONG_TIMEOUT_MS:
      g_value_set_uint (value, self->pong_timeout_ms);
      break;
    case PROP_QUEUE_SIZE:
      g_value_set_uint (value, self->queue_size);
      break;
    case PROP_AUTH_MESSAGE:
      g_value_set_string (value, self->auth_message);
      break;
    case PROP_STATE:
      g_value_set_enum (value, self->state);
      break;
    case PROP_NEXT_ATTEMPT_US:
      g_value_set_int64 (value, self->next_attempt_us);
      break;
    case PROP_ATTEMPT:
      g_value_set_uint (value, self->attempt);
      break;
    case PROP_AUTH_FAILURE_REASON:
      g_value_set_string (value, self->auth_failure_reason);
      break;
    case PROP_DROPPED_COUNT:
      g_value_set_uint64 (value, self->dropped_count);
      break;
    case PROP_RECONNECT_COUNT:
      g_value_set_uint (value, self->reconnect_count);
      break;
    case PROP_LAST_ERROR:
      g_value_set_string (value, self->last_error);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
set_uint (RoadieWsClient *self,
          guint          *field,
          const GValue   *value,
          GParamSpec     *pspec)
{
  guint v = g_value_get_uint (value);

  if (*field == v)
    return;
  *field = v;
  g_object_notify_by_pspec (G_OBJECT (self), pspec);
}

static void
set_double (RoadieWsClient *self,
            double         *field,
            const GValue   *value,
            GParamSpec     *pspec)
{
  double v = g_value_get_double (value);

  if (*field == v)
    return;
  *field = v;
  g_object_notify_by_pspec (G_OBJECT (self), pspec);
}

static void
set_boolean (RoadieWsClient *self,
             gboolean       *field,
             const GValue   *value,
             GParamSpec     *pspec)
{
  gboolean v = g_value_get_boolean (value);

  if (*field == v)
    return;
  *field = v;
  g_object_notify_by_pspec (G_OBJECT (self), pspec);
}

static void
roadie_ws_client_set_property (GObject      *object,
                               guint         prop_id,
                               const GValue *value,
                               GParamSpec   *pspec)
{
  RoadieWsClient *self = ROADIE_WS_CLIENT (object);

  switch (prop_id)
    {
    case PROP_URL:
      set_string (self, &self->url, g_value_get_string (value), prop_id);
      break;
    case PROP_CONNECT_TIMEOUT_MS:
      set_uint (self, &self->connect_timeout_ms, value, pspec);
      break;
    case PROP_AUTO_RECONNECT:
      set_boolean (self, &self->auto_reconnect, value, pspec);
      break;
    case PROP_INITIAL_BACKOFF_MS:
      set_uint (self, &self->initial_backoff_ms, value, pspec);
      break;
    case PROP_BACKOFF_MULTIPLIER:
      set_double (self, &self->backoff_multiplier, value, pspec);
      break;
    case PROP_MAX_BACKOFF_MS:
      set_uint (self, &self->max_backoff_ms, value, pspec);
      break;
    case PROP_JITTER:
      set_double (self, &self->jitter, value, pspec);
      break;
    case PROP_MAX_CONNECT_ATTEMPTS:
      set_uint (self, &self->max_connect_attempts, value, pspec);
      break;
    case PROP_MAX_RECONNECT_ATTEMPTS:
      set_uint (self, &self->max_reconnect_attempts, value, pspec);
      break;
    case PROP_HEARTBEAT_INTERVAL_MS:
      set_uint (self, &self->heartbeat_interval_ms, value, pspec);
      break;
    case PROP_HEARTBEAT_MISS_THRESHOLD:
      set_uint (self, &self->heartbeat_miss_threshold, value, pspec);
      break;
    case PROP_MC_CONNECTED:
      set_boolean (self, &self->mc_connected, value, pspec);
      break;
    case PROP_PING_INTERVAL_MS:
      set_uint (self, &self->ping_interval_ms, value, pspec);
      break;
    case PROP_PONG_TIMEOUT_MS:
      set_uint (self, &self->pong_timeout_ms, value, pspec);
      break;
    case PROP_QUEUE_SIZE:
      set_uint (self, &self->queue_size, value, pspec);
      break;
    case PROP_AUTH_MESSAGE:
      set_string (self, &self->auth_message, g_value_get_string (value), prop_id);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
roadie_ws_client_class_init (RoadieWsClientClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GParamFlags rw = G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS;
  GParamFlags ro = G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS;

  object_class->dispose = roadie_ws_client_dispose;
  object_class->finalize = roadie_ws_client_finalize;
  object_class->get_property = roadie_ws_client_get_property;
  object_class->set_property = roadie_ws_client_set_property;

  properties[PROP_URL] =
    g_param_spec_string ("url", NULL, NULL, NULL, rw);
  properties[PROP_CONNECT_TIMEOUT_MS] =
    g_param_spec_uint ("connect-timeout-ms", NULL, NULL, 1, 3600000, 10000, rw);
  properties[PROP_AUTO_RECONNECT] =
    g_param_spec_boolean ("auto-reconnect", NULL, NULL, TRUE, rw);
  properties[PROP_INITIAL_BACKOFF_MS] =
    g_param_spec_uint ("initial-backoff-ms", NULL, NULL, 0, 3600000, 1000, rw);
  properties[PROP_BACKOFF_MULTIPLIER] =
    g_param_spec_double ("backoff-multiplier", NULL, NULL, 1.0, 100.0, 1.5, rw);
  properties[PROP_MAX_BACKOFF_MS] =
    g_param_spec_uint ("max-backoff-ms", NULL, NULL, 0, 86400000, 30000, rw);
  properties[PROP_JITTER] =
    g_param_spec_double ("jitter", NULL, NULL, 0.0, 1.0, 0.1, rw);
  properties[PROP_MAX_CONNECT_ATTEMPTS] =
    g_param_spec_uint ("max-connect-attempts", NULL, NULL, 0, G_MAXUINT, 10, rw);
  properties[PROP_MAX_RECONNECT_ATTEMPTS] =
    g_param_spec_uint ("max-reconnect-attempts", NULL, NULL, 0, G_MAXUINT, 10, rw);
  properties[PROP_HEARTBEAT_INTERVAL_MS] =
    g_param_spec_uint ("heartbeat-interval-ms", NULL, NULL, 0, 3600000, 0, rw);
  properties[PROP_HEARTBEAT_MISS_THRESHOLD] =
    g_param_spec_uint ("heartbeat-miss-threshold", NULL, NULL, 1, 1000, 3, rw);
  properties[PROP_MC_CONNECTED] =
    g_param_spec_boolean ("mc-connected", NULL, NULL, FALSE, rw);
  properties[PROP_PING_INTERVAL_MS] =
    g_param_spec_uint ("ping-interval-ms", NULL, NULL, 0, 3600000, 0, rw);
  properties[PROP_PONG_TIMEOUT_MS] =
    g_param_spec_uint ("pong-timeout-ms", NULL, NULL, 0, 86400000, 0, rw);
  properties[PROP_QUEUE_SIZE] =
    g_param_spec_uint ("queue-size", NULL, NULL, 0, 10000000, 500, rw);
  properties[PROP_AUTH_MESSAGE] =
    g_param_spec_string ("auth-message", NULL, NULL, NULL, rw);
  properties[PROP_STATE] =
    g_param_spec_enum ("state", NULL, NULL, ROADIE_TYPE_WS_CLIENT_STATE,
                       ROADIE_WS_CLIENT_STATE_DISCONNECTED, ro);
  properties[PROP_NEXT_ATTEMPT_US] =
    g_param_spec_int64 ("next-attempt-us", NULL, NULL, 0, G_MAXINT64, 0, ro);
  properties[PROP_ATTEMPT] =
    g_param_spec_uint ("attempt", NULL, NULL, 0, G_MAXUINT, 0, ro);
  properties[PROP_AUTH_FAILURE_REASON] =
    g_param_spec_string ("auth-failure-reason", NULL, NULL, NULL, ro);
  properties[PROP_DROPPED_COUNT] =
    g_param_spec_uint64 ("dropped-count", NULL, NULL, 0, G_MAXUINT64, 0, ro);
  properties[PROP_RECONNECT_COUNT] =
    g_param_spec_uint ("reconnect-count", NULL, NULL, 0, G_MAXUINT, 0, ro);
  properties[PROP_LAST_ERROR] =
    g_param_spec_string ("last-error", NULL, NULL, NULL, ro);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  signals[MESSAGE] = g_signal_new ("message", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                                   0, NULL, NULL, NULL, G_TYPE_NONE, 2,
                                   G_TYPE_STRING | G_SIGNAL_TYPE_STATIC_SCOPE,
                                   JSON_TYPE_OBJECT | G_SIGNAL_TYPE_STATIC_SCOPE);
}

static void
roadie_ws_client_init (RoadieWsClient *self)
{
  self->connect_timeout_ms = 10000;
  self->auto_reconnect = TRUE;
  self->initial_backoff_ms = 1000;
  self->backoff_multiplier = 1.5;
  self->max_backoff_ms = 30000;
  self->jitter = 0.1;
  self->max_connect_attempts = 10;
  self->max_reconnect_attempts = 10;
  self->heartbeat_miss_threshold = 3;
  self->queue_size = 500;
  self->state = ROADIE_WS_CLIENT_STATE_DISCONNECTED;
  self->series = SERIES_INITIAL;
  g_queue_init (&self->queue);

  self->context = g_main_context_ref_thread_default ();
  self->session = soup_session_new_with_options ("user-agent", "Roadie/" PACKAGE_VERSION, NULL);
  /* Our links go where they are pointed, never through a proxy. */
  soup_session_set_proxy_resolver (self->session, NULL);
}

RoadieWsClient *
roadie_ws_client_new (const char *url)
{
  return g_object_new (ROADIE_TYPE_WS_CLIENT, "url", url, NULL);
}

void
roadie_ws_client_connect (RoadieWsClient *self)
{
  g_return_if_fail (ROADIE_IS_WS_CLIENT (self));

  switch (self->state)
    {
    case ROADIE_WS_CLIENT_STATE_CONNECTING:
    case ROADIE_WS_CLIENT_STATE_CONNECTED:
      return;
    case ROADIE_WS_CLIENT_STATE_CLOSED:
      g_debug ("connect() after close() on %s: ignored", self->url);
      return;
    case ROADIE_WS_CLIENT_STATE_BACKOFF:
      /* Waiting anyway: try now, within the same series. */
      start_attempt (self);
      return;
    case ROADIE_WS_CLIENT_STATE_DISCONNECTED:
    case ROADIE_WS_CLIENT_STATE_GAVE_UP:
    case ROADIE_WS_CLIENT_STATE_AUTH_FAILED:
    default:
      break;
    }

  self->series = SERIES_INITIAL;
  set_attempt (self, 0);
  set_string (self, &self->auth_failure_reason, NULL, PROP_AUTH_FAILURE_REASON);
  start_attempt (self);
}

void
roadie_ws_client_close (RoadieWsClient *self)
{
  g_return_if_fail (ROADIE_IS_WS_CLIENT (self));

  if (self->state == ROADIE_WS_CLIENT_STATE_CLOSED)
    return;
  stop_everything (self, SOUP_WEBSOCKET_CLOSE_NORMAL);
  g_queue_clear_full (&self->queue, g_free);
  soup_session_abort (self->session);
  set_state (self, ROADIE_WS_CLIENT_STATE_CLOSED);
}

gboolean
roadie_ws_client_send_text (RoadieWsClient *self,
                            const char     *text)
{
  g_return_val_if_fail (ROADIE_IS_WS_CLIENT (self), FALSE);
  g_return_val_if_fail (text != NULL, FALSE);
  g_return_val_if_fail (g_utf8_validate (text, -1, NULL), FALSE);

  if (self->state == ROADIE_WS_CLIENT_STATE_CLOSED)
    return FALSE;
  if (self->state == ROADIE_WS_CLIENT_STATE_CONNECTED && connection_is_open (self))
    soup_websocket_connection_send_text (self->connection, text);
  else
    enqueue (self, text);
  return TRUE;
}

gboolean
roadie_ws_client_send_json (RoadieWsClient *self,
                            JsonNode       *node)
{
  g_autofree char *text = NULL;

  g_return_val_if_fail (ROADIE_IS_WS_CLIENT (self), FALSE);
  g_return_val_if_fail (node != NULL, FALSE);

  text = json_to_string (node, FALSE);
  return roadie_ws_client_send_text (self, text);
}

RoadieWsClientState
roadie_ws_client_get_state (RoadieWsClient *self)
{
  g_return_val_if_fail (ROADIE_IS_WS_CLIENT (self), ROADIE_WS_CLIENT_STATE_CLOSED);

  return self->state;
}

const char *
roadie_ws_client_get_url (RoadieWsClient *self)
{
  g_return_val_if_fail (ROADIE_IS_WS_CLIENT (self), NULL);

  return self->url;
}

guint
roadie_ws_client_get_queue_length (RoadieWsClient *self)
{
  g_return_val_if_fail (ROADIE_IS_WS_CLIENT (self), 0);

  return self->queue.length;
}

guint
roadie_ws_client_count_sources (RoadieWsClient *self)
{
  GSource *sources[] = {
    self->deadline_source, self->backoff_source, self->heartbeat_source, self->pong_source,
  };
  guint count = 0;

  g_return_val_if_fail (ROADIE_IS_WS_CLIENT (self), 0);

  for (guint i = 0; i < G_N_ELEMENTS (sources); i++)
    if (sources[i] != NULL)
      count++;
  return count;
}

const char *
roadie_ws_client_get_auth_failure_reason (RoadieWsClient *self)
{
  g_return_val_if_fail (ROADIE_IS_WS_CLIENT (self), NULL);

  return self->auth_failure_reason;
}

const char *
roadie_ws_client_get_last_error (RoadieWsClient *self)
{
  g_return_val_if_fail (ROADIE_IS_WS_CLIENT (self), NULL);

  return self->last_error;
}

guint64
roadie_ws_client_get_dropped_count (RoadieWsClient *self)
{
  g_return_val_if_fail (ROADIE_IS_WS_CLIENT (self), 0);

  return self->dropped_count;
}

guint
roadie_ws_client_get_reconnect_count (RoadieWsClient *self)
{
  g_return_val_if_fail (ROADIE_IS_WS_CLIENT (self), 0);

  return self->reconnect_count;
}

gint64
roadie_ws_client_get_next_attempt_in_ms (RoadieWsClient *self)
{
  g_return_val_if_fail (ROADIE_IS_WS_CLIENT (self), -1);

  if (self->state != ROADIE_WS_CLIENT_STATE_BACKOFF || self->next_attempt_us == 0)
    return -1;
  return MAX (0, self->next_attempt_us - g_get_monotonic_time ()) / 1000;
}
