/* test-audio-sources.c: the audio sources of roadie-audio, and the
 * roadie-engine --analyze command line.
 *
 * The ring buffer (wraparound, full, a real producer thread against the
 * consumer with a checksum), the file source on WAV files this test writes
 * with libsndfile (rate, length, the mono mix), unreadable and unsupported
 * files, the demo groove (its kicks land on the 124 BPM grid), the built
 * roadie-engine run with --analyze on a click track, and roadie-engine
 * --input demo sending analysed frames, at its --fps, to a WebSocket
 * client.
 */
#include "config.h"

#include <math.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>

#include <json-glib/json-glib.h>
#include <libsoup/soup.h>
#include <sndfile.h>

#include "roadie-demo-source.h"
#include "roadie-file-source.h"
#include "roadie-ring-buffer.h"
#include "roadie-test-util.h"

/* --- ring buffer ------------------------------------------------------------ */

static void
test_ring_basic (void)
{
  g_autoptr(RoadieRingBuffer) ring = roadie_ring_buffer_new (5);
  float in[8] = { 1, 2, 3, 4, 5, 6, 7, 8 };
  float out[8] = { 0 };

  /* Rounded up to a power of two. */
  g_assert_cmpuint (roadie_ring_buffer_get_capacity (ring), ==, 8);
  g_assert_cmpuint (roadie_ring_buffer_read (ring, out, 8), ==, 0);

  /* Full: the ninth sample is refused and counted, the eight kept. */
  g_assert_cmpuint (roadie_ring_buffer_write (ring, in, 8), ==, 8);
  g_assert_cmpuint (roadie_ring_buffer_write (ring, in, 1), ==, 0);
  g_assert_cmpuint (roadie_ring_buffer_get_n_dropped (ring), ==, 1);
  g_assert_cmpuint (roadie_ring_buffer_get_n_readable (ring), ==, 8);
  g_assert_cmpuint (roadie_ring_buffer_read (ring, out, 8), ==, 8);
  for (guint i = 0; i < 8; i++)
    g_assert_cmpfloat (out[i], ==, in[i]);

  /* Wraparound: read position at 8 + 6, so the next write of 5 splits. */
  g_assert_cmpuint (roadie_ring_buffer_write (ring, in, 6), ==, 6);
  g_assert_cmpuint (roadie_ring_buffer_read (ring, out, 6), ==, 6);
  g_assert_cmpuint (roadie_ring_buffer_write (ring, in + 3, 5), ==, 5);
  memset (out, 0, sizeof out);
  g_assert_cmpuint (roadie_ring_buffer_read (ring, out, 3), ==, 3);
  g_assert_cmpuint (roadie_ring_buffer_read (ring, out + 3, 8), ==, 2);
  for (guint i = 0; i < 5; i++)
    g_assert_cmpfloat (out[i], ==, in[3 + i]);
  g_assert_cmpuint (roadie_ring_buffer_get_n_readable (ring), ==, 0);
}

static void
test_ring_mono_mix (void)
{
  g_autoptr(RoadieRingBuffer) ring = roadie_ring_buffer_new (4);
  const float stereo[8] = { 1.0f, 0.0f, 0.5f, 0.5f, -1.0f, 1.0f, 0.25f, 0.75f };
  const float quad[4] = { 1.0f, 1.0f, 0.0f, 0.0f };
  float out[5] = { 0 };

  g_assert_cmpuint (roadie_ring_buffer_write_mono_mix (ring, stereo, 4, 2), ==, 4);
  g_assert_cmpuint (roadie_ring_buffer_write_mono_mix (ring, quad, 1, 4), ==, 0);
  g_assert_cmpuint (roadie_ring_buffer_read (ring, out, 5), ==, 4);
  g_assert_cmpfloat (out[0], ==, 0.5f);
  g_assert_cmpfloat (out[1], ==, 0.5f);
  g_assert_cmpfloat (out[2], ==, 0.0f);
  g_assert_cmpfloat (out[3], ==, 0.5f);
  g_assert_cmpuint (roadie_ring_buffer_write_mono_mix (ring, quad, 1, 4), ==, 1);
  g_assert_cmpuint (roadie_ring_buffer_read (ring, out, 5), ==, 1);
  g_assert_cmpfloat (out[0], ==, 0.5f);
}

