/* test-audio-sources.c: the audio sources of roadie-audio, and the
 * roadie-engine --analyze command line.
 *
 * The ring buffer (wraparound, full, a real producer thread against the
 * consumer with a checksum), the file source on WAV files this test writes
 * with libsndfile (rate, length, the mono mix), unreadable and unsupported
 * files, the demo groove (its kicks land on the 124 BPM grid), and the
 * built roadie-engine run with --analyze.
 */
#include "config.h"

#include <math.h>
#include <string.h>
#include <sys/wait.h>

#include <json-glib/json-glib.h>
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

  return g_test_run ();
}
