/* test-analyzer.c: the analyzer's spectrum, levels, onsets and frames, and
 * the beat tracker driven by onset values alone.
 */
#include "config.h"

#include <json-glib/json-glib.h>
#include <math.h>

#include "roadie-analyzer.h"
#include "roadie-beat-tracker.h"
#include "roadie-test-util.h"

#define N_BANDS 32

typedef struct
{
  guint                      hops;
  const RoadieAnalysisFrame *first_frame;
  gboolean                   same_frame;
  RoadieAnalysisFrame        last;
  float                      max_onset;
  guint                      beats;
  guint64                    expected_seq;
  gboolean                   seq_in_order;
  double                     band_sum[ROADIE_MAX_BANDS];
  float                      max_rms;
  float                      max_peak;
} Stats;

static void
collect (const RoadieAnalysisFrame *frame,
         gpointer                   user_data)
{
  Stats *stats = user_data;

  if (stats->hops == 0)
    {
      stats->first_frame = frame;
      stats->same_frame = TRUE;
      stats->seq_in_order = TRUE;
    }
  stats->same_frame = stats->same_frame && frame == stats->first_frame;
  stats->seq_in_order = stats->seq_in_order && frame->seq == stats->expected_seq;
  stats->expected_seq = frame->seq + 1;
  stats->hops++;
  stats->last = *frame;
  stats->max_onset = MAX (stats->max_onset, frame->onset);
  stats->max_rms = MAX (stats->max_rms, frame->rms);
  stats->max_peak = MAX (stats->max_peak, frame->peak);
  if (frame->beat)
    stats->beats++;
  for (guint b = 0; b < frame->n_bands; b++)
    stats->band_sum[b] += frame->bands[b];
}

static float *
make_sine (guint  rate,
           double seconds,
           double freq,
           double amplitude)
{
  gsize n = (gsize) (rate * seconds);
  float *samples = g_new (float, n);

  for (gsize i = 0; i < n; i++)
    samples[i] = amplitude * sin (2 * G_PI * freq * i / rate);
  return samples;
}

static Stats
analyze (guint        rate,
         const float *samples,
         gsize        n)
{
  RoadieAnalyzerConfig config = { rate, 0, 0, N_BANDS };
  g_autoptr(RoadieAnalyzer) analyzer = roadie_analyzer_new (&config);
  Stats stats = { 0 };

  roadie_analyzer_process (analyzer, samples, n, collect, &stats);
  return stats;
}

static guint
loudest_band (const Stats *stats)
{
  guint best = 0;

  for (guint b = 1; b < N_BANDS; b++)
    if (stats->band_sum[b] > stats->band_sum[best])
      best = b;
  return best;
}

/* The band a frequency belongs to with 32 log-spaced bands, 30 Hz–16 kHz. */
static guint
expected_band (double freq)
{
  return (guint) floor (N_BANDS * log (freq / 30.0) / log (16000.0 / 30.0));
}

static void
test_defaults (void)
{
  const guint rates[] = { 44100, 48000 };

  for (guint i = 0; i < G_N_ELEMENTS (rates); i++)
    {
      RoadieAnalyzerConfig config = { rates[i], 0, 0, 0 };
      g_autoptr(RoadieAnalyzer) analyzer = roadie_analyzer_new (&config);
      double hop_ms = 1000.0 * roadie_analyzer_get_hop_size (analyzer) / rates[i];

      /* The hop is a time, not a sample count: the same at both rates. */
      g_assert_cmpfloat_with_epsilon (hop_ms, 10.667, 0.02);
      g_assert_cmpuint (roadie_analyzer_get_fft_size (analyzer), ==, 2048);
    }
}

/* Tones at band centres (from band 8 up, where every band spans more
 * than one FFT bin), at both rates. */