#define THREAD_TOTAL 4000000

typedef struct
{
  RoadieRingBuffer *ring;
  double            sum;
} Producer;

static gpointer
producer_thread (gpointer user_data)
{
  Producer *producer = user_data;
  float block[333];
  guint64 next = 0;

  /* Odd block sizes against a ring of 1024, so writes split at every
   * possible offset; values are the sample index modulo a prime, exact in
   * a float. */
  while (next < THREAD_TOTAL)
    {
      gsize n = MIN (G_N_ELEMENTS (block) - next % 7, THREAD_TOTAL - next);
      gsize written;

      for (gsize i = 0; i < n; i++)
        block[i] = (float) ((next + i) % 65521);
      written = roadie_ring_buffer_write (producer->ring, block, n);
      for (gsize i = 0; i < written; i++)
        producer->sum += block[i];
      next += written;
      if (written < n)
        g_thread_yield ();
    }

  return NULL;
}

static void
test_ring_threads (void)
{
  g_autoptr(RoadieRingBuffer) ring = roadie_ring_buffer_new (1024);
  Producer producer = { ring, 0.0 };
  GThread *thread;
  float block[257];
  guint64 received = 0;
  double sum = 0.0;

  thread = g_thread_new ("producer", producer_thread, &producer);
  while (received < THREAD_TOTAL)
    {
      gsize n = roadie_ring_buffer_read (ring, block, G_N_ELEMENTS (block) - received % 5);

      /* Order is part of the contract: each sample is the next index. */
      for (gsize i = 0; i < n; i++)
        {
          if (block[i] != (float) ((received + i) % 65521))
            g_error ("sample %" G_GUINT64_FORMAT " is %f", received + i, block[i]);
          sum += block[i];
        }
      received += n;
      if (n == 0)
        g_thread_yield ();
    }
  g_thread_join (thread);

  g_assert_cmpuint (received, ==, THREAD_TOTAL);
  g_assert_cmpfloat (sum, ==, producer.sum);
  g_assert_cmpuint (roadie_ring_buffer_get_n_readable (ring), ==, 0);
}

/* --- file source ------------------------------------------------------------ */

/* Writes a stereo (or mono) WAV whose left channel is a and right channel
 * is b at every frame. */
static char *
write_wav (const char *name,
           guint       rate,
           guint       channels,
           guint       n_frames,
           float       a,
           float       b)
{
  g_autofree char *path = g_build_filename (roadie_test_tmpdir (), name, NULL);
  SF_INFO info = { .samplerate = rate, .channels = channels, .format = SF_FORMAT_WAV | SF_FORMAT_FLOAT };
  g_autofree float *frames = g_new (float, (gsize) n_frames * channels);
  SNDFILE *file = sf_open (path, SFM_WRITE, &info);

  g_assert_nonnull (file);
  for (guint i = 0; i < n_frames; i++)
    for (guint c = 0; c < channels; c++)
      frames[i * channels + c] = c == 0 ? a : b;
  g_assert_cmpint (sf_writef_float (file, frames, n_frames), ==, n_frames);
  g_assert_cmpint (sf_close (file), ==, 0);

  return g_steal_pointer (&path);
}

