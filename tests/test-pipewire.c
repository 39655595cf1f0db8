/* test-pipewire.c: roadie-engine against a real, private PipeWire.
 *
 * The test starts its own pipewire and wireplumber (a private
 * XDG_RUNTIME_DIR / PIPEWIRE_RUNTIME_DIR and D-Bus session, so it runs the
 * same as root in CI and beside a desktop session), makes two null sinks
 * and a virtual microphone, and starts roadie-engine in its default mode.
 * Then: the demo groove played into the default sink with pw-play reaches
 * the engine's frames with audio, level and the right tempo; after
 * `wpctl set-default` to the second sink, music played there shows in the
 * frames within 500 ms, the engine untouched; and in pw-dump the engine's
 * stream only ever links to a sink's monitor, never to the microphone;
 * PipeWire stopped and started again under the running engine, which says
 * there is no audio meanwhile and captures again after.
 * Every process it starts dies at exit (and with it, by PDEATHSIG).
 */
#include "config.h"

#include <signal.h>
#include <string.h>
#include <sys/prctl.h>

#include <json-glib/json-glib.h>
#include <libsoup/soup.h>
#include <sndfile.h>

#include "roadie-demo-source.h"
#include "roadie-test-util.h"

#define READY_TIMEOUT_MS   10000
#define AUDIO_TIMEOUT_MS   10000
#define RESUME_LIMIT_MS    500
#define SINK_A             "roadie-test-sink"
#define SINK_B             "roadie-test-sink-2"
#define MICROPHONE         "roadie-test-mic"
/* Frames louder than this carry the music, not a silent sink. */
#define MUSIC_RMS          0.02

static GPtrArray *daemons;   /* GSubprocess, killed at exit */
static GSubprocess *engine;
static GSubprocess *player;
static char *track_path;

/* --- processes --------------------------------------------------------------- */

static void
die_with_parent (gpointer user_data)
{
  prctl (PR_SET_PDEATHSIG, SIGKILL);
}

static GSubprocess *
spawn (const char * const *argv,
       GSubprocessFlags     flags)
{
  g_autoptr(GSubprocessLauncher) launcher = g_subprocess_launcher_new (flags);
  g_autoptr(GError) error = NULL;
  GSubprocess *process;

  g_subprocess_launcher_set_child_setup (launcher, die_with_parent, NULL, NULL);
  process = g_subprocess_launcher_spawnv (launcher, argv, &error);
  g_assert_no_error (error);

  return process;
}

static void
kill_process (GSubprocess *process)
{
  if (process == NULL)
    return;
  g_subprocess_force_exit (process);
  g_subprocess_wait (process, NULL, NULL);
}

/* For g_clear_pointer: ends the process and drops the reference. */
static void
kill_and_unref (GSubprocess *process)
{
  kill_process (process);
  g_object_unref (process);
}

static void stop_daemons (void);

static void
kill_everything (void)
{
  g_clear_pointer (&player, kill_and_unref);
  g_clear_pointer (&engine, kill_and_unref);
  /* WirePlumber before PipeWire, so it does not log a lost daemon. */
  if (daemons != NULL)
    stop_daemons ();
}

/* Runs a command to completion (bounded by timeout(1)); its stdout, or
 * NULL when it failed. */
static char *
run_tool (const char * const *args)
{
  g_autoptr(GPtrArray) argv = g_ptr_array_new ();
  g_autoptr(GSubprocess) process = NULL;
  g_autoptr(GError) error = NULL;
  char *out = NULL;

  g_ptr_array_add (argv, (gpointer) "timeout");
  g_ptr_array_add (argv, (gpointer) "10");
  for (guint i = 0; args[i] != NULL; i++)
    g_ptr_array_add (argv, (gpointer) args[i]);
  g_ptr_array_add (argv, NULL);

  process = spawn ((const char * const *) argv->pdata,
                   G_SUBPROCESS_FLAGS_STDOUT_PIPE | G_SUBPROCESS_FLAGS_STDERR_SILENCE);
  g_subprocess_communicate_utf8 (process, NULL, NULL, &out, NULL, &error);
  g_assert_no_error (error);
  if (!g_subprocess_get_successful (process))
    g_clear_pointer (&out, g_free);

  return out;
}

/* --- the graph, through pw-dump ------------------------------------------------ */

static JsonArray *
dump_graph (JsonParser *parser)
{
  g_autofree char *json = run_tool ((const char *[]) { "pw-dump", NULL });

  g_assert_nonnull (json);
  g_assert_true (json_parser_load_from_data (parser, json, -1, NULL));

  return json_node_get_array (json_parser_get_root (parser));
}

