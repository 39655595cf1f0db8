/* test-pipewire.c: roadie-engine against a real, private PipeWire.
 *
 * The test starts its own pipewire and wireplumber (see
 * roadie-test-pipewire.h), makes two null sinks and a virtual microphone.
 * First, engines started for one case each:
 *  - --source SINK_B with 100 BPM playing into A (the default) and 140 BPM
 *    into B: the engine hears B (tempo, and in pw-dump its only links come
 *    from B's monitor); --source SINK_B.monitor does the same;
 *  - --source naming no node: a plain message on stderr, frames that say
 *    there is no audio (never the default sink or the microphone instead),
 *    and capture once a node of that name appears;
 *  - --input-device with music linked into the virtual microphone (the
 *    default source): the engine hears it at the right tempo, while a
 *    default-mode engine beside it hears nothing;
 *  - clicks played with pw-play (a long quantum, several hops at once):
 *    every one shows in a frame's peak.
 * Then one engine in its default mode through the rest: the demo groove
 * played into the default sink with pw-play reaches the engine's frames
 * with audio, level and the right tempo; after `wpctl set-default` to the
 * second sink, music played there shows in the frames within 500 ms, the
 * engine untouched; and in pw-dump the engine's stream only ever links to
 * a sink's monitor, never to the microphone; PipeWire stopped and started
 * again under the running engine, which says there is no audio meanwhile
 * and captures again after.
 * Every process it starts dies at exit (and with it, by PDEATHSIG).
 */
#include "config.h"

#include <math.h>
#include <signal.h>
#include <string.h>

#include <json-glib/json-glib.h>
#include <sndfile.h>

#include "roadie-demo-source.h"
#include "roadie-test-pipewire.h"
#include "roadie-test-tracks.h"
#include "roadie-test-util.h"

#define AUDIO_TIMEOUT_MS   10000
#define RESUME_LIMIT_MS    500
#define SINK_A             "roadie-test-sink"
#define SINK_B             "roadie-test-sink-2"
#define MICROPHONE         "roadie-test-mic"
#define MICROPHONE_PLAYER  "roadie-test-mic-player"
#define MISSING_NODE       "roadie-test-late-sink"
/* Frames louder than this carry the music, not a silent sink. */
#define MUSIC_RMS          0.02
/* The two tempos --source tells apart, and how near the report must be. */
#define TEMPO_A            100.0
#define TEMPO_B            140.0
#define TEMPO_TOLERANCE    5.0
/* Clicks: a 5 ms burst every half second, and the peak that reports one. */
#define N_CLICKS           12
#define CLICK_PEAK         0.3
/* Long enough for the tracker to lock on a steady tempo. */
#define LOCK_MS            8000

static RoadieTestEngine *engine;   /* the default-mode engine, kept across cases */
static GSubprocess *player;
static char *track_path;           /* the demo groove, 124 BPM */
static char *track_a_path;         /* TEMPO_A */
static char *track_b_path;         /* TEMPO_B */
static char *clicks_path;          /* N_CLICKS clicks after silence */

/* --- the graph ------------------------------------------------------------------ */

static void
make_graph (void)
{
  roadie_test_pipewire_create_null_node (SINK_A, "Audio/Sink");
  roadie_test_pipewire_create_null_node (SINK_B, "Audio/Sink");
  roadie_test_pipewire_create_null_node (MICROPHONE, "Audio/Source/Virtual");
  roadie_test_pipewire_set_default (SINK_A, ROADIE_TEST_DEFAULT_SINK);
  roadie_test_pipewire_set_default (MICROPHONE, ROADIE_TEST_DEFAULT_SOURCE);
}

static void
kill_everything (void)
{
  g_clear_pointer (&player, roadie_test_kill_and_unref);
  g_clear_pointer (&engine, roadie_test_engine_free);
}

