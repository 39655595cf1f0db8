/* roadie-beat-tracker.c: tempo by autocorrelation of the onset function,
 * beats by aligning a comb to the recent onsets and predicting forward.
 */
#include "config.h"

#include <math.h>
#include <string.h>

#include "roadie-beat-tracker.h"

#define MIN_BPM 60.0
#define MAX_BPM 200.0
/* Four seconds of onsets: long enough to hold four beats at 60 BPM, short
 * enough that a new tempo dominates within about two seconds. */
#define TEMPO_WINDOW_S 4.0
#define HISTORY_S 8.0
/* The tempo is re-estimated every few hops: it changes slowly and the
 * autocorrelation is the costly part. */
#define TEMPO_EVERY 4
#define PHASE_BEATS 4
#define LOCAL_PERIOD_STEPS 4
#define LOCAL_PERIOD_STEP 0.03
#define LOCAL_PERIOD_MARGIN 1.1
#define BREAKDOWN_RATIO 0.3
#define HALF_PERIOD_RATIO 0.85
#define HALF_PERIOD_KEEP_RATIO 0.7
#define PRIOR_OCTAVES 1.5
#define CONFIDENCE_DECAY_S 3.0

struct _RoadieBeatTracker
{
  double  frame_rate;
  double  latency_s;

  float  *history;      /* ring of onset values */
  guint   capacity;
  guint64 n_frames;     /* frames pushed so far */

  float  *centered;     /* the tempo window, mean removed */
  double *acf;          /* normalized autocorrelation by lag */
  guint   window;
  guint   max_lag;
  double  min_lag;      /* period of MAX_BPM, frames */
  double  max_lag_bpm;  /* period of MIN_BPM, frames */

  double  period;       /* frames; 0 without a tempo */
  float   tempo_confidence;
  float   phase_confidence;
  float   confidence;
  double  next_beat;    /* seconds; < 0 when none is predicted */
  double  beat_period_s; /* spacing of the predicted beats */
  double  last_beat;
  double  level_short;
  double  level_long;
  double  phase_strength;  /* running comb score of accepted alignments */
  double  peak_level;      /* running strongest onset per beat */
};

RoadieBeatTracker *
roadie_beat_tracker_new (double frame_rate,
                         double latency_s)
{
  RoadieBeatTracker *self;

  g_return_val_if_fail (frame_rate > 10.0, NULL);

  self = g_new0 (RoadieBeatTracker, 1);
  self->frame_rate = frame_rate;
  self->latency_s = latency_s;
  self->capacity = (guint) ceil (frame_rate * HISTORY_S);
  self->history = g_new0 (float, self->capacity);
  self->window = (guint) ceil (frame_rate * TEMPO_WINDOW_S);
  self->centered = g_new0 (float, self->window);
  self->min_lag = frame_rate * 60.0 / MAX_BPM;
  self->max_lag_bpm = frame_rate * 60.0 / MIN_BPM;
  /* Twice the slowest period, for the comb over multiples. */
  self->max_lag = MIN ((guint) ceil (2.0 * self->max_lag_bpm) + 2, self->window - 1);
  self->acf = g_new0 (double, self->max_lag + 1);
  roadie_beat_tracker_reset (self);
  return self;
}

void
roadie_beat_tracker_free (RoadieBeatTracker *self)
{
  if (self == NULL)
    return;
  g_free (self->history);
  g_free (self->centered);
  g_free (self->acf);
  g_free (self);
}

void
roadie_beat_tracker_reset (RoadieBeatTracker *self)
{
  g_return_if_fail (self != NULL);

  memset (self->history, 0, sizeof (float) * self->capacity);
  self->n_frames = 0;
  self->period = 0;
  self->tempo_confidence = 0;
  self->phase_confidence = 0;
  self->confidence = 0;
  self->next_beat = -1;
  self->beat_period_s = 0;
  self->last_beat = -1e9;
  self->level_short = 0;
  self->level_long = 0;
  self->phase_strength = 0;
  self->peak_level = 0;
}

