/* roadie-test-tracks.c: the test track generator and the beat evaluator. */
#include "config.h"

#include <math.h>

#include "roadie-test-tracks.h"

#define DURATION 24.0
#define FIRST_BEAT_S 0.25

static const RoadieTestTrackSpec specs[] = {
  /* name, family, rate, duration, bpm, bpm_end, step_s, groove, gain_db,
   * breakdown from/to, noise_db, seed */
  { "straight-60", "straight", 48000, DURATION, 60, 0, 0, ROADIE_TEST_GROOVE_STRAIGHT, -3, 0, 0, 0, 1 },
  { "straight-75", "straight", 44100, DURATION, 75, 0, 0, ROADIE_TEST_GROOVE_STRAIGHT, -3, 0, 0, 0, 2 },
  { "straight-90", "straight", 48000, DURATION, 90, 0, 0, ROADIE_TEST_GROOVE_STRAIGHT, -3, 0, 0, 0, 3 },
  { "straight-120", "straight", 44100, DURATION, 120, 0, 0, ROADIE_TEST_GROOVE_STRAIGHT, -3, 0, 0, 0, 4 },
  { "straight-124", "straight", 48000, DURATION, 124, 0, 0, ROADIE_TEST_GROOVE_STRAIGHT, -3, 0, 0, 0, 5 },
  { "straight-140", "straight", 48000, DURATION, 140, 0, 0, ROADIE_TEST_GROOVE_STRAIGHT, -3, 0, 0, 0, 6 },
  { "straight-160", "straight", 44100, DURATION, 160, 0, 0, ROADIE_TEST_GROOVE_STRAIGHT, -3, 0, 0, 0, 7 },
  { "straight-175", "straight", 48000, DURATION, 175, 0, 0, ROADIE_TEST_GROOVE_STRAIGHT, -3, 0, 0, 0, 8 },
  { "straight-200", "straight", 44100, DURATION, 200, 0, 0, ROADIE_TEST_GROOVE_STRAIGHT, -3, 0, 0, 0, 9 },
  { "swung-96", "swung", 44100, DURATION, 96, 0, 0, ROADIE_TEST_GROOVE_SWUNG, -3, 0, 0, 0, 10 },
  { "swung-112", "swung", 48000, DURATION, 112, 0, 0, ROADIE_TEST_GROOVE_SWUNG, -3, 0, 0, 0, 11 },
  { "swung-132", "swung", 44100, DURATION, 132, 0, 0, ROADIE_TEST_GROOVE_SWUNG, -3, 0, 0, 0, 12 },
  /* Every groove at the ends of the range too, not only the straight one:
   * a fast swing or syncopation is easily halved, a slow one doubled, and
   * a half-time kick on one and "two-and" repeats every beat and a half. */
  { "swung-68", "swung", 48000, DURATION, 68, 0, 0, ROADIE_TEST_GROOVE_SWUNG, -3, 0, 0, 0, 28 },
  { "swung-176", "swung", 48000, DURATION, 176, 0, 0, ROADIE_TEST_GROOVE_SWUNG, -3, 0, 0, 0, 29 },
  { "syncopated-100", "syncopated", 48000, DURATION, 100, 0, 0, ROADIE_TEST_GROOVE_SYNCOPATED, -3, 0, 0, 0, 13 },
  { "syncopated-128", "syncopated", 44100, DURATION, 128, 0, 0, ROADIE_TEST_GROOVE_SYNCOPATED, -3, 0, 0, 0, 14 },
  { "syncopated-72", "syncopated", 44100, DURATION, 72, 0, 0, ROADIE_TEST_GROOVE_SYNCOPATED, -3, 0, 0, 0, 30 },
  { "syncopated-164", "syncopated", 44100, DURATION, 164, 0, 0, ROADIE_TEST_GROOVE_SYNCOPATED, -3, 0, 0, 0, 31 },
  { "half-time-85", "half-time", 44100, DURATION, 85, 0, 0, ROADIE_TEST_GROOVE_HALF_TIME, -3, 0, 0, 0, 15 },
  { "half-time-140", "half-time", 48000, DURATION, 140, 0, 0, ROADIE_TEST_GROOVE_HALF_TIME, -3, 0, 0, 0, 16 },
  { "half-time-107", "half-time", 44100, DURATION, 107, 0, 0, ROADIE_TEST_GROOVE_HALF_TIME, -3, 0, 0, 0, 32 },
  { "half-time-122", "half-time", 48000, DURATION, 122, 0, 0, ROADIE_TEST_GROOVE_HALF_TIME, -3, 0, 0, 0, 33 },
  { "drift-118-128", "drift", 48000, DURATION, 118, 128, 0, ROADIE_TEST_GROOVE_STRAIGHT, -3, 0, 0, 0, 17 },
  { "drift-100-94", "drift", 44100, DURATION, 100, 94, 0, ROADIE_TEST_GROOVE_SYNCOPATED, -3, 0, 0, 0, 18 },
  { "step-120-132", "step", 44100, DURATION, 120, 132, 13, ROADIE_TEST_GROOVE_STRAIGHT, -3, 0, 0, 0, 19 },
  { "step-128-110", "step", 48000, DURATION, 128, 110, 13, ROADIE_TEST_GROOVE_STRAIGHT, -3, 0, 0, 0, 20 },
  { "breakdown-124", "breakdown", 48000, DURATION, 124, 0, 0, ROADIE_TEST_GROOVE_STRAIGHT, -3, 10, 15, 0, 21 },
  { "breakdown-100", "breakdown", 44100, DURATION, 100, 0, 0, ROADIE_TEST_GROOVE_SYNCOPATED, -3, 11, 15, 0, 22 },
  /* A DJ's breakdown can run for many bars, the beat going on under the
   * pads. */
  { "breakdown-long-128", "breakdown", 44100, 40, 128, 0, 0, ROADIE_TEST_GROOVE_STRAIGHT, -3, 12, 30, 0, 34 },
  { "noise-126", "noise", 44100, DURATION, 126, 0, 0, ROADIE_TEST_GROOVE_STRAIGHT, -3, 0, 0, -22, 23 },
  { "quiet-122", "quiet", 48000, DURATION, 122, 0, 0, ROADIE_TEST_GROOVE_STRAIGHT, -40, 0, 0, 0, 24 },
  { "quiet-swung-104", "quiet", 44100, DURATION, 104, 0, 0, ROADIE_TEST_GROOVE_SWUNG, -36, 0, 0, 0, 25 },
  { "loud-130", "loud", 44100, DURATION, 130, 0, 0, ROADIE_TEST_GROOVE_STRAIGHT, 8, 0, 0, 0, 26 },
  { "loud-half-time-150", "loud", 48000, DURATION, 150, 0, 0, ROADIE_TEST_GROOVE_HALF_TIME, 8, 0, 0, 0, 27 },
};

