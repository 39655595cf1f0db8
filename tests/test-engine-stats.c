/* test-engine-stats.c: roadie-engine's `stats` messages to its subscribers.
 *
 * A real roadie-engine on ephemeral ports; a RoadieWsClient subscribes to
 * its engine port like the window's link does:
 *  - stats comes right after hello, with the seed's fields in the seed's
 *    order, then "djs" and "links", and again every second;
 *  - DJs signing in show up by id and name, the most recent one active; a
 *    browser is counted; a DJ leaving is reflected within a second;
 *  - a visualizer and a relay pointed at dead ports show "backoff" and a
 *    next retry that counts down.
 */
#include "config.h"

#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <json-glib/json-glib.h>

#include "roadie-protocol.h"
#include "roadie-test-util.h"
#include "roadie-ws-client.h"

#define START_TIMEOUT_MS 10000
#define IO_TIMEOUT_MS    5000

#define ALICE_KEY "alice-7f3a9c-secret"
#define BOB_KEY   "bob-51d2e8-secret"

/* --- roadie-engine as a child process --------------------------------------- */

typedef struct
{
  GSubprocess *process;
  GString     *out;
  gboolean     out_done;
  gboolean     exited;
  int          status;
  guint        port;
  guint        browser_port;
  guint        dj_port;
} Engine;

static void read_out (Engine *engine);

static void
out_read (GObject      *object,
          GAsyncResult *result,
          gpointer      user_data)
{
  Engine *engine = user_data;
  g_autoptr(GBytes) bytes = g_input_stream_read_bytes_finish (G_INPUT_STREAM (object), result, NULL);

  if (bytes == NULL || g_bytes_get_size (bytes) == 0)
    {
      engine->out_done = TRUE;
      return;
    }
  g_string_append_len (engine->out, g_bytes_get_data (bytes, NULL), g_bytes_get_size (bytes));
  read_out (engine);
}

static void
read_out (Engine *engine)
{
  g_input_stream_read_bytes_async (g_subprocess_get_stdout_pipe (engine->process), 4096,
                                   G_PRIORITY_DEFAULT, NULL, out_read, engine);
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

static void
die_with_test (gpointer user_data)
{
  prctl (PR_SET_PDEATHSIG, SIGKILL);
}

static gboolean
engine_is_listening (gpointer user_data)
{
  Engine *engine = user_data;

  return engine->exited || strstr (engine->out->str, "✓ WebSocket server started") != NULL;
}

static gboolean
engine_is_done (gpointer user_data)
{
  Engine *engine = user_data;

  return engine->exited && engine->out_done;
}

/* roadie-engine with its three ports on free ports (browser and DJ only
 * when with_listeners), a synthetic frame source so no PipeWire is
 * needed, and extra. */
static Engine *
engine_start (gboolean            with_listeners,
              const char * const *extra)
{
  g_autoptr(GSubprocessLauncher) launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE);
  g_autoptr(GPtrArray) argv = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GError) error = NULL;
  Engine *engine = g_new0 (Engine, 1);

  engine->port = roadie_test_free_port ();
  engine->browser_port = with_listeners ? roadie_test_free_port () : 0;
  engine->dj_port = with_listeners ? roadie_test_free_port () : 0;

  g_ptr_array_add (argv, g_strdup (roadie_test_engine ()));
  g_ptr_array_add (argv, g_strdup_printf ("--port=%u", engine->port));
  g_ptr_array_add (argv, g_strdup_printf ("--browser-port=%u", engine->browser_port));
  g_ptr_array_add (argv, g_strdup_printf ("--dj-port=%u", engine->dj_port));
  g_ptr_array_add (argv, g_strdup ("--test-frames=5"));
  for (guint i = 0; extra != NULL && extra[i] != NULL; i++)
    g_ptr_array_add (argv, g_strdup (extra[i]));
  g_ptr_array_add (argv, NULL);

  g_subprocess_launcher_setenv (launcher, "G_DEBUG", "fatal-criticals", TRUE);
  g_subprocess_launcher_set_child_setup (launcher, die_with_test, NULL, NULL);
  engine->out = g_string_new (NULL);
  engine->process = g_subprocess_launcher_spawnv (launcher, (const char * const *) argv->pdata, &error);
  g_assert_no_error (error);
  read_out (engine);
  g_subprocess_wait_async (engine->process, NULL, engine_exited, engine);

  g_assert_true (roadie_test_wait_until (engine_is_listening, engine, START_TIMEOUT_MS));
  if (engine->exited)
    g_error ("roadie-engine did not start: %s", engine->out->str);
  return engine;
}

