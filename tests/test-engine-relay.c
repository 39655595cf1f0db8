/* test-engine-relay.c: roadie-engine's links, end to end.
 *
 * Real roadie-engine processes on ephemeral ports of 127.0.0.1:
 *  - engine A relays its --test-frames to engine B as DJ dj_alice (the key
 *    from a 0600 file, or from ROADIE_DJ_KEY); a browser on B receives
 *    them as dj_frame with dj_id dj_alice; the key shows nowhere;
 *  - a wrong key: A says auth-failed and never tries again (B logs exactly
 *    one refused sign-in);
 *  - two DJs: the most recent is shown, an admin can choose, and when the
 *    chosen one leaves the other comes back;
 *  - a keys or key file others can read is refused at start, plainly;
 *  - --visualizer: B's GET /health follows the link's state and counts its
 *    reconnections while a small WebSocket server goes away and returns;
 *  - the supervisor passes the engine-* settings to the bundled engine.
 * Plus the pure parts: the active-DJ rules, the synthetic frames, and the
 * secret-file reader.
 */
#include "config.h"

#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <json-glib/json-glib.h>
#include <libsoup/soup.h>

#include "roadie-active-dj.h"
#include "roadie-engine-options.h"
#include "roadie-protocol.h"
#include "roadie-supervisor.h"
#include "roadie-test-frames.h"
#include "roadie-test-util.h"

#define START_TIMEOUT_MS 10000
#define IO_TIMEOUT_MS    5000

#define ALICE_KEY "alice-7f3a9c-secret"
#define BOB_KEY   "bob-51d2e8-secret"
#define ADMIN_KEY "admin-0b4c11-secret"

/* --- roadie-engine as a child process --------------------------------------- */

typedef struct
{
  GSubprocess *process;
  GString     *out;
  GString     *err;
  gboolean     out_done;
  gboolean     err_done;
  gboolean     exited;
  int          status;
  guint        port;           /* engine port (hello, /health) */
  guint        browser_port;
  guint        dj_port;
} Engine;

static void read_out (Engine *engine, GInputStream *stream);
static void read_err (Engine *engine, GInputStream *stream);

static void
chunk_read (GObject      *object,
            GAsyncResult *result,
            gpointer      user_data,
            gboolean      is_out)
{
  Engine *engine = user_data;
  g_autoptr(GBytes) bytes = g_input_stream_read_bytes_finish (G_INPUT_STREAM (object), result, NULL);

  if (bytes == NULL || g_bytes_get_size (bytes) == 0)
    {
      if (is_out)
        engine->out_done = TRUE;
      else
        engine->err_done = TRUE;
      return;
    }
  g_string_append_len (is_out ? engine->out : engine->err, g_bytes_get_data (bytes, NULL), g_bytes_get_size (bytes));
  if (is_out)
    read_out (engine, G_INPUT_STREAM (object));
  else
    read_err (engine, G_INPUT_STREAM (object));
}

static void
out_read (GObject      *object,
          GAsyncResult *result,
          gpointer      user_data)
{
  chunk_read (object, result, user_data, TRUE);
}

static void
err_read (GObject      *object,
          GAsyncResult *result,
          gpointer      user_data)
{
  chunk_read (object, result, user_data, FALSE);
}

static void
read_out (Engine       *engine,
          GInputStream *stream)
{
  g_input_stream_read_bytes_async (stream, 4096, G_PRIORITY_DEFAULT, NULL, out_read, engine);
}

static void
read_err (Engine       *engine,
          GInputStream *stream)
{
  g_input_stream_read_bytes_async (stream, 4096, G_PRIORITY_DEFAULT, NULL, err_read, engine);
}

static void
engine_exited (GObject      *object,
               GAsyncResult *result,
               gpointer      user_data)
{
  Engine *engine = user_data;

  g_subprocess_wait_finish (G_SUBPROCESS (object), result, NULL);
  engine->status = g_subprocess_get_status (G_SUBPROCESS (object));
  engine->exited = TRUE;
}

/* Runs in the child: an engine outlives no test that failed half-way. */
static void
die_with_test (gpointer user_data)
{
  prctl (PR_SET_PDEATHSIG, SIGKILL);
}

/* Spawns roadie-engine with args (NULL-terminated); env_key, if not NULL,
 * is put in ROADIE_DJ_KEY. */
static Engine *
engine_spawn (const char * const *args,
              const char         *env_key)
{
  g_autoptr(GSubprocessLauncher) launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE
                                                                       | G_SUBPROCESS_FLAGS_STDERR_PIPE);
  g_autoptr(GPtrArray) argv = g_ptr_array_new ();
  g_autoptr(GError) error = NULL;
  Engine *engine = g_new0 (Engine, 1);

  g_ptr_array_add (argv, (gpointer) roadie_test_engine ());
  for (guint i = 0; args[i] != NULL; i++)
    g_ptr_array_add (argv, (gpointer) args[i]);
  g_ptr_array_add (argv, NULL);

  /* A refused key makes RoadieWsClient warn, which is right and must not
   * abort the engine; criticals still do. The hub tells of refused
   * sign-ins at info level: these tests count them. */
  g_subprocess_launcher_setenv (launcher, "G_DEBUG", "fatal-criticals", TRUE);
  g_subprocess_launcher_setenv (launcher, "G_MESSAGES_DEBUG", "Roadie", TRUE);
  g_subprocess_launcher_set_child_setup (launcher, die_with_test, NULL, NULL);
  if (env_key != NULL)
    g_subprocess_launcher_setenv (launcher, "ROADIE_DJ_KEY", env_key, TRUE);
  else
    g_subprocess_launcher_unsetenv (launcher, "ROADIE_DJ_KEY");

  engine->out = g_string_new (NULL);
  engine->err = g_string_new (NULL);
  engine->process = g_subprocess_launcher_spawnv (launcher, (const char * const *) argv->pdata, &error);
  g_assert_no_error (error);
  read_out (engine, g_subprocess_get_stdout_pipe (engine->process));
  read_err (engine, g_subprocess_get_stderr_pipe (engine->process));
  g_subprocess_wait_async (engine->process, NULL, engine_exited, engine);

  return engine;
}

