/* test-ws-interop.c: Roadie's WebSocket code against an implementation no
 * one here wrote.
 *
 * The peer is python3-websockets (Debian's 10.4 on bookworm), driven by the
 * scripts in tests/interop/, which report what they saw as JSON lines:
 *  - our RoadieWsClient against their server: echo, fragmented messages
 *    from them, their pings, a close handshake they start with a code and
 *    a reason, and one we start;
 *  - their client against our RoadieWsHub: hello, fragmented messages to
 *    us (reassembled into dj_auth, dj_heartbeat and dj_frame), pings both
 *    ways, a close handshake they start and one we start.
 * Without python3-websockets these cases fail with a message saying what
 * to install: CI installs it (build-aux/deps.sh).
 */
#include "config.h"

#include <signal.h>
#include <string.h>
#include <sys/prctl.h>

#include <json-glib/json-glib.h>
#include <libsoup/soup.h>

#include "roadie-dj-keys.h"
#include "roadie-test-util.h"
#include "roadie-ws-client.h"
#include "roadie-ws-hub.h"
#include "roadie-ws-profile.h"

#define START_TIMEOUT_MS 10000
#define IO_TIMEOUT_MS    5000

/* --- a python3-websockets peer as a child process ------------------------- */

typedef struct
{
  GSubprocess *process;
  GPtrArray   *events;     /* JsonObject, in the order reported */
  GString     *err;
  gboolean     out_done;
  gboolean     err_done;
  gboolean     exited;
} Peer;

static void read_event (Peer *peer, GDataInputStream *stream);
static void read_err (Peer *peer, GInputStream *stream);

static void
event_read (GObject      *object,
            GAsyncResult *result,
            gpointer      user_data)
{
  Peer *peer = user_data;
  g_autofree char *line = NULL;
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(GError) error = NULL;

  line = g_data_input_stream_read_line_finish_utf8 (G_DATA_INPUT_STREAM (object), result, NULL, NULL);
  if (line == NULL)
    {
      peer->out_done = TRUE;
      return;
    }
  g_test_message ("python: %s", line);
  json_parser_load_from_data (parser, line, -1, &error);
  g_assert_no_error (error);
  g_assert_true (JSON_NODE_HOLDS_OBJECT (json_parser_get_root (parser)));
  g_ptr_array_add (peer->events, json_object_ref (json_node_get_object (json_parser_get_root (parser))));
  read_event (peer, G_DATA_INPUT_STREAM (object));
}

static void
read_event (Peer             *peer,
            GDataInputStream *stream)
{
  g_data_input_stream_read_line_async (stream, G_PRIORITY_DEFAULT, NULL, event_read, peer);
}

static void
err_read (GObject      *object,
          GAsyncResult *result,
          gpointer      user_data)
{
  Peer *peer = user_data;
  g_autoptr(GBytes) bytes = g_input_stream_read_bytes_finish (G_INPUT_STREAM (object), result, NULL);

  if (bytes == NULL || g_bytes_get_size (bytes) == 0)
    {
      peer->err_done = TRUE;
      return;
    }
  g_string_append_len (peer->err, g_bytes_get_data (bytes, NULL), g_bytes_get_size (bytes));
  read_err (peer, G_INPUT_STREAM (object));
}

static void
read_err (Peer         *peer,
          GInputStream *stream)
{
  g_input_stream_read_bytes_async (stream, 4096, G_PRIORITY_DEFAULT, NULL, err_read, peer);
}

static void
peer_exited (GObject      *object,
             GAsyncResult *result,
             gpointer      user_data)
{
  Peer *peer = user_data;

  g_subprocess_wait_finish (G_SUBPROCESS (object), result, NULL);
  peer->exited = TRUE;
}

static const char *
require_python (void)
{
  g_autofree char *why = NULL;
  const char *python = roadie_test_python_with_websockets (&why);

  if (python == NULL)
    g_error ("%s", why);
  return python;
}

/* Runs in the child: a peer outlives no test that failed half-way. */
static void
die_with_test (gpointer user_data)
{
  prctl (PR_SET_PDEATHSIG, SIGKILL);
}

