/* test-control-api.c: the control API against a real supervisor.
 *
 * A RoadieSupervisor runs tests/fake-audio-server through roadie-reaper;
 * the control API listens on an ephemeral loopback port; requests go over
 * real sockets, through SoupSession or, where a client library would
 * tidy the request (no Host, odd Host values), as raw HTTP.
 */
#include "config.h"

#include <signal.h>
#include <string.h>
#include <unistd.h>

#include <json-glib/json-glib.h>
#include <libsoup/soup.h>

#include "roadie-control-api.h"
#include "roadie-control-token.h"
#include "roadie-error.h"
#include "roadie-settings.h"
#include "roadie-supervisor.h"
#include "roadie-test-util.h"

#define IO_TIMEOUT_MS    5000
#define READY_TIMEOUT_MS 15000
#define STOP_TIMEOUT_MS  10000

typedef struct
{
  RoadieSettings   *settings;
  RoadieSupervisor *supervisor;
  RoadieControlApi *api;
  SoupSession      *session;
  char             *token;
  char             *tag;
  guint16           server_port;
  guint             api_port;
} Fixture;

typedef struct
{
  gboolean            done;
  guint               status;
  SoupMessageHeaders *headers;
  JsonNode           *json;
  GError             *error;
} Response;

static void
response_clear (Response *response)
{
  g_clear_pointer (&response->headers, soup_message_headers_unref);
  g_clear_pointer (&response->json, json_node_unref);
  g_clear_error (&response->error);
  response->done = FALSE;
  response->status = 0;
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (Response, response_clear)

static JsonNode *
parse_json (const char *data,
            gsize       len)
{
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(GError) error = NULL;

  json_parser_load_from_data (parser, data, len, &error);
  g_assert_no_error (error);

  return json_node_ref (json_parser_get_root (parser));
}

static JsonObject *
response_object (Response *response)
{
  g_assert_nonnull (response->json);
  g_assert_true (JSON_NODE_HOLDS_OBJECT (response->json));
  return json_node_get_object (response->json);
}

static gboolean
response_is_done (gpointer user_data)
{
  return ((Response *) user_data)->done;
}

static gboolean
tick (gpointer user_data)
{
  return G_SOURCE_CONTINUE;
}

/* roadie_test_wait_until() for conditions that poll (/proc, a status
 * request): a ticking source wakes the main loop so the condition is
 * checked every few milliseconds, not only when some other event comes. */
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

/* --- SoupSession requests ------------------------------------------------ */

static void
soup_request_done (GObject      *object,
                   GAsyncResult *result,
                   gpointer      user_data)
{
  Response *response = user_data;
  SoupMessage *msg = soup_session_get_async_result_message (SOUP_SESSION (object), result);
  g_autoptr(GBytes) body = NULL;

  body = soup_session_send_and_read_finish (SOUP_SESSION (object), result, &response->error);
  response->status = soup_message_get_status (msg);
  response->headers = soup_message_headers_ref (soup_message_get_response_headers (msg));
  if (body != NULL && g_bytes_get_size (body) > 0)
    {
      gsize len = 0;
      const char *data = g_bytes_get_data (body, &len);

      response->json = parse_json (data, len);
    }
  response->done = TRUE;
}

/* authorization and body may be NULL. */
static void
api_request (Fixture    *fixture,
             const char *method,
             const char *path,
             const char *authorization,
             const char *body,
             Response   *response)
{
  g_autofree char *uri = g_strdup_printf ("http://127.0.0.1:%u%s", fixture->api_port, path);
  g_autoptr(SoupMessage) msg = soup_message_new (method, uri);

  if (authorization != NULL)
    soup_message_headers_replace (soup_message_get_request_headers (msg), "Authorization", authorization);
  if (body != NULL)
    {
      g_autoptr(GBytes) bytes = g_bytes_new (body, strlen (body));

      soup_message_set_request_body_from_bytes (msg, "application/json", bytes);
    }

  response_clear (response);
  soup_session_send_and_read_async (fixture->session, msg, G_PRIORITY_DEFAULT, NULL,
                                    soup_request_done, response);
  g_assert_true (roadie_test_wait_until (response_is_done, response, IO_TIMEOUT_MS));
  g_assert_no_error (response->error);
}

static char *
bearer (const char *token)
{
  return g_strdup_printf ("Bearer %s", token);
}

/* --- raw HTTP requests ----------------------------------------------------- */

typedef struct
{
  Response          *response;
  GString           *received;
  GSocketConnection *connection;
  GInputStream      *input;
  char         *request;
  char          buffer[4096];
} RawRequest;

static void raw_read_more (RawRequest *raw);

static void
raw_finish (RawRequest *raw)
{
  Response *response = raw->response;
  const char *end_of_headers = strstr (raw->received->str, "\r\n\r\n");

  if (response->error != NULL)
    {
    }
  else if (end_of_headers == NULL)
    {
      g_set_error (&response->error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "no complete HTTP response");
    }
  else
    {
      g_autofree char *head = g_strndup (raw->received->str, end_of_headers - raw->received->str + 2);
      const char *body = end_of_headers + 4;

      response->headers = soup_message_headers_new (SOUP_MESSAGE_HEADERS_RESPONSE);
      if (!soup_headers_parse_response (head, strlen (head), response->headers, NULL, &response->status, NULL))
        g_set_error (&response->error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "unparsable HTTP response");
      if (*body != '\0')
        response->json = parse_json (body, strlen (body));
    }

  g_clear_object (&raw->input);
  g_clear_object (&raw->connection);
  g_free (raw->request);
  g_string_free (raw->received, TRUE);
  g_free (raw);
  response->done = TRUE;
}

static void
raw_read_done (GObject      *object,
               GAsyncResult *result,
               gpointer      user_data)
{
  RawRequest *raw = user_data;
  gssize n;

  n = g_input_stream_read_finish (G_INPUT_STREAM (object), result, NULL);
  if (n <= 0)
    {
      raw_finish (raw);
      return;
    }
  g_string_append_len (raw->received, raw->buffer, n);
  raw_read_more (raw);
}

static void
raw_read_more (RawRequest *raw)
{
  g_input_stream_read_async (raw->input, raw->buffer, sizeof raw->buffer, G_PRIORITY_DEFAULT,
                             NULL, raw_read_done, raw);
}

static void
raw_written (GObject      *object,
             GAsyncResult *result,
             gpointer      user_data)
{
  RawRequest *raw = user_data;

  if (!g_output_stream_write_all_finish (G_OUTPUT_STREAM (object), result, NULL, &raw->response->error))
    {
      raw_finish (raw);
      return;
    }
  raw_read_more (raw);
}

static void
raw_connected (GObject      *object,
               GAsyncResult *result,
               gpointer      user_data)
{
  RawRequest *raw = user_data;
  g_autoptr(GSocketConnection) connection = NULL;

  connection = g_socket_client_connect_to_host_finish (G_SOCKET_CLIENT (object), result, &raw->response->error);
  if (connection == NULL)
    {
      raw_finish (raw);
      return;
    }

  /* The streams do not keep their connection alive on their own. */
  raw->connection = g_object_ref (connection);
  raw->input = g_object_ref (g_io_stream_get_input_stream (G_IO_STREAM (connection)));
  g_output_stream_write_all_async (g_io_stream_get_output_stream (G_IO_STREAM (connection)),
                                   raw->request, strlen (raw->request), G_PRIORITY_DEFAULT,
                                   NULL, raw_written, raw);
}

/* Sends request text as is and reads the answer until the server closes
 * (the request says Connection: close). */
static void
raw_request (Fixture    *fixture,
             const char *request,
             Response   *response)
{
  g_autoptr(GSocketClient) client = g_socket_client_new ();
  RawRequest *raw;

  response_clear (response);

  raw = g_new0 (RawRequest, 1);
  raw->response = response;
  raw->received = g_string_new (NULL);
  raw->request = g_strdup (request);
  g_socket_client_connect_to_host_async (client, "127.0.0.1", fixture->api_port, NULL, raw_connected, raw);

  g_assert_true (roadie_test_wait_until (response_is_done, response, IO_TIMEOUT_MS));
}

static void
raw_post_start (Fixture    *fixture,
                const char *host_line,
                Response   *response)
{
  g_autofree char *request = NULL;

  request = g_strdup_printf ("POST /api/audio-server/start HTTP/1.%d\r\n"
                             "%s"
                             "Authorization: Bearer %s\r\n"
                             "Content-Length: 0\r\n"
                             "Connection: close\r\n"
                             "\r\n",
                             host_line != NULL ? 1 : 0,
                             host_line != NULL ? host_line : "",
                             fixture->token);
  raw_request (fixture, request, response);
}

/* --- fixture --------------------------------------------------------------- */

/* These tests provoke Roadie's warnings on purpose (a missing executable).
 * Under G_DEBUG=fatal-warnings two things stand in the way: g_test_run()
 * clears the fatal handler before every test case (so the one
 * roadie_test_init_environment() installs is gone), and GTest's own log
 * handler prints "Bail out!" on TAP for any fatal-flagged message even when
 * the fatal handler then lets it pass. So Roadie's warnings get their own
 * handler, which writes to stderr, and every case re-installs the fatal
 * handler. */
static gboolean
allow_roadie_warnings (const char     *log_domain,
                       GLogLevelFlags  log_level,
                       const char     *message,
                       gpointer        user_data)
{
  return g_strcmp0 (log_domain, "Roadie") != 0 && g_strcmp0 (log_domain, "RoadieEngine") != 0;
}

static void
fixture_set_up (Fixture       *fixture,
                gconstpointer  user_data)
{
  g_autoptr(GSettings) gsettings = roadie_test_new_gsettings ();
  g_autoptr(GError) error = NULL;
  g_autofree char *port_text = NULL;

  g_test_log_set_fatal_handler (allow_roadie_warnings, NULL);

  fixture->tag = roadie_test_new_tag ();
  fixture->server_port = roadie_test_free_port ();
  port_text = g_strdup_printf ("%u", fixture->server_port);

  g_settings_set_string (gsettings, "executable-path", roadie_test_fake_server ());
  g_settings_set_strv (gsettings, "arguments",
                       (const char * const []) { "--port", port_text, "--tag", fixture->tag, NULL });
  g_settings_set_int (gsettings, "ws-port", fixture->server_port);
  g_settings_set_int (gsettings, "restart-delay-ms", 100);
  g_settings_set_int (gsettings, "stop-timeout-ms", 1000);
  g_settings_set_int (gsettings, "health-check-interval", 1000);

  fixture->settings = roadie_settings_new (gsettings, NULL);
  fixture->supervisor = roadie_supervisor_new (fixture->settings);

  /* The real token file, in this test's private XDG_RUNTIME_DIR. */
  fixture->token = roadie_control_token_load_or_create (NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (strlen (fixture->token), >=, 32);

  fixture->api = roadie_control_api_new (fixture->supervisor, fixture->token);
  g_assert_true (roadie_control_api_listen (fixture->api, 0, &error));
  g_assert_no_error (error);
  fixture->api_port = roadie_control_api_get_port (fixture->api);
  g_assert_cmpuint (fixture->api_port, >, 0);

  fixture->session = soup_session_new ();
}

static void
supervisor_stopped (GObject      *object,
                    GAsyncResult *result,
                    gpointer      user_data)
{
  gboolean *done = user_data;

  g_assert_true (roadie_supervisor_stop_finish (ROADIE_SUPERVISOR (object), result, NULL));
  *done = TRUE;
}

static gboolean
flag_is_set (gpointer user_data)
{
  return *(gboolean *) user_data;
}

static gboolean
no_tagged_process (gpointer user_data)
{
  return roadie_test_count_tagged (user_data) == 0;
}

static void
fixture_tear_down (Fixture       *fixture,
                   gconstpointer  user_data)
{
  RoadieSupervisorState state = roadie_supervisor_get_state (fixture->supervisor);

  if (state != ROADIE_SUPERVISOR_STATE_STOPPED && state != ROADIE_SUPERVISOR_STATE_ATTACHED)
    {
      gboolean done = FALSE;

      roadie_supervisor_stop_async (fixture->supervisor, NULL, supervisor_stopped, &done);
      g_assert_true (roadie_test_wait_until (flag_is_set, &done, STOP_TIMEOUT_MS));
    }

  g_clear_object (&fixture->session);
  roadie_control_api_shutdown (fixture->api);
  g_clear_object (&fixture->api);
  g_clear_object (&fixture->supervisor);
  g_clear_object (&fixture->settings);

  g_assert_true (poll_until (no_tagged_process, fixture->tag, STOP_TIMEOUT_MS));
  g_clear_pointer (&fixture->token, g_free);
  g_clear_pointer (&fixture->tag, g_free);
}

/* --- status polling -------------------------------------------------------- */

typedef struct
{
  Fixture    *fixture;
  const char *state;
  gint64      pid;
} StatusWait;

static gboolean
status_reaches (gpointer user_data)
{
  StatusWait *wait = user_data;
  g_auto(Response) response = { 0 };
  JsonObject *status;

  api_request (wait->fixture, "GET", "/api/audio-server/status", NULL, NULL, &response);
  g_assert_cmpuint (response.status, ==, SOUP_STATUS_OK);
  status = response_object (&response);
  wait->pid = JSON_NODE_HOLDS_NULL (json_object_get_member (status, "pid"))
              ? 0 : json_object_get_int_member (status, "pid");
  return g_strcmp0 (json_object_get_string_member (status, "state"), wait->state) == 0;
}

static gboolean
pid_exists (gint64 pid)
{
  g_autofree char *path = g_strdup_printf ("/proc/%" G_GINT64_FORMAT, pid);

  return g_file_test (path, G_FILE_TEST_EXISTS);
}

static void
assert_error_json (Response *response)
{
  JsonObject *object;

  g_assert_cmpstr (soup_message_headers_get_content_type (response->headers, NULL), ==, "application/json");
  object = response_object (response);
  g_assert_true (json_object_has_member (object, "error"));
  g_assert_cmpstr (json_object_get_string_member (object, "error"), !=, "");
  g_assert_cmpuint (json_object_get_size (object), ==, 1);
}

static void
assert_member_type (JsonObject *object,
                    const char *name,
                    GType       type)
{
  JsonNode *member = json_object_get_member (object, name);

  if (member == NULL)
    g_error ("status has no “%s”", name);
  g_assert_cmpstr (g_type_name (json_node_get_value_type (member)), ==, g_type_name (type));
}

static void
assert_member_null (JsonObject *object,
                    const char *name)
{
  JsonNode *member = json_object_get_member (object, name);

  if (member == NULL)
    g_error ("status has no “%s”", name);
  g_assert_true (JSON_NODE_HOLDS_NULL (member));
}

/* --- cases ----------------------------------------------------------------- */

static void
test_status (Fixture       *fixture,
             gconstpointer  user_data)
{
  g_auto(Response) response = { 0 };
  g_autofree char *ws_port = g_strdup_printf ("%u", fixture->server_port);
  JsonObject *status;

  api_request (fixture, "GET", "/api/audio-server/status", NULL, NULL, &response);
  g_assert_cmpuint (response.status, ==, SOUP_STATUS_OK);
  g_assert_cmpstr (soup_message_headers_get_content_type (response.headers, NULL), ==, "application/json");
  /* No CORS: a web page must not be able to read this. */
  g_assert_null (soup_message_headers_get_one (response.headers, "Access-Control-Allow-Origin"));
  status = response_object (&response);

  /* The seed's fields, spelled and typed as the seed shows them. */
  assert_member_type (status, "httpUrl", G_TYPE_STRING);
  assert_member_type (status, "httpPort", G_TYPE_STRING);
  assert_member_type (status, "wsPort", G_TYPE_STRING);
  assert_member_type (status, "executablePath", G_TYPE_STRING);
  assert_member_type (status, "isHealthy", G_TYPE_BOOLEAN);
  assert_member_type (status, "isProcessRunning", G_TYPE_BOOLEAN);
  assert_member_type (status, "isReady", G_TYPE_BOOLEAN);
  assert_member_type (status, "autoStart", G_TYPE_BOOLEAN);
  assert_member_type (status, "autoRestart", G_TYPE_BOOLEAN);
  assert_member_null (status, "pid");   /* a number while running, see start-stop */
  assert_member_type (status, "restartCount", G_TYPE_INT64);
  assert_member_type (status, "maxRestarts", G_TYPE_INT64);
  assert_member_type (status, "healthMonitoring", G_TYPE_BOOLEAN);
  /* Roadie's additions. */
  assert_member_type (status, "state", G_TYPE_STRING);
  assert_member_type (status, "uptimeMs", G_TYPE_INT64);
  assert_member_null (status, "lastExit");
  assert_member_null (status, "nextRestartInMs");
  assert_member_type (status, "restartWindowMs", G_TYPE_INT64);
  assert_member_null (status, "lastError");

  g_assert_cmpstr (json_object_get_string_member (status, "httpUrl"), ==, "http://127.0.0.1:8080");
  g_assert_cmpstr (json_object_get_string_member (status, "httpPort"), ==, "8080");
  g_assert_cmpstr (json_object_get_string_member (status, "wsPort"), ==, ws_port);
  g_assert_cmpstr (json_object_get_string_member (status, "executablePath"), ==, roadie_test_fake_server ());
  g_assert_false (json_object_get_boolean_member (status, "isProcessRunning"));
  g_assert_false (json_object_get_boolean_member (status, "isReady"));
  g_assert_cmpint (json_object_get_int_member (status, "maxRestarts"), ==, 5);
  g_assert_cmpint (json_object_get_int_member (status, "restartCount"), ==, 0);
  g_assert_cmpint (json_object_get_int_member (status, "restartWindowMs"), ==, 300000);
  g_assert_cmpstr (json_object_get_string_member (status, "state"), ==, "stopped");
}

static void
test_auth (Fixture       *fixture,
           gconstpointer  user_data)
{
  g_auto(Response) response = { 0 };
  g_autofree char *right = bearer (fixture->token);
  g_autofree char *near_miss = NULL;
  g_autofree char *prefix = NULL;
  const char *challenge;

  /* No credentials: 401 and the challenge that says how to authenticate. */
  api_request (fixture, "POST", "/api/audio-server/start", NULL, NULL, &response);
  g_assert_cmpuint (response.status, ==, SOUP_STATUS_UNAUTHORIZED);
  challenge = soup_message_headers_get_one (response.headers, "WWW-Authenticate");
  g_assert_nonnull (challenge);
  g_assert_true (g_str_has_prefix (challenge, "Bearer realm=\"roadie\""));
  assert_error_json (&response);

  /* Not a Bearer credential at all: also 401 (documented choice). */
  api_request (fixture, "POST", "/api/audio-server/start", "Basic dXNlcjpwYXNz", NULL, &response);
  g_assert_cmpuint (response.status, ==, SOUP_STATUS_UNAUTHORIZED);
  g_assert_nonnull (soup_message_headers_get_one (response.headers, "WWW-Authenticate"));
  assert_error_json (&response);
  api_request (fixture, "POST", "/api/audio-server/start", "Bearer", NULL, &response);
  g_assert_cmpuint (response.status, ==, SOUP_STATUS_UNAUTHORIZED);
  api_request (fixture, "POST", "/api/audio-server/start", right + strlen ("Bearer "), NULL, &response);
  g_assert_cmpuint (response.status, ==, SOUP_STATUS_UNAUTHORIZED);

  /* A Bearer token that is not ours: 403, whatever it resembles. */
  api_request (fixture, "POST", "/api/audio-server/start", "Bearer wrong-token", NULL, &response);
  g_assert_cmpuint (response.status, ==, SOUP_STATUS_FORBIDDEN);
  assert_error_json (&response);
  near_miss = bearer (fixture->token);
  near_miss[strlen (near_miss) - 1] ^= 1;
  api_request (fixture, "POST", "/api/audio-server/start", near_miss, NULL, &response);
  g_assert_cmpuint (response.status, ==, SOUP_STATUS_FORBIDDEN);
  prefix = g_strndup (right, strlen (right) - 1);
  api_request (fixture, "POST", "/api/audio-server/start", prefix, NULL, &response);
  g_assert_cmpuint (response.status, ==, SOUP_STATUS_FORBIDDEN);
  api_request (fixture, "POST", "/api/audio-server/stop", "Bearer wrong-token", NULL, &response);
  g_assert_cmpuint (response.status, ==, SOUP_STATUS_FORBIDDEN);
  api_request (fixture, "POST", "/api/audio-server/restart", "Bearer wrong-token", NULL, &response);
  g_assert_cmpuint (response.status, ==, SOUP_STATUS_FORBIDDEN);

  /* None of that started anything. */
  roadie_test_run_for (200);
  g_assert_cmpint (roadie_supervisor_get_state (fixture->supervisor), ==, ROADIE_SUPERVISOR_STATE_STOPPED);
  g_assert_cmpuint (roadie_test_count_tagged (fixture->tag), ==, 0);

  /* The scheme name is case-insensitive (RFC 7235). */
  {
    g_autofree char *lower = g_strdup_printf ("bearer %s", fixture->token);

    api_request (fixture, "POST", "/api/audio-server/stop", lower, NULL, &response);
    g_assert_cmpuint (response.status, ==, SOUP_STATUS_OK);
  }
}

static void
test_host (Fixture       *fixture,
           gconstpointer  user_data)
{
  static const char * const refused[] = {
    "evil.example",
    "evil.example:3000",
    "127.0.0.1.evil.example",
    "localhost.evil.example",
    "127.1",
    "0.0.0.0",
    "[::2]",
    "192.0.2.1",
  };
  /* Values libsoup itself cannot make a URI of; it answers 400 before
   * any handler runs. Refused either way. */
  static const char * const malformed[] = {
    "",
    "localhost:80.evil.example",
    "127.0.0.1:80x",
    "[::1]x",
    "evil.example/path",
    "127.0.0.1:99999999",
  };
  g_auto(Response) response = { 0 };
  g_autofree char *right = bearer (fixture->token);

  for (guint i = 0; i < G_N_ELEMENTS (refused); i++)
    {
      g_autofree char *line = g_strdup_printf ("Host: %s\r\n", refused[i]);

      raw_post_start (fixture, line, &response);
      g_assert_no_error (response.error);
      if (response.status != SOUP_STATUS_FORBIDDEN)
        g_error ("Host “%s” was answered with %u, not 403", refused[i], response.status);
      assert_error_json (&response);
    }
  for (guint i = 0; i < G_N_ELEMENTS (malformed); i++)
    {
      g_autofree char *line = g_strdup_printf ("Host: %s\r\n", malformed[i]);

      raw_post_start (fixture, line, &response);
      g_assert_no_error (response.error);
      if (response.status != SOUP_STATUS_FORBIDDEN && response.status != SOUP_STATUS_BAD_REQUEST)
        g_error ("Host “%s” was answered with %u, not 403 or 400", malformed[i], response.status);
    }

  /* HTTP/1.0 without any Host. */
  raw_post_start (fixture, NULL, &response);
  g_assert_no_error (response.error);
  g_assert_cmpuint (response.status, ==, SOUP_STATUS_FORBIDDEN);
  assert_error_json (&response);

  /* The status is not for foreign pages either. */
  raw_request (fixture,
               "GET /api/audio-server/status HTTP/1.1\r\nHost: evil.example\r\nConnection: close\r\n\r\n",
               &response);
  g_assert_no_error (response.error);
  g_assert_cmpuint (response.status, ==, SOUP_STATUS_FORBIDDEN);

  /* Through a real client too, with the right token. */
  {
    g_autofree char *uri = g_strdup_printf ("http://127.0.0.1:%u/api/audio-server/start", fixture->api_port);
    g_autoptr(SoupMessage) msg = soup_message_new ("POST", uri);

    soup_message_headers_replace (soup_message_get_request_headers (msg), "Host", "evil.example");
    soup_message_headers_replace (soup_message_get_request_headers (msg), "Authorization", right);
    response_clear (&response);
    soup_session_send_and_read_async (fixture->session, msg, G_PRIORITY_DEFAULT, NULL,
                                      soup_request_done, &response);
    g_assert_true (roadie_test_wait_until (response_is_done, &response, IO_TIMEOUT_MS));
    g_assert_cmpuint (response.status, ==, SOUP_STATUS_FORBIDDEN);
  }

  roadie_test_run_for (200);
  g_assert_cmpint (roadie_supervisor_get_state (fixture->supervisor), ==, ROADIE_SUPERVISOR_STATE_STOPPED);
  g_assert_cmpuint (roadie_test_count_tagged (fixture->tag), ==, 0);

  /* Loopback names, with and without a port, are accepted: POST stop on a
   * stopped server is a harmless 200. */
  {
    char *hosts[] = {
      g_strdup ("127.0.0.1"),
      g_strdup_printf ("127.0.0.1:%u", fixture->api_port),
      g_strdup ("localhost"),
      g_strdup_printf ("LocalHost:%u", fixture->api_port),
      g_strdup ("[::1]"),
      g_strdup_printf ("[::1]:%u", fixture->api_port),
    };

    for (guint i = 0; i < G_N_ELEMENTS (hosts); i++)
      {
        g_autofree char *request = g_strdup_printf ("POST /api/audio-server/stop HTTP/1.1\r\n"
                                                    "Host: %s\r\n"
                                                    "Authorization: Bearer %s\r\n"
                                                    "Content-Length: 0\r\n"
                                                    "Connection: close\r\n\r\n",
                                                    hosts[i], fixture->token);

        raw_request (fixture, request, &response);
        g_assert_no_error (response.error);
        if (response.status != SOUP_STATUS_OK)
          g_error ("Host “%s” was answered with %u, not 200", hosts[i], response.status);
        g_free (hosts[i]);
      }
  }
}

static void
test_start_stop (Fixture       *fixture,
                 gconstpointer  user_data)
{
  g_auto(Response) response = { 0 };
  g_autofree char *right = bearer (fixture->token);
  StatusWait wait = { fixture, NULL, 0 };
  const char *state;
  gint64 first_pid;

  api_request (fixture, "POST", "/api/audio-server/start", right, NULL, &response);
  g_assert_cmpuint (response.status, ==, SOUP_STATUS_OK);
  /* The answer is the new status: the start has begun (or is done). */
  state = json_object_get_string_member (response_object (&response), "state");
  g_assert_true (g_strcmp0 (state, "starting") == 0 || g_strcmp0 (state, "running") == 0);

  wait.state = "running";
  g_assert_true (poll_until (status_reaches, &wait, READY_TIMEOUT_MS));
  g_assert_cmpint (wait.pid, >, 0);
  g_assert_true (pid_exists (wait.pid));
  g_assert_cmpint (wait.pid, ==, roadie_supervisor_get_pid (fixture->supervisor));
  g_assert_cmpuint (roadie_test_count_tagged (fixture->tag), >=, 1);
  first_pid = wait.pid;

  api_request (fixture, "GET", "/api/audio-server/status", NULL, NULL, &response);
  g_assert_true (json_object_get_boolean_member (response_object (&response), "isProcessRunning"));
  g_assert_true (json_object_get_boolean_member (response_object (&response), "isReady"));

  /* Restart: a new process, running again. */
  api_request (fixture, "POST", "/api/audio-server/restart", right, "{}", &response);
  g_assert_cmpuint (response.status, ==, SOUP_STATUS_OK);
  g_assert_true (poll_until (status_reaches, &wait, READY_TIMEOUT_MS));
  g_assert_cmpint (wait.pid, >, 0);
  g_assert_cmpint (wait.pid, !=, first_pid);
  g_assert_false (pid_exists (first_pid));

  api_request (fixture, "POST", "/api/audio-server/stop", right, NULL, &response);
  g_assert_cmpuint (response.status, ==, SOUP_STATUS_OK);
  state = json_object_get_string_member (response_object (&response), "state");
  g_assert_true (g_strcmp0 (state, "stopping") == 0 || g_strcmp0 (state, "stopped") == 0);

  wait.state = "stopped";
  g_assert_true (poll_until (status_reaches, &wait, STOP_TIMEOUT_MS));
  g_assert_cmpint (wait.pid, ==, 0);
  g_assert_true (poll_until (no_tagged_process, fixture->tag, STOP_TIMEOUT_MS));
  g_assert_false (pid_exists (first_pid));
}

static void
test_routes (Fixture       *fixture,
             gconstpointer  user_data)
{
  g_auto(Response) response = { 0 };
  g_autofree char *right = bearer (fixture->token);

  api_request (fixture, "GET", "/api/audio-server/nothing", NULL, NULL, &response);
  g_assert_cmpuint (response.status, ==, SOUP_STATUS_NOT_FOUND);
  assert_error_json (&response);
  api_request (fixture, "GET", "/", NULL, NULL, &response);
  g_assert_cmpuint (response.status, ==, SOUP_STATUS_NOT_FOUND);
  api_request (fixture, "POST", "/api/audio-server/start/", right, NULL, &response);
  g_assert_cmpuint (response.status, ==, SOUP_STATUS_NOT_FOUND);

  api_request (fixture, "GET", "/api/audio-server/start", NULL, NULL, &response);
  g_assert_cmpuint (response.status, ==, SOUP_STATUS_METHOD_NOT_ALLOWED);
  g_assert_cmpstr (soup_message_headers_get_one (response.headers, "Allow"), ==, "POST");
  assert_error_json (&response);

  api_request (fixture, "GET", "/api/audio-server/stop", right, NULL, &response);
  g_assert_cmpuint (response.status, ==, SOUP_STATUS_METHOD_NOT_ALLOWED);
  g_assert_cmpstr (soup_message_headers_get_one (response.headers, "Allow"), ==, "POST");

  api_request (fixture, "POST", "/api/audio-server/status", right, NULL, &response);
  g_assert_cmpuint (response.status, ==, SOUP_STATUS_METHOD_NOT_ALLOWED);
  g_assert_cmpstr (soup_message_headers_get_one (response.headers, "Allow"), ==, "GET");

  /* A browser's CORS preflight gets no permission. */
  api_request (fixture, "OPTIONS", "/api/audio-server/start", NULL, NULL, &response);
  g_assert_cmpuint (response.status, ==, SOUP_STATUS_METHOD_NOT_ALLOWED);
  g_assert_null (soup_message_headers_get_one (response.headers, "Access-Control-Allow-Origin"));
  g_assert_null (soup_message_headers_get_one (response.headers, "Access-Control-Allow-Headers"));

  g_assert_cmpint (roadie_supervisor_get_state (fixture->supervisor), ==, ROADIE_SUPERVISOR_STATE_STOPPED);
}

static void
test_bad_body (Fixture       *fixture,
               gconstpointer  user_data)
{
  g_auto(Response) response = { 0 };
  g_autofree char *right = bearer (fixture->token);
  g_autofree char *huge = NULL;

  api_request (fixture, "POST", "/api/audio-server/start", right, "not json", &response);
  g_assert_cmpuint (response.status, ==, SOUP_STATUS_BAD_REQUEST);
  assert_error_json (&response);
  api_request (fixture, "POST", "/api/audio-server/start", right, "[1, 2]", &response);
  g_assert_cmpuint (response.status, ==, SOUP_STATUS_BAD_REQUEST);
  assert_error_json (&response);

  huge = g_strnfill (64 * 1024, ' ');
  huge[0] = '{';
  huge[64 * 1024 - 1] = '}';
  api_request (fixture, "POST", "/api/audio-server/start", right, huge, &response);
  g_assert_cmpuint (response.status, ==, SOUP_STATUS_BAD_REQUEST);
  assert_error_json (&response);

  roadie_test_run_for (100);
  g_assert_cmpint (roadie_supervisor_get_state (fixture->supervisor), ==, ROADIE_SUPERVISOR_STATE_STOPPED);

  /* An empty object is fine. */
  api_request (fixture, "POST", "/api/audio-server/stop", right, "{}", &response);
  g_assert_cmpuint (response.status, ==, SOUP_STATUS_OK);
  g_assert_cmpstr (json_object_get_string_member (response_object (&response), "state"), ==, "stopped");
}

static void
test_conflict_preflight (Fixture       *fixture,
                         gconstpointer  user_data)
{
  g_auto(Response) response = { 0 };
  g_autofree char *right = bearer (fixture->token);
  g_autofree char *missing = g_build_filename (roadie_test_tmpdir (), "no-such-server", NULL);
  GSettings *gsettings = roadie_settings_get_gsettings (fixture->settings);
  const char *message;

  g_settings_set_string (gsettings, "executable-path", missing);

  api_request (fixture, "POST", "/api/audio-server/start", right, NULL, &response);
  g_assert_cmpuint (response.status, ==, SOUP_STATUS_CONFLICT);
  assert_error_json (&response);
  /* The supervisor's own words reach the client: they name the path. */
  message = json_object_get_string_member (response_object (&response), "error");
  g_assert_nonnull (strstr (message, missing));

  roadie_test_run_for (200);
  g_assert_cmpint (roadie_supervisor_get_state (fixture->supervisor), !=, ROADIE_SUPERVISOR_STATE_STARTING);
  g_assert_cmpint (roadie_supervisor_get_state (fixture->supervisor), !=, ROADIE_SUPERVISOR_STATE_BACKOFF);
}

static gboolean
port_is_listening (gpointer user_data)
{
  g_autoptr(GError) error = roadie_test_try_tcp_connect ("127.0.0.1", GPOINTER_TO_UINT (user_data));

  return error == NULL;
}

typedef struct
{
  RoadieSupervisor      *supervisor;
  RoadieSupervisorState  state;
} StateWait;

static gboolean
state_reaches (gpointer user_data)
{
  StateWait *wait = user_data;

  return roadie_supervisor_get_state (wait->supervisor) == wait->state;
}

static void
test_conflict_attached (Fixture       *fixture,
                        gconstpointer  user_data)
{
  g_auto(Response) response = { 0 };
  g_autofree char *right = bearer (fixture->token);
  g_autofree char *port_text = g_strdup_printf ("%u", fixture->server_port);
  g_autoptr(GSubprocess) foreign = NULL;
  g_autoptr(GError) error = NULL;
  StateWait wait = { fixture->supervisor, ROADIE_SUPERVISOR_STATE_ATTACHED };
  const char *message;

  /* A server Roadie did not start answers on the port. */
  foreign = g_subprocess_new (G_SUBPROCESS_FLAGS_STDOUT_SILENCE | G_SUBPROCESS_FLAGS_STDERR_SILENCE, &error,
                              roadie_test_fake_server (), "--port", port_text, "--tag", fixture->tag, NULL);
  g_assert_no_error (error);
  g_assert_true (poll_until (port_is_listening, GUINT_TO_POINTER (fixture->server_port), READY_TIMEOUT_MS));
  roadie_supervisor_auto_start (fixture->supervisor);
  g_assert_true (poll_until (state_reaches, &wait, READY_TIMEOUT_MS));

  api_request (fixture, "POST", "/api/audio-server/stop", right, NULL, &response);
  g_assert_cmpuint (response.status, ==, SOUP_STATUS_CONFLICT);
  assert_error_json (&response);
  message = json_object_get_string_member (response_object (&response), "error");
  g_assert_nonnull (strstr (message, port_text));

  /* It is still there, still attached. */
  g_assert_cmpint (roadie_supervisor_get_state (fixture->supervisor), ==, ROADIE_SUPERVISOR_STATE_ATTACHED);
  g_assert_cmpuint (roadie_test_count_tagged (fixture->tag), ==, 1);

  g_subprocess_send_signal (foreign, SIGKILL);
}

static void
test_port_in_use (Fixture       *fixture,
                  gconstpointer  user_data)
{
  g_autoptr(GSocketListener) holder = g_socket_listener_new ();
  g_autoptr(RoadieControlApi) second = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *expected_start = NULL;
  g_autofree char *our_pid = g_strdup_printf ("(pid %d)", (int) getpid ());
  guint16 port;

  /* Someone holds the port: this process, on 127.0.0.1. */
  port = g_socket_listener_add_any_inet_port (holder, NULL, &error);
  g_assert_no_error (error);

  second = roadie_control_api_new (fixture->supervisor, fixture->token);
  g_assert_false (roadie_control_api_listen (second, port, &error));
  g_assert_error (error, ROADIE_ERROR, ROADIE_ERROR_PORT_IN_USE);
  expected_start = g_strdup_printf ("Port %u on 127.0.0.1 is in use by ", port);
  g_assert_true (g_str_has_prefix (error->message, expected_start));
  g_assert_nonnull (strstr (error->message, "the control API is off for this run"));
  g_assert_nonnull (strstr (error->message, "control-api-port"));
  g_test_message ("%s", error->message);
  /* The holder is named when it can be found, and here it can. */
  g_assert_nonnull (strstr (error->message, our_pid));
  g_assert_cmpuint (roadie_control_api_get_port (second), ==, 0);

  /* The first API is unaffected. */
  {
    g_auto(Response) response = { 0 };

    api_request (fixture, "GET", "/api/audio-server/status", NULL, NULL, &response);
    g_assert_cmpuint (response.status, ==, SOUP_STATUS_OK);
  }

  g_socket_listener_close (holder);
}

static void
test_shutdown (Fixture       *fixture,
               gconstpointer  user_data)
{
  g_autoptr(GError) refused = NULL;
  guint port = fixture->api_port;

  roadie_control_api_shutdown (fixture->api);
  g_assert_cmpuint (roadie_control_api_get_port (fixture->api), ==, 0);

  refused = roadie_test_try_tcp_connect ("127.0.0.1", port);
  g_assert_error (refused, G_IO_ERROR, G_IO_ERROR_CONNECTION_REFUSED);

  /* It can listen again afterwards, on the same port. */
  {
    g_autoptr(GError) error = NULL;
    g_auto(Response) response = { 0 };

    g_assert_true (roadie_control_api_listen (fixture->api, port, &error));
    g_assert_no_error (error);
    g_assert_cmpuint (roadie_control_api_get_port (fixture->api), ==, port);
    api_request (fixture, "GET", "/api/audio-server/status", NULL, NULL, &response);
    g_assert_cmpuint (response.status, ==, SOUP_STATUS_OK);
  }
}

int
main (int   argc,
      char *argv[])
{
  roadie_test_init_environment ();
  g_test_init (&argc, &argv, NULL);
  roadie_test_capture_log ();

#define ADD(path, func) \
  g_test_add ("/roadie/control-api/" path, Fixture, NULL, fixture_set_up, func, fixture_tear_down)

  ADD ("status", test_status);
  ADD ("auth", test_auth);
  ADD ("host", test_host);
  ADD ("start-stop", test_start_stop);
  ADD ("routes", test_routes);
  ADD ("bad-body", test_bad_body);
  ADD ("conflict-preflight", test_conflict_preflight);
  ADD ("conflict-attached", test_conflict_attached);
  ADD ("port-in-use", test_port_in_use);
  ADD ("shutdown", test_shutdown);

#undef ADD

  return g_test_run ();
}
