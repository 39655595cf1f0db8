/* test-ws-client.c: RoadieWsClient against real servers on 127.0.0.1.
 *
 * The servers are SoupServers inside this program, built to refuse, to
 * stop answering or to go away on demand, and fake-audio-server processes
 * for what needs a real peer process: a peer frozen with SIGSTOP and a
 * server killed and restarted under 200 clients.
 */
#include "config.h"

#include <math.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>

#include "roadie-http.h"
#include "roadie-test-util.h"
#include "roadie-ws-client.h"

/* Timers never fire early; how late they may be on a loaded CI machine
 * (or under the sanitizers) is this. */
#define LATE_SLACK_MS 80

/* A WebSocket server in this process */

typedef struct
{
  SoupServer *server;
  guint16     port;
  guint       refuse_status;        /* answer the handshake with this HTTP status */
  gboolean    close_4001;           /* close each new connection with 4001 */
  gboolean    answer_auth;          /* dj_auth → auth_ok */
  guint       auth_ok_delay_ms;
  gboolean    refuse_auth;          /* dj_auth → auth_failed */
  guint       first_connection_acks;  /* heartbeat_acks on connection 1; later ones ack all */
  const char *greeting;             /* texts sent to each new connection, NULL-separated */

  guint       requests;             /* HTTP requests, handshakes included */
  guint       connections;
  guint       closed;
  gushort     last_close_code;      /* from the client, as the server saw it */
  GPtrArray  *live;
  GPtrArray  *received;             /* every text, arrival order */
  guint       received_at_auth_ok;
  guint       heartbeats;
  gint64      last_ack_us;
  guint       auth_ok_source;
  SoupWebsocketConnection *auth_ok_connection;
} TestServer;

static void
unref_when_closed (SoupWebsocketConnection *connection,
                   gpointer                 user_data)
{
  g_object_unref (connection);
}

static void
send_json_text (SoupWebsocketConnection *connection,
                const char              *text)
{
  if (soup_websocket_connection_get_state (connection) == SOUP_WEBSOCKET_STATE_OPEN)
    soup_websocket_connection_send_text (connection, text);
}

static gboolean
send_auth_ok (gpointer user_data)
{
  TestServer *ts = user_data;

  ts->auth_ok_source = 0;
  ts->received_at_auth_ok = ts->received->len;
  send_json_text (ts->auth_ok_connection, "{\"type\":\"auth_ok\"}");
  g_clear_object (&ts->auth_ok_connection);
  return G_SOURCE_REMOVE;
}

static void
on_server_message (SoupWebsocketConnection *connection,
                   int                      type,
                   GBytes                  *bytes,
                   gpointer                 user_data)
{
  TestServer *ts = user_data;
  const char *text = g_bytes_get_data (bytes, NULL);
  guint index = GPOINTER_TO_UINT (g_object_get_data (G_OBJECT (connection), "index"));

  if (type != SOUP_WEBSOCKET_DATA_TEXT)
    return;
  g_ptr_array_add (ts->received, g_strdup (text));

  if (g_str_has_prefix (text, "{\"type\":\"dj_auth\""))
    {
      if (ts->refuse_auth)
        send_json_text (connection, "{\"type\":\"auth_failed\",\"reason\":\"unknown DJ\"}");
      else if (ts->answer_auth)
        {
          g_clear_object (&ts->auth_ok_connection);
          ts->auth_ok_connection = g_object_ref (connection);
          g_clear_handle_id (&ts->auth_ok_source, g_source_remove);
          ts->auth_ok_source = g_timeout_add (ts->auth_ok_delay_ms, send_auth_ok, ts);
        }
    }
  else if (g_str_has_prefix (text, "{\"type\":\"dj_heartbeat\""))
    {
      guint seen = GPOINTER_TO_UINT (g_object_get_data (G_OBJECT (connection), "heartbeats")) + 1;

      g_object_set_data (G_OBJECT (connection), "heartbeats", GUINT_TO_POINTER (seen));
      ts->heartbeats++;
      if (index > 1 || seen <= ts->first_connection_acks)
        {
          g_autofree char *ack = g_strdup_printf ("{\"type\":\"heartbeat_ack\",\"server_time\":%.3f}",
                                                  g_get_real_time () / 1e6);
          send_json_text (connection, ack);
          ts->last_ack_us = g_get_monotonic_time ();
        }
    }
}

static void
on_server_closed (SoupWebsocketConnection *connection,
                  gpointer                 user_data)
{
  TestServer *ts = user_data;

  ts->closed++;
  ts->last_close_code = soup_websocket_connection_get_close_code (connection);
  g_ptr_array_remove (ts->live, connection);
}

static void
on_server_websocket (SoupServer              *server,
                     SoupServerMessage       *msg,
                     const char              *path,
                     SoupWebsocketConnection *connection,
                     gpointer                 user_data)
{
  TestServer *ts = user_data;

  ts->connections++;
  g_object_set_data (G_OBJECT (connection), "index", GUINT_TO_POINTER (ts->connections));
  g_ptr_array_add (ts->live, g_object_ref (connection));
  g_signal_connect (connection, "message", G_CALLBACK (on_server_message), ts);
  g_signal_connect (connection, "closed", G_CALLBACK (on_server_closed), ts);

  for (const char *text = ts->greeting; text != NULL && *text != '\0'; text += strlen (text) + 1)
    send_json_text (connection, text);
  if (ts->close_4001)
    soup_websocket_connection_close (connection, ROADIE_WS_CLOSE_AUTH_FAILED, "unknown DJ key");
}

static void
on_request_started (SoupServer        *server,
                    SoupServerMessage *msg,
                    gpointer           user_data)
{
  TestServer *ts = user_data;

  ts->requests++;
  if (ts->refuse_status != 0)
    soup_server_message_set_status (msg, ts->refuse_status, NULL);
}

static void
on_refusing_handler (SoupServer        *server,
                     SoupServerMessage *msg,
                     const char        *path,
                     GHashTable        *query,
                     gpointer           user_data)
{
  TestServer *ts = user_data;

  soup_server_message_set_status (msg, ts->refuse_status, NULL);
}

static void
test_server_listen (TestServer *ts)
{
  g_autoptr(GInetAddress) loopback = NULL;
  g_autoptr(GSocketAddress) address = NULL;
  g_autoptr(GError) error = NULL;

  g_assert_null (ts->server);
  ts->server = soup_server_new (NULL, NULL);
  g_signal_connect (ts->server, "request-started", G_CALLBACK (on_request_started), ts);
  if (ts->refuse_status != 0)
    soup_server_add_handler (ts->server, "/", on_refusing_handler, ts, NULL);
  else
    soup_server_add_websocket_handler (ts->server, "/", NULL, NULL, on_server_websocket, ts, NULL);
  /* soup_server_listen_local() leaks an address on libsoup 3.2. */
  loopback = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  address = g_inet_socket_address_new (loopback, ts->port);
  soup_server_listen (ts->server, address, 0, &error);
  g_assert_no_error (error);
  ts->port = roadie_http_server_get_port (ts->server);
  g_assert_cmpuint (ts->port, >, 0);
}