static void
write_stereo_wav (const char  *path,
                  const float *mono,
                  gsize        n,
                  guint        rate)
{
  SF_INFO info = { .samplerate = rate, .channels = 2, .format = SF_FORMAT_WAV | SF_FORMAT_PCM_16 };
  g_autofree float *stereo = g_new (float, n * 2);
  SNDFILE *file;

  for (gsize i = 0; i < n; i++)
    stereo[2 * i] = stereo[2 * i + 1] = mono[i];
  file = sf_open (path, SFM_WRITE, &info);
  g_assert_nonnull (file);
  g_assert_cmpint (sf_writef_float (file, stereo, n), ==, (sf_count_t) n);
  sf_close (file);
}

/* 30 s of the demo groove (124 BPM), stereo, 48 kHz. */
static char *
write_groove (void)
{
  g_autofree char *path = g_build_filename (roadie_test_tmpdir (), "groove.wav", NULL);
  g_autoptr(RoadieDemoSource) demo = roadie_demo_source_new (48000);
  gsize n = 48000 * 30;
  g_autofree float *mono = g_new (float, n);

  roadie_demo_source_read (demo, mono, n);
  write_stereo_wav (path, mono, n, 48000);

  return g_steal_pointer (&path);
}

/* 30 s of a straight generated groove at bpm, stereo, 48 kHz. */
static char *
write_straight (double bpm)
{
  RoadieTestTrackSpec spec = { "straight", "straight", 48000, 30.0, bpm, 0, 0, ROADIE_TEST_GROOVE_STRAIGHT,
                               -3, 0, 0, 0, (guint32) bpm };
  g_autofree char *name = g_strdup_printf ("straight-%.0f.wav", bpm);
  g_autofree char *path = g_build_filename (roadie_test_tmpdir (), name, NULL);
  RoadieTestTrack *track = roadie_test_track_generate (&spec);

  write_stereo_wav (path, track->samples, track->n_samples, spec.sample_rate);
  roadie_test_track_free (track);

  return g_steal_pointer (&path);
}

/* Half a second of silence, then N_CLICKS clicks half a second apart. */
static char *
write_clicks (void)
{
  g_autofree char *path = g_build_filename (roadie_test_tmpdir (), "clicks.wav", NULL);
  gsize n = 24000 * (N_CLICKS + 2);
  g_autofree float *mono = g_new0 (float, n);

  for (guint click = 0; click < N_CLICKS; click++)
    for (guint i = 0; i < 240; i++)
      mono[24000 * (click + 1) + i] = 0.9f * sinf (2.0f * (float) G_PI * 2000.0f * i / 48000.0f);
  write_stereo_wav (path, mono, n, 48000);

  return g_steal_pointer (&path);
}

static GSubprocess *
play_file_into (const char *sink,
                const char *path)
{
  return roadie_test_spawn_child ((const char *[]) { "pw-play", "--target", sink, path, NULL },
                                  G_SUBPROCESS_FLAGS_STDOUT_SILENCE | G_SUBPROCESS_FLAGS_STDERR_SILENCE);
}

static void
play_into (const char *sink)
{
  g_clear_pointer (&player, roadie_test_kill_and_unref);
  player = play_file_into (sink, track_path);
}

/* WirePlumber only links players to sinks: a player into the virtual
 * microphone's input is linked by hand, as a DJ's routing tool would. */
static GSubprocess *
play_into_microphone (const char *path)
{
  GSubprocess *process = roadie_test_spawn_child ((const char *[]) {
      "pw-play", "-P", "{ node.name=" MICROPHONE_PLAYER " node.autoconnect=false }", path, NULL },
    G_SUBPROCESS_FLAGS_STDOUT_SILENCE | G_SUBPROCESS_FLAGS_STDERR_SILENCE);
  const char *channels[] = { "FL", "FR" };

  for (guint i = 0; i < G_N_ELEMENTS (channels); i++)
    {
      g_autofree char *output = g_strdup_printf (MICROPHONE_PLAYER ":output_%s", channels[i]);
      g_autofree char *input = g_strdup_printf (MICROPHONE ":input_%s", channels[i]);
      gboolean linked = FALSE;

      /* The player's ports appear a moment after it starts. */
      for (guint attempt = 0; attempt < 100 && !linked; attempt++)
        {
          g_autofree char *out = roadie_test_run_tool ((const char *[]) { "pw-link", output, input, NULL });

          linked = out != NULL;
          if (!linked)
            roadie_test_run_for (50);
        }
      if (!linked)
        g_error ("pw-link %s %s never succeeded", output, input);
    }

  return process;
}