static JsonObject *
node_props (JsonObject *object)
{
  JsonObject *info;

  if (g_strcmp0 (json_object_get_string_member_with_default (object, "type", ""), "PipeWire:Interface:Node") != 0)
    return NULL;
  info = json_object_get_object_member (object, "info");
  if (info == NULL || !json_object_has_member (info, "props"))
    return NULL;
  return json_object_get_object_member (info, "props");
}

/* The id of the node whose node.name is name, 0 when there is none. */
static gint64
find_node (const char *name)
{
  g_autoptr(JsonParser) parser = json_parser_new ();
  JsonArray *graph = dump_graph (parser);

  for (guint i = 0; i < json_array_get_length (graph); i++)
    {
      JsonObject *object = json_array_get_object_element (graph, i);
      JsonObject *props = node_props (object);

      if (props != NULL && g_strcmp0 (json_object_get_string_member_with_default (props, "node.name", ""), name) == 0)
        return json_object_get_int_member (object, "id");
    }
  return 0;
}

typedef struct
{
  const char *name;
} NodeWanted;

static gboolean
node_exists (gpointer user_data)
{
  NodeWanted *wanted = user_data;

  return find_node (wanted->name) != 0;
}

static void
wait_for_node (const char *name)
{
  NodeWanted wanted = { name };

  if (!roadie_test_wait_until (node_exists, &wanted, READY_TIMEOUT_MS))
    g_error ("PipeWire node %s never appeared", name);
}

static gboolean
wireplumber_ready (gpointer user_data)
{
  g_autofree char *status = run_tool ((const char *[]) { "wpctl", "status", NULL });

  return status != NULL && strstr (status, "WirePlumber") != NULL;
}

static void
create_null_node (const char *name,
                  const char *media_class)
{
  g_autofree char *props = g_strdup_printf ("{ factory.name=support.null-audio-sink node.name=%s "
                                            "node.description=%s media.class=%s object.linger=true "
                                            "audio.position=[FL FR] }", name, name, media_class);
  g_autofree char *out = run_tool ((const char *[]) { "pw-cli", "create-node", "adapter", props, NULL });

  g_assert_nonnull (out);
  wait_for_node (name);
}

typedef struct
{
  const char *name;
  const char *which;   /* @DEFAULT_AUDIO_SINK@ or @DEFAULT_AUDIO_SOURCE@ */
} DefaultWanted;

static gboolean
default_is_set (gpointer user_data)
{
  DefaultWanted *wanted = user_data;
  g_autofree char *id = g_strdup_printf ("%" G_GINT64_FORMAT, find_node (wanted->name));
  g_autofree char *quoted = g_strdup_printf ("node.name = \"%s\"", wanted->name);
  g_autofree char *set = run_tool ((const char *[]) { "wpctl", "set-default", id, NULL });
  g_autofree char *current = run_tool ((const char *[]) { "wpctl", "inspect", wanted->which, NULL });

  /* WirePlumber may not know a node made a moment ago: ask again. */
  return current != NULL && strstr (current, quoted) != NULL;
}

static void
set_default (const char *name,
             const char *which)
{
  DefaultWanted wanted = { name, which };

  if (!roadie_test_wait_until (default_is_set, &wanted, READY_TIMEOUT_MS))
    g_error ("wpctl set-default never made %s the default (%s)", name, which);
}

static void
start_daemons (void)
{
  g_ptr_array_add (daemons, spawn ((const char *[]) { "pipewire", NULL },
                                   G_SUBPROCESS_FLAGS_STDOUT_SILENCE | G_SUBPROCESS_FLAGS_STDERR_SILENCE));
  g_ptr_array_add (daemons, spawn ((const char *[]) { "wireplumber", NULL },
                                   G_SUBPROCESS_FLAGS_STDOUT_SILENCE | G_SUBPROCESS_FLAGS_STDERR_SILENCE));
  if (!roadie_test_wait_until (wireplumber_ready, NULL, READY_TIMEOUT_MS))
    g_error ("the private PipeWire and WirePlumber did not come up in %d ms", READY_TIMEOUT_MS);

  create_null_node (SINK_A, "Audio/Sink");
  create_null_node (SINK_B, "Audio/Sink");
  create_null_node (MICROPHONE, "Audio/Source/Virtual");
  set_default (SINK_A, "@DEFAULT_AUDIO_SINK@");
  set_default (MICROPHONE, "@DEFAULT_AUDIO_SOURCE@");
}

static void
stop_daemons (void)
{
  for (guint i = daemons->len; i > 0; i--)
    kill_process (g_ptr_array_index (daemons, i - 1));
  g_ptr_array_set_size (daemons, 0);
}