static void
test_file_source_wav (void)
{
  g_autofree char *path = write_wav ("stereo.wav", 44100, 2, 44100 + 17, 0.75f, -0.25f);
  g_autoptr(GError) error = NULL;
  g_autoptr(RoadieFileSource) source = roadie_file_source_open (path, &error);
  g_autofree float *mono = g_new (float, 50000);
  gsize total = 0;
  gsize n;

  g_assert_no_error (error);
  g_assert_cmpuint (roadie_file_source_get_sample_rate (source), ==, 44100);
  g_assert_cmpuint (roadie_file_source_get_channels (source), ==, 2);
  g_assert_cmpuint (roadie_file_source_get_n_frames (source), ==, 44100 + 17);

  /* Odd reads, so the internal block size does not line up with ours. */
  while ((n = roadie_file_source_read (source, mono, 5003)) > 0)
    {
      for (gsize i = 0; i < n; i++)
        g_assert_cmpfloat_with_epsilon (mono[i], 0.25f, 1e-6);
      total += n;
    }
  g_assert_cmpuint (total, ==, 44100 + 17);

  /* Rewound, it plays again from the start. */
  g_assert_true (roadie_file_source_rewind (source));
  g_assert_cmpuint (roadie_file_source_read (source, mono, 50000), ==, 44100 + 17);
}

static void
test_file_source_mono_48k (void)
{
  g_autofree char *path = write_wav ("mono.wav", 48000, 1, 4800, -0.5f, 0.0f);
  g_autoptr(GError) error = NULL;
  g_autoptr(RoadieFileSource) source = roadie_file_source_open (path, &error);
  float mono[6000];

  g_assert_no_error (error);
  g_assert_cmpuint (roadie_file_source_get_sample_rate (source), ==, 48000);
  g_assert_cmpuint (roadie_file_source_read (source, mono, 6000), ==, 4800);
  g_assert_cmpfloat_with_epsilon (mono[0], -0.5f, 1e-6);
  g_assert_cmpfloat_with_epsilon (mono[4799], -0.5f, 1e-6);
}

static void
test_file_source_errors (void)
{
  g_autofree char *missing = g_build_filename (roadie_test_tmpdir (), "no-such.wav", NULL);
  g_autofree char *text = g_build_filename (roadie_test_tmpdir (), "notes.wav", NULL);
  g_autoptr(GError) error = NULL;
  RoadieFileSource *source;

  source = roadie_file_source_open (missing, &error);
  g_assert_null (source);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND);
  g_assert_nonnull (strstr (error->message, missing));
  g_clear_error (&error);

  g_assert_true (g_file_set_contents (text, "this is not audio, just words\n", -1, NULL));
  source = roadie_file_source_open (text, &error);
  g_assert_null (source);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED);
  g_assert_nonnull (strstr (error->message, "not an audio file"));
  g_clear_error (&error);

  /* A folder is not a file either. */
  source = roadie_file_source_open (roadie_test_tmpdir (), &error);
  g_assert_null (source);
  g_assert_nonnull (error);
}

/* --- demo source ------------------------------------------------------------ */

static void
test_demo_source (void)
{
  const guint rate = 48000;
  g_autoptr(RoadieDemoSource) demo = roadie_demo_source_new (rate);
  g_autoptr(RoadieDemoSource) again = roadie_demo_source_new (rate);
  gsize n = rate * 8;
  g_autofree float *samples = g_new (float, n);
  g_autofree float *samples2 = g_new (float, n);
  double beat_samples = 60.0 / ROADIE_DEMO_SOURCE_BPM * rate;
  guint window = rate / 100;
  double on_beat = 0.0;
  double mid_beat = 0.0;
  guint n_beats = 0;

  /* Read in two uneven pieces: the groove does not restart per call. */
  roadie_demo_source_read (demo, samples, 12345);
  roadie_demo_source_read (demo, samples + 12345, n - 12345);
  roadie_demo_source_read (again, samples2, n);
  g_assert_cmpmem (samples, n * sizeof (float), samples2, n * sizeof (float));

  for (gsize i = 0; i < n; i++)
    g_assert_true (samples[i] >= -1.0f && samples[i] <= 1.0f);

  /* Energy just after each beat of the 124 BPM grid is well above the
   * energy a third of a beat later: the kicks are where they should be. */
  for (double b = 0; (gsize) (b * beat_samples) + beat_samples < n; b += 1.0, n_beats++)
    {
      gsize start = (gsize) llround (b * beat_samples);
      gsize later = start + (gsize) (beat_samples / 3.0);

      for (guint i = 0; i < window; i++)
        {
          on_beat += samples[start + i] * samples[start + i];
          mid_beat += samples[later + i] * samples[later + i];
        }
    }
  g_assert_cmpuint (n_beats, >=, 15);
  g_assert_cmpfloat (on_beat, >, 4.0 * mid_beat);
  g_assert_cmpfloat (on_beat / (n_beats * window), >, 0.01);
}