static void
engine_free (Engine *engine)
{
  if (!engine->exited)
    g_subprocess_send_signal (engine->process, SIGTERM);
  g_assert_true (roadie_test_wait_until (engine_is_done, engine, IO_TIMEOUT_MS));
  /* A clean exit; under the sanitizers a leak would show here. */
  g_assert_true (WIFEXITED (engine->status));
  g_assert_cmpint (WEXITSTATUS (engine->status), ==, 0);
  g_clear_object (&engine->process);
  g_string_free (engine->out, TRUE);
  g_free (engine);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (Engine, engine_free)

static char *
write_file (const char *name,
            const char *contents)
{
  g_autofree char *path = g_build_filename (roadie_test_tmpdir (), name, NULL);
  g_autoptr(GError) error = NULL;

  g_file_set_contents (path, contents, -1, &error);
  g_assert_no_error (error);
  g_assert_cmpint (chmod (path, 0600), ==, 0);
  return g_steal_pointer (&path);
}

/* --- a subscriber ------------------------------------------------------------ */

typedef struct
{
  RoadieWsClient *client;
  GPtrArray      *types;      /* char *, every message's type in order */
  GPtrArray      *stats;      /* JsonObject *, every stats message */
  GArray         *stats_at;   /* gint64 monotonic arrival of each stats */
} Subscriber;

static void
on_message (RoadieWsClient *client,
            const char     *text,
            JsonObject     *object,
            gpointer        user_data)
{
  Subscriber *sub = user_data;
  gint64 now = g_get_monotonic_time ();
  const char *type;

  g_assert_nonnull (object);
  type = json_object_get_string_member (object, "type");
  g_ptr_array_add (sub->types, g_strdup (type));
  if (g_strcmp0 (type, "stats") == 0)
    {
      g_autoptr(GError) error = NULL;
      gushort code = 0;
      g_autoptr(RoadieMessage) parsed = roadie_message_parse (text, strlen (text), 0, &code, &error);

      /* The app side reads it with the same strict parser. */
      g_assert_no_error (error);
      g_assert_cmpint (parsed->type, ==, ROADIE_MESSAGE_STATS);
      g_ptr_array_add (sub->stats, json_object_ref (object));
      g_array_append_val (sub->stats_at, now);
    }
}

static Subscriber *
subscriber_new (guint port)
{
  g_autofree char *url = g_strdup_printf ("ws://127.0.0.1:%u/", port);
  Subscriber *sub = g_new0 (Subscriber, 1);

  sub->client = roadie_ws_client_new (url);
  g_object_set (sub->client, "auto-reconnect", FALSE, "max-connect-attempts", 1, NULL);
  sub->types = g_ptr_array_new_with_free_func (g_free);
  sub->stats = g_ptr_array_new_with_free_func ((GDestroyNotify) json_object_unref);
  sub->stats_at = g_array_new (FALSE, FALSE, sizeof (gint64));
  g_signal_connect (sub->client, "message", G_CALLBACK (on_message), sub);
  roadie_ws_client_connect (sub->client);
  return sub;
}

static void
subscriber_free (Subscriber *sub)
{
  roadie_ws_client_close (sub->client);
  g_clear_object (&sub->client);
  g_ptr_array_unref (sub->types);
  g_ptr_array_unref (sub->stats);
  g_array_unref (sub->stats_at);
  g_free (sub);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (Subscriber, subscriber_free)

static JsonObject *
latest_stats (Subscriber *sub)
{
  if (sub->stats->len == 0)
    return NULL;
  return g_ptr_array_index (sub->stats, sub->stats->len - 1);
}

typedef struct
{
  Subscriber *sub;
  guint       count;
} WantCount;

static gboolean
has_n_stats (gpointer user_data)
{
  WantCount *want = user_data;

  return want->sub->stats->len >= want->count;
}

static void
wait_for_n_stats (Subscriber *sub,
                  guint       count,
                  guint       timeout_ms)
{
  WantCount want = { sub, count };

  if (!roadie_test_wait_until (has_n_stats, &want, timeout_ms))
    g_error ("only %u stats messages within %u ms, wanted %u", sub->stats->len, timeout_ms, count);
}

/* The DJ entry with dj_id in stats, or NULL. */
static JsonObject *
find_dj (JsonObject *stats,
         const char *dj_id)
{
  JsonArray *djs = json_object_get_array_member (stats, "djs");

  for (guint i = 0; i < json_array_get_length (djs); i++)
    {
      JsonObject *dj = json_array_get_object_element (djs, i);

      if (g_strcmp0 (json_object_get_string_member (dj, "dj_id"), dj_id) == 0)
        return dj;
    }
  return NULL;
}

typedef gboolean (*StatsCheck) (JsonObject *stats);

typedef struct
{
  Subscriber *sub;
  StatsCheck  check;
} WantStats;

static gboolean
latest_passes (gpointer user_data)
{
  WantStats *want = user_data;
  JsonObject *stats = latest_stats (want->sub);

  return stats != NULL && want->check (stats);
}

/* Waits for a stats message that passes check; returns when it came. */
static gint64
wait_for_stats (Subscriber *sub,
                StatsCheck  check,
                const char *what,
                guint       timeout_ms)
{
  WantStats want = { sub, check };

  if (!roadie_test_wait_until (latest_passes, &want, timeout_ms))
    {
      g_autofree char *text = NULL;

      if (latest_stats (sub) != NULL)
        {
          g_autoptr(JsonNode) node = json_node_init_object (json_node_alloc (), latest_stats (sub));
          text = json_to_string (node, FALSE);
        }
      g_error ("no stats with %s within %u ms; the latest: %s", what, timeout_ms, text);
    }
  return g_array_index (sub->stats_at, gint64, sub->stats_at->len - 1);
}

static gboolean
subscriber_is_connected (gpointer user_data)
{
  return roadie_ws_client_get_state (user_data) == ROADIE_WS_CLIENT_STATE_CONNECTED;
}

/* A DJ signed in on the DJ port with RoadieWsClient, as engines relay. */
static RoadieWsClient *
dj_sign_in (Engine     *engine,
            const char *dj_id,
            const char *dj_name,
            const char *key)
{
  g_autofree char *url = g_strdup_printf ("ws://127.0.0.1:%u/", engine->dj_port);
  g_autofree char *auth = roadie_message_dj_auth (dj_id, dj_name, key);
  RoadieWsClient *dj = roadie_ws_client_new (url);

  g_object_set (dj, "auth-message", auth, "auto-reconnect", FALSE, NULL);
  roadie_ws_client_connect (dj);
  g_assert_true (roadie_test_wait_until (subscriber_is_connected, dj, IO_TIMEOUT_MS));
  return dj;
}

/* --- tests -------------------------------------------------------------------- */

static void
test_after_hello (void)
{
  static const char * const seed_fields[] = {
    "dj_connects", "dj_disconnects", "browser_connects", "browser_disconnects",
    "mc_reconnect_count", "current_djs", "current_browsers", "mc_connected",
  };
  g_autoptr(Engine) engine = engine_start (FALSE, NULL);
  g_autoptr(Subscriber) sub = subscriber_new (engine->port);
  g_autoptr(GList) members = NULL;
  JsonObject *stats, *links;
  GList *l;
  gint64 first_at;

  roadie_test_allow_roadie_warnings ();
  wait_for_n_stats (sub, 1, IO_TIMEOUT_MS);
  /* hello, then stats at once: before any frame and any periodic one. */
  g_assert_cmpuint (sub->types->len, >=, 2);
  g_assert_cmpstr (g_ptr_array_index (sub->types, 0), ==, "hello");
  g_assert_cmpstr (g_ptr_array_index (sub->types, 1), ==, "stats");

  stats = latest_stats (sub);
  members = json_object_get_members (stats);
  l = members;
  g_assert_cmpstr (l->data, ==, "type");
  for (guint i = 0; i < G_N_ELEMENTS (seed_fields); i++)
    {
      l = l->next;
      g_assert_nonnull (l);
      g_assert_cmpstr (l->data, ==, seed_fields[i]);
    }
  g_assert_cmpstr (l->next->data, ==, "djs");
  g_assert_cmpstr (l->next->next->data, ==, "links");
  g_assert_null (l->next->next->next);

  g_assert_cmpuint (json_array_get_length (json_object_get_array_member (stats, "djs")), ==, 0);
  links = json_object_get_object_member (stats, "links");
  g_assert_true (json_object_has_member (links, "visualizer"));
  g_assert_true (json_object_get_null_member (links, "visualizer"));
  g_assert_true (json_object_get_null_member (links, "relay"));

  /* Then once a second. */
  first_at = g_array_index (sub->stats_at, gint64, 0);
  wait_for_n_stats (sub, 4, 6000);
  g_assert_cmpint (g_array_index (sub->stats_at, gint64, 3) - first_at, >=, 1500 * 1000);
  g_assert_cmpint (g_array_index (sub->stats_at, gint64, 3) - first_at, <=, 5000 * 1000);
}

static gboolean
alice_active (JsonObject *stats)
{
  JsonObject *alice = find_dj (stats, "dj_alice");

  return alice != NULL && json_object_get_boolean_member (alice, "active");
}

static gboolean
bob_active_alice_not (JsonObject *stats)
{
  JsonObject *alice = find_dj (stats, "dj_alice");
  JsonObject *bob = find_dj (stats, "dj_bob");

  return alice != NULL && bob != NULL
         && json_object_get_boolean_member (bob, "active")
         && !json_object_get_boolean_member (alice, "active");
}

static gboolean
one_browser (JsonObject *stats)
{
  return json_object_get_int_member (stats, "current_browsers") == 1;
}

static gboolean
bob_gone (JsonObject *stats)
{
  return find_dj (stats, "dj_bob") == NULL;
}

static void
test_djs (void)
{
  g_autofree char *keys = write_file ("dj-keys",
                                      "dj_alice " ALICE_KEY "\n"
                                      "dj_bob " BOB_KEY "\n");
  g_autoptr(Engine) engine = engine_start (TRUE, (const char *[]) { "--dj-keys", keys, NULL });
  g_autoptr(Subscriber) sub = subscriber_new (engine->port);
  g_autoptr(RoadieWsClient) alice = NULL;
  g_autoptr(RoadieWsClient) bob = NULL;
  g_autoptr(Subscriber) browser = NULL;
  JsonObject *stats, *dj;
  gint64 closed_at, seen_at;

  roadie_test_allow_roadie_warnings ();
  wait_for_n_stats (sub, 1, IO_TIMEOUT_MS);

  alice = dj_sign_in (engine, "dj_alice", "Alice", ALICE_KEY);
  wait_for_stats (sub, alice_active, "dj_alice active", 3000);
  stats = latest_stats (sub);
  dj = find_dj (stats, "dj_alice");
  g_assert_cmpstr (json_object_get_string_member (dj, "dj_name"), ==, "Alice");
  g_assert_cmpint (json_object_get_int_member (stats, "current_djs"), ==, 1);
  g_assert_cmpint (json_object_get_int_member (stats, "dj_connects"), ==, 1);

  bob = dj_sign_in (engine, "dj_bob", "Bob", BOB_KEY);
  wait_for_stats (sub, bob_active_alice_not, "dj_bob active, dj_alice not", 3000);
  stats = latest_stats (sub);
  g_assert_cmpuint (json_array_get_length (json_object_get_array_member (stats, "djs")), ==, 2);
  /* Oldest first. */
  dj = json_array_get_object_element (json_object_get_array_member (stats, "djs"), 0);
  g_assert_cmpstr (json_object_get_string_member (dj, "dj_id"), ==, "dj_alice");
  g_assert_cmpstr (json_object_get_string_member (find_dj (stats, "dj_bob"), "dj_name"), ==, "Bob");

  browser = subscriber_new (engine->browser_port);
  wait_for_stats (sub, one_browser, "one browser", 3000);
  /* The browser port gets no statistics, only the engine port. */
  g_assert_cmpuint (browser->stats->len, ==, 0);

  /* Bob leaves: within a second, not at the next periodic message after it. */
  roadie_ws_client_close (bob);
  closed_at = g_get_monotonic_time ();
  seen_at = wait_for_stats (sub, bob_gone, "dj_bob gone", 3000);
  g_assert_cmpint (seen_at - closed_at, <, 1000 * 1000);
  g_assert_true (alice_active (latest_stats (sub)));
  g_assert_cmpint (json_object_get_int_member (latest_stats (sub), "dj_disconnects"), ==, 1);
  g_assert_cmpint (json_object_get_int_member (latest_stats (sub), "current_djs"), ==, 1);

  roadie_ws_client_close (alice);
}

static gint64 link_retry_ms[2] = { -1, -1 };

static gboolean
links_in_backoff (JsonObject *stats)
{
  JsonObject *links = json_object_get_object_member (stats, "links");
  const char *names[] = { "visualizer", "relay" };

  for (guint i = 0; i < G_N_ELEMENTS (names); i++)
    {
      JsonObject *link;

      if (json_object_get_null_member (links, names[i]))
        return FALSE;
      link = json_object_get_object_member (links, names[i]);
      if (g_strcmp0 (json_object_get_string_member (link, "state"), "backoff") != 0
          || json_object_get_null_member (link, "next_retry_ms"))
        return FALSE;
      link_retry_ms[i] = json_object_get_int_member (link, "next_retry_ms");
    }
  return TRUE;
}

static void
test_links (void)
{
  guint dead_visualizer = roadie_test_free_port ();
  guint dead_relay = roadie_test_free_port ();
  g_autofree char *visualizer_url = g_strdup_printf ("ws://127.0.0.1:%u/", dead_visualizer);
  g_autofree char *relay_url = g_strdup_printf ("ws://127.0.0.1:%u/", dead_relay);
  g_autofree char *key = write_file ("relay-key", ALICE_KEY "\n");
  g_autoptr(Engine) engine = engine_start (FALSE, (const char *[]) {
    "--visualizer", visualizer_url,
    "--relay-to", relay_url, "--dj-id", "dj_alice", "--dj-name", "Alice", "--dj-key-file", key,
    NULL });
  g_autoptr(Subscriber) sub = subscriber_new (engine->port);
  JsonObject *links;
  gint64 first[2];
  gint64 seen_at;

  roadie_test_allow_roadie_warnings ();
  seen_at = wait_for_stats (sub, links_in_backoff, "both links in backoff", 8000);
  links = json_object_get_object_member (latest_stats (sub), "links");
  g_assert_cmpstr (json_object_get_string_member (json_object_get_object_member (links, "visualizer"), "url"),
                   ==, visualizer_url);
  g_assert_cmpstr (json_object_get_string_member (json_object_get_object_member (links, "relay"), "url"),
                   ==, relay_url);
  /* Both profiles wait 5 s ± 10 % after the first failed attempt. */
  for (guint i = 0; i < 2; i++)
    {
      g_assert_cmpint (link_retry_ms[i], >, 0);
      g_assert_cmpint (link_retry_ms[i], <=, 5500);
      first[i] = link_retry_ms[i];
    }

  /* A second later the same wait, shorter. */
  wait_for_n_stats (sub, sub->stats->len + 1, 3000);
  g_assert_true (links_in_backoff (latest_stats (sub)));
  for (guint i = 0; i < 2; i++)
    {
      gint64 elapsed_ms = (g_array_index (sub->stats_at, gint64, sub->stats_at->len - 1) - seen_at) / 1000;

      g_assert_cmpint (link_retry_ms[i], <, first[i]);
      /* Within generous bounds of the time that passed. */
      g_assert_cmpint (first[i] - link_retry_ms[i], >=, elapsed_ms - 500);
    }
}

int
main (int   argc,
      char *argv[])
{
  roadie_test_init_environment ();
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/roadie/engine-stats/after-hello", test_after_hello);
  g_test_add_func ("/roadie/engine-stats/djs", test_djs);
  g_test_add_func ("/roadie/engine-stats/links", test_links);

  return g_test_run ();
}