/* The output nodes linked into the node named roadie-engine, by id. */
static GArray *
engine_sources (void)
{
  g_autoptr(JsonParser) parser = json_parser_new ();
  JsonArray *graph = roadie_test_pipewire_dump (parser);
  GArray *outputs = g_array_new (FALSE, FALSE, sizeof (gint64));
  gint64 engine_node = roadie_test_pipewire_find_node ("roadie-engine");

  for (guint i = 0; i < json_array_get_length (graph); i++)
    {
      JsonObject *object = json_array_get_object_element (graph, i);
      JsonObject *info;
      gint64 output;

      if (g_strcmp0 (json_object_get_string_member_with_default (object, "type", ""), "PipeWire:Interface:Link") != 0)
        continue;
      info = json_object_get_object_member (object, "info");
      if (engine_node == 0 || json_object_get_int_member (info, "input-node-id") != engine_node)
        continue;
      output = json_object_get_int_member (info, "output-node-id");
      g_array_append_val (outputs, output);
    }

  return outputs;
}

static double
last_bpm (RoadieTestEngine *some_engine)
{
  JsonObject *last = g_ptr_array_index (some_engine->frames, some_engine->frames->len - 1);

  return json_object_get_double_member (last, "bpm");
}

/* SIGTERM: exits 0 (under the sanitizers, without leaks). */
static void
stop_cleanly (RoadieTestEngine *some_engine)
{
  if (!roadie_test_engine_stop (some_engine, 10000))
    g_error ("roadie-engine did not exit within 10 s of SIGTERM");
  g_assert_true (g_subprocess_get_if_exited (some_engine->process));
  g_assert_cmpint (g_subprocess_get_exit_status (some_engine->process), ==, 0);
}

/* --- cases ------------------------------------------------------------------- */

/* 100 BPM into A, the default, and 140 BPM into B: --source SINK_B hears
 * B, from B's monitor and nothing else; SINK_B.monitor names it too. */
static void
test_source_named_sink (void)
{
  g_autoptr(GSubprocess) player_a = play_file_into (SINK_A, track_a_path);
  g_autoptr(GSubprocess) player_b = play_file_into (SINK_B, track_b_path);
  g_autoptr(RoadieTestEngine) by_name = roadie_test_engine_start ((const char *[]) { "--source", SINK_B, NULL });
  g_autoptr(GArray) sources = NULL;
  double bpm;
  int found;

  found = roadie_test_engine_wait_music (by_name, 0, MUSIC_RMS, AUDIO_TIMEOUT_MS);
  if (found < 0)
    g_error ("no frame with audio in %d ms with --source %s", AUDIO_TIMEOUT_MS, SINK_B);

  sources = engine_sources ();
  g_assert_cmpuint (sources->len, >=, 1);
  for (guint i = 0; i < sources->len; i++)
    g_assert_cmpint (g_array_index (sources, gint64, i), ==, roadie_test_pipewire_find_node (SINK_B));

  roadie_test_run_for (LOCK_MS);
  g_assert_false (by_name->exited);
  bpm = last_bpm (by_name);
  g_test_message ("--source %s: %.1f BPM (B plays %.0f, the default sink A %.0f)", SINK_B, bpm, TEMPO_B, TEMPO_A);
  g_assert_cmpfloat_with_epsilon (bpm, TEMPO_B, TEMPO_TOLERANCE);
  g_assert_cmpint (roadie_test_engine_find_music (by_name, found, MUSIC_RMS), ==, found);
  for (guint i = found; i < by_name->frames->len; i++)
    g_assert_false (json_object_has_member (g_ptr_array_index (by_name->frames, i), "audio"));
  stop_cleanly (by_name);

  /* pactl's name for the same thing. */
  {
    g_autoptr(RoadieTestEngine) by_monitor = roadie_test_engine_start ((const char *[]) {
        "--source", SINK_B ".monitor", NULL });

    if (roadie_test_engine_wait_music (by_monitor, 0, MUSIC_RMS, AUDIO_TIMEOUT_MS) < 0)
      g_error ("no frame with audio in %d ms with --source %s.monitor", AUDIO_TIMEOUT_MS, SINK_B);
    g_clear_pointer (&sources, g_array_unref);
    sources = engine_sources ();
    g_assert_cmpuint (sources->len, >=, 1);
    for (guint i = 0; i < sources->len; i++)
      g_assert_cmpint (g_array_index (sources, gint64, i), ==, roadie_test_pipewire_find_node (SINK_B));
    stop_cleanly (by_monitor);
  }

  roadie_test_kill_process (player_a);
  roadie_test_kill_process (player_b);
}