/* The engines these tests start die with the test, even when an assertion
 * aborts it before it could stop them. */
static void
die_with_parent (gpointer user_data)
{
  prctl (PR_SET_PDEATHSIG, SIGKILL);
}

static GSubprocess *
spawn_engine (const char * const  *argv,
              GSubprocessFlags     flags,
              const char          *pipewire_runtime_dir)
{
  g_autoptr(GSubprocessLauncher) launcher = g_subprocess_launcher_new (flags);
  g_autoptr(GError) error = NULL;
  GSubprocess *process;

  g_subprocess_launcher_set_child_setup (launcher, die_with_parent, NULL, NULL);
  if (pipewire_runtime_dir != NULL)
    {
      g_subprocess_launcher_setenv (launcher, "PIPEWIRE_RUNTIME_DIR", pipewire_runtime_dir, TRUE);
      g_subprocess_launcher_unsetenv (launcher, "PIPEWIRE_REMOTE");
    }
  process = g_subprocess_launcher_spawnv (launcher, argv, &error);
  g_assert_no_error (error);

  return process;
}

/* --- roadie-engine --analyze -------------------------------------------------- */

typedef struct
{
  int    status;
  char  *out;
  char  *err;
} Run;

static void
run_engine (Run                *run,
            const char * const *args)
{
  g_autoptr(GPtrArray) argv = g_ptr_array_new ();
  g_autoptr(GSubprocess) process = NULL;
  g_autoptr(GError) error = NULL;

  g_ptr_array_add (argv, (gpointer) roadie_test_engine ());
  for (guint i = 0; args[i] != NULL; i++)
    g_ptr_array_add (argv, (gpointer) args[i]);
  g_ptr_array_add (argv, NULL);

  process = spawn_engine ((const char * const *) argv->pdata,
                          G_SUBPROCESS_FLAGS_STDOUT_PIPE | G_SUBPROCESS_FLAGS_STDERR_PIPE, NULL);
  g_subprocess_communicate_utf8 (process, NULL, NULL, &run->out, &run->err, &error);
  g_assert_no_error (error);
  g_assert_true (g_subprocess_get_if_exited (process));
  run->status = g_subprocess_get_exit_status (process);
}

static void
run_clear (Run *run)
{
  g_clear_pointer (&run->out, g_free);
  g_clear_pointer (&run->err, g_free);
}

static void
test_analyze_errors (void)
{
  g_autofree char *missing = g_build_filename (roadie_test_tmpdir (), "gone.flac", NULL);
  g_autofree char *text = g_build_filename (roadie_test_tmpdir (), "setlist.ogg", NULL);
  Run run = { 0 };

  run_engine (&run, (const char *[]) { "--input", missing, "--analyze", NULL });
  g_assert_cmpint (run.status, ==, 2);
  g_assert_cmpstr (run.out, ==, "");
  g_assert_nonnull (strstr (run.err, missing));
  g_assert_nonnull (strstr (run.err, "No such file"));
  run_clear (&run);

  g_assert_true (g_file_set_contents (text, "1. intro\n2. drop\n", -1, NULL));
  run_engine (&run, (const char *[]) { "--input", text, "--analyze", NULL });
  g_assert_cmpint (run.status, ==, 2);
  g_assert_cmpstr (run.out, ==, "");
  g_assert_nonnull (strstr (run.err, "not an audio file Roadie can read"));
  run_clear (&run);

  /* --analyze needs a file: there is nothing to finish on live capture. */
  run_engine (&run, (const char *[]) { "--analyze", NULL });
  g_assert_cmpint (run.status, ==, 2);
  g_assert_nonnull (strstr (run.err, "--analyze"));
  run_clear (&run);
  run_engine (&run, (const char *[]) { "--input", "demo", "--analyze", NULL });
  g_assert_cmpint (run.status, ==, 2);
  g_assert_nonnull (strstr (run.err, "--analyze"));
  run_clear (&run);
}