static TestServer *
test_server_new (void)
{
  TestServer *ts = g_new0 (TestServer, 1);

  ts->live = g_ptr_array_new ();
  ts->received = g_ptr_array_new_with_free_func (g_free);
  ts->first_connection_acks = G_MAXUINT;
  return ts;
}

static TestServer *
test_server_start (void)
{
  TestServer *ts = test_server_new ();

  test_server_listen (ts);
  return ts;
}

static char *
test_server_url (TestServer *ts)
{
  return g_strdup_printf ("ws://127.0.0.1:%u/", ts->port);
}

/* The server goes away: the port refuses, every client sees its link close
 * with 1001. The port is kept for a restart. */
static void
test_server_stop (TestServer *ts)
{
  g_clear_handle_id (&ts->auth_ok_source, g_source_remove);
  g_clear_object (&ts->auth_ok_connection);
  if (ts->server != NULL)
    {
      soup_server_disconnect (ts->server);
      g_clear_object (&ts->server);
    }
  while (ts->live->len > 0)
    {
      SoupWebsocketConnection *connection = g_ptr_array_steal_index (ts->live, 0);

      g_signal_handlers_disconnect_by_data (connection, ts);
      ts->closed++;
      if (soup_websocket_connection_get_state (connection) == SOUP_WEBSOCKET_STATE_CLOSED)
        g_object_unref (connection);
      else
        {
          g_signal_connect (connection, "closed", G_CALLBACK (unref_when_closed), NULL);
          if (soup_websocket_connection_get_state (connection) == SOUP_WEBSOCKET_STATE_OPEN)
            soup_websocket_connection_close (connection, SOUP_WEBSOCKET_CLOSE_GOING_AWAY, NULL);
        }
    }
}