const RoadieTestTrackSpec *
roadie_test_track_specs (guint *n_specs)
{
  *n_specs = G_N_ELEMENTS (specs);
  return specs;
}

static double
tempo_at (const RoadieTestTrackSpec *spec,
          double                     t)
{
  if (spec->bpm_end <= 0)
    return spec->bpm;
  if (spec->step_s > 0)
    return t < spec->step_s ? spec->bpm : spec->bpm_end;
  return spec->bpm + (spec->bpm_end - spec->bpm) * CLAMP (t / spec->duration_s, 0.0, 1.0);
}

typedef struct
{
  float  *out;
  gsize   n;
  guint   rate;
  GRand  *rand;
} Mix;

static void
add_kick (Mix    *mix,
          double  t0,
          double  amp)
{
  gsize start = (gsize) llround (t0 * mix->rate);
  gsize len = (gsize) (0.35 * mix->rate);
  double phase = 0;

  for (gsize i = 0; i < len && start + i < mix->n; i++)
    {
      double t = (double) i / mix->rate;
      double freq = 48.0 + 110.0 * exp (-t / 0.03);

      phase += 2 * G_PI * freq / mix->rate;
      mix->out[start + i] += amp * sin (phase) * exp (-t / 0.12);
    }
}

static void
add_snare (Mix    *mix,
           double  t0,
           double  amp)
{
  gsize start = (gsize) llround (t0 * mix->rate);
  gsize len = (gsize) (0.25 * mix->rate);

  for (gsize i = 0; i < len && start + i < mix->n; i++)
    {
      double t = (double) i / mix->rate;
      double noise = g_rand_double_range (mix->rand, -1, 1);

      mix->out[start + i] += amp * (0.6 * noise * exp (-t / 0.07)
                                    + 0.4 * sin (2 * G_PI * 190 * t) * exp (-t / 0.05));
    }
}

static void
add_hat (Mix    *mix,
         double  t0,
         double  amp)
{
  gsize start = (gsize) llround (t0 * mix->rate);
  gsize len = (gsize) (0.08 * mix->rate);
  double previous = 0;

  for (gsize i = 0; i < len && start + i < mix->n; i++)
    {
      double t = (double) i / mix->rate;
      double noise = g_rand_double_range (mix->rand, -1, 1);

      /* A first difference tilts white noise up: a hat's hiss. */
      mix->out[start + i] += amp * 0.5 * (noise - previous) * exp (-t / 0.018);
      previous = noise;
    }
}