static void
test_tone_band (void)
{
  const guint bands[] = { 8, 12, 16, 22, 28 };

  for (guint t = 0; t < G_N_ELEMENTS (bands); t++)
    {
      double freq = 30.0 * pow (16000.0 / 30.0, (bands[t] + 0.5) / N_BANDS);
      g_autofree float *at44 = make_sine (44100, 1.0, freq, 0.5);
      g_autofree float *at48 = make_sine (48000, 1.0, freq, 0.5);
      Stats s44 = analyze (44100, at44, 44100);
      Stats s48 = analyze (48000, at48, 48000);

      g_test_message ("%.0f Hz: band %u at 44.1 kHz, %u at 48 kHz, expected %u",
                      freq, loudest_band (&s44), loudest_band (&s48), expected_band (freq));
      g_assert_cmpuint (expected_band (freq), ==, bands[t]);
      g_assert_cmpuint (loudest_band (&s44), ==, bands[t]);
      g_assert_cmpuint (loudest_band (&s48), ==, bands[t]);
      /* −6 dBFS reads about 0.92 on the −80..0 dB scale. */
      g_assert_cmpfloat (s48.last.bands[bands[t]], >, 0.85);
      g_assert_cmpfloat (s48.last.bands[bands[t]], <, 1.0);
      g_assert_cmpfloat_with_epsilon (s44.last.bands[bands[t]], s48.last.bands[bands[t]], 0.03);
      /* Far from the tone, the bands are near the floor. */
      g_assert_cmpfloat (s48.last.bands[(bands[t] + N_BANDS / 2) % N_BANDS], <, 0.3);
    }
}

static void
test_levels (void)
{
  g_autofree float *sine = make_sine (48000, 0.5, 1000, 0.5);
  g_autofree float *square = g_new (float, 24000);
  Stats stats;

  stats = analyze (48000, sine, 24000);
  g_assert_cmpfloat_with_epsilon (stats.last.rms, 0.5 / G_SQRT2, 0.005);
  g_assert_cmpfloat_with_epsilon (stats.last.peak, 0.5, 0.005);

  for (guint i = 0; i < 24000; i++)
    square[i] = (i / 100) % 2 ? 0.25f : -0.25f;
  stats = analyze (48000, square, 24000);
  g_assert_cmpfloat_with_epsilon (stats.last.rms, 0.25, 1e-4);
  g_assert_cmpfloat_with_epsilon (stats.last.peak, 0.25, 1e-6);
  g_assert_cmpfloat_with_epsilon (stats.max_peak, 0.25, 1e-6);
}

static void
test_silence (void)
{
  gsize n = 48000 * 12;
  g_autofree float *zeros = g_new0 (float, n);
  RoadieAnalyzerConfig config = { 48000, 0, 0, N_BANDS };
  g_autoptr(RoadieAnalyzer) analyzer = roadie_analyzer_new (&config);
  Stats stats = { 0 };
  float bpm = -1, confidence = -1;

  roadie_analyzer_process (analyzer, zeros, n, collect, &stats);
  g_assert_cmpuint (stats.hops, ==, n / 512);
  g_assert_cmpfloat (stats.max_onset, ==, 0);
  g_assert_cmpuint (stats.beats, ==, 0);
  g_assert_cmpfloat (stats.max_rms, ==, 0);
  g_assert_cmpfloat (stats.last.bpm, ==, 0);
  for (guint b = 0; b < N_BANDS; b++)
    g_assert_cmpfloat (stats.band_sum[b], ==, 0);
  g_assert_false (roadie_analyzer_get_tempo (analyzer, &bpm, &confidence));
  g_assert_cmpfloat (bpm, ==, 0);
}

/* A click track with an exact grid at 125 BPM. */
static float *
make_clicks (guint   rate,
             double  seconds,
             double  bpm,
             gsize  *n)
{
  float *samples;

  *n = (gsize) (rate * seconds);
  samples = g_new0 (float, *n);
  for (double t = 0.5; t < seconds; t += 60.0 / bpm)
    {
      gsize start = (gsize) llround (t * rate);

      for (gsize i = 0; i < rate / 50 && start + i < *n; i++)
        samples[start + i] = 0.8 * sin (2 * G_PI * 90 * i / rate) * exp (-(double) i / (rate * 0.005));
    }
  return samples;
}

/* Per-hop results do not depend on how the samples are chunked, and the
 * analyzer hands out the same frame every hop: its buffers are all made
 * in _new, none per hop. */