static void
test_server_free (TestServer *ts)
{
  test_server_stop (ts);
  g_ptr_array_unref (ts->live);
  g_ptr_array_unref (ts->received);
  g_free (ts);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (TestServer, test_server_free)

/* Watching a client */

typedef struct
{
  RoadieWsClient *client;
  GArray         *connecting_us;    /* gint64: each attempt's start */
  GArray         *states;           /* RoadieWsClientState, each change */
  gint64          lost_us;          /* last connected → anything else */
  gint64          connected_us;
  GPtrArray      *messages;         /* texts heard */
  GPtrArray      *objects;          /* JsonObject or the watch itself for NULL */
  const char     *send_on_connected;
} Watch;

static void
on_state (RoadieWsClient *client,
          GParamSpec     *pspec,
          Watch          *watch)
{
  RoadieWsClientState state = roadie_ws_client_get_state (client);
  gint64 now = g_get_monotonic_time ();

  if (watch->states->len > 0 &&
      g_array_index (watch->states, RoadieWsClientState, watch->states->len - 1) == ROADIE_WS_CLIENT_STATE_CONNECTED)
    watch->lost_us = now;
  g_array_append_val (watch->states, state);
  if (state == ROADIE_WS_CLIENT_STATE_CONNECTING)
    g_array_append_val (watch->connecting_us, now);
  if (state == ROADIE_WS_CLIENT_STATE_CONNECTED)
    {
      watch->connected_us = now;
      if (watch->send_on_connected != NULL)
        roadie_ws_client_send_text (client, watch->send_on_connected);
    }
}

static void
on_client_message (RoadieWsClient *client,
                   const char     *text,
                   JsonObject     *object,
                   Watch          *watch)
{
  g_ptr_array_add (watch->messages, g_strdup (text));
  g_ptr_array_add (watch->objects, object != NULL ? json_object_ref (object) : NULL);
}

static void
object_unref0 (gpointer object)
{
  if (object != NULL)
    json_object_unref (object);
}

static Watch *
watch_new (RoadieWsClient *client)
{
  Watch *watch = g_new0 (Watch, 1);

  watch->client = g_object_ref (client);
  watch->connecting_us = g_array_new (FALSE, FALSE, sizeof (gint64));
  watch->states = g_array_new (FALSE, FALSE, sizeof (RoadieWsClientState));
  watch->messages = g_ptr_array_new_with_free_func (g_free);
  watch->objects = g_ptr_array_new_with_free_func (object_unref0);
  g_signal_connect (client, "notify::state", G_CALLBACK (on_state), watch);
  g_signal_connect (client, "message", G_CALLBACK (on_client_message), watch);
  return watch;
}

static void
watch_free (Watch *watch)
{
  g_signal_handlers_disconnect_by_data (watch->client, watch);
  g_object_unref (watch->client);
  g_array_unref (watch->connecting_us);
  g_array_unref (watch->states);
  g_ptr_array_unref (watch->messages);
  g_ptr_array_unref (watch->objects);
  g_free (watch);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (Watch, watch_free)

static guint
attempts (Watch *watch)
{
  return watch->connecting_us->len;
}

static gint64
attempt_us (Watch *watch,
            guint  n)   /* from 1 */
{
  return g_array_index (watch->connecting_us, gint64, n - 1);
}

typedef struct
{
  RoadieWsClient      *client;
  RoadieWsClientState  state;
} StateWait;

static gboolean
has_state (gpointer user_data)
{
  StateWait *wait = user_data;

  return roadie_ws_client_get_state (wait->client) == wait->state;
}

static gboolean
wait_state (RoadieWsClient      *client,
            RoadieWsClientState  state,
            guint                timeout_ms)
{
  StateWait wait = { client, state };

  return roadie_test_wait_until (has_state, &wait, timeout_ms);
}

typedef struct
{
  const guint *counter;
  guint        value;
} CountWait;

static gboolean
count_reached (gpointer user_data)
{
  CountWait *wait = user_data;

  return *wait->counter >= wait->value;
}

/* Waits until *counter >= value. */
static gboolean
wait_count (const guint *counter,
            guint        value,
            guint        timeout_ms)
{
  CountWait wait = { counter, value };

  return roadie_test_wait_until (count_reached, &wait, timeout_ms);
}

static RoadieWsClient *
new_client (const char *url)
{
  return g_object_new (ROADIE_TYPE_WS_CLIENT,
                       "url", url,
                       "initial-backoff-ms", 100,
                       "backoff-multiplier", 1.5,
                       "max-backoff-ms", 1000,
                       "jitter", 0.1,
                       "connect-timeout-ms", 2000,
                       NULL);
}

static char *
refused_url (void)
{
  return g_strdup_printf ("ws://127.0.0.1:%u/", roadie_test_free_port ());
}

/* Checks that the wait between attempt n and n+1 is wait_number's wait of
 * the schedule, within jitter and LATE_SLACK_MS. */
static void
assert_wait (Watch *watch,
             guint  n,
             guint  wait_number,
             guint  initial_ms,
             double multiplier,
             guint  max_ms)
{
  double base = MIN (initial_ms * pow (multiplier, wait_number - 1), max_ms);
  double measured = (attempt_us (watch, n + 1) - attempt_us (watch, n)) / 1000.0;

  g_test_message ("wait %u (attempt %u -> %u): %.1f ms, schedule %.0f ms +/- 10 %%",
                  wait_number, n, n + 1, measured, base);
  g_assert_cmpfloat (measured, >=, floor (base * 0.9) - 1);
  g_assert_cmpfloat (measured, <=, ceil (base * 1.1) + LATE_SLACK_MS);
}

/* Cases */

static void
test_messages (void)
{
  g_autoptr(TestServer) ts = test_server_new ();
  g_autofree char *url = NULL;
  g_autoptr(RoadieWsClient) client = NULL;
  g_autoptr(Watch) watch = NULL;
  JsonObject *hello;

  /* hello, not JSON, a JSON array, an object without a type. */
  ts->greeting = "{\"type\":\"hello\",\"server\":\"test\"}\0not json\0[1,2]\0{\"x\":1}\0";
  test_server_listen (ts);
  url = test_server_url (ts);
  client = new_client (url);
  watch = watch_new (client);

  g_assert_cmpint (roadie_ws_client_get_state (client), ==, ROADIE_WS_CLIENT_STATE_DISCONNECTED);
  roadie_ws_client_connect (client);
  g_assert_cmpint (roadie_ws_client_get_state (client), ==, ROADIE_WS_CLIENT_STATE_CONNECTING);
  g_assert_true (wait_state (client, ROADIE_WS_CLIENT_STATE_CONNECTED, 5000));
  /* Connected, no heartbeat, no pings: no timer at all. */
  g_assert_cmpuint (roadie_ws_client_count_sources (client), ==, 0);

  g_assert_true (wait_count (&watch->messages->len, 4, 5000));
  g_assert_cmpstr (g_ptr_array_index (watch->messages, 0), ==, "{\"type\":\"hello\",\"server\":\"test\"}");
  hello = g_ptr_array_index (watch->objects, 0);
  g_assert_nonnull (hello);
  g_assert_cmpstr (json_object_get_string_member (hello, "server"), ==, "test");
  g_assert_cmpstr (g_ptr_array_index (watch->messages, 1), ==, "not json");
  g_assert_null (g_ptr_array_index (watch->objects, 1));
  g_assert_null (g_ptr_array_index (watch->objects, 2));
  g_assert_nonnull (g_ptr_array_index (watch->objects, 3));

  /* Binary frames are not messages. */
  soup_websocket_connection_send_binary (g_ptr_array_index (ts->live, 0), "\x01\x02", 2);
  send_json_text (g_ptr_array_index (ts->live, 0), "{\"type\":\"after-binary\"}");
  g_assert_true (wait_count (&watch->messages->len, 5, 5000));
  g_assert_cmpstr (g_ptr_array_index (watch->messages, 4), ==, "{\"type\":\"after-binary\"}");

  /* Sending, as text and as JSON. */
  g_assert_true (roadie_ws_client_send_text (client, "{\"type\":\"one\"}"));
  {
    g_autoptr(JsonNode) node = json_from_string ("{\"type\":\"two\",\"n\":2}", NULL);
    g_assert_true (roadie_ws_client_send_json (client, node));
  }
  g_assert_true (wait_count (&ts->received->len, 2, 5000));
  g_assert_cmpstr (g_ptr_array_index (ts->received, 0), ==, "{\"type\":\"one\"}");
  g_assert_cmpstr (g_ptr_array_index (ts->received, 1), ==, "{\"type\":\"two\",\"n\":2}");

  /* close() is final and says goodbye properly. */
  roadie_ws_client_close (client);
  g_assert_cmpint (roadie_ws_client_get_state (client), ==, ROADIE_WS_CLIENT_STATE_CLOSED);
  g_assert_false (roadie_ws_client_send_text (client, "{\"type\":\"late\"}"));
  roadie_ws_client_connect (client);
  g_assert_cmpint (roadie_ws_client_get_state (client), ==, ROADIE_WS_CLIENT_STATE_CLOSED);
  g_assert_true (wait_count (&ts->closed, 1, 5000));
  g_assert_cmpuint (ts->last_close_code, ==, SOUP_WEBSOCKET_CLOSE_NORMAL);
  g_assert_cmpuint (ts->connections, ==, 1);
}

/* Initial connects to a refused port: the schedule, then gave-up after
 * exactly max-connect-attempts. */
static void
test_schedule (void)
{
  g_autofree char *url = refused_url ();
  g_autoptr(RoadieWsClient) client = new_client (url);
  g_autoptr(Watch) watch = watch_new (client);
  gint64 next_attempt_us = 0;

  roadie_test_allow_roadie_warnings ();
  g_object_set (client, "max-connect-attempts", 6, NULL);
  roadie_ws_client_connect (client);
  g_assert_true (wait_state (client, ROADIE_WS_CLIENT_STATE_BACKOFF, 2000));
  g_object_get (client, "next-attempt-us", &next_attempt_us, NULL);
  g_assert_cmpint (next_attempt_us, >, g_get_monotonic_time ());

  g_assert_true (wait_state (client, ROADIE_WS_CLIENT_STATE_GAVE_UP, 5000));
  g_assert_cmpuint (attempts (watch), ==, 6);
  /* next-attempt-us announced attempt 2 truthfully. */
  g_test_message ("attempt 2 started %.1f ms after next-attempt-us",
                  (attempt_us (watch, 2) - next_attempt_us) / 1000.0);
  g_assert_cmpint (attempt_us (watch, 2), >=, next_attempt_us - 1000);
  g_assert_cmpint (attempt_us (watch, 2), <=, next_attempt_us + LATE_SLACK_MS * 1000);
  for (guint n = 1; n < 6; n++)
    assert_wait (watch, n, n, 100, 1.5, 1000);
  g_test_message ("last-error: %s", roadie_ws_client_get_last_error (client));
  g_assert_nonnull (strstr (roadie_ws_client_get_last_error (client), "refused"));
  g_assert_true (roadie_test_was_logged ("Gave up on"));

  /* Given up means given up. */
  roadie_test_run_for (800);
  g_assert_cmpuint (attempts (watch), ==, 6);
  g_assert_cmpuint (roadie_ws_client_count_sources (client), ==, 0);
  g_assert_cmpint (roadie_ws_client_get_state (client), ==, ROADIE_WS_CLIENT_STATE_GAVE_UP);

  /* connect() starts a new series. */
  g_object_set (client, "max-connect-attempts", 2, NULL);
  roadie_ws_client_connect (client);
  g_assert_true (wait_state (client, ROADIE_WS_CLIENT_STATE_GAVE_UP, 5000));
  g_assert_cmpuint (attempts (watch), ==, 8);
  assert_wait (watch, 7, 1, 100, 1.5, 1000);
  roadie_ws_client_close (client);
}

/* After a loss: the first retry is anywhere in [0, initial], the later
 * ones follow the schedule, max-reconnect-attempts ends it; a success
 * resets the series. */
static void
test_reconnect_schedule (void)
{
  g_autoptr(TestServer) ts = test_server_start ();
  g_autofree char *url = test_server_url (ts);
  g_autoptr(RoadieWsClient) client = new_client (url);
  g_autoptr(Watch) watch = watch_new (client);
  guint reconnects = 0;
  double first;

  roadie_test_allow_roadie_warnings ();
  g_object_set (client, "initial-backoff-ms", 200, "max-backoff-ms", 2000,
                "max-connect-attempts", 1, "max-reconnect-attempts", 4, NULL);
  roadie_ws_client_connect (client);
  g_assert_true (wait_state (client, ROADIE_WS_CLIENT_STATE_CONNECTED, 5000));

  /* A loss with the server back at once: one quick reconnect. */
  test_server_stop (ts);
  test_server_listen (ts);
  g_assert_true (wait_state (client, ROADIE_WS_CLIENT_STATE_BACKOFF, 5000));
  g_assert_true (wait_state (client, ROADIE_WS_CLIENT_STATE_CONNECTED, 5000));
  g_object_get (client, "reconnect-count", &reconnects, NULL);
  g_assert_cmpuint (reconnects, ==, 1);
  g_assert_cmpuint (attempts (watch), ==, 2);
  first = (attempt_us (watch, 2) - watch->lost_us) / 1000.0;
  g_test_message ("first reconnect %.1f ms after the loss (full jitter: 0-200 ms)", first);
  g_assert_cmpfloat (first, <=, 200 + LATE_SLACK_MS);

  /* A loss with the server gone: the schedule from the start again. */
  test_server_stop (ts);
  g_assert_true (wait_state (client, ROADIE_WS_CLIENT_STATE_GAVE_UP, 10000));
  g_assert_cmpuint (attempts (watch), ==, 2 + 4);
  first = (attempt_us (watch, 3) - watch->lost_us) / 1000.0;
  g_test_message ("first retry %.1f ms after the second loss", first);
  g_assert_cmpfloat (first, <=, 200 + LATE_SLACK_MS);
  for (guint n = 3; n < 6; n++)
    assert_wait (watch, n, n - 1, 200, 1.5, 2000);
  roadie_test_run_for (600);
  g_assert_cmpuint (attempts (watch), ==, 6);
  roadie_ws_client_close (client);
}

/* A peer that accepts TCP and never answers: the attempt ends at the
 * deadline, not at the kernel's or libsoup's idea of a timeout. */
static void
test_connect_timeout (void)
{
  g_autoptr(GSocket) listener = NULL;
  g_autoptr(GInetAddress) loopback = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr(GSocketAddress) address = g_inet_socket_address_new (loopback, 0);
  g_autoptr(GSocketAddress) bound = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *url = NULL;
  g_autoptr(RoadieWsClient) client = NULL;
  g_autoptr(Watch) watch = NULL;
  gint64 start;
  double took;

  roadie_test_allow_roadie_warnings ();
  /* Listening without accepting: the kernel completes the TCP handshake. */
  listener = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP, &error);
  g_assert_no_error (error);
  g_socket_bind (listener, address, TRUE, &error);
  g_assert_no_error (error);
  g_socket_listen (listener, &error);
  g_assert_no_error (error);
  bound = g_socket_get_local_address (listener, &error);
  url = g_strdup_printf ("ws://127.0.0.1:%u/", g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (bound)));

  client = new_client (url);
  watch = watch_new (client);
  g_object_set (client, "connect-timeout-ms", 300, "max-connect-attempts", 2, NULL);
  start = g_get_monotonic_time ();
  roadie_ws_client_connect (client);
  g_assert_true (wait_state (client, ROADIE_WS_CLIENT_STATE_GAVE_UP, 5000));
  took = (g_get_monotonic_time () - start) / 1000.0;
  g_test_message ("two attempts of 300 ms with a 100 ms wait: gave up after %.1f ms", took);
  g_assert_cmpuint (attempts (watch), ==, 2);
  g_assert_cmpfloat (took, >=, 300 + 90 + 300);
  g_assert_cmpfloat (took, <=, 300 + 110 + 300 + 3 * LATE_SLACK_MS);
  g_assert_nonnull (strstr (roadie_ws_client_get_last_error (client), "within 300 ms"));
  g_assert_cmpuint (roadie_ws_client_count_sources (client), ==, 0);
}