/* A click track: on every beat a short kick (a 60 Hz thump, as dance music
 * has) under a 5 ms 1 kHz click. */
static char *
write_click_track (guint  rate,
                   double bpm,
                   double seconds)
{
  g_autofree char *path = g_build_filename (roadie_test_tmpdir (), "clicks.wav", NULL);
  SF_INFO info = { .samplerate = rate, .channels = 2, .format = SF_FORMAT_WAV | SF_FORMAT_PCM_16 };
  gsize n = (gsize) (seconds * rate);
  g_autofree float *frames = g_new0 (float, n * 2);
  double beat = 60.0 / bpm * rate;
  SNDFILE *file;

  for (double b = 0; b * beat < n; b += 1.0)
    for (guint i = 0; i < rate / 8 && (gsize) llround (b * beat) + i < n; i++)
      {
        gsize at = (gsize) llround (b * beat) + i;
        float t = (float) i / rate;
        float click = i < rate / 200 ? 0.3f * sinf (2.0f * G_PI * 1000.0f * t) : 0.0f;
        float kick = 0.6f * sinf (2.0f * G_PI * 60.0f * t) * expf (-t * 30.0f);

        frames[at * 2] = frames[at * 2 + 1] = click + kick;
      }
  file = sf_open (path, SFM_WRITE, &info);
  g_assert_nonnull (file);
  g_assert_cmpint (sf_writef_float (file, frames, n), ==, (sf_count_t) n);
  sf_close (file);

  return g_steal_pointer (&path);
}

static void
test_analyze_click_track (void)
{
  g_autofree char *path = write_click_track (44100, 120.0, 20.0);
  g_auto(GStrv) lines = NULL;
  Run run = { 0 };
  guint n_lines;
  guint n_beats = 0;
  double previous_t = -1.0;

  run_engine (&run, (const char *[]) { "--input", path, "--analyze", NULL });
  g_assert_cmpint (run.status, ==, 0);
  g_assert_cmpstr (run.err, ==, "");

  /* Every line is one JSON object; beats in time order; exactly one
   * summary, last. */
  lines = g_strsplit (g_strchomp (run.out), "\n", -1);
  n_lines = g_strv_length (lines);
  g_assert_cmpuint (n_lines, >=, 1);
  for (guint i = 0; i < n_lines; i++)
    {
      g_autoptr(JsonParser) parser = json_parser_new ();
      g_autoptr(GError) error = NULL;
      JsonObject *object;
      const char *type;

      json_parser_load_from_data (parser, lines[i], -1, &error);
      g_assert_no_error (error);
      object = json_node_get_object (json_parser_get_root (parser));
      type = json_object_get_string_member (object, "type");
      if (i + 1 < n_lines)
        {
          g_assert_cmpstr (type, ==, "beat");
          g_assert_cmpfloat (json_object_get_double_member (object, "t"), >, previous_t);
          previous_t = json_object_get_double_member (object, "t");
          g_assert_cmpfloat (previous_t, <=, 20.0);
          g_assert_true (json_object_has_member (object, "bpm"));
          n_beats++;
        }
      else
        {
          g_assert_cmpstr (type, ==, "summary");
          g_assert_true (json_object_has_member (object, "bpm"));
          g_assert_true (json_object_has_member (object, "confidence"));
          /* 20 s at 120 BPM is 40 beats; some go to locking on. */
          g_assert_cmpuint (n_beats, >=, 28);
          g_assert_cmpuint (n_beats, <=, 41);
          g_assert_cmpfloat_with_epsilon (json_object_get_double_member (object, "bpm"), 120.0, 4.8);
          g_assert_cmpfloat (json_object_get_double_member (object, "confidence"), >, 0.0);
        }
    }
  run_clear (&run);
}