static void
test_chunking_and_reuse (void)
{
  gsize n;
  g_autofree float *clicks = make_clicks (44100, 12, 125, &n);
  RoadieAnalyzerConfig config = { 44100, 0, 0, N_BANDS };
  g_autoptr(RoadieAnalyzer) whole = roadie_analyzer_new (&config);
  g_autoptr(RoadieAnalyzer) pieces = roadie_analyzer_new (&config);
  Stats a = { 0 }, b = { 0 };
  gsize offset = 0;
  guint chunk = 0;

  roadie_analyzer_process (whole, clicks, n, collect, &a);
  while (offset < n)
    {
      gsize take = MIN ((gsize) (1 + 331 * (chunk++ % 5)), n - offset);

      roadie_analyzer_process (pieces, clicks + offset, take, collect, &b);
      offset += take;
    }
  g_assert_cmpuint (a.hops, ==, n / 470);
  g_assert_cmpuint (a.hops, ==, b.hops);
  g_assert_true (a.same_frame);
  g_assert_true (b.same_frame);
  g_assert_true (a.seq_in_order);
  g_assert_cmpuint (a.beats, ==, b.beats);
  g_assert_cmpfloat (a.last.bpm, ==, b.last.bpm);
  g_assert_cmpfloat_with_epsilon (a.last.time_s, (double) a.hops * 470 / 44100, 1e-9);
  /* Clicks make onsets, and a steady click track gets its tempo. */
  g_assert_cmpfloat (a.max_onset, >, 0.99);
  g_assert_cmpfloat_with_epsilon (a.last.bpm, 125, 125 * 0.02);
  g_assert_cmpuint (a.beats, >=, 15);
}

static void
test_frame_json (void)
{
  RoadieAnalysisFrame frame = { 0 };
  g_autofree char *json = NULL;
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(GError) error = NULL;
  g_autoptr(GList) members = NULL;
  JsonObject *object;
  JsonArray *bands;
  const char *expected[] = { "type", "seq", "ts", "rms", "peak", "bands", "onset",
                             "beat", "bpm", "confidence", "phase" };
  guint i = 0;

  frame.seq = 42;
  frame.ts = 1763736000.123456;
  frame.rms = 0.123456f;
  frame.peak = 1.0f;
  frame.n_bands = 4;
  frame.bands[0] = 0.5f;
  frame.bands[1] = 0.333333f;
  frame.bands[3] = 1.0f;
  frame.onset = 0.25f;
  frame.beat = TRUE;
  frame.bpm = 123.456f;
  frame.confidence = 0.8f;
  frame.phase = 0.99999f;
  frame.has_audio = TRUE;
  json = roadie_analysis_frame_to_json (&frame);
  g_test_message ("%s", json);
  g_assert_true (g_str_has_prefix (json, "{\"type\":\"frame\","));
  g_assert_nonnull (strstr (json, "\"rms\":0.1235,"));
  g_assert_nonnull (strstr (json, "\"bands\":[0.5,0.3333,0,1]"));
  g_assert_nonnull (strstr (json, "\"beat\":true"));
  g_assert_nonnull (strstr (json, "\"phase\":1"));
  g_assert_null (strstr (json, "audio"));

  g_assert_true (json_parser_load_from_data (parser, json, -1, &error));
  g_assert_no_error (error);
  object = json_node_get_object (json_parser_get_root (parser));
  members = json_object_get_members (object);
  g_assert_cmpuint (g_list_length (members), ==, G_N_ELEMENTS (expected));
  for (GList *l = members; l != NULL; l = l->next)
    g_assert_cmpstr (l->data, ==, expected[i++]);
  g_assert_cmpint (json_object_get_int_member (object, "seq"), ==, 42);
  g_assert_cmpfloat_with_epsilon (json_object_get_double_member (object, "ts"), 1763736000.1235, 1e-3);
  g_assert_cmpfloat_with_epsilon (json_object_get_double_member (object, "bpm"), 123.46, 1e-6);
  bands = json_object_get_array_member (object, "bands");
  g_assert_cmpuint (json_array_get_length (bands), ==, 4);

  frame.has_audio = FALSE;
  frame.beat = FALSE;
  g_clear_pointer (&json, g_free);
  json = roadie_analysis_frame_to_json (&frame);
  g_assert_true (g_str_has_suffix (json, ",\"audio\":false}"));
  g_assert_nonnull (strstr (json, "\"beat\":false"));
}