/* Onset value `back` frames before the newest one (fractional: linear
 * interpolation); 0 outside the history. */
static double
onset_at (RoadieBeatTracker *self,
          double             back)
{
  guint64 newest = self->n_frames - 1;
  double whole = floor (back);
  double frac = back - whole;
  guint64 i0, i1;

  if (back < 0 || back + 1 >= MIN (self->capacity, self->n_frames))
    return 0;
  i0 = newest - (guint64) whole;
  i1 = i0 - 1;
  return (1.0 - frac) * self->history[i0 % self->capacity]
         + frac * self->history[i1 % self->capacity];
}

/* A comb tooth three frames wide: a flux peak can straddle two hops. */
static double
tooth (RoadieBeatTracker *self,
       double             back)
{
  return onset_at (self, back)
         + 0.5 * (onset_at (self, back - 1) + onset_at (self, back + 1));
}

/* Largest autocorrelation within a frame of a fractional lag. */
static double
acf_near (RoadieBeatTracker *self,
          double             lag)
{
  int centre = (int) round (lag);
  double best = -1;

  for (int l = centre - 1; l <= centre + 1; l++)
    if (l >= 1 && (guint) l <= self->max_lag)
      best = MAX (best, self->acf[l]);
  return best < -0.5 ? 0 : best;
}

/* Periodicity of a period: the lag itself and its double, since a true
 * beat period repeats at two beats too while an off-beat pulse does not. */
static double
comb_score (RoadieBeatTracker *self,
            double             lag)
{
  double score = acf_near (self, lag);

  if (2 * lag <= self->max_lag)
    score += 0.5 * acf_near (self, 2 * lag);
  return score;
}

/* A broad preference for moderate tempi, as listeners have: a log-normal
 * around 120 BPM, one octave wide, so it only breaks near-ties. */
static double
tempo_prior (RoadieBeatTracker *self,
             double             lag)
{
  double bpm = 60.0 * self->frame_rate / lag;
  double octaves = log2 (bpm / 120.0);

  return exp (-0.5 * octaves * octaves / (PRIOR_OCTAVES * PRIOR_OCTAVES));
}

static void
estimate_tempo (RoadieBeatTracker *self)
{
  guint n = MIN ((guint64) self->window, self->n_frames);
  double mean = 0, energy;
  double best_score = 0, best_lag = 0;
  guint64 first = self->n_frames - n;

  if (n < self->max_lag + self->max_lag / 2)
    return;
  for (guint i = 0; i < n; i++)
    mean += self->history[(first + i) % self->capacity];
  mean /= n;
  for (guint i = 0; i < n; i++)
    self->centered[i] = self->history[(first + i) % self->capacity] - mean;

  energy = 0;
  for (guint i = 0; i < n; i++)
    energy += (double) self->centered[i] * self->centered[i];
  if (energy < 1e-9 * n)
    return;
  for (guint lag = 0; lag <= self->max_lag; lag++)
    {
      double sum = 0;

      for (guint i = lag; i < n; i++)
        sum += (double) self->centered[i] * self->centered[i - lag];
      /* Unbiased: long lags have fewer products. */
      self->acf[lag] = (sum / (n - lag)) / (energy / n);
    }

  for (guint lag = (guint) floor (self->min_lag); lag <= (guint) ceil (self->max_lag_bpm); lag++)
    {
      double score = comb_score (self, lag) * tempo_prior (self, lag);

      /* A little loyalty to the current tempo keeps it from flickering
       * between near-equal candidates; small, so a real change wins. */
      if (self->period > 0 && fabs (log2 (lag / self->period)) < 0.03)
        score *= 1.1;
      if (score > best_score)
        {
          best_score = score;
          best_lag = lag;
        }
    }
  if (best_lag == 0)
    return;

  /* Octave check: the comb favours the slower of two periods, since a
   * bar repeats at two beats. When the half period is nearly as periodic
   * as the chosen one, every half beat is a hit of the same kind, and the
   * half period is the beat. */
  if (best_lag / 2 >= self->min_lag - 0.5)
    {
      /* Once on the half period, staying there takes less evidence than
       * getting there: no flip-flopping between the two octaves. */
      gboolean on_half = self->period > 0 && fabs (log2 (best_lag / 2 / self->period)) < 0.03;
      double ratio = on_half ? HALF_PERIOD_KEEP_RATIO : HALF_PERIOD_RATIO;

      if (acf_near (self, best_lag / 2) >= ratio * acf_near (self, best_lag))
        best_lag = round (best_lag / 2);
    }

  /* Refine to a fractional period on the parabola through the peak. */
  {
    guint l = (guint) best_lag;

    if (l >= 1 && l + 1 <= self->max_lag)
      {
        double a = self->acf[l - 1], b = self->acf[l], c = self->acf[l + 1];
        double denom = a - 2 * b + c;

        if (denom < 0)
          best_lag = l + CLAMP (0.5 * (a - c) / denom, -0.5, 0.5);
      }
  }

  self->period = CLAMP (best_lag, self->min_lag, self->max_lag_bpm);
  self->tempo_confidence = CLAMP (acf_near (self, self->period), 0.0, 1.0);
}