/* A --source that names nothing: said plainly, frames without audio, the
 * default sink (music playing) and the microphone left alone; and the
 * node, once made, is captured. */
static void
test_source_missing (void)
{
  g_autoptr(GSubprocess) player_a = play_file_into (SINK_A, track_a_path);
  g_autoptr(GSubprocess) player_late = NULL;
  g_autoptr(RoadieTestEngine) missing = roadie_test_engine_start ((const char *[]) {
      "--source", MISSING_NODE, NULL });
  g_autoptr(GArray) sources = NULL;
  guint n_no_audio = 0;
  guint from;

  if (!roadie_test_engine_wait_stderr (missing, "PipeWire has no node named \"" MISSING_NODE "\"", 5000))
    g_error ("roadie-engine did not say that %s is missing; it said: %s", MISSING_NODE,
             missing->stderr_text->str);

  /* Two seconds with music on the default sink: none of it may show. */
  roadie_test_run_for (2000);
  g_assert_false (missing->exited);
  g_assert_cmpint (roadie_test_engine_find_music (missing, 0, 0.0), ==, -1);
  for (guint i = 0; i < missing->frames->len; i++)
    if (json_object_has_member (g_ptr_array_index (missing->frames, i), "audio"))
      n_no_audio++;
  g_assert_cmpuint (n_no_audio, >=, 4);
  sources = engine_sources ();
  g_assert_cmpuint (sources->len, ==, 0);

  /* The node turns up (a DJ plugs the device in): capture starts. */
  roadie_test_pipewire_create_null_node (MISSING_NODE, "Audio/Sink");
  from = missing->frames->len;
  player_late = play_file_into (MISSING_NODE, track_b_path);
  /* The retries back off to 10 s at most. */
  if (roadie_test_engine_wait_music (missing, from, MUSIC_RMS, 15000) < 0)
    g_error ("no frame with audio after %s appeared", MISSING_NODE);
  g_assert_true (roadie_test_engine_wait_stderr (missing, "Capturing PipeWire node \"" MISSING_NODE "\" now", 1000));
  stop_cleanly (missing);

  roadie_test_kill_process (player_late);
  roadie_test_kill_process (player_a);
}

/* Music into the virtual microphone, the default source: --input-device
 * hears it at the right tempo, a default-mode engine beside it nothing. */
static void
test_input_device (void)
{
  g_autoptr(RoadieTestEngine) listening = roadie_test_engine_start ((const char *[]) { "--input-device", NULL });
  g_autoptr(RoadieTestEngine) default_mode = roadie_test_engine_start (NULL);
  g_autoptr(GSubprocess) microphone_player = play_into_microphone (track_a_path);
  double bpm;
  int found;

  found = roadie_test_engine_wait_music (listening, 0, MUSIC_RMS, AUDIO_TIMEOUT_MS);
  if (found < 0)
    g_error ("no frame with audio in %d ms with --input-device", AUDIO_TIMEOUT_MS);

  roadie_test_run_for (LOCK_MS);
  g_assert_false (listening->exited);
  bpm = last_bpm (listening);
  g_test_message ("--input-device: %.1f BPM (the microphone plays %.0f)", bpm, TEMPO_A);
  g_assert_cmpfloat_with_epsilon (bpm, TEMPO_A, TEMPO_TOLERANCE);

  /* The default-mode engine heard none of it. */
  g_assert_false (default_mode->exited);
  g_assert_cmpuint (default_mode->frames->len, >, 0);
  g_assert_cmpint (roadie_test_engine_find_music (default_mode, 0, MUSIC_RMS), ==, -1);
  stop_cleanly (listening);
  stop_cleanly (default_mode);

  roadie_test_kill_process (microphone_player);
}