typedef enum
{
  AUTH_HTTP_401,
  AUTH_HTTP_403,
  AUTH_FAILED_MESSAGE,
  AUTH_CLOSE_4001,
} AuthCase;

/* Each of the three signals: exactly one attempt, then auth-failed and
 * nothing more, with every retry limit wide open. */
static void
test_auth_failure (gconstpointer data)
{
  AuthCase which = GPOINTER_TO_INT (data);
  g_autoptr(TestServer) ts = test_server_new ();
  g_autofree char *url = NULL;
  g_autoptr(RoadieWsClient) client = NULL;
  g_autoptr(Watch) watch = NULL;
  const char *reason;
  const char *expected[] = {
    [AUTH_HTTP_401] = "HTTP 401",
    [AUTH_HTTP_403] = "HTTP 403",
    [AUTH_FAILED_MESSAGE] = "unknown DJ",
    [AUTH_CLOSE_4001] = "4001",
  };

  roadie_test_allow_roadie_warnings ();
  if (which == AUTH_HTTP_401)
    ts->refuse_status = SOUP_STATUS_UNAUTHORIZED;
  else if (which == AUTH_HTTP_403)
    ts->refuse_status = SOUP_STATUS_FORBIDDEN;
  else if (which == AUTH_FAILED_MESSAGE)
    ts->refuse_auth = TRUE;
  else
    ts->close_4001 = TRUE;
  test_server_listen (ts);
  url = test_server_url (ts);
  client = new_client (url);
  watch = watch_new (client);
  g_object_set (client,
                "initial-backoff-ms", 50,
                "max-connect-attempts", 0,
                "max-reconnect-attempts", 0,
                "auto-reconnect", TRUE,
                NULL);
  if (which == AUTH_FAILED_MESSAGE)
    g_object_set (client, "auth-message",
                  "{\"type\":\"dj_auth\",\"dj_id\":\"dj_alice\",\"dj_name\":\"DJ Alice\",\"dj_key\":\"wrong\"}",
                  NULL);

  roadie_ws_client_connect (client);
  g_assert_true (wait_state (client, ROADIE_WS_CLIENT_STATE_AUTH_FAILED, 5000));
  /* With a 50 ms backoff, a client that retried would have tried ten times. */
  roadie_test_run_for (600);
  g_assert_cmpint (roadie_ws_client_get_state (client), ==, ROADIE_WS_CLIENT_STATE_AUTH_FAILED);
  g_assert_cmpuint (attempts (watch), ==, 1);
  g_assert_cmpuint (ts->requests, ==, 1);
  g_assert_cmpuint (roadie_ws_client_count_sources (client), ==, 0);
  reason = roadie_ws_client_get_auth_failure_reason (client);
  g_test_message ("auth-failure-reason: %s", reason);
  g_assert_nonnull (reason);
  g_assert_nonnull (strstr (reason, expected[which]));
  g_assert_true (roadie_test_was_logged ("refused our credentials"));
  if (which == AUTH_FAILED_MESSAGE)
    {
      g_assert_cmpuint (ts->received->len, ==, 1);
      g_assert_true (g_str_has_prefix (g_ptr_array_index (ts->received, 0), "{\"type\":\"dj_auth\""));
    }

  /* Queued messages wait; a deliberate connect() tries again, once. */
  g_assert_true (roadie_ws_client_send_text (client, "{\"type\":\"queued\"}"));
  g_assert_cmpuint (roadie_ws_client_get_queue_length (client), ==, 1);
  roadie_ws_client_connect (client);
  g_assert_true (wait_state (client, ROADIE_WS_CLIENT_STATE_AUTH_FAILED, 5000));
  g_assert_cmpuint (attempts (watch), ==, 2);
  roadie_ws_client_close (client);
}