/* Aligns a comb of PHASE_BEATS teeth at the current period with the newest
 * onsets; returns the best offset back from the newest frame and stores
 * how much it stands out. */
static double
estimate_phase (RoadieBeatTracker *self,
                double             period,
                int                from,
                int                to,
                double            *contrast,
                double            *best_score)
{
  double best = -1, best_offset = 0, total = 0;
  guint steps = 0;

  for (int offset = MAX (from, 0); offset < to; offset++, steps++)
    {
      double score = 0, weight = 1;

      for (guint k = 0; k < PHASE_BEATS; k++)
        {
          score += weight * tooth (self, offset + k * period);
          /* Recent beats count most, so the grid follows a tempo change. */
          weight *= 0.6;
        }
      total += score;
      if (score > best)
        {
          best = score;
          best_offset = offset;
        }
    }
  *contrast = total > 0 && steps > 0 ? best / (total / steps) : 0;
  *best_score = best;
  return best_offset;
}

gboolean
roadie_beat_tracker_push (RoadieBeatTracker *self,
                          double             time_s,
                          float              onset,
                          double            *beat_time_s)
{
  double dt = 1.0 / self->frame_rate;
  gboolean breakdown;
  double period_s;

  g_return_val_if_fail (self != NULL, FALSE);

  if (!isfinite (onset) || onset < 0)
    onset = 0;
  self->history[self->n_frames % self->capacity] = onset;
  self->n_frames++;

  self->level_short += (onset - self->level_short) * (dt / 0.5);
  /* The long level follows only while the music is there, so a breakdown
   * stands out against what came before it. */
  if (self->level_short >= BREAKDOWN_RATIO * self->level_long)
    self->level_long += (onset - self->level_long) * (dt / 6.0);
  breakdown = self->level_short < BREAKDOWN_RATIO * self->level_long
              || self->level_long < 1e-6;

  if (!breakdown && self->n_frames % TEMPO_EVERY == 0)
    estimate_tempo (self);
  if (self->period <= 0)
    return FALSE;
  period_s = self->period / self->frame_rate;

  if (!breakdown)
    {
      double contrast, best_score, unused, recent_peak;
      double offset = estimate_phase (self, self->period, 0, (int) ceil (self->period),
                                      &contrast, &best_score);
      double beat_period = self->period;

      /* After a tempo change the autocorrelation needs a couple of seconds
       * to follow, but the last two beats already show the new spacing:
       * a comb a little faster or slower that fits them clearly better
       * spaces the coming beats. */
      for (int step = -LOCAL_PERIOD_STEPS; step <= LOCAL_PERIOD_STEPS; step++)
        {
          double period = self->period * (1.0 + LOCAL_PERIOD_STEP * step);
          double score;
          double local_offset;

          if (step == 0)
            continue;
          /* The newest tooth sits on the same hit whatever the spacing:
           * only offsets near the best one need trying. */
          local_offset = estimate_phase (self, period, (int) offset - 4, (int) offset + 5,
                                         &unused, &score);
          if (score > LOCAL_PERIOD_MARGIN * best_score)
            {
              best_score = score;
              offset = local_offset;
              beat_period = period;
            }
        }

      self->phase_confidence = CLAMP ((contrast - 1.0) / 2.0, 0.0, 1.0);
      recent_peak = 0;
      for (guint i = 0; i < (guint) ceil (1.25 * self->period); i++)
        recent_peak = MAX (recent_peak, onset_at (self, i));
      /* Only a comb as strong as the groove's moves the grid, and only when
       * the last beat had a hit: as the drums stop, older teeth alone (or
       * the pads) would pull the grid off the beat. */
      if (contrast > 1.3 && best_score >= 0.5 * self->phase_strength
          && recent_peak >= 0.4 * self->peak_level)
        {
          double grid;

          self->peak_level += (recent_peak - self->peak_level) * (dt / 4.0);
          self->phase_strength += (best_score - self->phase_strength) * (dt / 4.0);
          self->beat_period_s = beat_period / self->frame_rate;
          grid = time_s - offset / self->frame_rate - self->latency_s + self->beat_period_s;
          if (self->next_beat >= 0)
            grid += self->beat_period_s * round ((self->next_beat - grid) / self->beat_period_s);
          while (grid < self->last_beat + 0.5 * self->beat_period_s)
            grid += self->beat_period_s;
          /* A correction cannot move the beat behind the previous hop: it
           * would be reported late. It lands in this hop instead. */
          self->next_beat = MAX (grid, time_s - dt * 0.999);
        }
      self->confidence = self->tempo_confidence * self->phase_confidence;
    }
  else
    {
      /* Keep the grid running through a breakdown, trusting it less, at
       * the long-term tempo: a local spacing fitted to the last beats
       * before it would drift over seconds of prediction. */
      self->beat_period_s = period_s;
      self->confidence *= exp (-dt / CONFIDENCE_DECAY_S);
      if (self->confidence < 0.02)
        {
          self->next_beat = -1;
          return FALSE;
        }
    }

  if (self->next_beat >= 0 && self->next_beat <= time_s)
    {
      double beat = self->next_beat;

      self->last_beat = beat;
      self->next_beat = beat + (self->beat_period_s > 0 ? self->beat_period_s : period_s);
      if (beat_time_s != NULL)
        *beat_time_s = beat;
      return TRUE;
    }
  return FALSE;
}

float
roadie_beat_tracker_get_bpm (RoadieBeatTracker *self)
{
  g_return_val_if_fail (self != NULL, 0);
  return self->period > 0 ? 60.0 * self->frame_rate / self->period : 0;
}

float
roadie_beat_tracker_get_confidence (RoadieBeatTracker *self)
{
  g_return_val_if_fail (self != NULL, 0);
  return self->period > 0 ? self->confidence : 0;
}

float
roadie_beat_tracker_get_phase (RoadieBeatTracker *self,
                               double             time_s)
{
  double period_s, phase;

  g_return_val_if_fail (self != NULL, 0);
  if (self->period <= 0 || self->next_beat < 0)
    return 0;
  period_s = self->beat_period_s > 0 ? self->beat_period_s : self->period / self->frame_rate;
  phase = 1.0 - (self->next_beat - time_s) / period_s;
  return CLAMP (phase - floor (phase), 0.0, 1.0);
}