/* The tracker alone: a pulse every 0.5 s at 100 onset values a second. */
static void
test_tracker_pulses (void)
{
  g_autoptr(RoadieBeatTracker) tracker = roadie_beat_tracker_new (100.0, 0.0);
  double beat_time = 0, last_reported = -1;
  guint n_beats = 0, n_late = 0, n_in_gap = 0;
  float confidence_before_gap = 0;

  for (guint i = 0; i < 3000; i++)
    {
      double t = (i + 1) / 100.0;
      gboolean in_gap = t >= 15 && t < 20;
      /* Beats on the grid 0.5 s + k × 0.5 s, at frame i = 49 + 50k. */
      float onset = (!in_gap && (i + 1) % 50 == 0) ? 1.0f : 0.01f;

      if (t == 15.0)
        confidence_before_gap = roadie_beat_tracker_get_confidence (tracker);
      if (roadie_beat_tracker_push (tracker, t, onset, &beat_time))
        {
          double nearest = 0.5 * round (beat_time / 0.5);

          g_assert_cmpfloat (beat_time, <=, t);
          if (t - beat_time > 0.01 + 1e-9)
            n_late++;
          if (t > 5)
            g_assert_cmpfloat_with_epsilon (beat_time, nearest, 0.015);
          if (last_reported >= 0 && t > 5)
            g_assert_cmpfloat_with_epsilon (beat_time - last_reported, 0.5, 0.02);
          last_reported = beat_time;
          n_beats++;
          if (in_gap)
            n_in_gap++;
        }
    }
  g_assert_cmpuint (n_late, ==, 0);
  g_assert_cmpfloat_with_epsilon (roadie_beat_tracker_get_bpm (tracker), 120, 1.0);
  /* Through the five-second gap, the grid keeps going: ten beats. */
  g_assert_cmpuint (n_in_gap, >=, 9);
  g_assert_cmpfloat (confidence_before_gap, >, 0.3);
  g_assert_cmpuint (n_beats, >=, 50);
}

static void
test_tracker_silence (void)
{
  g_autoptr(RoadieBeatTracker) tracker = roadie_beat_tracker_new (93.75, 0.0);

  for (guint i = 0; i < 1000; i++)
    g_assert_false (roadie_beat_tracker_push (tracker, i / 93.75, 0.0f, NULL));
  g_assert_cmpfloat (roadie_beat_tracker_get_bpm (tracker), ==, 0);
  g_assert_cmpfloat (roadie_beat_tracker_get_confidence (tracker), ==, 0);
}

/* Pulses of the registers on a grid of eighths at `eighth_s`: the whole
 * onset function sees every eighth alike, the registers tell the beat. */
typedef struct
{
  float kick_on_beat, kick_off_beat;
  float hat_on_beat, hat_off_beat;
  float accent_on_beat, accent_off_beat;  /* how loud, all bands */
} Groove;

static float
tracker_bpm_for (const Groove *groove,
                 double        beat_s)
{
  g_autoptr(RoadieBeatTracker) tracker = roadie_beat_tracker_new (100.0, 0.0);
  guint half_beat = (guint) round (beat_s * 100 / 2);

  for (guint i = 1; i <= 2000; i++)
    {
      RoadieOnsetStrength onset = { 0.01f, 0.0f, 0.0f, 0.01f };

      if (i % half_beat == 0)
        {
          gboolean on_beat = (i / half_beat) % 2 == 0;

          onset.all = 1.0f;
          onset.low = on_beat ? groove->kick_on_beat : groove->kick_off_beat;
          onset.high = on_beat ? groove->hat_on_beat : groove->hat_off_beat;
          onset.accent = on_beat ? groove->accent_on_beat : groove->accent_off_beat;
        }
      roadie_beat_tracker_push_strength (tracker, i / 100.0, &onset, NULL);
    }
  return roadie_beat_tracker_get_bpm (tracker);
}

/* The octave is the registers' call: a kick on every other eighth with
 * weak hits between makes those eighths a subdivision (60 BPM, not 120);
 * a kick on every eighth makes them beats; without a kick, hats accented
 * on every other eighth mark the beat, and even hats make each one a beat. */