/* With an auth message: it goes first, "connected" waits for auth_ok, and
 * the queue is flushed only then. */
static void
test_auth_ok (void)
{
  g_autoptr(TestServer) ts = test_server_new ();
  g_autofree char *url = NULL;
  g_autoptr(RoadieWsClient) client = NULL;
  const char *auth = "{\"type\":\"dj_auth\",\"dj_id\":\"dj_alice\",\"dj_name\":\"DJ Alice\",\"dj_key\":\"k\"}";

  ts->answer_auth = TRUE;
  ts->auth_ok_delay_ms = 200;
  test_server_listen (ts);
  url = test_server_url (ts);
  client = new_client (url);
  g_object_set (client, "auth-message", auth, NULL);
  for (guint i = 0; i < 3; i++)
    {
      g_autofree char *text = g_strdup_printf ("{\"type\":\"queued\",\"n\":%u}", i);
      roadie_ws_client_send_text (client, text);
    }

  roadie_ws_client_connect (client);
  g_assert_true (wait_count (&ts->received->len, 1, 5000));
  roadie_test_run_for (100);
  /* Handshake done, auth_ok not yet there: still connecting, nothing sent. */
  g_assert_cmpint (roadie_ws_client_get_state (client), ==, ROADIE_WS_CLIENT_STATE_CONNECTING);
  g_assert_cmpuint (ts->received->len, ==, 1);
  g_assert_cmpuint (roadie_ws_client_get_queue_length (client), ==, 3);

  g_assert_true (wait_state (client, ROADIE_WS_CLIENT_STATE_CONNECTED, 5000));
  g_assert_true (wait_count (&ts->received->len, 4, 5000));
  g_assert_cmpuint (ts->received_at_auth_ok, ==, 1);
  g_assert_cmpstr (g_ptr_array_index (ts->received, 0), ==, auth);
  for (guint i = 0; i < 3; i++)
    {
      g_autofree char *text = g_strdup_printf ("{\"type\":\"queued\",\"n\":%u}", i);
      g_assert_cmpstr (g_ptr_array_index (ts->received, i + 1), ==, text);
    }
  /* auth_ok came within the deadline: nothing left of it. */
  g_assert_cmpuint (roadie_ws_client_count_sources (client), ==, 0);
  roadie_ws_client_close (client);
}

/* A server that answers the handshake but never auth_ok: the connect
 * deadline covers the authentication too. */
static void
test_auth_timeout (void)
{
  g_autoptr(TestServer) ts = test_server_start ();
  g_autofree char *url = test_server_url (ts);
  g_autoptr(RoadieWsClient) client = new_client (url);
  g_autoptr(Watch) watch = watch_new (client);

  roadie_test_allow_roadie_warnings ();
  g_object_set (client, "auth-message", "{\"type\":\"dj_auth\",\"dj_id\":\"a\",\"dj_name\":\"a\",\"dj_key\":\"a\"}",
                "connect-timeout-ms", 300, "max-connect-attempts", 2, NULL);
  roadie_ws_client_connect (client);
  g_assert_true (wait_state (client, ROADIE_WS_CLIENT_STATE_GAVE_UP, 5000));
  g_assert_cmpuint (attempts (watch), ==, 2);
  g_assert_cmpuint (ts->connections, ==, 2);
  g_assert_nonnull (strstr (roadie_ws_client_get_last_error (client), "no auth_ok"));
  g_assert_true (wait_count (&ts->closed, 2, 5000));
}

static void
test_heartbeat (void)
{
  g_autoptr(TestServer) ts = test_server_new ();
  g_autofree char *url = NULL;
  g_autoptr(RoadieWsClient) client = NULL;
  g_autoptr(Watch) watch = NULL;
  g_autoptr(JsonNode) node = NULL;
  JsonObject *heartbeat;
  double detection;
  guint reconnects = 0;

  roadie_test_allow_roadie_warnings ();
  /* Acks for the first five heartbeats, then silence on that connection;
   * a new connection gets acks again. */
  ts->first_connection_acks = 5;
  test_server_listen (ts);
  url = test_server_url (ts);
  client = new_client (url);
  watch = watch_new (client);
  g_object_set (client, "heartbeat-interval-ms", 100, "heartbeat-miss-threshold", 3,
                "mc-connected", TRUE, NULL);
  roadie_ws_client_connect (client);
  g_assert_true (wait_state (client, ROADIE_WS_CLIENT_STATE_CONNECTED, 5000));
  g_assert_cmpuint (roadie_ws_client_count_sources (client), ==, 1);

  /* The seed's shape: {"type":"dj_heartbeat","ts":<unix seconds>,"mc_connected":true} */
  g_assert_true (wait_count (&ts->heartbeats, 1, 5000));
  node = json_from_string (g_ptr_array_index (ts->received, 0), NULL);
  g_assert_nonnull (node);
  heartbeat = json_node_get_object (node);
  g_assert_cmpuint (json_object_get_size (heartbeat), ==, 3);
  g_assert_cmpstr (json_object_get_string_member (heartbeat, "type"), ==, "dj_heartbeat");
  g_assert_cmpint (json_node_get_value_type (json_object_get_member (heartbeat, "ts")), ==, G_TYPE_DOUBLE);
  g_assert_cmpfloat (fabs (json_object_get_double_member (heartbeat, "ts") - g_get_real_time () / 1e6), <, 5.0);
  g_assert_true (json_object_get_boolean_member (heartbeat, "mc_connected"));

  /* Acks stop after five: three misses drop the link, and it comes back. */
  g_assert_true (wait_state (client, ROADIE_WS_CLIENT_STATE_BACKOFF, 5000));
  detection = (watch->lost_us - ts->last_ack_us) / 1000.0;
  g_test_message ("dropped %.1f ms after the last heartbeat_ack (interval 100 ms, threshold 3)", detection);
  /* Each heartbeat has one interval to be acked: the third miss is known
   * (threshold + 1) intervals after the last ack. */
  g_assert_cmpfloat (detection, >=, 290);
  g_assert_cmpfloat (detection, <=, 400 + LATE_SLACK_MS);
  g_assert_true (roadie_test_was_logged ("Heartbeat failures exceeded"));
  g_assert_true (wait_count (&ts->closed, 1, 5000));
  g_assert_true (wait_state (client, ROADIE_WS_CLIENT_STATE_CONNECTED, 5000));
  g_assert_cmpuint (ts->connections, ==, 2);
  g_object_get (client, "reconnect-count", &reconnects, NULL);
  g_assert_cmpuint (reconnects, ==, 1);

  /* Acked heartbeats keep the link up. */
  {
    guint before = ts->heartbeats;

    roadie_test_run_for (1000);
    g_assert_cmpint (roadie_ws_client_get_state (client), ==, ROADIE_WS_CLIENT_STATE_CONNECTED);
    g_assert_cmpuint (ts->heartbeats - before, >=, 7);
  }
  g_assert_cmpuint (ts->connections, ==, 2);
  roadie_ws_client_close (client);
  g_assert_cmpuint (roadie_ws_client_count_sources (client), ==, 0);
}