static gboolean
engine_is_done (gpointer user_data)
{
  Engine *engine = user_data;

  return engine->exited && engine->out_done && engine->err_done;
}

static gboolean
engine_is_listening (gpointer user_data)
{
  Engine *engine = user_data;

  return engine->exited || strstr (engine->out->str, "✓ WebSocket server started") != NULL;
}

static void
engine_free (Engine *engine)
{
  gboolean terminated = !engine->exited;

  if (terminated)
    g_subprocess_send_signal (engine->process, SIGTERM);
  if (!roadie_test_wait_until (engine_is_done, engine, IO_TIMEOUT_MS))
    {
      g_subprocess_force_exit (engine->process);
      g_assert_true (roadie_test_wait_until (engine_is_done, engine, IO_TIMEOUT_MS));
    }
  /* A clean exit on SIGTERM; under the sanitizers this is also where a
   * leak in the engine would show (LeakSanitizer's exit status). */
  if (terminated)
    {
      if (!WIFEXITED (engine->status) || WEXITSTATUS (engine->status) != 0)
        g_error ("roadie-engine did not exit cleanly on SIGTERM (status %d): %s", engine->status, engine->err->str);
    }
  g_clear_object (&engine->process);
  g_string_free (engine->out, TRUE);
  g_string_free (engine->err, TRUE);
  g_free (engine);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (Engine, engine_free)

static void
engine_stop (Engine *engine)
{
  g_subprocess_send_signal (engine->process, SIGTERM);
  g_assert_true (roadie_test_wait_until (engine_is_done, engine, IO_TIMEOUT_MS));
  g_assert_true (WIFEXITED (engine->status));
  g_assert_cmpint (WEXITSTATUS (engine->status), ==, 0);
}

/* Starts an engine with its three listeners on free ports (or off when
 * with_listeners is FALSE: then only the engine port) plus extra args. */
static Engine *
engine_start (gboolean            with_listeners,
              const char * const *extra,
              const char         *env_key)
{
  g_autoptr(GPtrArray) args = g_ptr_array_new_with_free_func (g_free);
  guint port = roadie_test_free_port ();
  guint browser_port = with_listeners ? roadie_test_free_port () : 0;
  guint dj_port = with_listeners ? roadie_test_free_port () : 0;
  Engine *engine;

  g_ptr_array_add (args, g_strdup ("--port"));
  g_ptr_array_add (args, g_strdup_printf ("%u", port));
  g_ptr_array_add (args, g_strdup ("--browser-port"));
  g_ptr_array_add (args, g_strdup_printf ("%u", browser_port));
  g_ptr_array_add (args, g_strdup ("--dj-port"));
  g_ptr_array_add (args, g_strdup_printf ("%u", dj_port));
  for (guint i = 0; extra != NULL && extra[i] != NULL; i++)
    g_ptr_array_add (args, g_strdup (extra[i]));
  g_ptr_array_add (args, NULL);

  engine = engine_spawn ((const char * const *) args->pdata, env_key);
  engine->port = port;
  engine->browser_port = browser_port;
  engine->dj_port = dj_port;
  g_assert_true (roadie_test_wait_until (engine_is_listening, engine, START_TIMEOUT_MS));
  if (engine->exited)
    g_error ("roadie-engine did not start: %s", engine->err->str);
  return engine;
}

typedef struct
{
  Engine     *engine;
  const char *text;
  gboolean    on_stderr;
} Said;

static gboolean
engine_said (gpointer user_data)
{
  Said *said = user_data;

  return strstr ((said->on_stderr ? said->engine->err : said->engine->out)->str, said->text) != NULL;
}

static void
wait_for_output (Engine     *engine,
                 const char *text,
                 gboolean    on_stderr,
                 guint       timeout_ms)
{
  Said said = { engine, text, on_stderr };

  if (!roadie_test_wait_until (engine_said, &said, timeout_ms))
    g_error ("roadie-engine never said “%s”; stdout: %s\nstderr: %s", text, engine->out->str, engine->err->str);
}

static guint
count_occurrences (const char *haystack,
                   const char *needle)
{
  guint n = 0;

  for (const char *at = strstr (haystack, needle); at != NULL; at = strstr (at + 1, needle))
    n++;
  return n;
}

/* A file in the test's private folder with contents and mode. */
static char *
write_file (const char *name,
            const char *contents,
            guint       mode)
{
  g_autofree char *path = g_build_filename (roadie_test_tmpdir (), name, NULL);
  g_autoptr(GError) error = NULL;

  g_file_set_contents (path, contents, -1, &error);
  g_assert_no_error (error);
  g_assert_cmpint (chmod (path, mode), ==, 0);
  return g_steal_pointer (&path);
}

static char *
write_keys_file (void)
{
  return write_file ("dj-keys",
                     "# dj_id key\n"
                     "dj_alice " ALICE_KEY "\n"
                     "dj_bob " BOB_KEY "\n"
                     "admin " ADMIN_KEY "\n",
                     0600);
}

/* --- HTTP and WebSocket clients ---------------------------------------------- */

typedef struct
{
  gboolean    done;
  JsonObject *object;
} HttpResult;

static void
http_done (GObject      *object,
           GAsyncResult *result,
           gpointer      user_data)
{
  HttpResult *http = user_data;
  g_autoptr(GBytes) body = soup_session_send_and_read_finish (SOUP_SESSION (object), result, NULL);

  if (body != NULL)
    {
      g_autoptr(JsonParser) parser = json_parser_new ();

      if (json_parser_load_from_data (parser, g_bytes_get_data (body, NULL), g_bytes_get_size (body), NULL)
          && JSON_NODE_HOLDS_OBJECT (json_parser_get_root (parser)))
        http->object = json_object_ref (json_node_get_object (json_parser_get_root (parser)));
    }
  http->done = TRUE;
}

static gboolean
http_is_done (gpointer user_data)
{
  return ((HttpResult *) user_data)->done;
}

/* GET /health on port: the statistics object. */
static JsonObject *
get_health (guint port)
{
  g_autoptr(SoupSession) session = soup_session_new ();
  g_autofree char *uri = g_strdup_printf ("http://127.0.0.1:%u/health", port);
  g_autoptr(SoupMessage) msg = soup_message_new ("GET", uri);
  HttpResult result = { 0 };

  soup_session_send_and_read_async (session, msg, G_PRIORITY_DEFAULT, NULL, http_done, &result);
  g_assert_true (roadie_test_wait_until (http_is_done, &result, IO_TIMEOUT_MS));
  g_assert_nonnull (result.object);
  return result.object;
}

typedef struct
{
  guint       port;
  const char *member;
  gint64      want;
} HealthCheck;

static gboolean
health_has (gpointer user_data)
{
  HealthCheck *check = user_data;
  g_autoptr(JsonObject) health = get_health (check->port);
  JsonNode *node = json_object_get_member (health, check->member);

  g_assert_nonnull (node);
  if (json_node_get_value_type (node) == G_TYPE_BOOLEAN)
    return json_node_get_boolean (node) == (check->want != 0);
  return json_node_get_int (node) == check->want;
}

static gboolean
tick (gpointer user_data)
{
  return G_SOURCE_CONTINUE;
}

static void
wait_for_health (guint       port,
                 const char *member,
                 gint64      want,
                 guint       timeout_ms)
{
  HealthCheck check = { port, member, want };
  guint tick_id = g_timeout_add (50, tick, NULL);
  gboolean reached = roadie_test_wait_until (health_has, &check, timeout_ms);

  g_source_remove (tick_id);
  if (!reached)
    {
      g_autoptr(JsonObject) health = get_health (port);
      g_autoptr(JsonNode) node = json_node_init_object (json_node_alloc (), health);
      g_autofree char *text = json_to_string (node, FALSE);

      g_error ("GET /health never had %s = %" G_GINT64_FORMAT " within %u ms: %s", member, want, timeout_ms, text);
    }
}

typedef struct
{
  SoupSession             *session;
  SoupWebsocketConnection *connection;
  GError                  *error;
  gboolean                 connect_done;
  gboolean                 closed;
  GPtrArray               *messages;   /* JsonObject */
} WsClient;

static void
ws_message (SoupWebsocketConnection *connection,
            int                      type,
            GBytes                  *bytes,
            gpointer                 user_data)
{
  WsClient *client = user_data;
  g_autoptr(JsonParser) parser = json_parser_new ();

  g_assert_cmpint (type, ==, SOUP_WEBSOCKET_DATA_TEXT);
  g_assert_true (json_parser_load_from_data (parser, g_bytes_get_data (bytes, NULL), g_bytes_get_size (bytes), NULL));
  g_ptr_array_add (client->messages, json_object_ref (json_node_get_object (json_parser_get_root (parser))));
}

static void
ws_closed (SoupWebsocketConnection *connection,
           gpointer                 user_data)
{
  ((WsClient *) user_data)->closed = TRUE;
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

static WsClient *
ws_connect (guint port)
{
  g_autofree char *uri = g_strdup_printf ("ws://127.0.0.1:%u/", port);
  g_autoptr(SoupMessage) msg = soup_message_new ("GET", uri);
  WsClient *client = g_new0 (WsClient, 1);

  client->session = soup_session_new ();
  client->messages = g_ptr_array_new_with_free_func ((GDestroyNotify) json_object_unref);
  soup_session_websocket_connect_async (client->session, msg, NULL, NULL, G_PRIORITY_DEFAULT, NULL,
                                        ws_connected, client);
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
  g_clear_object (&client->session);
  g_clear_error (&client->error);
  g_ptr_array_unref (client->messages);
  g_free (client);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (WsClient, ws_client_free)

typedef struct
{
  WsClient   *client;
  const char *type;
  const char *dj_id;     /* NULL = any */
  guint       count;
  guint       from;      /* index to look from */
} Wanted;

static guint
count_matching (Wanted *wanted)
{
  guint n = 0;

  for (guint i = wanted->from; i < wanted->client->messages->len; i++)
    {
      JsonObject *message = g_ptr_array_index (wanted->client->messages, i);

      if (g_strcmp0 (json_object_get_string_member_with_default (message, "type", ""), wanted->type) == 0
          && (wanted->dj_id == NULL
              || g_strcmp0 (json_object_get_string_member_with_default (message, "dj_id", ""), wanted->dj_id) == 0))
        n++;
    }
  return n;
}

static gboolean
has_matching (gpointer user_data)
{
  return count_matching (user_data) >= ((Wanted *) user_data)->count;
}

/* Waits for count messages of type (and dj_id) from now on. */
static void
wait_for_messages (WsClient   *client,
                   const char *type,
                   const char *dj_id,
                   guint       count,
                   guint       timeout_ms)
{
  Wanted wanted = { client, type, dj_id, count, client->messages->len };

  if (!roadie_test_wait_until (has_matching, &wanted, timeout_ms))
    g_error ("no %u %s messages%s%s within %u ms (got %u)", count, type, dj_id ? " from " : "",
             dj_id ? dj_id : "", timeout_ms, count_matching (&wanted));
}

static JsonObject *
last_message (WsClient *client)
{
  g_assert_cmpuint (client->messages->len, >, 0);
  return g_ptr_array_index (client->messages, client->messages->len - 1);
}

static void
assert_secret_hidden (Engine     *engine,
                      const char *secret)
{
  g_autofree char *cmdline_path = g_strdup_printf ("/proc/%s/cmdline", g_subprocess_get_identifier (engine->process));
  gsize length = 0;
  g_autofree char *cmdline = roadie_test_read_file (cmdline_path, &length);

  g_assert_null (strstr (engine->out->str, secret));
  g_assert_null (strstr (engine->err->str, secret));
  /* The command line is NUL-separated: look through all of it. */
  g_assert_nonnull (cmdline);
  for (gsize i = 0; i < length; i += strlen (cmdline + i) + 1)
    g_assert_null (strstr (cmdline + i, secret));
}

/* --- cases: the relay ---------------------------------------------------- */

static Engine *
start_vj_server (const char *keys_path)
{
  return engine_start (TRUE, (const char *[]) { "--dj-keys", keys_path, NULL }, NULL);
}

static Engine *
start_relaying_dj (Engine     *vj,
                   const char *dj_id,
                   const char *dj_name,
                   const char *key_file,
                   const char *env_key)
{
  g_autofree char *url = g_strdup_printf ("ws://127.0.0.1:%u/", vj->dj_port);
  const char *with_file[] = { "--relay-to", url, "--dj-id", dj_id, "--dj-name", dj_name,
                              "--dj-key-file", key_file, "--test-frames", "30", NULL };
  const char *with_env[] = { "--relay-to", url, "--dj-id", dj_id, "--dj-name", dj_name,
                             "--test-frames", "30", NULL };

  return engine_start (FALSE, key_file != NULL ? with_file : with_env, env_key);
}

static void
test_relay (void)
{
  g_autofree char *keys = write_keys_file ();
  g_autofree char *alice_key = write_file ("alice-key", ALICE_KEY "\n", 0600);
  g_autoptr(Engine) vj = start_vj_server (keys);
  g_autoptr(WsClient) browser = ws_connect (vj->browser_port);
  g_autoptr(WsClient) engine_link = ws_connect (vj->port);
  g_autoptr(Engine) dj = start_relaying_dj (vj, "dj_alice", "DJ Alice", alice_key, NULL);
  g_autofree char *connected = g_strdup_printf ("DJ relay: connected to ws://127.0.0.1:%u/ as dj_alice", vj->dj_port);
  JsonObject *frame;
  gint64 previous_seq = -1;

  wait_for_output (dj, connected, FALSE, IO_TIMEOUT_MS);
  wait_for_output (vj, "Active DJ: dj_alice", FALSE, IO_TIMEOUT_MS);

  /* The DJ's frames reach B's browsers, and B's engine port, as dj_frame
   * from dj_alice, in order, whole. */
  wait_for_messages (browser, "dj_frame", "dj_alice", 10, IO_TIMEOUT_MS);
  wait_for_messages (engine_link, "dj_frame", "dj_alice", 3, IO_TIMEOUT_MS);
  for (guint i = 0; i < browser->messages->len; i++)
    {
      frame = g_ptr_array_index (browser->messages, i);
      if (g_strcmp0 (json_object_get_string_member (frame, "type"), "dj_frame") != 0)
        continue;
      g_assert_cmpstr (json_object_get_string_member (frame, "dj_id"), ==, "dj_alice");
      g_assert_cmpint (json_object_get_int_member (frame, "seq"), >, previous_seq);
      previous_seq = json_object_get_int_member (frame, "seq");
      g_assert_cmpuint (json_array_get_length (json_object_get_array_member (frame, "bands")), ==,
                        ROADIE_TEST_FRAMES_BANDS);
      g_assert_cmpfloat (json_object_get_double_member (frame, "bpm"), ==, ROADIE_TEST_FRAMES_BPM);
    }
  /* The relay is the only thing sending to B: the browser also got A's
   * hello and nothing but dj_frame after it. */
  g_assert_cmpstr (json_object_get_string_member (g_ptr_array_index (browser->messages, 0), "type"), ==, "hello");

  {
    g_autoptr(JsonObject) health = get_health (vj->port);

    g_assert_cmpint (json_object_get_int_member (health, "dj_connects"), ==, 1);
    g_assert_cmpint (json_object_get_int_member (health, "current_djs"), ==, 1);
    g_assert_cmpint (json_object_get_int_member (health, "current_browsers"), ==, 1);
  }
  assert_secret_hidden (dj, ALICE_KEY);
  assert_secret_hidden (vj, ALICE_KEY);

  /* A goes away: B counts it and says nobody is on. */
  engine_stop (dj);
  wait_for_health (vj->port, "current_djs", 0, IO_TIMEOUT_MS);
  wait_for_health (vj->port, "dj_disconnects", 1, IO_TIMEOUT_MS);
  wait_for_output (vj, "No active DJ", FALSE, IO_TIMEOUT_MS);
  /* The browser's last dj_frame was Alice's. B's own frames may follow it
   * once nobody is on (on a slow machine they do before this line runs):
   * plain frames, no DJ's id on them. */
  {
    JsonObject *last_dj_frame = NULL;

    for (guint i = 0; i < browser->messages->len; i++)
      {
        JsonObject *message = g_ptr_array_index (browser->messages, i);

        if (g_strcmp0 (json_object_get_string_member (message, "type"), "dj_frame") == 0)
          last_dj_frame = message;
        else if (last_dj_frame != NULL)
          {
            g_assert_cmpstr (json_object_get_string_member (message, "type"), ==, "frame");
            g_assert_false (json_object_has_member (message, "dj_id"));
          }
      }
    g_assert_nonnull (last_dj_frame);
    g_assert_cmpstr (json_object_get_string_member (last_dj_frame, "dj_id"), ==, "dj_alice");
  }
}

static void
test_relay_wrong_key (void)
{
  g_autofree char *keys = write_keys_file ();
  g_autofree char *wrong_key = write_file ("wrong-key", "not-alices-key\n", 0600);
  g_autoptr(Engine) vj = start_vj_server (keys);
  g_autoptr(WsClient) browser = ws_connect (vj->browser_port);
  g_autoptr(Engine) dj = start_relaying_dj (vj, "dj_alice", "DJ Alice", wrong_key, NULL);
  const char *refused = "DJ sign-in as “dj_alice” from 127.0.0.1 refused";
  g_autoptr(JsonObject) health = NULL;

  wait_for_output (dj, "DJ relay auth-failed", TRUE, IO_TIMEOUT_MS);
  g_assert_nonnull (strstr (dj->err->str, "not trying again"));
  /* GLib writes info messages to stdout. */
  wait_for_output (vj, refused, FALSE, IO_TIMEOUT_MS);

  /* Longer than the DJ relay's first backoff (5 s + 10 %): no second try. */
  roadie_test_run_for (6000);
  g_assert_false (dj->exited);
  g_assert_cmpuint (count_occurrences (vj->out->str, refused), ==, 1);
  g_assert_null (strstr (dj->out->str, "DJ relay: connected"));
  health = get_health (vj->port);
  g_assert_cmpint (json_object_get_int_member (health, "dj_connects"), ==, 0);
  g_assert_cmpint (json_object_get_int_member (health, "current_djs"), ==, 0);
  /* Nothing of the refused DJ reached the browser: the hello, then only
   * the VJ server's own frames (which say there is no audio here). */
  g_assert_cmpstr (json_object_get_string_member (g_ptr_array_index (browser->messages, 0), "type"), ==, "hello");
  for (guint i = 1; i < browser->messages->len; i++)
    {
      JsonObject *message = g_ptr_array_index (browser->messages, i);

      g_assert_cmpstr (json_object_get_string_member (message, "type"), ==, "frame");
      g_assert_false (json_object_has_member (message, "dj_id"));
    }
  assert_secret_hidden (dj, "not-alices-key");
}

/* --- cases: which DJ is shown --------------------------------------------- */

typedef struct
{
  WsClient *client;
  gboolean  signed_in;
} Admin;

static gboolean
admin_signed_in (gpointer user_data)
{
  Admin *admin = user_data;

  for (guint i = 0; i < admin->client->messages->len; i++)
    {
      JsonObject *message = g_ptr_array_index (admin->client->messages, i);

      if (g_strcmp0 (json_object_get_string_member (message, "type"), "auth_ok") == 0)
        return TRUE;
    }
  return FALSE;
}

static void
test_active_dj (void)
{
  g_autofree char *keys = write_keys_file ();
  g_autofree char *bob_key = write_file ("bob-key", "  " BOB_KEY "  \nsecond line ignored\n", 0600);
  g_autoptr(Engine) vj = start_vj_server (keys);
  g_autoptr(WsClient) browser = ws_connect (vj->browser_port);
  g_autoptr(Engine) alice = NULL;
  g_autoptr(Engine) bob = NULL;
  g_autoptr(WsClient) admin_client = NULL;
  g_autofree char *auth = NULL;
  g_autofree char *choose = NULL;
  Admin admin = { 0 };

  /* Alice's key comes from the environment this time. */
  alice = start_relaying_dj (vj, "dj_alice", "DJ Alice", NULL, ALICE_KEY);
  wait_for_messages (browser, "dj_frame", "dj_alice", 5, IO_TIMEOUT_MS);
  assert_secret_hidden (alice, ALICE_KEY);

  /* The most recent DJ to connect is shown: Bob, and only Bob. */
  bob = start_relaying_dj (vj, "dj_bob", "DJ Bob", bob_key, NULL);
  wait_for_output (vj, "Active DJ: dj_bob (the most recent DJ to connect)", FALSE, IO_TIMEOUT_MS);
  wait_for_messages (browser, "dj_frame", "dj_bob", 5, IO_TIMEOUT_MS);
  {
    Wanted alice_frames = { browser, "dj_frame", "dj_alice", 0, browser->messages->len };

    wait_for_messages (browser, "dj_frame", "dj_bob", 5, IO_TIMEOUT_MS);
    g_assert_cmpuint (count_matching (&alice_frames), ==, 0);
  }

  /* The admin chooses Alice. */
  admin_client = ws_connect (vj->dj_port);
  admin.client = admin_client;
  auth = roadie_message_dj_auth ("admin", "Admin", ADMIN_KEY);
  soup_websocket_connection_send_text (admin_client->connection, auth);
  g_assert_true (roadie_test_wait_until (admin_signed_in, &admin, IO_TIMEOUT_MS));
  choose = roadie_message_set_active_dj ("dj_alice");
  soup_websocket_connection_send_text (admin_client->connection, choose);
  wait_for_output (vj, "Active DJ: dj_alice (chosen by an admin)", FALSE, IO_TIMEOUT_MS);
  wait_for_messages (browser, "dj_frame", "dj_alice", 5, IO_TIMEOUT_MS);
  {
    Wanted bob_frames = { browser, "dj_frame", "dj_bob", 0, browser->messages->len };

    wait_for_messages (browser, "dj_frame", "dj_alice", 5, IO_TIMEOUT_MS);
    g_assert_cmpuint (count_matching (&bob_frames), ==, 0);
  }

  /* The chosen DJ leaves: the one still there is shown again. */
  engine_stop (alice);
  wait_for_output (vj, "Active DJ: dj_bob (the active DJ left)", FALSE, IO_TIMEOUT_MS);
  wait_for_messages (browser, "dj_frame", "dj_bob", 5, IO_TIMEOUT_MS);
  /* The admin is not a DJ: two DJs connected, no admin among them. */
  wait_for_health (vj->port, "current_djs", 1, IO_TIMEOUT_MS);
  wait_for_health (vj->port, "dj_connects", 2, IO_TIMEOUT_MS);
}

/* --- cases: refusals at start --------------------------------------------- */

static Engine *
spawn_and_wait_exit (const char * const *args,
                     const char         *env_key)
{
  Engine *engine = engine_spawn (args, env_key);

  g_assert_true (roadie_test_wait_until (engine_is_done, engine, START_TIMEOUT_MS));
  return engine;
}

static void
assert_refused (const char * const *args,
                const char         *env_key,
                int                 status,
                const char         *fragment)
{
  g_autoptr(Engine) engine = spawn_and_wait_exit (args, env_key);

  g_test_message ("roadie-engine said: %s", engine->err->str);
  g_assert_true (WIFEXITED (engine->status));
  g_assert_cmpint (WEXITSTATUS (engine->status), ==, status);
  g_assert_nonnull (strstr (engine->err->str, fragment));
  /* Refused before listening: no start-up line. */
  g_assert_null (strstr (engine->out->str, "✓ WebSocket server started"));
}

static void
test_refusals (void)
{
  g_autofree char *open_keys = write_file ("open-keys", "dj_alice " ALICE_KEY "\n", 0644);
  g_autofree char *open_key = write_file ("open-key", ALICE_KEY "\n", 0640);
  g_autofree char *empty_key = write_file ("empty-key", "\n\n", 0600);
  g_autofree char *port = g_strdup_printf ("%u", roadie_test_free_port ());
  g_autofree char *dj_port = g_strdup_printf ("%u", roadie_test_free_port ());
  g_autofree char *missing = g_build_filename (roadie_test_tmpdir (), "no-such-keys", NULL);
  const char *relay = "ws://127.0.0.1:9/";

  /* Keys files that others can read hold secrets in the open. */
  assert_refused ((const char *[]) { "--port", port, "--browser-port", "0", "--dj-port", dj_port,
                                     "--dj-keys", open_keys, NULL }, NULL, 1, "chmod 600");
  assert_refused ((const char *[]) { "--port", port, "--browser-port", "0", "--dj-port", dj_port,
                                     "--dj-keys", missing, NULL }, NULL, 1, "no-such-keys");
  assert_refused ((const char *[]) { "--port", port, "--browser-port", "0", "--dj-port", "0",
                                     "--relay-to", relay, "--dj-id", "dj_alice", "--dj-key-file", open_key, NULL },
                  NULL, 1, "chmod 600");
  assert_refused ((const char *[]) { "--port", port, "--browser-port", "0", "--dj-port", "0",
                                     "--relay-to", relay, "--dj-id", "dj_alice", "--dj-key-file", empty_key, NULL },
                  NULL, 1, "empty");
  /* A relay needs a key, and never takes one on the command line. */
  assert_refused ((const char *[]) { "--port", port, "--browser-port", "0", "--dj-port", "0",
                                     "--relay-to", relay, "--dj-id", "dj_alice", NULL },
                  NULL, 1, "ROADIE_DJ_KEY");
  assert_refused ((const char *[]) { "--port", port, "--dj-key", ALICE_KEY, NULL }, NULL, 2, "--dj-key");

  /* Options that cannot work are usage errors. */
  assert_refused ((const char *[]) { "--port", port, "--relay-to", "http://vj.example.com", "--dj-id", "x", NULL },
                  NULL, 2, "not a WebSocket address");
  assert_refused ((const char *[]) { "--port", port, "--relay-to", relay, NULL }, ALICE_KEY, 2, "--dj-id");
  assert_refused ((const char *[]) { "--port", port, "--visualizer", "localhost:8765", NULL }, NULL, 2, "--visualizer");
  assert_refused ((const char *[]) { "--port", port, "--test-frames", "1000", NULL }, NULL, 2, "--test-frames");
  assert_refused ((const char *[]) { "--port", port, "--browser-port", "70000", NULL }, NULL, 2, "--browser-port");
  assert_refused ((const char *[]) { "--port", port, "--dj-port", "-2", NULL }, NULL, 2, "--dj-port");
}

static void
test_listener_in_use (void)
{
  g_autoptr(Engine) first = engine_start (TRUE, NULL, NULL);
  g_autofree char *port = g_strdup_printf ("%u", roadie_test_free_port ());
  g_autofree char *browser = g_strdup_printf ("%u", first->browser_port);
  g_autofree char *dj = g_strdup_printf ("%u", first->dj_port);
  g_autofree char *expected_browser = g_strdup_printf ("port %u on 127.0.0.1 is already in use; stop the other "
                                                       "program or pass --browser-port", first->browser_port);
  g_autofree char *expected_dj = g_strdup_printf ("port %u on 127.0.0.1 is already in use; stop the other "
                                                  "program or pass --dj-port", first->dj_port);

  assert_refused ((const char *[]) { "--port", port, "--browser-port", browser, "--dj-port", "0", NULL },
                  NULL, 1, expected_browser);
  assert_refused ((const char *[]) { "--port", port, "--browser-port", "0", "--dj-port", dj, NULL },
                  NULL, 1, expected_dj);
  g_assert_false (first->exited);
}

/* --- cases: the visualizer link ------------------------------------------- */

typedef struct
{
  SoupServer *server;
  GPtrArray  *connections;
  guint       frames;
  guint       accepted;
} Visualizer;

static void
visualizer_message (SoupWebsocketConnection *connection,
                    int                      type,
                    GBytes                  *bytes,
                    gpointer                 user_data)
{
  Visualizer *visualizer = user_data;

  if (g_strstr_len (g_bytes_get_data (bytes, NULL), g_bytes_get_size (bytes), "\"type\":\"frame\"") != NULL)
    visualizer->frames++;
}

static void
visualizer_connected (SoupServer              *server,
                      SoupServerMessage       *msg,
                      const char              *path,
                      SoupWebsocketConnection *connection,
                      gpointer                 user_data)
{
  Visualizer *visualizer = user_data;

  visualizer->accepted++;
  g_signal_connect (connection, "message", G_CALLBACK (visualizer_message), visualizer);
  g_ptr_array_add (visualizer->connections, g_object_ref (connection));
}

static void
visualizer_listen (Visualizer *visualizer,
                   guint       port)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GInetAddress) loopback = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr(GSocketAddress) address = g_inet_socket_address_new (loopback, port);

  visualizer->server = soup_server_new (NULL, NULL);
  soup_server_add_websocket_handler (visualizer->server, "/", NULL, NULL, visualizer_connected, visualizer, NULL);
  soup_server_listen (visualizer->server, address, 0, &error);
  g_assert_no_error (error);
}

/* The visualizer goes away: every connection closed, nothing listening. */
static void
visualizer_stop (Visualizer *visualizer)
{
  for (guint i = 0; i < visualizer->connections->len; i++)
    {
      SoupWebsocketConnection *connection = g_ptr_array_index (visualizer->connections, i);

      g_signal_handlers_disconnect_by_data (connection, visualizer);
      if (soup_websocket_connection_get_state (connection) == SOUP_WEBSOCKET_STATE_OPEN)
        soup_websocket_connection_close (connection, SOUP_WEBSOCKET_CLOSE_GOING_AWAY, "visualizer restarting");
    }
  g_ptr_array_set_size (visualizer->connections, 0);
  soup_server_disconnect (visualizer->server);
  g_clear_object (&visualizer->server);
}

static gboolean
visualizer_has_frames (gpointer user_data)
{
  return ((Visualizer *) user_data)->frames >= 5;
}

static void
test_visualizer_link (void)
{
  Visualizer visualizer = { .connections = g_ptr_array_new_with_free_func (g_object_unref) };
  guint port = roadie_test_free_port ();
  g_autofree char *url = g_strdup_printf ("ws://127.0.0.1:%u/", port);
  g_autoptr(Engine) engine = NULL;

  visualizer_listen (&visualizer, port);
  engine = engine_start (FALSE, (const char *[]) { "--visualizer", url, "--test-frames", "30", NULL }, NULL);

  /* Up: the statistics say so, and frames go to the visualizer. */
  wait_for_output (engine, "Visualizer: connected to", FALSE, IO_TIMEOUT_MS);
  wait_for_health (engine->port, "mc_connected", TRUE, IO_TIMEOUT_MS);
  wait_for_health (engine->port, "mc_reconnect_count", 0, IO_TIMEOUT_MS);
  g_assert_true (roadie_test_wait_until (visualizer_has_frames, &visualizer, IO_TIMEOUT_MS));

  /* Gone: mc_connected drops at once. */
  visualizer_stop (&visualizer);
  wait_for_health (engine->port, "mc_connected", FALSE, IO_TIMEOUT_MS);
  wait_for_output (engine, "Visualizer: lost", FALSE, IO_TIMEOUT_MS);

  /* Back on the same port: the link returns by itself within its backoff
   * (5 s, ×1.5 after a failed try, ±10 %), counted as a reconnection. */
  visualizer_listen (&visualizer, port);
  visualizer.frames = 0;
  wait_for_health (engine->port, "mc_connected", TRUE, 15000);
  wait_for_health (engine->port, "mc_reconnect_count", 1, IO_TIMEOUT_MS);
  g_assert_cmpuint (visualizer.accepted, ==, 2);
  g_assert_true (roadie_test_wait_until (visualizer_has_frames, &visualizer, IO_TIMEOUT_MS));

  engine_stop (engine);
  visualizer_stop (&visualizer);
  g_ptr_array_unref (visualizer.connections);
}

/* --- cases: the supervisor passes the settings on ------------------------- */

static gboolean
supervisor_is_running (gpointer user_data)
{
  return roadie_supervisor_get_state (user_data) == ROADIE_SUPERVISOR_STATE_RUNNING;
}

static gboolean
supervisor_is_stopped (gpointer user_data)
{
  return roadie_supervisor_get_state (user_data) == ROADIE_SUPERVISOR_STATE_STOPPED;
}

static void
test_supervised_settings (void)
{
  g_autoptr(GSettings) gsettings = roadie_test_new_gsettings ();
  g_autoptr(RoadieSettings) settings = NULL;
  g_autoptr(RoadieSupervisor) supervisor = NULL;
  g_autoptr(WsClient) browser = NULL;
  g_autoptr(WsClient) dj = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *keys = write_keys_file ();
  g_autofree char *auth = roadie_message_dj_auth ("dj_bob", "DJ Bob", BOB_KEY);
  guint port = roadie_test_free_port ();
  guint browser_port = roadie_test_free_port ();
  guint dj_port = roadie_test_free_port ();
  JsonObject *answer;

  /* The bundled engine (executable-path empty) with the engine-* keys. */
  g_settings_set_int (gsettings, "ws-port", port);
  g_settings_set_int (gsettings, "engine-browser-port", browser_port);
  g_settings_set_int (gsettings, "engine-dj-port", dj_port);
  g_settings_set_string (gsettings, "engine-dj-keys-file", keys);
  g_settings_set_boolean (gsettings, "auto-restart", FALSE);
  settings = roadie_settings_new (gsettings, NULL);
  supervisor = roadie_supervisor_new (settings);

  g_assert_true (roadie_supervisor_start (supervisor, &error));
  g_assert_no_error (error);
  g_assert_true (roadie_test_wait_until (supervisor_is_running, supervisor, START_TIMEOUT_MS));

  /* The browser listener is where the setting put it… */
  browser = ws_connect (browser_port);
  wait_for_messages (browser, "hello", NULL, 1, IO_TIMEOUT_MS);
  /* …and the DJ listener checks the keys file the setting named. */
  dj = ws_connect (dj_port);
  soup_websocket_connection_send_text (dj->connection, auth);
  wait_for_messages (dj, "auth_ok", NULL, 1, IO_TIMEOUT_MS);
  answer = last_message (dj);
  g_assert_cmpstr (json_object_get_string_member (answer, "type"), ==, "auth_ok");
  wait_for_health (port, "current_djs", 1, IO_TIMEOUT_MS);

  g_clear_pointer (&browser, ws_client_free);
  g_clear_pointer (&dj, ws_client_free);
  roadie_supervisor_stop (supervisor, NULL);
  g_assert_true (roadie_test_wait_until (supervisor_is_stopped, supervisor, START_TIMEOUT_MS));
}

/* --- cases: the pure parts ------------------------------------------------ */

static void
test_active_dj_rules (void)
{
  g_autoptr(RoadieActiveDj) active = roadie_active_dj_new ();

  g_assert_null (roadie_active_dj_get (active));

  /* The most recent to connect. */
  g_assert_true (roadie_active_dj_connected (active, "alice"));
  g_assert_cmpstr (roadie_active_dj_get (active), ==, "alice");
  g_assert_true (roadie_active_dj_connected (active, "bob"));
  g_assert_cmpstr (roadie_active_dj_get (active), ==, "bob");

  /* An admin's choice holds while that DJ is connected… */
  g_assert_true (roadie_active_dj_choose (active, "alice"));
  g_assert_cmpstr (roadie_active_dj_get (active), ==, "alice");
  g_assert_false (roadie_active_dj_connected (active, "carol"));
  g_assert_cmpstr (roadie_active_dj_get (active), ==, "alice");

  /* …falls back to the most recent when it leaves, and holds again when
   * the chosen DJ returns. */
  g_assert_true (roadie_active_dj_disconnected (active, "alice"));
  g_assert_cmpstr (roadie_active_dj_get (active), ==, "carol");
  g_assert_true (roadie_active_dj_connected (active, "alice"));
  g_assert_cmpstr (roadie_active_dj_get (active), ==, "alice");

  /* Choosing nobody goes back to the most recent. */
  g_assert_false (roadie_active_dj_choose (active, NULL));
  g_assert_cmpstr (roadie_active_dj_get (active), ==, "alice");
  g_assert_true (roadie_active_dj_disconnected (active, "alice"));
  g_assert_cmpstr (roadie_active_dj_get (active), ==, "carol");

  /* A DJ back before its old connection closed keeps its new place. */
  g_assert_true (roadie_active_dj_connected (active, "bob"));
  g_assert_cmpstr (roadie_active_dj_get (active), ==, "bob");
  g_assert_false (roadie_active_dj_disconnected (active, "bob"));
  g_assert_cmpstr (roadie_active_dj_get (active), ==, "bob");
  g_assert_true (roadie_active_dj_disconnected (active, "bob"));
  g_assert_true (roadie_active_dj_disconnected (active, "carol"));
  g_assert_null (roadie_active_dj_get (active));
}

static void
test_frames_shape (void)
{
  static const char *order[] = { "type", "seq", "ts", "rms", "peak", "bands", "onset", "beat", "bpm",
                                 "confidence", "phase" };
  const double fps = 60.0;
  guint beats = 0;

  for (guint64 seq = 0; seq < 60 * 10; seq++)
    {
      g_autofree char *text = roadie_test_frame_build (seq, fps, 1706889600.125, NULL);
      g_autoptr(GError) error = NULL;
      gushort code = 0;
      g_autoptr(RoadieMessage) message = roadie_message_parse (text, strlen (text), 0, &code, &error);
      g_autoptr(GList) members = NULL;
      guint i = 0;

      /* A message the protocol accepts, DESIGN.md's fields in order. */
      g_assert_no_error (error);
      g_assert_cmpint (message->type, ==, ROADIE_MESSAGE_FRAME);
      members = json_object_get_members (message->object);
      for (GList *l = members; l != NULL; l = l->next, i++)
        g_assert_cmpstr (l->data, ==, order[i]);
      g_assert_cmpuint (i, ==, G_N_ELEMENTS (order));
      g_assert_cmpint (json_object_get_int_member (message->object, "seq"), ==, (gint64) seq);
      g_assert_cmpfloat (json_object_get_double_member (message->object, "ts"), ==, 1706889600.125);
      g_assert_cmpuint (json_array_get_length (json_object_get_array_member (message->object, "bands")), ==, 32);
      for (guint b = 0; b < 32; b++)
        {
          double level = json_array_get_double_element (json_object_get_array_member (message->object, "bands"), b);

          g_assert_cmpfloat (level, >=, 0.0);
          g_assert_cmpfloat (level, <=, 1.0);
        }
      if (json_object_get_boolean_member (message->object, "beat"))
        beats++;
      /* About the size of a real frame. */
      g_assert_cmpuint (strlen (text), >, 600);
      g_assert_cmpuint (strlen (text), <, 1000);
    }
  /* 128 BPM for 10 s: 21 or 22 beats, one frame each. */
  g_assert_cmpuint (beats, >=, 21);
  g_assert_cmpuint (beats, <=, 22);

  {
    g_autofree char *text = roadie_test_frame_build (7, fps, 1.5, "dj_alice");

    g_assert_true (g_str_has_prefix (text, "{\"type\":\"dj_frame\",\"dj_id\":\"dj_alice\",\"seq\":7,"));
  }
}

static void
test_secret_file (void)
{
  g_autofree char *good = write_file ("secret-good", "  s3cret-key \r\nnext line\n", 0600);
  g_autofree char *group = write_file ("secret-group", "s3cret-key\n", 0640);
  g_autofree char *others = write_file ("secret-others", "s3cret-key\n", 0604);
  g_autofree char *empty = write_file ("secret-empty", "   \n", 0600);
  g_autofree char *missing = g_build_filename (roadie_test_tmpdir (), "secret-missing", NULL);
  g_autofree char *key = NULL;
  g_autoptr(GError) error = NULL;

  key = roadie_engine_read_secret_file (good, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (key, ==, "s3cret-key");

  for (guint i = 0; i < 4; i++)
    {
      const char *path = (const char *[]) { group, others, empty, missing }[i];
      const char *fragment = (const char *[]) { "chmod 600", "chmod 600", "empty", "secret-missing" }[i];
      g_autoptr(GError) refused = NULL;
      g_autofree char *none = roadie_engine_read_secret_file (path, &refused);

      g_assert_null (none);
      g_assert_nonnull (refused);
      g_assert_nonnull (strstr (refused->message, fragment));
      /* The refusal never quotes the file's contents. */
      g_assert_null (strstr (refused->message, "s3cret"));
    }
}

int
main (int   argc,
      char *argv[])
{
  roadie_test_init_environment ();
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/roadie/engine-relay/active-dj-rules", test_active_dj_rules);
  g_test_add_func ("/roadie/engine-relay/frames-shape", test_frames_shape);
  g_test_add_func ("/roadie/engine-relay/secret-file", test_secret_file);
  g_test_add_func ("/roadie/engine-relay/refusals", test_refusals);
  g_test_add_func ("/roadie/engine-relay/listener-in-use", test_listener_in_use);
  g_test_add_func ("/roadie/engine-relay/relay", test_relay);
  g_test_add_func ("/roadie/engine-relay/wrong-key", test_relay_wrong_key);
  g_test_add_func ("/roadie/engine-relay/active-dj", test_active_dj);
  g_test_add_func ("/roadie/engine-relay/visualizer", test_visualizer_link);
  g_test_add_func ("/roadie/engine-relay/supervised-settings", test_supervised_settings);

  return g_test_run ();
}