/* Runs tests/interop/SCRIPT with args (NULL-terminated). */
static Peer *
peer_spawn (const char         *script,
            const char * const *args)
{
  g_autoptr(GSubprocessLauncher) launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDIN_PIPE
                                                                       | G_SUBPROCESS_FLAGS_STDOUT_PIPE
                                                                       | G_SUBPROCESS_FLAGS_STDERR_PIPE);
  g_autoptr(GPtrArray) argv = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GDataInputStream) out = NULL;
  g_autoptr(GError) error = NULL;
  Peer *peer = g_new0 (Peer, 1);

  g_ptr_array_add (argv, g_strdup (require_python ()));
  g_ptr_array_add (argv, g_build_filename (g_getenv ("ROADIE_TEST_SRCDIR"), "interop", script, NULL));
  for (guint i = 0; args[i] != NULL; i++)
    g_ptr_array_add (argv, g_strdup (args[i]));
  g_ptr_array_add (argv, NULL);

  peer->events = g_ptr_array_new_with_free_func ((GDestroyNotify) json_object_unref);
  peer->err = g_string_new (NULL);
  g_subprocess_launcher_set_child_setup (launcher, die_with_test, NULL, NULL);
  peer->process = g_subprocess_launcher_spawnv (launcher, (const char * const *) argv->pdata, &error);
  g_assert_no_error (error);
  out = g_data_input_stream_new (g_subprocess_get_stdout_pipe (peer->process));
  read_event (peer, out);
  read_err (peer, g_subprocess_get_stderr_pipe (peer->process));
  g_subprocess_wait_async (peer->process, NULL, peer_exited, peer);

  return peer;
}

static gboolean
peer_is_done (gpointer user_data)
{
  Peer *peer = user_data;

  return peer->exited && peer->out_done && peer->err_done;
}