/* fake-audio-server processes */

static void
die_with_test (gpointer user_data)
{
  prctl (PR_SET_PDEATHSIG, SIGKILL);
}

static GSubprocess *
spawn_fake_server (guint16 port)
{
  g_autoptr(GSubprocessLauncher) launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_SILENCE);
  g_autofree char *port_arg = g_strdup_printf ("%u", port);
  g_autofree char *tag = roadie_test_new_tag ();
  g_autoptr(GError) error = NULL;
  GSubprocess *process;

  g_subprocess_launcher_set_child_setup (launcher, die_with_test, NULL, NULL);
  /* libsoup 3.2's server warns when a connection is gone before it is
   * accepted (as after SIGSTOP); the peer must not die of our test flags. */
  g_subprocess_launcher_unsetenv (launcher, "G_DEBUG");
  process = g_subprocess_launcher_spawn (launcher, &error, roadie_test_fake_server (),
                                         "--port", port_arg, "--tag", tag, NULL);
  g_assert_no_error (error);
  return process;
}

static gboolean
port_accepts (gpointer user_data)
{
  guint16 port = GPOINTER_TO_UINT (user_data);
  g_autoptr(GSocketClient) socket_client = g_socket_client_new ();
  g_autoptr(GSocketConnection) connection = NULL;

  connection = g_socket_client_connect_to_host (socket_client, "127.0.0.1", port, NULL, NULL);
  return connection != NULL;
}

static void
kill_and_reap (GSubprocess *process)
{
  g_subprocess_send_signal (process, SIGCONT);
  g_subprocess_force_exit (process);
  g_subprocess_wait (process, NULL, NULL);
}

/* A peer frozen with SIGSTOP keeps its TCP connection open and answers
 * nothing: the pong deadline finds it. */
static void
test_half_open (void)
{
  guint16 port = roadie_test_free_port ();
  g_autoptr(GSubprocess) server = spawn_fake_server (port);
  g_autofree char *url = g_strdup_printf ("ws://127.0.0.1:%u/", port);
  g_autoptr(RoadieWsClient) client = new_client (url);
  g_autoptr(Watch) watch = watch_new (client);
  gint64 stopped_us;
  double detection;
  guint reconnects = 0;

  roadie_test_allow_roadie_warnings ();
  g_assert_true (roadie_test_wait_until (port_accepts, GUINT_TO_POINTER (port), 10000));
  g_object_set (client, "ping-interval-ms", 1000, "pong-timeout-ms", 2000,
                "connect-timeout-ms", 1000, "max-reconnect-attempts", 0, NULL);
  roadie_ws_client_connect (client);
  g_assert_true (wait_state (client, ROADIE_WS_CLIENT_STATE_CONNECTED, 5000));
  g_assert_cmpuint (roadie_ws_client_count_sources (client), ==, 1);

  /* The server says hello once and then only answers pings: past the pong
   * timeout, pongs alone must keep the link. */
  roadie_test_run_for (3500);
  g_assert_cmpint (roadie_ws_client_get_state (client), ==, ROADIE_WS_CLIENT_STATE_CONNECTED);
  g_assert_cmpuint (watch->states->len, ==, 2);

  g_subprocess_send_signal (server, SIGSTOP);
  stopped_us = g_get_monotonic_time ();
  g_assert_true (wait_state (client, ROADIE_WS_CLIENT_STATE_BACKOFF, 6000));
  detection = (watch->lost_us - stopped_us) / 1000.0;
  g_test_message ("frozen peer detected %.1f ms after SIGSTOP (ping 1 s, pong timeout 2 s; bound 3000 ms)",
                  detection);
  g_assert_cmpfloat (detection, <=, 3000);
  g_assert_true (roadie_test_was_logged ("Pong timeout"));

  /* While it is frozen, handshakes hang until the deadline. */
  roadie_test_run_for (1500);
  g_assert_cmpint (roadie_ws_client_get_state (client), !=, ROADIE_WS_CLIENT_STATE_CONNECTED);
  g_test_message ("last-error while frozen: %s", roadie_ws_client_get_last_error (client));
  g_assert_nonnull (strstr (roadie_ws_client_get_last_error (client), "within 1000 ms"));

  g_subprocess_send_signal (server, SIGCONT);
  g_assert_true (wait_state (client, ROADIE_WS_CLIENT_STATE_CONNECTED, 10000));
  g_object_get (client, "reconnect-count", &reconnects, NULL);
  g_assert_cmpuint (reconnects, ==, 1);

  /* A dead peer process is seen at once, from the socket. */
  {
    gint64 killed_us = g_get_monotonic_time ();

    kill_and_reap (server);
    g_assert_true (wait_state (client, ROADIE_WS_CLIENT_STATE_BACKOFF, 2000));
    g_test_message ("killed peer detected after %.1f ms", (watch->lost_us - killed_us) / 1000.0);
  }
  roadie_ws_client_close (client);
  g_assert_cmpuint (roadie_ws_client_count_sources (client), ==, 0);
}

/* 600 messages while the server is down: the newest 500 arrive in order,
 * before anything sent after the reconnection, and 100 are counted. */