static void
test_tracker_octave (void)
{
  const Groove slow_four = { 1.0f, 0.2f, 0.0f, 0.5f, 1.0f, 0.25f };
  const Groove fast_four = { 1.0f, 1.0f, 0.0f, 0.5f, 1.0f, 1.0f };
  const Groove accented_hats = { 0.0f, 0.0f, 1.0f, 0.4f, 1.0f, 0.4f };
  const Groove even_hats = { 0.0f, 0.0f, 1.0f, 1.0f, 1.0f, 1.0f };

  g_assert_cmpfloat_with_epsilon (tracker_bpm_for (&slow_four, 1.0), 60, 1.5);
  g_assert_cmpfloat_with_epsilon (tracker_bpm_for (&fast_four, 1.0), 120, 2.5);
  g_assert_cmpfloat_with_epsilon (tracker_bpm_for (&accented_hats, 0.7), 60 / 0.7, 2.0);
  g_assert_cmpfloat_with_epsilon (tracker_bpm_for (&even_hats, 1.4), 2 * 60 / 1.4, 2.0);
}

/* Other FFT sizes (roadie-engine --fft-size) keep the hop and the tempo;
 * a hop never exceeds the FFT. */
static void
test_fft_sizes (void)
{
  const guint sizes[] = { 512, 1024, 4096 };
  gsize n;
  g_autofree float *clicks = make_clicks (48000, 12, 125, &n);

  for (guint i = 0; i < G_N_ELEMENTS (sizes); i++)
    {
      RoadieAnalyzerConfig config = { 48000, sizes[i], 0, N_BANDS };
      g_autoptr(RoadieAnalyzer) analyzer = roadie_analyzer_new (&config);
      Stats stats = { 0 };

      g_assert_cmpuint (roadie_analyzer_get_fft_size (analyzer), ==, sizes[i]);
      g_assert_cmpuint (roadie_analyzer_get_hop_size (analyzer), ==, 512);
      roadie_analyzer_process (analyzer, clicks, n, collect, &stats);
      g_test_message ("fft %u: %.2f BPM, %u beats", sizes[i], stats.last.bpm, stats.beats);
      g_assert_cmpfloat_with_epsilon (stats.last.bpm, 125, 125 * 0.02);
      g_assert_cmpuint (stats.beats, >=, 15);
    }
}

/* Music, then digital silence: the silent hops (no FFT) read as the floor
 * and rise nothing; the grid runs on a while, then stops. */
static void
test_silence_after_music (void)
{
  gsize n;
  g_autofree float *clicks = make_clicks (44100, 12, 125, &n);
  g_autofree float *zeros = g_new0 (float, 44100 * 20);
  RoadieAnalyzerConfig config = { 44100, 0, 0, N_BANDS };
  g_autoptr(RoadieAnalyzer) analyzer = roadie_analyzer_new (&config);
  Stats music = { 0 }, silence = { 0 };

  roadie_analyzer_process (analyzer, clicks, n, collect, &music);
  roadie_analyzer_process (analyzer, zeros, 44100 * 20, collect, &silence);
  g_assert_cmpuint (music.beats, >=, 15);
  g_assert_cmpfloat (silence.last.rms, ==, 0);
  g_assert_cmpfloat (silence.last.onset, ==, 0);
  for (guint b = 0; b < N_BANDS; b++)
    g_assert_cmpfloat (silence.last.bands[b], ==, 0);
  g_assert_false (silence.last.beat);
  g_assert_cmpfloat (silence.last.confidence, <, 0.05);
}

int
main (int   argc,
      char *argv[])
{
  roadie_test_init_environment ();
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/roadie/analyzer/defaults", test_defaults);
  g_test_add_func ("/roadie/analyzer/tone-band", test_tone_band);
  g_test_add_func ("/roadie/analyzer/levels", test_levels);
  g_test_add_func ("/roadie/analyzer/silence", test_silence);
  g_test_add_func ("/roadie/analyzer/chunking-and-reuse", test_chunking_and_reuse);
  g_test_add_func ("/roadie/analyzer/frame-json", test_frame_json);
  g_test_add_func ("/roadie/beat-tracker/pulses", test_tracker_pulses);
  g_test_add_func ("/roadie/beat-tracker/silence", test_tracker_silence);
  g_test_add_func ("/roadie/beat-tracker/octave", test_tracker_octave);
  g_test_add_func ("/roadie/analyzer/fft-sizes", test_fft_sizes);
  g_test_add_func ("/roadie/analyzer/silence-after-music", test_silence_after_music);

  return g_test_run ();
}