static void
start_pipewire (void)
{
  const char *runtime = g_getenv ("XDG_RUNTIME_DIR");

  g_assert_nonnull (runtime);
  /* Everything in this test, and the engine, find the daemon here. */
  g_setenv ("PIPEWIRE_RUNTIME_DIR", runtime, TRUE);
  g_unsetenv ("PIPEWIRE_REMOTE");
  roadie_test_start_dbus ();

  daemons = g_ptr_array_new_with_free_func (g_object_unref);
  atexit (kill_everything);
  start_daemons ();
}

/* 30 s of the demo groove (124 BPM), stereo, 48 kHz. */
static char *
write_groove (void)
{
  g_autofree char *path = g_build_filename (roadie_test_tmpdir (), "groove.wav", NULL);
  g_autoptr(RoadieDemoSource) demo = roadie_demo_source_new (48000);
  SF_INFO info = { .samplerate = 48000, .channels = 2, .format = SF_FORMAT_WAV | SF_FORMAT_PCM_16 };
  gsize n = 48000 * 30;
  g_autofree float *mono = g_new (float, n);
  g_autofree float *stereo = g_new (float, n * 2);
  SNDFILE *file;

  roadie_demo_source_read (demo, mono, n);
  for (gsize i = 0; i < n; i++)
    stereo[2 * i] = stereo[2 * i + 1] = mono[i];
  file = sf_open (path, SFM_WRITE, &info);
  g_assert_nonnull (file);
  g_assert_cmpint (sf_writef_float (file, stereo, n), ==, (sf_count_t) n);
  sf_close (file);

  return g_steal_pointer (&path);
}

static void
play_into (const char *sink)
{
  g_clear_pointer (&player, kill_and_unref);
  player = spawn ((const char *[]) { "pw-play", "--target", sink, track_path, NULL },
                  G_SUBPROCESS_FLAGS_STDOUT_SILENCE | G_SUBPROCESS_FLAGS_STDERR_SILENCE);
}

/* --- the engine's frames --------------------------------------------------------- */

typedef struct
{
  SoupSession             *session;
  SoupWebsocketConnection *connection;
  GPtrArray               *frames;     /* JsonObject of each "frame" */
  GArray                  *arrived_us; /* monotonic arrival time of each */
  gboolean                 failed;
} FrameClient;

static FrameClient client;

static void
on_message (SoupWebsocketConnection *connection,
            SoupWebsocketDataType    type,
            GBytes                  *message,
            gpointer                 user_data)
{
  g_autoptr(JsonParser) parser = json_parser_new ();
  gint64 now = g_get_monotonic_time ();
  JsonObject *object;

  g_assert_true (json_parser_load_from_data (parser, g_bytes_get_data (message, NULL),
                                             g_bytes_get_size (message), NULL));
  object = json_node_get_object (json_parser_get_root (parser));
  if (g_strcmp0 (json_object_get_string_member (object, "type"), "frame") != 0)
    return;
  g_ptr_array_add (client.frames, json_object_ref (object));
  g_array_append_val (client.arrived_us, now);
}

static void
on_connected (GObject      *object,
              GAsyncResult *result,
              gpointer      user_data)
{
  client.connection = soup_session_websocket_connect_finish (SOUP_SESSION (object), result, NULL);
  if (client.connection == NULL)
    {
      client.failed = TRUE;
      return;
    }
  g_signal_connect (client.connection, "message", G_CALLBACK (on_message), NULL);
}

static gboolean
connect_done (gpointer user_data)
{
  return client.failed || client.connection != NULL;
}

static gboolean engine_exited;

static void
on_engine_exited (GObject      *object,
                  GAsyncResult *result,
                  gpointer      user_data)
{
  g_subprocess_wait_finish (G_SUBPROCESS (object), result, NULL);
  engine_exited = TRUE;
}

static void
start_engine (void)
{
  guint16 port = roadie_test_free_port ();
  g_autofree char *port_text = g_strdup_printf ("%u", port);
  g_autofree char *url = g_strdup_printf ("ws://127.0.0.1:%u/", port);

  engine = spawn ((const char *[]) { roadie_test_engine (), "--port", port_text, "--browser-port", "0",
                                     "--dj-port", "0", NULL },
                  G_SUBPROCESS_FLAGS_STDOUT_SILENCE);
  g_subprocess_wait_async (engine, NULL, on_engine_exited, NULL);
  client.session = soup_session_new ();
  client.frames = g_ptr_array_new_with_free_func ((GDestroyNotify) json_object_unref);
  client.arrived_us = g_array_new (FALSE, FALSE, sizeof (gint64));
  for (guint attempt = 0; attempt < 100 && client.connection == NULL; attempt++)
    {
      g_autoptr(SoupMessage) message = soup_message_new ("GET", url);

      client.failed = FALSE;
      soup_session_websocket_connect_async (client.session, message, NULL, NULL, G_PRIORITY_DEFAULT,
                                            NULL, on_connected, NULL);
      g_assert_true (roadie_test_wait_until (connect_done, NULL, 5000));
      if (client.connection == NULL)
        roadie_test_run_for (50);
    }
  g_assert_nonnull (client.connection);
}