static void
test_queue (void)
{
  guint16 port = roadie_test_free_port ();
  g_autoptr(TestServer) ts = test_server_new ();
  g_autofree char *url = g_strdup_printf ("ws://127.0.0.1:%u/", port);
  g_autoptr(RoadieWsClient) client = new_client (url);
  g_autoptr(Watch) watch = watch_new (client);
  g_autofree char *expected_log = NULL;
  guint64 dropped = 0;

  roadie_test_allow_roadie_warnings ();
  g_object_set (client, "max-connect-attempts", 0, "max-backoff-ms", 200, NULL);
  watch->send_on_connected = "{\"type\":\"after\"}";
  roadie_ws_client_connect (client);
  g_assert_true (wait_state (client, ROADIE_WS_CLIENT_STATE_BACKOFF, 2000));

  roadie_test_clear_log ();
  for (guint i = 0; i < 600; i++)
    {
      g_autofree char *text = g_strdup_printf ("{\"type\":\"frame\",\"seq\":%u}", i);
      g_assert_true (roadie_ws_client_send_text (client, text));
    }
  g_assert_cmpuint (roadie_ws_client_get_queue_length (client), ==, 500);
  g_object_get (client, "dropped-count", &dropped, NULL);
  g_assert_cmpuint (dropped, ==, 100);
  /* One "Queue full" line for the burst, not a hundred. */
  expected_log = g_strdup_printf ("W: Queue full (500 messages) for %s: dropping the oldest; 1 dropped so far", url);
  g_assert_cmpuint (roadie_test_count_logged (expected_log), ==, 1);
  g_assert_cmpuint (roadie_test_count_logged (NULL), ==, 1);

  ts->port = port;
  test_server_listen (ts);
  g_assert_true (wait_state (client, ROADIE_WS_CLIENT_STATE_CONNECTED, 5000));
  g_assert_true (wait_count (&ts->received->len, 501, 5000));
  for (guint i = 0; i < 500; i++)
    {
      g_autofree char *text = g_strdup_printf ("{\"type\":\"frame\",\"seq\":%u}", i + 100);
      g_assert_cmpstr (g_ptr_array_index (ts->received, i), ==, text);
    }
  g_assert_cmpstr (g_ptr_array_index (ts->received, 500), ==, "{\"type\":\"after\"}");
  g_assert_cmpuint (roadie_ws_client_get_queue_length (client), ==, 0);
  g_assert_true (roadie_test_was_logged ("100 older ones were dropped"));
  roadie_ws_client_close (client);
}

/* After a loss without auto-reconnect: disconnected, and quiet. */
static void
test_no_auto_reconnect (void)
{
  g_autoptr(TestServer) ts = test_server_start ();
  g_autofree char *url = test_server_url (ts);
  g_autoptr(RoadieWsClient) client = new_client (url);
  g_autoptr(Watch) watch = watch_new (client);

  g_object_set (client, "auto-reconnect", FALSE, NULL);
  roadie_ws_client_connect (client);
  g_assert_true (wait_state (client, ROADIE_WS_CLIENT_STATE_CONNECTED, 5000));
  test_server_stop (ts);
  test_server_listen (ts);
  g_assert_true (wait_state (client, ROADIE_WS_CLIENT_STATE_DISCONNECTED, 5000));
  roadie_test_run_for (500);
  g_assert_cmpuint (attempts (watch), ==, 1);
  g_assert_cmpuint (ts->connections, ==, 1);
  g_assert_cmpuint (roadie_ws_client_count_sources (client), ==, 0);
  g_assert_true (roadie_ws_client_send_text (client, "{\"type\":\"later\"}"));
  roadie_ws_client_connect (client);
  g_assert_true (wait_state (client, ROADIE_WS_CLIENT_STATE_CONNECTED, 5000));
  g_assert_true (wait_count (&ts->received->len, 1, 5000));
  g_assert_cmpstr (g_ptr_array_index (ts->received, 0), ==, "{\"type\":\"later\"}");
  roadie_ws_client_close (client);
}

/* 1000 clients made, connected (or caught connecting, or in backoff) and
 * closed or dropped: nothing of them stays. */
static void
test_connect_close_cycles (void)
{
  g_autoptr(TestServer) ts = test_server_start ();
  g_autofree char *url = test_server_url (ts);
  g_autofree char *dead_url = refused_url ();
  guint fds_before;
  guint connected_cycles = 0;
  guint connecting_cycles = 0;
  guint server_connections;
  gint64 start = g_get_monotonic_time ();

  roadie_test_allow_roadie_warnings ();
  /* One warm-up round so lazily made singletons do not count. */
  {
    g_autoptr(RoadieWsClient) client = new_client (url);
    roadie_ws_client_connect (client);
    g_assert_true (wait_state (client, ROADIE_WS_CLIENT_STATE_CONNECTED, 5000));
    roadie_ws_client_close (client);
    g_assert_true (wait_count (&ts->closed, 1, 5000));
  }
  fds_before = roadie_test_count_fds ();

  for (guint i = 0; i < 1000; i++)
    {
      RoadieWsClient *client;
      guint mode = i % 4;

      client = new_client (mode == 2 ? dead_url : url);
      g_object_set (client, "ping-interval-ms", 1000, "pong-timeout-ms", 3000,
                    "heartbeat-interval-ms", 500, "initial-backoff-ms", 1000, NULL);
      g_object_add_weak_pointer (G_OBJECT (client), (gpointer *) &client);
      roadie_ws_client_connect (client);
      if (mode == 0 || mode == 3)
        {
          g_assert_true (wait_state (client, ROADIE_WS_CLIENT_STATE_CONNECTED, 5000));
          g_assert_cmpuint (roadie_ws_client_count_sources (client), ==, 2);
          connected_cycles++;
        }
      else if (mode == 1)
        {
          g_assert_cmpint (roadie_ws_client_get_state (client), ==, ROADIE_WS_CLIENT_STATE_CONNECTING);
          connecting_cycles++;
        }
      else
        {
          g_assert_true (wait_state (client, ROADIE_WS_CLIENT_STATE_BACKOFF, 5000));
          g_assert_cmpuint (roadie_ws_client_count_sources (client), ==, 1);
        }

      if (mode != 3)
        {
          roadie_ws_client_close (client);
          g_assert_cmpint (roadie_ws_client_get_state (client), ==, ROADIE_WS_CLIENT_STATE_CLOSED);
          g_assert_cmpuint (roadie_ws_client_count_sources (client), ==, 0);
          g_assert_null (g_main_context_find_source_by_user_data (NULL, client));
        }
      /* mode 3: dropped while connected; dispose does what close() does. */
      g_object_unref (client);
      g_assert_null (client);
    }
  g_test_message ("1000 cycles in %.1f s", (g_get_monotonic_time () - start) / 1e6);

  /* The server saw each connected client exactly once, and no client came
   * back after close. */
  g_assert_true (wait_count (&ts->closed, 1 + connected_cycles, 10000));
  roadie_test_run_for (1500);
  server_connections = ts->connections - 1;
  g_test_message ("server connections: %u for %u connected and %u caught-connecting cycles",
                  server_connections, connected_cycles, connecting_cycles);
  g_assert_cmpuint (server_connections, >=, connected_cycles);
  g_assert_cmpuint (server_connections, <=, connected_cycles + connecting_cycles);
  g_assert_cmpuint (ts->closed, ==, ts->connections);
  g_assert_cmpuint (ts->live->len, ==, 0);
  {
    guint fds_after = roadie_test_count_fds ();

    g_test_message ("open fds: %u before, %u after", fds_before, fds_after);
    g_assert_cmpuint (fds_after, <=, fds_before + 4);
  }
}

/* 200 clients, the server killed and restarted on the same port: all come
 * back, spread out. */
#define HERD_CLIENTS 200

typedef struct
{
  GArray *attempt_us;
  guint   connected;
  gboolean recording;
} Herd;

static void
on_herd_state (RoadieWsClient *client,
               GParamSpec     *pspec,
               Herd           *herd)
{
  RoadieWsClientState state = roadie_ws_client_get_state (client);

  if (state == ROADIE_WS_CLIENT_STATE_CONNECTED)
    herd->connected++;
  else if (herd->recording && state == ROADIE_WS_CLIENT_STATE_CONNECTING)
    {
      gint64 now = g_get_monotonic_time ();
      g_array_append_val (herd->attempt_us, now);
    }
}