/* pw-play asks for a long quantum, several hops each: a click in any of
 * them, not only the last before a frame, must show in a frame. */
static void
test_every_click_shows (void)
{
  g_autoptr(RoadieTestEngine) listening = roadie_test_engine_start (NULL);
  g_autoptr(GSubprocess) clicker = NULL;
  gint64 last_click_us = 0;
  guint n_seen = 0;

  /* Capturing (silence) before the first click. */
  g_assert_cmpint (roadie_test_engine_wait_music (listening, 0, -1.0, AUDIO_TIMEOUT_MS), >=, 0);
  clicker = play_file_into (SINK_A, clicks_path);
  roadie_test_run_for ((N_CLICKS + 3) * 500);

  for (guint i = 0; i < listening->frames->len; i++)
    {
      JsonObject *frame = g_ptr_array_index (listening->frames, i);
      gint64 arrived_us = g_array_index (listening->arrived_us, gint64, i);

      if (json_object_has_member (frame, "audio") || json_object_get_double_member (frame, "peak") < CLICK_PEAK)
        continue;
      /* One click may show in a couple of frames in a row. */
      if (arrived_us - last_click_us > 250 * 1000)
        n_seen++;
      last_click_us = arrived_us;
    }
  g_test_message ("%u of %d clicks showed in a frame", n_seen, N_CLICKS);
  /* Before frames kept the loudest hop, one click in four showed. */
  g_assert_cmpuint (n_seen, >=, N_CLICKS - 1);
  g_assert_cmpuint (n_seen, <=, N_CLICKS);
  roadie_test_kill_process (clicker);
}

static void
test_capture_default_sink (void)
{
  JsonObject *last;
  guint n_beats = 0;
  int found;

  engine = roadie_test_engine_start (NULL);
  play_into (SINK_A);

  found = roadie_test_engine_wait_music (engine, 0, MUSIC_RMS, AUDIO_TIMEOUT_MS);
  if (found < 0)
    g_error ("no frame with audio in %d ms of playing into the default sink", AUDIO_TIMEOUT_MS);

  /* Eight more seconds: enough for the tracker to lock on 124 BPM. */
  roadie_test_run_for (LOCK_MS);
  g_assert_false (engine->exited);
  for (guint i = found; i < engine->frames->len; i++)
    {
      JsonObject *frame = g_ptr_array_index (engine->frames, i);

      g_assert_false (json_object_has_member (frame, "audio"));
      g_assert_cmpfloat (json_object_get_double_member (frame, "peak"), <=, 1.0);
      if (json_object_get_boolean_member (frame, "beat"))
        n_beats++;
    }
  last = g_ptr_array_index (engine->frames, engine->frames->len - 1);
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
  if (engine->frames->len < *from + 15)
    return FALSE;
  return roadie_test_engine_find_music (engine, engine->frames->len - 15, MUSIC_RMS) < 0;
}

