/* test-engine.c: roadie-engine as a real process.
 *
 * Each case spawns the built roadie-engine on a free port and talks to it
 * over real sockets: the hello message over WebSocket (engine and browser
 * ports), GET /health (the seed's statistics), the start-up lines on
 * stdout, exit on SIGTERM (timed), a second engine on a taken port, option
 * errors, loopback-only binding, and input it must survive (malformed,
 * binary, oversized: that client is closed, the others stay). The browser
 * and DJ listeners are off unless a case needs them, so no case depends
 * on the default ports 8766 and 9000 being free.
 */
#include "config.h"

#include <ifaddrs.h>
#include <netinet/in.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include <json-glib/json-glib.h>
#include <libsoup/soup.h>

#include "roadie-test-util.h"

#define START_TIMEOUT_MS 10000
#define IO_TIMEOUT_MS    5000

typedef struct
{
  GSubprocess *process;
  GString     *out;
  GString     *err;
  gboolean     out_done;
  gboolean     err_done;
  gboolean     exited;
  int          wait_status;
  gint64       exited_at_us;
  guint        port;
} Engine;

static void read_out_line (Engine *engine, GDataInputStream *stream);
static void read_err_chunk (Engine *engine, GInputStream *stream);

static void
out_line_read (GObject      *object,
               GAsyncResult *result,
               gpointer      user_data)
{
  Engine *engine = user_data;
  g_autofree char *line = NULL;

  line = g_data_input_stream_read_line_finish_utf8 (G_DATA_INPUT_STREAM (object), result, NULL, NULL);
  if (line == NULL)
    {
      engine->out_done = TRUE;
      return;
    }
  g_string_append (engine->out, line);
  g_string_append_c (engine->out, '\n');
  read_out_line (engine, G_DATA_INPUT_STREAM (object));
}

static void
read_out_line (Engine           *engine,
               GDataInputStream *stream)
{
  g_data_input_stream_read_line_async (stream, G_PRIORITY_DEFAULT, NULL, out_line_read, engine);
}

static void
err_chunk_read (GObject      *object,
                GAsyncResult *result,
                gpointer      user_data)
{
  Engine *engine = user_data;
  g_autoptr(GBytes) bytes = NULL;

  bytes = g_input_stream_read_bytes_finish (G_INPUT_STREAM (object), result, NULL);
  if (bytes == NULL || g_bytes_get_size (bytes) == 0)
    {
      engine->err_done = TRUE;
      return;
    }
  g_string_append_len (engine->err, g_bytes_get_data (bytes, NULL), g_bytes_get_size (bytes));
  read_err_chunk (engine, G_INPUT_STREAM (object));
}

static void
read_err_chunk (Engine       *engine,
                GInputStream *stream)
{
  g_input_stream_read_bytes_async (stream, 4096, G_PRIORITY_DEFAULT, NULL, err_chunk_read, engine);
}

static void
engine_exited (GObject      *object,
               GAsyncResult *result,
               gpointer      user_data)
{
  Engine *engine = user_data;

  g_assert_true (g_subprocess_wait_finish (G_SUBPROCESS (object), result, NULL));
  engine->exited_at_us = g_get_monotonic_time ();
  engine->wait_status = g_subprocess_get_status (G_SUBPROCESS (object));
  engine->exited = TRUE;
}

/* Spawns roadie-engine with argv (NULL-terminated, after the program). */
static Engine *
engine_spawn_argv (const char * const *args)
{
  g_autoptr(GPtrArray) argv = g_ptr_array_new ();
  g_autoptr(GError) error = NULL;
  g_autoptr(GDataInputStream) out = NULL;
  Engine *engine = g_new0 (Engine, 1);

  g_ptr_array_add (argv, (gpointer) roadie_test_engine ());
  for (guint i = 0; args[i] != NULL; i++)
    g_ptr_array_add (argv, (gpointer) args[i]);
  g_ptr_array_add (argv, NULL);

  engine->out = g_string_new (NULL);
  engine->err = g_string_new (NULL);
  engine->process = g_subprocess_newv ((const char * const *) argv->pdata,
                                       G_SUBPROCESS_FLAGS_STDOUT_PIPE | G_SUBPROCESS_FLAGS_STDERR_PIPE,
                                       &error);
  g_assert_no_error (error);

  out = g_data_input_stream_new (g_subprocess_get_stdout_pipe (engine->process));
  read_out_line (engine, out);
  read_err_chunk (engine, g_subprocess_get_stderr_pipe (engine->process));
  g_subprocess_wait_async (engine->process, NULL, engine_exited, engine);

  return engine;
}