/* --- roadie-engine --input demo, frames on the wire ------------------------- */

typedef struct
{
  SoupSession             *session;
  SoupWebsocketConnection *connection;
  GPtrArray               *frames;   /* JsonObject, type "frame" */
  gboolean                 failed;
} FrameClient;

static void
on_frame_message (SoupWebsocketConnection *connection,
                  SoupWebsocketDataType    type,
                  GBytes                  *message,
                  gpointer                 user_data)
{
  FrameClient *client = user_data;
  g_autoptr(JsonParser) parser = json_parser_new ();
  JsonObject *object;

  g_assert_true (json_parser_load_from_data (parser, g_bytes_get_data (message, NULL),
                                             g_bytes_get_size (message), NULL));
  object = json_node_get_object (json_parser_get_root (parser));
  if (g_strcmp0 (json_object_get_string_member (object, "type"), "frame") == 0)
    g_ptr_array_add (client->frames, json_object_ref (object));
}

static void
on_frame_client_connected (GObject      *object,
                           GAsyncResult *result,
                           gpointer      user_data)
{
  FrameClient *client = user_data;

  client->connection = soup_session_websocket_connect_finish (SOUP_SESSION (object), result, NULL);
  if (client->connection == NULL)
    {
      client->failed = TRUE;
      return;
    }
  g_signal_connect (client->connection, "message", G_CALLBACK (on_frame_message), client);
}

static gboolean
frame_client_done (gpointer user_data)
{
  FrameClient *client = user_data;

  return client->failed || client->connection != NULL;
}

typedef struct
{
  FrameClient *client;
  guint        n;
} WantFrames;

static gboolean
has_frames (gpointer user_data)
{
  WantFrames *want = user_data;

  return want->client->frames->len >= want->n;
}

static void
test_engine_demo_frames (void)
{
  guint16 port = roadie_test_free_port ();
  g_autofree char *port_text = g_strdup_printf ("%u", port);
  g_autofree char *url = g_strdup_printf ("ws://127.0.0.1:%u/", port);
  const char *argv[] = { roadie_test_engine (), "--input", "demo", "--port", port_text,
                         "--browser-port", "0", "--dj-port", "0", "--fps", "50", NULL };
  g_autoptr(GSubprocess) engine = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(SoupMessage) message = NULL;
  FrameClient client = { 0 };
  WantFrames want = { &client, 250 };
  gint64 start_us;
  gint64 elapsed_us;
  guint n_beats = 0;
  guint attempt;
  guint first;
  JsonObject *last;

  engine = spawn_engine (argv, G_SUBPROCESS_FLAGS_STDOUT_SILENCE, NULL);

  client.session = soup_session_new ();
  client.frames = g_ptr_array_new_with_free_func ((GDestroyNotify) json_object_unref);
  /* The engine needs a moment to listen: retry the connect briefly. */
  for (attempt = 0; attempt < 100 && client.connection == NULL; attempt++)
    {
      client.failed = FALSE;
      g_clear_object (&message);
      message = soup_message_new ("GET", url);
      soup_session_websocket_connect_async (client.session, message, NULL, NULL, G_PRIORITY_DEFAULT,
                                            NULL, on_frame_client_connected, &client);
      g_assert_true (roadie_test_wait_until (frame_client_done, &client, 5000));
      if (client.connection == NULL)
        roadie_test_run_for (50);
    }
  g_assert_nonnull (client.connection);

  /* 250 frames at 50 per second: five seconds of the groove. */
  start_us = g_get_monotonic_time ();
  g_assert_true (roadie_test_wait_until (has_frames, &want, 15000));
  elapsed_us = g_get_monotonic_time () - start_us;
  g_assert_cmpint (elapsed_us, >, 4 * G_USEC_PER_SEC);
  g_assert_cmpint (elapsed_us, <, 8 * G_USEC_PER_SEC);

  /* The first frame may leave before the first 10 ms of the groove are
   * played; from then on a demo never falls silent. */
  for (first = 0; first < client.frames->len; first++)
    if (!json_object_has_member (g_ptr_array_index (client.frames, first), "audio"))
      break;
  g_assert_cmpuint (first, <=, 2);
  for (guint i = 0; i < first; i++)
    g_assert_false (json_object_get_boolean_member (g_ptr_array_index (client.frames, i), "audio"));
  for (guint i = first; i < client.frames->len; i++)
    {
      JsonObject *frame = g_ptr_array_index (client.frames, i);

      g_assert_false (json_object_has_member (frame, "audio"));
      g_assert_cmpfloat (json_object_get_double_member (frame, "rms"), >, 0.01);
      g_assert_cmpfloat (json_object_get_double_member (frame, "peak"), >=,
                         json_object_get_double_member (frame, "rms"));
      g_assert_cmpuint (json_array_get_length (json_object_get_array_member (frame, "bands")), ==, 32);
      if (i > 0)
        g_assert_cmpint (json_object_get_int_member (frame, "seq"), ==,
                         json_object_get_int_member (g_ptr_array_index (client.frames, i - 1), "seq") + 1);
      if (json_object_get_boolean_member (frame, "beat"))
        n_beats++;
    }
  /* 124 BPM for five seconds is ten beats; the tracker needs a few
   * seconds to lock, so it reports at least the later ones and the
   * tempo by the end. */
  last = g_ptr_array_index (client.frames, client.frames->len - 1);
  g_assert_cmpuint (n_beats, >=, 3);
  g_assert_cmpuint (n_beats, <=, 12);
  g_assert_cmpfloat_with_epsilon (json_object_get_double_member (last, "bpm"), 124.0, 5.0);

  soup_websocket_connection_close (client.connection, SOUP_WEBSOCKET_CLOSE_NORMAL, NULL);
  g_clear_object (&client.connection);
  g_clear_object (&client.session);
  g_ptr_array_unref (client.frames);
  g_subprocess_send_signal (engine, SIGTERM);
  g_subprocess_wait_check (engine, NULL, &error);
  g_assert_no_error (error);
}