static void
test_default_switch (void)
{
  guint from;
  int found;
  gint64 played_us;
  gint64 resumed_us;

  g_assert_nonnull (engine);

  /* The music stops on A; B becomes the default output. */
  g_clear_pointer (&player, roadie_test_kill_and_unref);
  from = engine->frames->len;
  g_assert_true (roadie_test_wait_until (sink_a_quiet, &from, 5000));
  roadie_test_pipewire_set_default (SINK_B, ROADIE_TEST_DEFAULT_SINK);
  /* WirePlumber moves the engine's stream when the default changes; give
   * it the moment a DJ takes to press play. */
  roadie_test_run_for (300);

  from = engine->frames->len;
  played_us = g_get_monotonic_time ();
  play_into (SINK_B);
  found = roadie_test_engine_wait_music (engine, from, MUSIC_RMS, AUDIO_TIMEOUT_MS);
  if (found < 0)
    g_error ("no frame with audio after the default sink changed");
  resumed_us = g_array_index (engine->arrived_us, gint64, found);
  g_test_message ("frames resumed %" G_GINT64_FORMAT " ms after playing into the new default sink",
                  (resumed_us - played_us) / 1000);
  g_assert_cmpint (resumed_us - played_us, <, RESUME_LIMIT_MS * 1000);
  g_assert_false (engine->exited);
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
  graph = roadie_test_pipewire_dump (parser);

  for (guint i = 0; i < json_array_get_length (graph); i++)
    {
      JsonObject *object = json_array_get_object_element (graph, i);
      JsonObject *props = roadie_test_pipewire_node_props (object);
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
      g_assert_cmpint (output, ==, roadie_test_pipewire_find_node (SINK_B));
      n_links++;
    }
  g_assert_cmpuint (n_links, >=, 1);
}

static gboolean
has_no_audio_frame_since (gpointer user_data)
{
  guint *from = user_data;

  for (guint i = *from; i < engine->frames->len; i++)
    if (json_object_has_member (g_ptr_array_index (engine->frames, i), "audio"))
      return TRUE;
  return FALSE;
}

/* PipeWire goes away and comes back: the engine, untouched, says there is
 * no audio meanwhile and captures again once the daemon is back. */
static void
test_daemon_restart (void)
{
  guint from;

  g_assert_nonnull (engine);
  g_clear_pointer (&player, roadie_test_kill_and_unref);
  roadie_test_pipewire_stop_daemons ();

  from = engine->frames->len;
  if (!roadie_test_wait_until (has_no_audio_frame_since, &from, 5000))
    g_error ("no frame said there is no audio after PipeWire stopped");

  roadie_test_pipewire_start_daemons ();
  make_graph ();
  from = engine->frames->len;
  play_into (SINK_A);
  /* The retries back off to 10 s at most: 20 s is plenty. */
  if (roadie_test_engine_wait_music (engine, from, MUSIC_RMS, 20000) < 0)
    g_error ("the engine did not capture again after PipeWire came back");
  g_assert_false (engine->exited);
}

/* SIGTERM with the stream running: the thread loop stops, the engine exits
 * 0 (under the sanitizers, without leaks). */
static void
test_clean_exit (void)
{
  g_assert_nonnull (engine);
  stop_cleanly (engine);
  g_clear_pointer (&engine, roadie_test_engine_free);
}

int
main (int   argc,
      char *argv[])
{
  int status;

  roadie_test_init_environment ();
  g_test_init (&argc, &argv, NULL);

  roadie_test_pipewire_start ();
  make_graph ();
  /* After the daemons' own, so it runs first: the engines and players go
   * before PipeWire does. */
  atexit (kill_everything);
  track_path = write_groove ();
  track_a_path = write_straight (TEMPO_A);
  track_b_path = write_straight (TEMPO_B);
  clicks_path = write_clicks ();

  g_test_add_func ("/roadie/pipewire/source-named-sink", test_source_named_sink);
  g_test_add_func ("/roadie/pipewire/source-missing", test_source_missing);
  g_test_add_func ("/roadie/pipewire/input-device", test_input_device);
  g_test_add_func ("/roadie/pipewire/every-click-shows", test_every_click_shows);
  g_test_add_func ("/roadie/pipewire/capture-default-sink", test_capture_default_sink);
  g_test_add_func ("/roadie/pipewire/default-switch", test_default_switch);
  g_test_add_func ("/roadie/pipewire/never-the-microphone", test_never_the_microphone);
  g_test_add_func ("/roadie/pipewire/daemon-restart", test_daemon_restart);
  g_test_add_func ("/roadie/pipewire/clean-exit", test_clean_exit);

  status = g_test_run ();
  g_free (track_path);
  g_free (track_a_path);
  g_free (track_b_path);
  g_free (clicks_path);
  return status;
}