static gboolean
engine_is_listening (gpointer user_data)
{
  Engine *engine = user_data;
  g_autofree char *line = g_strdup_printf ("WebSocket server listening on port %u\n", engine->port);

  return engine->exited || strstr (engine->out->str, line) != NULL;
}

/* Spawns an engine on a free port and waits for its listening line. The
 * browser and DJ listeners are off unless browser_port is not 0. */
static Engine *
engine_start_with_browsers (guint browser_port)
{
  g_autofree char *port = NULL;
  g_autofree char *browser = g_strdup_printf ("%u", browser_port);
  Engine *engine;
  guint16 free_port = roadie_test_free_port ();

  port = g_strdup_printf ("%u", free_port);
  engine = engine_spawn_argv ((const char *[]) { "--port", port, "--browser-port", browser, "--dj-port", "0", NULL });
  engine->port = free_port;
  g_assert_true (roadie_test_wait_until (engine_is_listening, engine, START_TIMEOUT_MS));
  g_assert_false (engine->exited);

  return engine;
}

static Engine *
engine_start (void)
{
  return engine_start_with_browsers (0);
}

static gboolean
engine_has_exited (gpointer user_data)
{
  Engine *engine = user_data;

  /* The pipes too, so stderr is complete when we look at it. */
  return engine->exited && engine->out_done && engine->err_done;
}