typedef struct
{
  GString  *text;
  gboolean  done;
} Stderr;

static gboolean
stderr_has_no_pipewire (gpointer user_data)
{
  Stderr *err = user_data;

  return strstr (err->text->str, "PipeWire is not running: no audio to analyse") != NULL;
}

static gboolean
stderr_done (gpointer user_data)
{
  Stderr *err = user_data;

  return err->done;
}

static void
on_stderr_read (GObject      *object,
                GAsyncResult *result,
                gpointer      user_data)
{
  Stderr *err = user_data;
  g_autoptr(GBytes) bytes = g_input_stream_read_bytes_finish (G_INPUT_STREAM (object), result, NULL);

  if (bytes == NULL || g_bytes_get_size (bytes) == 0)
    {
      err->done = TRUE;
      return;
    }
  g_string_append_len (err->text, g_bytes_get_data (bytes, NULL), g_bytes_get_size (bytes));
  g_input_stream_read_bytes_async (G_INPUT_STREAM (object), 4096, G_PRIORITY_DEFAULT, NULL, on_stderr_read, err);
}

/* No PipeWire daemon (this test's private runtime folder has none): the
 * engine says so, keeps serving, and its frames say there is no audio. */
static void
test_engine_without_pipewire (void)
{
  guint16 port = roadie_test_free_port ();
  g_autofree char *port_text = g_strdup_printf ("%u", port);
  g_autofree char *url = g_strdup_printf ("ws://127.0.0.1:%u/", port);
  g_autofree char *empty = g_build_filename (roadie_test_tmpdir (), "no-pipewire", NULL);
  const char *argv[] = { roadie_test_engine (), "--port", port_text,
                         "--browser-port", "0", "--dj-port", "0", NULL };
  g_autoptr(GSubprocess) engine = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GString) err_text = g_string_new (NULL);
  Stderr err_reader = { err_text, FALSE };
  Stderr *err = &err_reader;
  g_autoptr(SoupMessage) message = NULL;
  FrameClient client = { 0 };
  WantFrames want = { &client, 4 };
  gint64 start_us;

  g_assert_cmpint (g_mkdir_with_parents (empty, 0700), ==, 0);
  engine = spawn_engine (argv, G_SUBPROCESS_FLAGS_STDOUT_SILENCE | G_SUBPROCESS_FLAGS_STDERR_PIPE, empty);
  g_input_stream_read_bytes_async (g_subprocess_get_stderr_pipe (engine), 4096, G_PRIORITY_DEFAULT, NULL,
                                   on_stderr_read, err);

  g_assert_true (roadie_test_wait_until (stderr_has_no_pipewire, err, 10000));
  g_assert_nonnull (strstr (err->text->str, "roadie-engine: PipeWire is not running: no audio to analyse\n"));

  client.session = soup_session_new ();
  client.frames = g_ptr_array_new_with_free_func ((GDestroyNotify) json_object_unref);
  message = soup_message_new ("GET", url);
  soup_session_websocket_connect_async (client.session, message, NULL, NULL, G_PRIORITY_DEFAULT,
                                        NULL, on_frame_client_connected, &client);
  g_assert_true (roadie_test_wait_until (frame_client_done, &client, 5000));
  g_assert_nonnull (client.connection);

  /* A few frames a second, not --fps: four take about a second. */
  start_us = g_get_monotonic_time ();
  g_assert_true (roadie_test_wait_until (has_frames, &want, 5000));
  g_assert_cmpint (g_get_monotonic_time () - start_us, >, G_USEC_PER_SEC / 2);
  for (guint i = 0; i < client.frames->len; i++)
    {
      JsonObject *frame = g_ptr_array_index (client.frames, i);

      g_assert_true (json_object_has_member (frame, "audio"));
      g_assert_false (json_object_get_boolean_member (frame, "audio"));
      g_assert_cmpfloat (json_object_get_double_member (frame, "rms"), ==, 0.0);
      g_assert_false (json_object_get_boolean_member (frame, "beat"));
    }
  /* It said so once, not once per retry. */
  roadie_test_run_for (1500);
  g_assert_null (strstr (strstr (err->text->str, "PipeWire is not running") + 1, "PipeWire is not running"));

  soup_websocket_connection_close (client.connection, SOUP_WEBSOCKET_CLOSE_NORMAL, NULL);
  g_clear_object (&client.connection);
  g_clear_object (&client.session);
  g_ptr_array_unref (client.frames);
  g_subprocess_send_signal (engine, SIGTERM);
  g_subprocess_wait_check (engine, NULL, &error);
  g_assert_no_error (error);
  /* The reader holds err until the pipe closes. */
  g_assert_true (roadie_test_wait_until (stderr_done, err, 5000));
}

int
main (int   argc,
      char *argv[])
{
  roadie_test_init_environment ();
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/roadie/audio-sources/ring-basic", test_ring_basic);
  g_test_add_func ("/roadie/audio-sources/ring-mono-mix", test_ring_mono_mix);
  g_test_add_func ("/roadie/audio-sources/ring-threads", test_ring_threads);
  g_test_add_func ("/roadie/audio-sources/file-wav", test_file_source_wav);
  g_test_add_func ("/roadie/audio-sources/file-mono-48k", test_file_source_mono_48k);
  g_test_add_func ("/roadie/audio-sources/file-errors", test_file_source_errors);
  g_test_add_func ("/roadie/audio-sources/demo", test_demo_source);
  g_test_add_func ("/roadie/audio-sources/analyze-errors", test_analyze_errors);
  g_test_add_func ("/roadie/audio-sources/analyze-click-track", test_analyze_click_track);
  g_test_add_func ("/roadie/audio-sources/engine-demo-frames", test_engine_demo_frames);
  g_test_add_func ("/roadie/audio-sources/engine-without-pipewire", test_engine_without_pipewire);

  return g_test_run ();
}