static void
peer_free (Peer *peer)
{
  /* The server scripts end when their stdin closes. */
  g_output_stream_close (g_subprocess_get_stdin_pipe (peer->process), NULL, NULL);
  if (!roadie_test_wait_until (peer_is_done, peer, IO_TIMEOUT_MS))
    {
      g_subprocess_force_exit (peer->process);
      g_assert_true (roadie_test_wait_until (peer_is_done, peer, IO_TIMEOUT_MS));
    }
  if (peer->err->len > 0)
    g_test_message ("python stderr: %s", peer->err->str);
  g_clear_object (&peer->process);
  g_ptr_array_unref (peer->events);
  g_string_free (peer->err, TRUE);
  g_free (peer);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (Peer, peer_free)

typedef struct
{
  Peer       *peer;
  const char *event;
  guint       nth;     /* 0 = the first */
} EventQuery;

static JsonObject *
peer_find_event (Peer       *peer,
                 const char *event,
                 guint       nth)
{
  for (guint i = 0; i < peer->events->len; i++)
    {
      JsonObject *object = g_ptr_array_index (peer->events, i);

      if (g_strcmp0 (json_object_get_string_member_with_default (object, "event", ""), event) == 0)
        {
          if (nth == 0)
            return object;
          nth--;
        }
    }
  return NULL;
}

static gboolean
peer_has_event (gpointer user_data)
{
  EventQuery *query = user_data;

  return peer_find_event (query->peer, query->event, query->nth) != NULL
         || peer_find_event (query->peer, "error", 0) != NULL
         || query->peer->exited;
}

/* Waits for the nth report of event and returns it; fails the test with
 * the peer's own error report otherwise. */
static JsonObject *
peer_wait_event (Peer       *peer,
                 const char *event,
                 guint       nth)
{
  EventQuery query = { peer, event, nth };
  JsonObject *found;
  JsonObject *error;

  g_assert_true (roadie_test_wait_until (peer_has_event, &query, IO_TIMEOUT_MS * 2));
  found = peer_find_event (peer, event, nth);
  error = peer_find_event (peer, "error", 0);
  if (found == NULL && error != NULL)
    g_error ("the python peer failed: %s", json_object_get_string_member (error, "error"));
  if (found == NULL)
    g_error ("the python peer exited without reporting “%s”; stderr: %s", event, peer->err->str);
  return found;
}

static gboolean
member_is_null (JsonObject *object,
                const char *name)
{
  return !json_object_has_member (object, name) || json_object_get_null_member (object, name);
}

/* --- our client ------------------------------------------------------------ */

typedef struct
{
  RoadieWsClient *client;
  GPtrArray      *texts;
  guint           want;     /* texts awaited by ours_has_texts() */
} Ours;

static void
on_ours_message (RoadieWsClient *client,
                 const char     *text,
                 JsonObject     *object,
                 gpointer        user_data)
{
  Ours *ours = user_data;

  g_ptr_array_add (ours->texts, g_strdup (text));
}

static Ours *
ours_connect (guint port)
{
  g_autofree char *url = g_strdup_printf ("ws://127.0.0.1:%u/", port);
  Ours *ours = g_new0 (Ours, 1);

  ours->texts = g_ptr_array_new_with_free_func (g_free);
  ours->client = roadie_ws_client_new (url);
  /* The generic profile: no reconnection, so a close stays a close. */
  roadie_ws_profile_apply_defaults (ROADIE_WS_PROFILE_GENERIC, ours->client);
  /* The profile's defaults include its usual address; this one is ours. */
  g_object_set (ours->client, "url", url, NULL);
  g_signal_connect (ours->client, "message", G_CALLBACK (on_ours_message), ours);
  roadie_ws_client_connect (ours->client);

  return ours;
}

static void
ours_free (Ours *ours)
{
  g_signal_handlers_disconnect_by_data (ours->client, ours);
  roadie_ws_client_close (ours->client);
  g_assert_cmpuint (roadie_ws_client_count_sources (ours->client), ==, 0);
  g_clear_object (&ours->client);
  g_ptr_array_unref (ours->texts);
  g_free (ours);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (Ours, ours_free)

static gboolean
ours_is_connected (gpointer user_data)
{
  return roadie_ws_client_get_state (((Ours *) user_data)->client) == ROADIE_WS_CLIENT_STATE_CONNECTED;
}

static gboolean
ours_is_not_connected (gpointer user_data)
{
  return !ours_is_connected (user_data);
}

static gboolean
ours_has_texts (gpointer user_data)
{
  Ours *ours = user_data;

  return ours->texts->len >= ours->want;
}

/* Sends text and returns the next message that comes back. */
static const char *
ours_round_trip (Ours       *ours,
                 const char *text)
{
  ours->want = ours->texts->len + 1;
  g_assert_true (roadie_ws_client_send_text (ours->client, text));
  g_assert_true (roadie_test_wait_until (ours_has_texts, ours, IO_TIMEOUT_MS));
  return g_ptr_array_index (ours->texts, ours->want - 1);
}

static Peer *
echo_server_start (guint *port)
{
  Peer *peer = peer_spawn ("echo_server.py", (const char *[]) { "--ping-interval", "0.1", NULL });
  JsonObject *listening = peer_wait_event (peer, "listening", 0);

  *port = json_object_get_int_member (listening, "port");
  g_test_message ("peer: python3-websockets %s on Python %s; ours: libsoup %u.%u.%u",
                  json_object_get_string_member (listening, "websockets"),
                  json_object_get_string_member (listening, "python"),
                  soup_get_major_version (), soup_get_minor_version (), soup_get_micro_version ());
  return peer;
}

/* A text with multi-byte UTF-8 all through it, so fragment boundaries and
 * reassembly are checked on characters that span bytes. */
static char *
make_text (gsize n_chars)
{
  static const char *pieces[] = { "roadie", " ", "♫", "ü", "0123456789", "€", "𝄞", "-" };
  GString *text = g_string_new (NULL);

  for (gsize i = 0; g_utf8_strlen (text->str, -1) < (glong) n_chars; i++)
    g_string_append (text, pieces[i % G_N_ELEMENTS (pieces)]);
  return g_string_free (text, FALSE);
}

static void
test_client_against_their_server (void)
{
  guint port = 0;
  g_autoptr(Peer) server = echo_server_start (&port);
  g_autoptr(Ours) ours = ours_connect (port);
  g_autofree char *big = make_text (100 * 1000);
  g_autofree char *fragmented = make_text (4000);
  g_autofree char *command = NULL;
  JsonObject *sent;
  JsonObject *closed;

  g_assert_true (roadie_test_wait_until (ours_is_connected, ours, IO_TIMEOUT_MS));
  peer_wait_event (server, "connected", 0);

  /* Echo, small and large (several TCP segments, one message). */
  g_assert_cmpstr (ours_round_trip (ours, "interop: hello ♫"), ==, "interop: hello ♫");
  g_assert_cmpstr (ours_round_trip (ours, big), ==, big);

  /* Their fragmented message arrives as one. */
  command = g_strdup_printf ("fragment:16:%s", fragmented);
  g_assert_cmpstr (ours_round_trip (ours, command), ==, fragmented);
  sent = peer_wait_event (server, "sent-fragmented", 0);
  g_assert_cmpint (json_object_get_int_member (sent, "fragments"), ==, 16);

  /* Their explicit pings, each waiting for our pong. */
  g_assert_cmpstr (ours_round_trip (ours, "ping:5"), ==, "pongs:5");

  /* Their keepalive pings every 100 ms go on meanwhile. */
  roadie_test_run_for (600);
  g_assert_true (ours_is_connected (ours));

  /* They close with a code and a reason: we answer the handshake, and say
   * why the link went. */
  roadie_ws_client_send_text (ours->client, "close:4000:bye from python");
  g_assert_true (roadie_test_wait_until (ours_is_not_connected, ours, IO_TIMEOUT_MS));
  g_assert_cmpint (roadie_ws_client_get_state (ours->client), ==, ROADIE_WS_CLIENT_STATE_DISCONNECTED);
  g_assert_nonnull (strstr (roadie_ws_client_get_last_error (ours->client), "4000"));
  g_assert_nonnull (strstr (roadie_ws_client_get_last_error (ours->client), "bye from python"));

  closed = peer_wait_event (server, "closed", 0);
  g_assert_cmpint (json_object_get_int_member (closed, "sent_code"), ==, 4000);
  g_assert_cmpstr (json_object_get_string_member (closed, "sent_reason"), ==, "bye from python");
  /* Our close frame came back: a clean handshake, not a dropped socket. */
  g_assert_false (member_is_null (closed, "rcvd_code"));
  g_assert_cmpint (json_object_get_int_member (closed, "rcvd_code"), ==, 4000);
  g_assert_false (json_object_get_boolean_member (closed, "rcvd_then_sent"));
  g_test_message ("their pings answered by our client: %" G_GINT64_FORMAT,
                  json_object_get_int_member (closed, "pongs"));
  g_assert_cmpint (json_object_get_int_member (closed, "pongs"), >=, 3);
}

static void
test_client_closes (void)
{
  guint port = 0;
  g_autoptr(Peer) server = echo_server_start (&port);
  g_autoptr(Ours) ours = ours_connect (port);
  JsonObject *closed;

  g_assert_true (roadie_test_wait_until (ours_is_connected, ours, IO_TIMEOUT_MS));
  g_assert_cmpstr (ours_round_trip (ours, "before close"), ==, "before close");

  /* close() is ours to start: a normal close frame, answered by theirs. */
  roadie_ws_client_close (ours->client);
  g_assert_cmpint (roadie_ws_client_get_state (ours->client), ==, ROADIE_WS_CLIENT_STATE_CLOSED);
  closed = peer_wait_event (server, "closed", 0);
  g_assert_cmpint (json_object_get_int_member (closed, "rcvd_code"), ==, SOUP_WEBSOCKET_CLOSE_NORMAL);
  g_assert_true (json_object_get_boolean_member (closed, "rcvd_then_sent"));
  g_assert_cmpint (json_object_get_int_member (closed, "sent_code"), ==, SOUP_WEBSOCKET_CLOSE_NORMAL);
  g_assert_cmpuint (roadie_ws_client_count_sources (ours->client), ==, 0);
}

/* --- their client against our hub ------------------------------------------ */

typedef struct
{
  char       *dj_id;
  JsonObject *frame;
} SeenFrame;

static void
on_dj_frame (RoadieWsHub *hub,
             const char  *dj_id,
             JsonObject  *frame,
             gpointer     user_data)
{
  SeenFrame *seen = user_data;

  g_free (seen->dj_id);
  seen->dj_id = g_strdup (dj_id);
  g_clear_pointer (&seen->frame, json_object_unref);
  seen->frame = json_object_ref (frame);
}

static gboolean
frame_seen (gpointer user_data)
{
  return ((SeenFrame *) user_data)->frame != NULL;
}

static RoadieWsHub *
hub_new (RoadieWsEndpoint endpoint)
{
  RoadieWsHub *hub = roadie_ws_hub_new ();
  g_autoptr(GError) error = NULL;

  /* Pings every second (libsoup 3.2's keepalive has whole seconds), a
   * client silent for two periods dropped: lingering three seconds proves
   * their library answers our pings. */
  g_object_set (hub,
                "server-name", "roadie-interop",
                "ping-interval-ms", 1000,
                "missed-pongs", 2,
                NULL);
  roadie_ws_hub_listen (hub, endpoint, "127.0.0.1", 0, &error);
  g_assert_no_error (error);
  return hub;
}

static char *
hub_url (RoadieWsHub      *hub,
         RoadieWsEndpoint  endpoint)
{
  return g_strdup_printf ("ws://127.0.0.1:%u/", roadie_ws_hub_get_port (hub, endpoint));
}

static void
assert_versions_reported (Peer *peer)
{
  JsonObject *connected = peer_wait_event (peer, "connected", 0);

  g_test_message ("peer: python3-websockets %s on Python %s; ours: libsoup %u.%u.%u",
                  json_object_get_string_member (connected, "websockets"),
                  json_object_get_string_member (connected, "python"),
                  soup_get_major_version (), soup_get_minor_version (), soup_get_micro_version ());
}

static void
test_their_client_hello (void)
{
  g_autoptr(RoadieWsHub) hub = hub_new (ROADIE_WS_ENDPOINT_ENGINE);
  g_autofree char *url = hub_url (hub, ROADIE_WS_ENDPOINT_ENGINE);
  g_autoptr(Peer) client = peer_spawn ("client.py", (const char *[]) {
    url, "expect:hello", "ping", "linger:3.0", "close:1000:done here", NULL });
  JsonObject *hello;
  JsonObject *data;
  JsonObject *lingered;
  JsonObject *closed;

  assert_versions_reported (client);
  hello = peer_wait_event (client, "message", 0);
  data = json_object_get_object_member (hello, "data");
  g_assert_cmpstr (json_object_get_string_member (data, "type"), ==, "hello");
  g_assert_cmpstr (json_object_get_string_member (data, "server"), ==, "roadie-interop");
  g_assert_cmpint (json_object_get_int_member (data, "protocol"), ==, 1);

  /* Their ping, our pong. */
  g_assert_cmpfloat (json_object_get_double_member (peer_wait_event (client, "pong", 0), "rtt_ms"), <, IO_TIMEOUT_MS);

  /* Our pings every second for three, their pongs: still connected. */
  lingered = peer_wait_event (client, "lingered", 0);
  g_assert_true (json_object_get_boolean_member (lingered, "open"));
  g_assert_cmpuint (roadie_ws_hub_get_n_clients (hub, ROADIE_WS_ENDPOINT_ENGINE), ==, 1);

  /* Their close: we answer with the same code. */
  closed = peer_wait_event (client, "closed", 0);
  g_assert_cmpint (json_object_get_int_member (closed, "sent_code"), ==, 1000);
  g_assert_cmpint (json_object_get_int_member (closed, "rcvd_code"), ==, 1000);
  g_assert_false (json_object_get_boolean_member (closed, "rcvd_then_sent"));
  g_assert_true (roadie_test_wait_until (peer_is_done, client, IO_TIMEOUT_MS));
  g_assert_true (g_subprocess_get_if_exited (client->process));
  g_assert_cmpint (g_subprocess_get_exit_status (client->process), ==, 0);
}

static void
test_their_fragments (void)
{
  g_autoptr(RoadieWsHub) hub = hub_new (ROADIE_WS_ENDPOINT_DJ);
  g_autoptr(RoadieDjKeys) keys = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *url = hub_url (hub, ROADIE_WS_ENDPOINT_DJ);
  g_autofree char *auth = g_strdup_printf ("send-fragmented:5:{\"type\":\"dj_auth\",\"dj_id\":\"dj_py\","
                                           "\"dj_name\":\"DJ Pÿthon ♫\",\"dj_key\":\"py-secret-key\"}");
  g_autoptr(GString) frame = g_string_new ("send-fragmented:9:{\"type\":\"dj_frame\",\"dj_id\":\"dj_py\","
                                           "\"seq\":42,\"ts\":1706889600.5,\"rms\":0.5,\"peak\":0.75,\"bands\":[");
  g_autoptr(Peer) client = NULL;
  SeenFrame seen = { 0 };
  JsonObject *heartbeat_ack;

  keys = roadie_dj_keys_parse ("# interop\ndj_py py-secret-key\n", &error);
  g_assert_no_error (error);
  roadie_ws_hub_set_dj_keys (hub, keys);
  g_signal_connect (hub, "dj-frame", G_CALLBACK (on_dj_frame), &seen);

  for (guint i = 0; i < 32; i++)
    g_string_append_printf (frame, "%s0.%02u", i > 0 ? "," : "", i * 3);
  g_string_append (frame, "],\"onset\":0.1,\"beat\":true,\"bpm\":128.0,\"confidence\":0.9,\"phase\":0.0}");

  client = peer_spawn ("client.py", (const char *[]) {
    url, auth, "expect:auth_ok",
    "send-fragmented:7:{\"type\":\"dj_heartbeat\",\"ts\":1706889600.123,\"mc_connected\":true}",
    "expect:heartbeat_ack",
    frame->str,
    "linger:1.0",
    "close:1000:set over", NULL });
  assert_versions_reported (client);

  /* Each message was sent in pieces; each one we understood whole. */
  peer_wait_event (client, "message", 0);
  heartbeat_ack = json_object_get_object_member (peer_wait_event (client, "message", 1), "data");
  g_assert_cmpstr (json_object_get_string_member (heartbeat_ack, "type"), ==, "heartbeat_ack");
  g_assert_true (json_object_has_member (heartbeat_ack, "server_time"));
  g_assert_true (roadie_test_wait_until (frame_seen, &seen, IO_TIMEOUT_MS));
  g_assert_cmpstr (seen.dj_id, ==, "dj_py");
  g_assert_cmpint (json_object_get_int_member (seen.frame, "seq"), ==, 42);
  g_assert_cmpuint (json_array_get_length (json_object_get_array_member (seen.frame, "bands")), ==, 32);

  g_assert_true (json_object_get_boolean_member (peer_wait_event (client, "lingered", 0), "open"));
  g_assert_cmpint (json_object_get_int_member (peer_wait_event (client, "closed", 0), "rcvd_code"), ==, 1000);

  g_signal_handlers_disconnect_by_data (hub, &seen);
  g_free (seen.dj_id);
  json_object_unref (seen.frame);
}

static gboolean
peer_saw_hello (gpointer user_data)
{
  return peer_find_event (user_data, "message", 0) != NULL;
}

static void
test_hub_closes (void)
{
  g_autoptr(RoadieWsHub) hub = hub_new (ROADIE_WS_ENDPOINT_BROWSER);
  g_autofree char *url = hub_url (hub, ROADIE_WS_ENDPOINT_BROWSER);
  g_autoptr(Peer) client = peer_spawn ("client.py", (const char *[]) { url, "expect:hello", "wait-close", NULL });
  JsonObject *closed;

  g_assert_true (roadie_test_wait_until (peer_saw_hello, client, IO_TIMEOUT_MS * 2));

  /* We start the close (1001, going away); they answer it. */
  roadie_ws_hub_shutdown (hub);
  closed = peer_wait_event (client, "closed", 0);
  g_assert_cmpint (json_object_get_int_member (closed, "rcvd_code"), ==, SOUP_WEBSOCKET_CLOSE_GOING_AWAY);
  g_assert_true (json_object_get_boolean_member (closed, "rcvd_then_sent"));
  g_assert_cmpint (json_object_get_int_member (closed, "sent_code"), ==, SOUP_WEBSOCKET_CLOSE_GOING_AWAY);
}

int
main (int   argc,
      char *argv[])
{
  roadie_test_init_environment ();
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/roadie/ws-interop/client-against-their-server", test_client_against_their_server);
  g_test_add_func ("/roadie/ws-interop/client-closes", test_client_closes);
  g_test_add_func ("/roadie/ws-interop/their-client-hello", test_their_client_hello);
  g_test_add_func ("/roadie/ws-interop/their-fragments", test_their_fragments);
  g_test_add_func ("/roadie/ws-interop/hub-closes", test_hub_closes);

  return g_test_run ();
}