static int
compare_int64 (gconstpointer a,
               gconstpointer b)
{
  gint64 x = *(const gint64 *) a, y = *(const gint64 *) b;

  return x < y ? -1 : x > y;
}

static void
test_server_restart_herd (void)
{
  guint16 port = roadie_test_free_port ();
  g_autoptr(GSubprocess) server = spawn_fake_server (port);
  g_autoptr(GSubprocess) restarted = NULL;
  g_autofree char *url = g_strdup_printf ("ws://127.0.0.1:%u/", port);
  g_autoptr(GPtrArray) clients = g_ptr_array_new_with_free_func (g_object_unref);
  Herd herd = { g_array_new (FALSE, FALSE, sizeof (gint64)), 0, FALSE };
  gint64 killed_us;
  guint max_window = 0;
  double spread_ms, all_back_ms, first_ms;

  roadie_test_allow_roadie_warnings ();
  g_assert_true (roadie_test_wait_until (port_accepts, GUINT_TO_POINTER (port), 10000));
  for (guint i = 0; i < HERD_CLIENTS; i++)
    {
      /* The DJ relay's schedule, connect timeout 5 s. */
      RoadieWsClient *client = g_object_new (ROADIE_TYPE_WS_CLIENT,
                                             "url", url,
                                             "initial-backoff-ms", 2000,
                                             "backoff-multiplier", 1.5,
                                             "max-backoff-ms", 30000,
                                             "jitter", 0.1,
                                             "max-connect-attempts", 0,
                                             "max-reconnect-attempts", 0,
                                             "connect-timeout-ms", 5000,
                                             NULL);
      g_signal_connect (client, "notify::state", G_CALLBACK (on_herd_state), &herd);
      g_ptr_array_add (clients, client);
      roadie_ws_client_connect (client);
    }
  g_assert_true (wait_count (&herd.connected, HERD_CLIENTS, 20000));

  herd.recording = TRUE;
  herd.connected = 0;
  killed_us = g_get_monotonic_time ();
  kill_and_reap (server);
  restarted = spawn_fake_server (port);
  g_assert_true (wait_count (&herd.connected, HERD_CLIENTS, 20000));
  all_back_ms = (g_get_monotonic_time () - killed_us) / 1000.0;

  g_array_sort (herd.attempt_us, compare_int64);
  for (guint i = 0; i < herd.attempt_us->len; i++)
    {
      guint in_window = 0;

      for (guint j = i; j < herd.attempt_us->len &&
           g_array_index (herd.attempt_us, gint64, j) - g_array_index (herd.attempt_us, gint64, i) < 100000; j++)
        in_window++;
      max_window = MAX (max_window, in_window);
    }
  spread_ms = (g_array_index (herd.attempt_us, gint64, herd.attempt_us->len - 1) -
               g_array_index (herd.attempt_us, gint64, 0)) / 1000.0;
  g_test_message ("%u clients back %.0f ms after the kill; %u reconnect attempts over %.0f ms; "
                  "busiest 100 ms window: %u attempts (%.1f %%, limit 15 %%)",
                  HERD_CLIENTS, all_back_ms, herd.attempt_us->len, spread_ms,
                  max_window, 100.0 * max_window / herd.attempt_us->len);
  g_assert_cmpuint (herd.attempt_us->len, >=, HERD_CLIENTS);
  g_assert_cmpfloat (max_window, <=, 0.15 * herd.attempt_us->len);
  /* Full jitter on the first retry: some come back at once, the rest over
   * the whole initial backoff (±10 % alone would start at 1800 ms). */
  first_ms = (g_array_index (herd.attempt_us, gint64, 0) - killed_us) / 1000.0;
  g_test_message ("first reconnect attempt %.1f ms after the kill", first_ms);
  g_assert_cmpfloat (first_ms, <, 1000);
  g_assert_cmpfloat (spread_ms, >=, 1000);

  for (guint i = 0; i < clients->len; i++)
    {
      roadie_ws_client_close (g_ptr_array_index (clients, i));
      g_signal_handlers_disconnect_by_data (g_ptr_array_index (clients, i), &herd);
    }
  g_ptr_array_set_size (clients, 0);
  /* Let the close handshakes finish before the server goes. */
  roadie_test_run_for (300);
  kill_and_reap (restarted);
  g_array_unref (herd.attempt_us);
}

static void
drop_log (const char     *log_domain,
          GLogLevelFlags  log_level,
          const char     *message,
          gpointer        user_data)
{
}

int
main (int argc, char *argv[])
{
  roadie_test_init_environment ();
  g_test_init (&argc, &argv, NULL);
  /* GTest's log handler prints every library's debug output; libsoup's
   * would be hundreds of thousands of lines over 1000 cycles and 200
   * clients. */
  if (!g_test_verbose ())
    {
      g_log_set_handler ("libsoup", G_LOG_LEVEL_DEBUG | G_LOG_LEVEL_INFO, drop_log, NULL);
      g_log_set_handler ("GLib-GIO", G_LOG_LEVEL_DEBUG | G_LOG_LEVEL_INFO, drop_log, NULL);
    }
  roadie_test_capture_log ();

  g_test_add_func ("/roadie/ws-client/messages", test_messages);
  g_test_add_func ("/roadie/ws-client/schedule", test_schedule);
  g_test_add_func ("/roadie/ws-client/reconnect-schedule", test_reconnect_schedule);
  g_test_add_func ("/roadie/ws-client/connect-timeout", test_connect_timeout);
  g_test_add_data_func ("/roadie/ws-client/auth-failure/http-401", GINT_TO_POINTER (AUTH_HTTP_401), test_auth_failure);
  g_test_add_data_func ("/roadie/ws-client/auth-failure/http-403", GINT_TO_POINTER (AUTH_HTTP_403), test_auth_failure);
  g_test_add_data_func ("/roadie/ws-client/auth-failure/auth-failed-message", GINT_TO_POINTER (AUTH_FAILED_MESSAGE), test_auth_failure);
  g_test_add_data_func ("/roadie/ws-client/auth-failure/close-4001", GINT_TO_POINTER (AUTH_CLOSE_4001), test_auth_failure);
  g_test_add_func ("/roadie/ws-client/auth-ok", test_auth_ok);
  g_test_add_func ("/roadie/ws-client/auth-timeout", test_auth_timeout);
  g_test_add_func ("/roadie/ws-client/heartbeat", test_heartbeat);
  g_test_add_func ("/roadie/ws-client/half-open", test_half_open);
  g_test_add_func ("/roadie/ws-client/queue", test_queue);
  g_test_add_func ("/roadie/ws-client/no-auto-reconnect", test_no_auto_reconnect);
  g_test_add_func ("/roadie/ws-client/connect-close-cycles", test_connect_close_cycles);
  g_test_add_func ("/roadie/ws-client/server-restart-herd", test_server_restart_herd);

  return g_test_run ();
}