static gboolean
is_music (JsonObject *frame)
{
  return !json_object_has_member (frame, "audio")
         && json_object_get_double_member (frame, "rms") > MUSIC_RMS;
}

typedef struct
{
  guint from;   /* index of the first frame to look at */
  guint found;  /* index of the first music frame found */
} MusicWanted;

static gboolean
has_music_since (gpointer user_data)
{
  MusicWanted *wanted = user_data;

  for (guint i = wanted->from; i < client.frames->len; i++)
    if (is_music (g_ptr_array_index (client.frames, i)))
      {
        wanted->found = i;
        return TRUE;
      }
  return FALSE;
}

static gboolean
engine_gone (gpointer user_data)
{
  return engine_exited;
}

/* --- cases ------------------------------------------------------------------- */

static void
test_capture_default_sink (void)
{
  MusicWanted wanted = { 0, 0 };
  JsonObject *last;
  guint n_beats = 0;

  start_engine ();
  play_into (SINK_A);

  if (!roadie_test_wait_until (has_music_since, &wanted, AUDIO_TIMEOUT_MS))
    g_error ("no frame with audio in %d ms of playing into the default sink", AUDIO_TIMEOUT_MS);

  /* Eight more seconds: enough for the tracker to lock on 124 BPM. */
  roadie_test_run_for (8000);
  g_assert_false (engine_gone (NULL));
  for (guint i = wanted.found; i < client.frames->len; i++)
    {
      JsonObject *frame = g_ptr_array_index (client.frames, i);

      g_assert_false (json_object_has_member (frame, "audio"));
      g_assert_cmpfloat (json_object_get_double_member (frame, "peak"), <=, 1.0);
      if (json_object_get_boolean_member (frame, "beat"))
        n_beats++;
    }
  last = g_ptr_array_index (client.frames, client.frames->len - 1);
  g_assert_cmpfloat (json_object_get_double_member (last, "rms"), >, MUSIC_RMS);
  g_assert_cmpfloat_with_epsilon (json_object_get_double_member (last, "bpm"), 124.0, 5.0);
  /* 8 s at 124 BPM is 16 beats; allow for the first ones before lock. */
  g_assert_cmpuint (n_beats, >=, 8);
  g_assert_cmpuint (n_beats, <=, 20);
}

static gboolean
sink_a_quiet (gpointer user_data)
{
  guint *from = user_data;

  /* The last quarter second has no music in it. */
  if (client.frames->len < *from + 15)
    return FALSE;
  for (guint i = client.frames->len - 15; i < client.frames->len; i++)
    if (is_music (g_ptr_array_index (client.frames, i)))
      return FALSE;
  return TRUE;
}

static void
test_default_switch (void)
{
  guint from;
  MusicWanted wanted;
  gint64 played_us;
  gint64 resumed_us;

  g_assert_nonnull (engine);

  /* The music stops on A; B becomes the default output. */
  g_clear_pointer (&player, kill_and_unref);
  from = client.frames->len;
  g_assert_true (roadie_test_wait_until (sink_a_quiet, &from, 5000));
  set_default (SINK_B, "@DEFAULT_AUDIO_SINK@");
  /* WirePlumber moves the engine's stream when the default changes; give
   * it the moment a DJ takes to press play. */
  roadie_test_run_for (300);

  wanted.from = client.frames->len;
  played_us = g_get_monotonic_time ();
  play_into (SINK_B);
  if (!roadie_test_wait_until (has_music_since, &wanted, AUDIO_TIMEOUT_MS))
    g_error ("no frame with audio after the default sink changed");
  resumed_us = g_array_index (client.arrived_us, gint64, wanted.found);
  g_test_message ("frames resumed %" G_GINT64_FORMAT " ms after playing into the new default sink",
                  (resumed_us - played_us) / 1000);
  g_assert_cmpint (resumed_us - played_us, <, RESUME_LIMIT_MS * 1000);
  g_assert_false (engine_gone (NULL));
}