static void
add_bass (Mix    *mix,
          double  t0,
          double  length,
          double  freq,
          double  amp)
{
  gsize start = (gsize) llround (t0 * mix->rate);
  gsize len = (gsize) (length * mix->rate);

  for (gsize i = 0; i < len && start + i < mix->n; i++)
    {
      double t = (double) i / mix->rate;
      double env = MIN (1.0, t / 0.008) * exp (-t / 0.25) * MIN (1.0, (length - t) / 0.01);

      mix->out[start + i] += amp * env * (sin (2 * G_PI * freq * t)
                                          + 0.3 * sin (4 * G_PI * freq * t));
    }
}

/* Slow-moving chords under everything: they change every two seconds with
 * long crossfades, so they carry harmony but hardly any onsets. */
static void
add_pads (Mix    *mix,
          double  amp)
{
  static const double chords[4][3] = {
    { 220.0, 261.6, 329.6 }, { 174.6, 220.0, 261.6 },
    { 196.0, 246.9, 293.7 }, { 164.8, 207.7, 246.9 },
  };

  for (gsize i = 0; i < mix->n; i++)
    {
      double t = (double) i / mix->rate;
      guint chord = (guint) (t / 2.0) % 4;
      double into = fmod (t, 2.0);
      double fade = MIN (1.0, into / 0.6);
      double v = 0;

      for (guint k = 0; k < 3; k++)
        v += fade * sin (2 * G_PI * chords[chord][k] * t)
             + (1 - fade) * sin (2 * G_PI * chords[(chord + 3) % 4][k] * t);
      mix->out[i] += amp * v / 3 * (0.8 + 0.2 * sin (2 * G_PI * 0.3 * t));
    }
}

static gboolean
in_breakdown (const RoadieTestTrackSpec *spec,
              double                     t)
{
  return spec->breakdown_to_s > spec->breakdown_from_s
         && t >= spec->breakdown_from_s && t < spec->breakdown_to_s;
}

/* One beat of the groove: positions are fractions of the beat, so swing
 * and syncopation follow the tempo curve. */
static void
play_beat (Mix                       *mix,
           const RoadieTestTrackSpec *spec,
           guint                      index,
           double                     start,
           double                     length)
{
  guint in_bar = index % 4;
  double vel = 0.9 + 0.1 * g_rand_double (mix->rand);
  static const double bass_notes[4] = { 55.0, 55.0, 65.4, 49.0 };
  double bass = bass_notes[(index / 4) % 4];

#define AT(frac) (start + (frac) * length)
  switch (spec->groove)
    {
    case ROADIE_TEST_GROOVE_STRAIGHT:
      add_kick (mix, AT (0), 0.9 * vel);
      if (in_bar == 1 || in_bar == 3)
        add_snare (mix, AT (0), 0.5 * vel);
      add_hat (mix, AT (0.5), 0.35 * vel);
      add_bass (mix, AT (0.5), 0.45 * length, bass, 0.25);
      break;

    case ROADIE_TEST_GROOVE_SWUNG:
      if (in_bar == 0 || in_bar == 2)
        add_kick (mix, AT (0), 0.9 * vel);
      else
        add_snare (mix, AT (0), 0.55 * vel);
      add_hat (mix, AT (0), 0.35 * vel);
      add_hat (mix, AT (2.0 / 3.0), 0.2 * vel);
      add_bass (mix, AT (0), 0.6 * length, bass, 0.22);
      break;

    case ROADIE_TEST_GROOVE_SYNCOPATED:
      if (in_bar == 0 || in_bar == 2)
        add_kick (mix, AT (0), 0.9 * vel);
      if (in_bar == 1)
        add_kick (mix, AT (0.5), 0.7 * vel);
      if (in_bar == 2)
        add_kick (mix, AT (0.75), 0.5 * vel);
      if (in_bar == 1 || in_bar == 3)
        add_snare (mix, AT (0), 0.55 * vel);
      if (in_bar == 3)
        add_snare (mix, AT (0.75), 0.2 * vel);
      for (guint s = 0; s < 4; s++)
        add_hat (mix, AT (s / 4.0), (s == 0 ? 0.3 : s == 2 ? 0.2 : 0.1) * vel);
      add_bass (mix, AT (0.25), 0.3 * length, bass, 0.22);
      break;

    case ROADIE_TEST_GROOVE_HALF_TIME:
      if (in_bar == 0)
        add_kick (mix, AT (0), 0.9 * vel);
      if (in_bar == 1)
        add_kick (mix, AT (0.5), 0.6 * vel);
      if (in_bar == 2)
        add_snare (mix, AT (0), 0.6 * vel);
      add_hat (mix, AT (0), 0.3 * vel);
      add_hat (mix, AT (0.5), 0.18 * vel);
      if (in_bar == 0)
        add_bass (mix, AT (0), 1.5 * length, bass, 0.25);
      break;

    default:
      g_assert_not_reached ();
    }
#undef AT
}