static void
engine_free (Engine *engine)
{
  if (!engine->exited)
    {
      g_subprocess_force_exit (engine->process);
      g_assert_true (roadie_test_wait_until (engine_has_exited, engine, IO_TIMEOUT_MS));
    }
  g_assert_true (roadie_test_wait_until (engine_has_exited, engine, IO_TIMEOUT_MS));
  g_clear_object (&engine->process);
  g_string_free (engine->out, TRUE);
  g_string_free (engine->err, TRUE);
  g_free (engine);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (Engine, engine_free)

/* --- HTTP and WebSocket clients on the main loop ------------------------- */

typedef struct
{
  gboolean  done;
  guint     status;
  char     *content_type;
  GBytes   *body;
  GError   *error;
} HttpResult;

static void
http_result_clear (HttpResult *result)
{
  g_clear_pointer (&result->content_type, g_free);
  g_clear_pointer (&result->body, g_bytes_unref);
  g_clear_error (&result->error);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (HttpResult, http_result_clear)

static void
http_done (GObject      *object,
           GAsyncResult *result,
           gpointer      user_data)
{
  HttpResult *http = user_data;
  SoupMessage *msg = soup_session_get_async_result_message (SOUP_SESSION (object), result);

  http->body = soup_session_send_and_read_finish (SOUP_SESSION (object), result, &http->error);
  http->status = soup_message_get_status (msg);
  http->content_type = g_strdup (soup_message_headers_get_content_type (soup_message_get_response_headers (msg), NULL));
  http->done = TRUE;
}

static gboolean
http_is_done (gpointer user_data)
{
  return ((HttpResult *) user_data)->done;
}

static void
http_get (SoupSession *session,
          guint        port,
          const char  *path,
          HttpResult  *result)
{
  g_autofree char *uri = g_strdup_printf ("http://127.0.0.1:%u%s", port, path);
  g_autoptr(SoupMessage) msg = soup_message_new ("GET", uri);

  soup_session_send_and_read_async (session, msg, G_PRIORITY_DEFAULT, NULL, http_done, result);
  g_assert_true (roadie_test_wait_until (http_is_done, result, IO_TIMEOUT_MS));
  g_assert_no_error (result->error);
}

static JsonObject *
parse_object (GBytes *bytes)
{
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(GError) error = NULL;
  gsize len = 0;
  const char *data = g_bytes_get_data (bytes, &len);

  json_parser_load_from_data (parser, data, len, &error);
  g_assert_no_error (error);
  g_assert_true (JSON_NODE_HOLDS_OBJECT (json_parser_get_root (parser)));

  return json_object_ref (json_node_get_object (json_parser_get_root (parser)));
}

typedef struct
{
  SoupWebsocketConnection *connection;
  GError                  *error;
  GPtrArray               *texts;     /* char * */
  gboolean                 connect_done;
  gboolean                 closed;
  gushort                  close_code;
} WsClient;

static void
ws_message (SoupWebsocketConnection *connection,
            int                      type,
            GBytes                  *message,
            gpointer                 user_data)
{
  WsClient *client = user_data;

  if (type == SOUP_WEBSOCKET_DATA_TEXT)
    g_ptr_array_add (client->texts, g_strndup (g_bytes_get_data (message, NULL), g_bytes_get_size (message)));
}

static void
ws_closed (SoupWebsocketConnection *connection,
           gpointer                 user_data)
{
  WsClient *client = user_data;

  client->closed = TRUE;
  client->close_code = soup_websocket_connection_get_close_code (connection);
}

static void
ws_connected (GObject      *object,
              GAsyncResult *result,
              gpointer      user_data)
{
  WsClient *client = user_data;

  client->connection = soup_session_websocket_connect_finish (SOUP_SESSION (object), result, &client->error);
  if (client->connection != NULL)
    {
      g_signal_connect (client->connection, "message", G_CALLBACK (ws_message), client);
      g_signal_connect (client->connection, "closed", G_CALLBACK (ws_closed), client);
    }
  client->connect_done = TRUE;
}

static gboolean
ws_connect_done (gpointer user_data)
{
  return ((WsClient *) user_data)->connect_done;
}

static gboolean
ws_has_text (gpointer user_data)
{
  return ((WsClient *) user_data)->texts->len > 0;
}

static gboolean
ws_is_closed (gpointer user_data)
{
  return ((WsClient *) user_data)->closed;
}

static WsClient *
ws_connect (SoupSession *session,
            guint        port)
{
  g_autofree char *uri = g_strdup_printf ("ws://127.0.0.1:%u/", port);
  g_autoptr(SoupMessage) msg = soup_message_new ("GET", uri);
  WsClient *client = g_new0 (WsClient, 1);

  client->texts = g_ptr_array_new_with_free_func (g_free);
  soup_session_websocket_connect_async (session, msg, NULL, NULL, G_PRIORITY_DEFAULT, NULL, ws_connected, client);
  g_assert_true (roadie_test_wait_until (ws_connect_done, client, IO_TIMEOUT_MS));
  g_assert_no_error (client->error);

  return client;
}

static void
ws_client_free (WsClient *client)
{
  if (client->connection != NULL)
    {
      g_signal_handlers_disconnect_by_data (client->connection, client);
      if (soup_websocket_connection_get_state (client->connection) == SOUP_WEBSOCKET_STATE_OPEN)
        soup_websocket_connection_close (client->connection, SOUP_WEBSOCKET_CLOSE_NORMAL, NULL);
    }
  g_clear_object (&client->connection);
  g_clear_error (&client->error);
  g_ptr_array_unref (client->texts);
  g_free (client);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (WsClient, ws_client_free)

typedef struct
{
  SoupSession *session;
  guint        port;
  gint64       want;
} HealthClients;

static gboolean
health_reports_browsers (gpointer user_data)
{
  HealthClients *check = user_data;
  g_auto(HttpResult) result = { 0 };
  g_autoptr(JsonObject) health = NULL;

  http_get (check->session, check->port, "/health", &result);
  health = parse_object (result.body);
  return json_object_get_int_member (health, "current_browsers") == check->want;
}

static gboolean
tick (gpointer user_data)
{
  return G_SOURCE_CONTINUE;
}

/* roadie_test_wait_until() for conditions that poll: a ticking source
 * wakes the main loop so the condition is checked every few milliseconds,
 * not only when some other event comes. */
static gboolean
poll_until (RoadieTestCondition func,
            gpointer            user_data,
            guint               timeout_ms)
{
  guint tick_id = g_timeout_add (10, tick, NULL);
  gboolean reached = roadie_test_wait_until (func, user_data, timeout_ms);

  g_source_remove (tick_id);
  return reached;
}

/* --- cases ----------------------------------------------------------------- */

static void
test_engine_startup_lines (void)
{
  guint16 free_port = roadie_test_free_port ();
  g_autofree char *port = g_strdup_printf ("%u", free_port);
  g_autoptr(Engine) engine = NULL;
  g_autofree char *expected = NULL;

  /* The demo groove, so that the audio line is the same with or without
   * a PipeWire daemon on the machine running the test. */
  engine = engine_spawn_argv ((const char *[]) { "--port", port, "--browser-port", "0", "--dj-port", "0",
                                                 "--input", "demo", NULL });
  engine->port = free_port;

  /* The seed's lines, in order, each complete as soon as printed: the
   * engine's stdout is a pipe here, so this also proves line buffering.
   * Then where the audio comes from. */
  expected = g_strdup_printf ("WebSocket server listening on port %u\n"
                              "✓ WebSocket server started on ws://localhost:%u\n"
                              "Audio: the demo groove at 124 BPM; 60 frames per second\n",
                              engine->port, engine->port);
  g_assert_true (roadie_test_wait_until ((RoadieTestCondition) engine_is_listening, engine, START_TIMEOUT_MS));
  roadie_test_run_for (50);
  g_assert_cmpstr (engine->out->str, ==, expected);
  g_assert_cmpstr (engine->err->str, ==, "");
}

static void
assert_hello (WsClient *client)
{
  g_autoptr(JsonObject) hello = NULL;
  g_autoptr(GBytes) bytes = NULL;
  const char *text;

  g_assert_true (roadie_test_wait_until (ws_has_text, client, IO_TIMEOUT_MS));
  /* Hello first; the engine's frames (without PipeWire, frames saying
   * there is no audio) may follow it at once. */
  g_assert_cmpuint (client->texts->len, >=, 1);
  text = g_ptr_array_index (client->texts, 0);
  /* The protocol puts "type" first so a reader can dispatch early. */
  g_assert_true (g_str_has_prefix (text, "{\"type\":\"hello\""));

  bytes = g_bytes_new (text, strlen (text));
  hello = parse_object (bytes);
  g_assert_cmpstr (json_object_get_string_member (hello, "type"), ==, "hello");
  g_assert_cmpstr (json_object_get_string_member (hello, "server"), ==, "roadie-engine");
  g_assert_cmpstr (json_object_get_string_member (hello, "version"), ==, PACKAGE_VERSION);
  g_assert_cmpint (json_object_get_int_member (hello, "protocol"), ==, 1);
  g_assert_cmpuint (json_object_get_size (hello), ==, 4);
}

static void
test_engine_hello (void)
{
  guint browser_port = roadie_test_free_port ();
  g_autoptr(Engine) engine = engine_start_with_browsers (browser_port);
  g_autoptr(SoupSession) session = soup_session_new ();
  g_autoptr(WsClient) client = ws_connect (session, engine->port);
  g_autoptr(WsClient) browser = ws_connect (session, browser_port);
  HealthClients check = { session, engine->port, 1 };

  /* The engine port and the browser port greet alike. */
  assert_hello (client);
  assert_hello (browser);

  /* The engine counts the browser while it is connected, and forgets it
   * when it leaves. */
  g_assert_true (poll_until (health_reports_browsers, &check, IO_TIMEOUT_MS));
  soup_websocket_connection_close (browser->connection, SOUP_WEBSOCKET_CLOSE_NORMAL, NULL);
  g_assert_true (roadie_test_wait_until (ws_is_closed, browser, IO_TIMEOUT_MS));
  check.want = 0;
  g_assert_true (poll_until (health_reports_browsers, &check, IO_TIMEOUT_MS));
}

static void
test_engine_health (void)
{
  g_autoptr(Engine) engine = engine_start ();
  g_autoptr(SoupSession) session = soup_session_new ();
  g_auto(HttpResult) result = { 0 };
  g_auto(HttpResult) missing = { 0 };
  g_autoptr(JsonObject) health = NULL;
  g_autoptr(JsonObject) error = NULL;
  static const char *counters[] = {
    "dj_connects", "dj_disconnects", "browser_connects", "browser_disconnects",
    "mc_reconnect_count", "current_djs", "current_browsers",
  };

  http_get (session, engine->port, "/health", &result);
  g_assert_cmpuint (result.status, ==, SOUP_STATUS_OK);
  g_assert_cmpstr (result.content_type, ==, "application/json");
  health = parse_object (result.body);
  /* The seed's health statistics, every field, nothing connected yet. */
  for (guint i = 0; i < G_N_ELEMENTS (counters); i++)
    {
      g_assert_true (json_object_has_member (health, counters[i]));
      g_assert_cmpint (json_object_get_int_member (health, counters[i]), ==, 0);
    }
  g_assert_false (json_object_get_boolean_member (health, "mc_connected"));
  g_assert_cmpuint (json_object_get_size (health), ==, G_N_ELEMENTS (counters) + 1);

  http_get (session, engine->port, "/no-such-thing", &missing);
  g_assert_cmpuint (missing.status, ==, SOUP_STATUS_NOT_FOUND);
  g_assert_cmpstr (missing.content_type, ==, "application/json");
  error = parse_object (missing.body);
  g_assert_true (json_object_has_member (error, "error"));
}

static void
test_engine_sigterm (void)
{
  g_autoptr(Engine) engine = engine_start ();
  g_autoptr(SoupSession) session = soup_session_new ();
  g_autoptr(WsClient) client = ws_connect (session, engine->port);
  gint64 sent_at;
  double elapsed_ms;

  g_assert_true (roadie_test_wait_until (ws_has_text, client, IO_TIMEOUT_MS));

  sent_at = g_get_monotonic_time ();
  g_subprocess_send_signal (engine->process, SIGTERM);
  g_assert_true (roadie_test_wait_until (engine_has_exited, engine, IO_TIMEOUT_MS));
  elapsed_ms = (engine->exited_at_us - sent_at) / 1000.0;

  g_assert_true (WIFEXITED (engine->wait_status));
  g_assert_cmpint (WEXITSTATUS (engine->wait_status), ==, 0);
  /* The target is 100 ms; the bound is loose so a loaded CI machine does
   * not fail the suite. The figure is reported for the record. */
  g_test_message ("SIGTERM to exit with one WebSocket client: %.1f ms", elapsed_ms);
  g_assert_cmpfloat (elapsed_ms, <, 500.0);

  /* The client was told the server is going away. */
  g_assert_true (roadie_test_wait_until (ws_is_closed, client, IO_TIMEOUT_MS));
  g_assert_cmpuint (client->close_code, ==, SOUP_WEBSOCKET_CLOSE_GOING_AWAY);
}

static void
test_engine_sigint_idle (void)
{
  g_autoptr(Engine) engine = engine_start ();
  gint64 sent_at;
  double elapsed_ms;

  sent_at = g_get_monotonic_time ();
  g_subprocess_send_signal (engine->process, SIGINT);
  g_assert_true (roadie_test_wait_until (engine_has_exited, engine, IO_TIMEOUT_MS));
  elapsed_ms = (engine->exited_at_us - sent_at) / 1000.0;

  g_assert_true (WIFEXITED (engine->wait_status));
  g_assert_cmpint (WEXITSTATUS (engine->wait_status), ==, 0);
  g_test_message ("SIGINT to exit with no client: %.1f ms", elapsed_ms);
  g_assert_cmpfloat (elapsed_ms, <, 500.0);
}

static void
test_engine_port_in_use (void)
{
  g_autoptr(Engine) first = engine_start ();
  g_autoptr(Engine) second = NULL;
  g_autofree char *port = g_strdup_printf ("%u", first->port);
  g_autofree char *expected = NULL;

  second = engine_spawn_argv ((const char *[]) { "--port", port, "--browser-port", "0", "--dj-port", "0", NULL });
  g_assert_true (roadie_test_wait_until (engine_has_exited, second, START_TIMEOUT_MS));

  g_assert_true (WIFEXITED (second->wait_status));
  g_assert_cmpint (WEXITSTATUS (second->wait_status), ==, 1);
  expected = g_strdup_printf ("roadie-engine: port %u on 127.0.0.1 is already in use; "
                              "stop the other program or pass --port\n", first->port);
  g_assert_cmpstr (second->err->str, ==, expected);
  g_assert_cmpstr (second->out->str, ==, "");

  /* The first one is untouched. */
  g_assert_false (first->exited);
}

static void
assert_usage_error (const char * const *args,
                    const char         *fragment)
{
  g_autoptr(Engine) engine = engine_spawn_argv (args);

  g_assert_true (roadie_test_wait_until (engine_has_exited, engine, START_TIMEOUT_MS));
  g_assert_true (WIFEXITED (engine->wait_status));
  g_assert_cmpint (WEXITSTATUS (engine->wait_status), ==, 2);
  g_assert_nonnull (strstr (engine->err->str, fragment));
  g_assert_nonnull (strstr (engine->err->str, "Usage:"));
  g_assert_nonnull (strstr (engine->err->str, "--port"));
  g_assert_cmpstr (engine->out->str, ==, "");
}

static void
test_engine_options (void)
{
  g_autoptr(Engine) version = NULL;

  assert_usage_error ((const char *[]) { "--port", "abc", NULL }, "--port");
  assert_usage_error ((const char *[]) { "--port", "70000", NULL }, "70000");
  assert_usage_error ((const char *[]) { "--port", "-1", NULL }, "-1");
  assert_usage_error ((const char *[]) { "--no-such-option", NULL }, "--no-such-option");
  assert_usage_error ((const char *[]) { "stray", NULL }, "stray");
  assert_usage_error ((const char *[]) { "--bind", "not-an-address", "--port", "0", NULL }, "not-an-address");

  version = engine_spawn_argv ((const char *[]) { "--version", NULL });
  g_assert_true (roadie_test_wait_until (engine_has_exited, version, START_TIMEOUT_MS));
  g_assert_true (WIFEXITED (version->wait_status));
  g_assert_cmpint (WEXITSTATUS (version->wait_status), ==, 0);
  g_assert_cmpstr (version->out->str, ==, "roadie-engine " PACKAGE_VERSION "\n");
}

/* The first IPv4 address of this machine that is not loopback, or NULL. */
static char *
find_non_loopback_ipv4 (void)
{
  struct ifaddrs *addresses = NULL;
  char *found = NULL;

  if (getifaddrs (&addresses) != 0)
    return NULL;
  for (struct ifaddrs *ifa = addresses; ifa != NULL && found == NULL; ifa = ifa->ifa_next)
    {
      g_autoptr(GInetAddress) address = NULL;

      if (ifa->ifa_addr == NULL || ifa->ifa_addr->sa_family != AF_INET)
        continue;
      address = g_inet_address_new_from_bytes ((const guint8 *) &((struct sockaddr_in *) (gpointer) ifa->ifa_addr)->sin_addr,
                                               G_SOCKET_FAMILY_IPV4);
      if (!g_inet_address_get_is_loopback (address))
        found = g_inet_address_to_string (address);
    }
  freeifaddrs (addresses);

  return found;
}

static void
test_engine_loopback_only (void)
{
  g_autoptr(Engine) engine = engine_start ();
  g_autofree char *other = find_non_loopback_ipv4 ();
  g_autoptr(GError) loopback_error = NULL;

  loopback_error = roadie_test_try_tcp_connect ("127.0.0.1", engine->port);
  g_assert_no_error (loopback_error);

  if (other == NULL)
    {
      g_test_message ("this machine has no non-loopback IPv4 address; "
                      "cannot check that the engine is unreachable from outside");
      return;
    }
  else
    {
      g_autoptr(GError) outside_error = roadie_test_try_tcp_connect (other, engine->port);

      g_test_message ("connecting to %s:%u must fail", other, engine->port);
      g_assert_nonnull (outside_error);
      g_assert_true (g_error_matches (outside_error, G_IO_ERROR, G_IO_ERROR_CONNECTION_REFUSED));
    }
}

static gboolean
ws_got_error_then_closed (WsClient *client)
{
  for (guint i = 0; i < client->texts->len; i++)
    if (g_str_has_prefix (g_ptr_array_index (client->texts, i), "{\"type\":\"error\""))
      return client->closed;
  return FALSE;
}

static void
test_engine_hostile_input (void)
{
  g_autoptr(Engine) engine = engine_start ();
  g_autoptr(SoupSession) session = soup_session_new ();
  g_autoptr(WsClient) chatty = ws_connect (session, engine->port);
  g_autoptr(WsClient) liar = ws_connect (session, engine->port);
  g_autoptr(WsClient) binary = ws_connect (session, engine->port);
  g_autoptr(WsClient) flooder = ws_connect (session, engine->port);
  g_autoptr(WsClient) late = NULL;
  /* Above the engine's 64 KiB limit but below libsoup's default of
   * 128 KiB, so a close here proves the engine set its own bound; small
   * enough to sit in the socket buffers, so the close frame is read. */
  gsize huge_size = 80 * 1024;
  g_autofree char *huge = g_malloc (huge_size + 1);
  g_autofree char *large = NULL;
  static const guint8 junk[] = { 0x00, 0xff, 0xfe, 0x80, 0x01 };
  g_auto(HttpResult) result = { 0 };

  memset (huge, 'x', huge_size);
  huge[huge_size] = '\0';
  large = g_strdup_printf ("{\"type\":\"no-such-type\",\"padding\":\"%.*s\"}", 60 * 1024, huge);
  g_assert_true (roadie_test_wait_until (ws_has_text, chatty, IO_TIMEOUT_MS));
  g_assert_true (roadie_test_wait_until (ws_has_text, liar, IO_TIMEOUT_MS));
  g_assert_true (roadie_test_wait_until (ws_has_text, binary, IO_TIMEOUT_MS));
  g_assert_true (roadie_test_wait_until (ws_has_text, flooder, IO_TIMEOUT_MS));

  /* Messages of a type the engine does not know are ignored, even large
   * ones under the limit; the client stays. */
  soup_websocket_connection_send_text (chatty->connection, "{\"type\":\"no-such-type\"}");
  soup_websocket_connection_send_text (chatty->connection, large);

  /* Text that is not JSON: an error message, then 1007 for that client. */
  soup_websocket_connection_send_text (liar->connection, "not json at all");
  g_assert_true (roadie_test_wait_until ((RoadieTestCondition) ws_got_error_then_closed, liar, IO_TIMEOUT_MS));
  g_assert_cmpuint (liar->close_code, ==, SOUP_WEBSOCKET_CLOSE_BAD_DATA);

  /* Binary where text is expected: 1003. */
  soup_websocket_connection_send_binary (binary->connection, junk, sizeof junk);
  g_assert_true (roadie_test_wait_until (ws_is_closed, binary, IO_TIMEOUT_MS));
  g_assert_cmpuint (binary->close_code, ==, SOUP_WEBSOCKET_CLOSE_UNSUPPORTED_DATA);

  /* A payload above the limit closes that client with 1009, nothing more. */
  soup_websocket_connection_send_text (flooder->connection, huge);
  g_assert_true (roadie_test_wait_until (ws_is_closed, flooder, IO_TIMEOUT_MS * 2));
  /* The engine sends 1009 and drops the socket while unread bytes remain,
   * so the kernel may reset the connection before the client reads the
   * close frame: either code is the engine refusing the payload. */
  g_assert_true (flooder->close_code == SOUP_WEBSOCKET_CLOSE_TOO_BIG || flooder->close_code == 0);

  roadie_test_run_for (100);
  g_assert_false (chatty->closed);
  g_assert_false (engine->exited);

  http_get (session, engine->port, "/health", &result);
  g_assert_cmpuint (result.status, ==, SOUP_STATUS_OK);

  late = ws_connect (session, engine->port);
  g_assert_true (roadie_test_wait_until (ws_has_text, late, IO_TIMEOUT_MS));
}

int
main (int   argc,
      char *argv[])
{
  roadie_test_init_environment ();
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/roadie/engine/startup-lines", test_engine_startup_lines);
  g_test_add_func ("/roadie/engine/hello", test_engine_hello);
  g_test_add_func ("/roadie/engine/health", test_engine_health);
  g_test_add_func ("/roadie/engine/sigterm", test_engine_sigterm);
  g_test_add_func ("/roadie/engine/sigint-idle", test_engine_sigint_idle);
  g_test_add_func ("/roadie/engine/port-in-use", test_engine_port_in_use);
  g_test_add_func ("/roadie/engine/options", test_engine_options);
  g_test_add_func ("/roadie/engine/loopback-only", test_engine_loopback_only);
  g_test_add_func ("/roadie/engine/hostile-input", test_engine_hostile_input);

  return g_test_run ();
}