static void
test_never_the_microphone (void)
{
  g_autoptr(JsonParser) parser = json_parser_new ();
  JsonArray *graph;
  g_autoptr(GHashTable) classes = g_hash_table_new_full (NULL, NULL, NULL, g_free);
  gint64 engine_node = 0;
  guint n_links = 0;

  g_assert_nonnull (engine);
  graph = dump_graph (parser);

  for (guint i = 0; i < json_array_get_length (graph); i++)
    {
      JsonObject *object = json_array_get_object_element (graph, i);
      JsonObject *props = node_props (object);
      gint64 id;

      if (props == NULL)
        continue;
      id = json_object_get_int_member (object, "id");
      g_hash_table_insert (classes, GINT_TO_POINTER ((int) id),
                           g_strdup (json_object_get_string_member_with_default (props, "media.class", "")));
      if (g_strcmp0 (json_object_get_string_member_with_default (props, "node.name", ""), "roadie-engine") == 0)
        {
          engine_node = id;
          /* pw-dump writes the property as a JSON boolean. */
          g_assert_true (json_object_has_member (props, "stream.capture.sink"));
          g_assert_true (json_object_get_boolean_member (props, "stream.capture.sink"));
          g_assert_false (json_object_has_member (props, "target.object"));
        }
    }
  g_assert_cmpint (engine_node, !=, 0);

  for (guint i = 0; i < json_array_get_length (graph); i++)
    {
      JsonObject *object = json_array_get_object_element (graph, i);
      JsonObject *info;
      gint64 output;

      if (g_strcmp0 (json_object_get_string_member_with_default (object, "type", ""), "PipeWire:Interface:Link") != 0)
        continue;
      info = json_object_get_object_member (object, "info");
      if (json_object_get_int_member (info, "input-node-id") != engine_node)
        continue;
      output = json_object_get_int_member (info, "output-node-id");
      /* A sink's monitor, the default one, never the default source. */
      g_assert_cmpstr (g_hash_table_lookup (classes, GINT_TO_POINTER ((int) output)), ==, "Audio/Sink");
      g_assert_cmpint (output, ==, find_node (SINK_B));
      n_links++;
    }
  g_assert_cmpuint (n_links, >=, 1);
}

static gboolean
has_no_audio_frame_since (gpointer user_data)
{
  guint *from = user_data;

  for (guint i = *from; i < client.frames->len; i++)
    if (json_object_has_member (g_ptr_array_index (client.frames, i), "audio"))
      return TRUE;
  return FALSE;
}

/* PipeWire goes away and comes back: the engine, untouched, says there is
 * no audio meanwhile and captures again once the daemon is back. */
static void
test_daemon_restart (void)
{
  guint from;
  MusicWanted wanted;

  g_assert_nonnull (engine);
  g_clear_pointer (&player, kill_and_unref);
  stop_daemons ();

  from = client.frames->len;
  if (!roadie_test_wait_until (has_no_audio_frame_since, &from, 5000))
    g_error ("no frame said there is no audio after PipeWire stopped");

  start_daemons ();
  wanted.from = client.frames->len;
  play_into (SINK_A);
  /* The retries back off to 10 s at most: 20 s is plenty. */
  if (!roadie_test_wait_until (has_music_since, &wanted, 20000))
    g_error ("the engine did not capture again after PipeWire came back");
  g_assert_false (engine_gone (NULL));
}

/* SIGTERM with the stream running: the thread loop stops, the engine exits
 * 0 (under the sanitizers, without leaks). */
static void
test_clean_exit (void)
{
  g_autoptr(GError) error = NULL;

  g_assert_nonnull (engine);
  g_subprocess_send_signal (engine, SIGTERM);
  if (!roadie_test_wait_until (engine_gone, NULL, 10000))
    g_error ("roadie-engine did not exit within 10 s of SIGTERM");
  g_assert_true (g_subprocess_get_if_exited (engine));
  g_assert_cmpint (g_subprocess_get_exit_status (engine), ==, 0);
  g_clear_object (&engine);
}

int
main (int   argc,
      char *argv[])
{
  roadie_test_init_environment ();
  g_test_init (&argc, &argv, NULL);

  start_pipewire ();
  track_path = write_groove ();

  g_test_add_func ("/roadie/pipewire/capture-default-sink", test_capture_default_sink);
  g_test_add_func ("/roadie/pipewire/default-switch", test_default_switch);
  g_test_add_func ("/roadie/pipewire/never-the-microphone", test_never_the_microphone);
  g_test_add_func ("/roadie/pipewire/daemon-restart", test_daemon_restart);
  g_test_add_func ("/roadie/pipewire/clean-exit", test_clean_exit);

  return g_test_run ();
}