RoadieTestTrack *
roadie_test_track_generate (const RoadieTestTrackSpec *spec)
{
  RoadieTestTrack *track = g_new0 (RoadieTestTrack, 1);
  g_autoptr(GArray) beats = g_array_new (FALSE, FALSE, sizeof (double));
  Mix mix;
  double t = FIRST_BEAT_S, peak = 0, gain;

  track->spec = spec;
  track->n_samples = (gsize) (spec->duration_s * spec->sample_rate);
  track->samples = g_new0 (float, track->n_samples);
  mix.out = track->samples;
  mix.n = track->n_samples;
  mix.rate = spec->sample_rate;
  mix.rand = g_rand_new_with_seed (spec->seed);

  /* The grid: each beat lasts 60/bpm at its own start. */
  while (t < spec->duration_s)
    {
      g_array_append_val (beats, t);
      t += 60.0 / tempo_at (spec, t);
    }
  track->final_bpm = tempo_at (spec, spec->duration_s);

  for (guint k = 0; k < beats->len; k++)
    {
      double start = g_array_index (beats, double, k);
      double length = 60.0 / tempo_at (spec, start);

      if (!in_breakdown (spec, start))
        play_beat (&mix, spec, k, start, length);
    }
  add_pads (&mix, 0.12);
  if (spec->noise_db < 0)
    {
      double level = pow (10, spec->noise_db / 20);

      for (gsize i = 0; i < mix.n; i++)
        mix.out[i] += level * g_rand_double_range (mix.rand, -1, 1);
    }

  for (gsize i = 0; i < mix.n; i++)
    peak = MAX (peak, fabs (mix.out[i]));
  gain = pow (10, spec->gain_db / 20) / MAX (peak, 1e-9);
  for (gsize i = 0; i < mix.n; i++)
    {
      double v = mix.out[i] * gain;

      /* Over 0 dBFS the track is mastered loud: a soft clipper, as a
       * limiter would squash it. */
      mix.out[i] = spec->gain_db > 0 ? tanh (v) : v;
    }

  track->n_beats = beats->len;
  track->beats = (double *) g_array_free (g_steal_pointer (&beats), FALSE);
  g_rand_free (mix.rand);
  return track;
}

void
roadie_test_track_free (RoadieTestTrack *track)
{
  if (track == NULL)
    return;
  g_free (track->samples);
  g_free (track->beats);
  g_free (track);
}

double
roadie_test_beat_f_measure (const double *truth,
                            guint         n_truth,
                            const double *detected,
                            guint         n_detected,
                            double        skip_s,
                            double        tolerance_s)
{
  guint counted_truth = 0, counted_detected = 0, matched = 0;
  guint j = 0;
  double precision, recall;

  for (guint i = 0; i < n_truth; i++)
    if (truth[i] >= skip_s)
      counted_truth++;
  for (guint i = 0; i < n_detected; i++)
    if (detected[i] >= skip_s)
      counted_detected++;
  if (counted_truth == 0 && counted_detected == 0)
    return 1.0;
  if (counted_truth == 0 || counted_detected == 0)
    return 0.0;

  /* Both sorted and the tolerance under half the shortest beat (150 ms at
   * 200 BPM): a greedy sweep finds the one-to-one matches. */
  for (guint i = 0; i < n_truth; i++)
    {
      if (truth[i] < skip_s)
        continue;
      while (j < n_detected && (detected[j] < skip_s || detected[j] < truth[i] - tolerance_s))
        j++;
      if (j < n_detected && fabs (detected[j] - truth[i]) <= tolerance_s)
        {
          matched++;
          j++;
        }
    }
  precision = (double) matched / counted_detected;
  recall = (double) matched / counted_truth;
  return precision + recall > 0 ? 2 * precision * recall / (precision + recall) : 0;
}

gboolean
roadie_test_tempo_ok (double estimated,
                      double truth)
{
  return truth > 0 && fabs (estimated - truth) <= 0.04 * truth;
}

static gboolean
is_matched (double        beat,
            const double *detected,
            guint         n_detected,
            double        tolerance_s)
{
  for (guint i = 0; i < n_detected; i++)
    if (fabs (detected[i] - beat) <= tolerance_s)
      return TRUE;
  return FALSE;
}

int
roadie_test_relock_beats (const double *truth,
                          guint         n_truth,
                          const double *detected,
                          guint         n_detected,
                          double        step_s,
                          double        tolerance_s)
{
  guint first = 0;

  while (first < n_truth && truth[first] < step_s)
    first++;
  for (guint i = first; i + 4 <= n_truth; i++)
    {
      gboolean run = TRUE;

      for (guint k = 0; k < 4 && run; k++)
        run = is_matched (truth[i + k], detected, n_detected, tolerance_s);
      if (run)
        return (int) (i - first);
    }
  return -1;
}
