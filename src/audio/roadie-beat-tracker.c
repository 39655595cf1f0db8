/* roadie-beat-tracker.c: tempo from a running autocorrelation of the onset
 * function, beats by aligning a comb to the recent onsets and predicting
 * forward.
 *
 * Cost per hop is small and bounded: the autocorrelation is updated by one
 * product per lag as each onset value arrives (instead of recomputing it
 * over a window), the tempo is read from it every few hops, and the comb
 * that places the beats reads a three-frame smoothed copy of the onsets
 * kept as they come in. The histories are doubled rings, so the newest
 * values are always one contiguous run and need no modulo.
 */
#include "config.h"

#include <math.h>
#include <string.h>

#include "roadie-beat-tracker.h"

#define MIN_BPM 60.0
#define MAX_BPM 200.0
#define HISTORY_S 8.0
/* The autocorrelation forgets with this time constant: long enough to hold
 * several bars at 60 BPM, short enough that a new tempo dominates within
 * about two seconds. */
#define ACF_MEMORY_S 3.0
/* And it is trusted once it has seen this much music. */
#define ACF_WARMUP_S 2.5
/* The tempo is read from the autocorrelation every few hops: it changes
 * slowly, and the phase comb follows quick changes in between. */
#define TEMPO_EVERY 8
#define PHASE_BEATS 4
#define LOCAL_PERIOD_STEPS 4
#define LOCAL_PERIOD_STEP 0.03
#define LOCAL_PERIOD_MARGIN 1.1
/* A grid jump of more than this part of a beat needs an alignment this
 * much better than the grid's own. */
#define PHASE_JUMP 0.15
#define PHASE_SWITCH_MARGIN 1.25
#define BREAKDOWN_RATIO 0.3
#define PRIOR_CENTRE_BPM 120.0
#define PRIOR_OCTAVES 1.5
#define CONFIDENCE_DECAY_S 3.0
#define GRID_SILENCE_S 2.0
/* Octave evidence, from the autocorrelations of the registers' onsets
 * (normalized: 1 is a perfect repeat). */
#define KICK_PRESENT 0.3
#define HALF_BEAT_RATIO 0.8
#define ACCENT_RATIO 0.6
#define DOTTED_MIN 0.15
#define DOTTED_RATIO 1.5

enum
{
  STREAM_ALL,
  STREAM_LOW,
  STREAM_HIGH,
  STREAM_ACCENT,
  N_STREAMS
};

struct _RoadieBeatTracker
{
  double  frame_rate;
  double  latency_s;

  guint   capacity;     /* frames each ring holds */
  guint64 n_frames;     /* frames pushed so far */
  /* Doubled rings (2 × capacity): frame i at i % capacity and again
   * capacity further, so the newest `capacity` frames are contiguous. */
  float  *onsets;                 /* STREAM_ALL as pushed */
  float  *teeth;                  /* onsets smoothed over three frames */
  float  *centered[N_STREAMS];    /* each stream minus its running mean */
  double  mean[N_STREAMS];
  /* Running autocorrelation of each stream, lags 0..max_lag: every new
   * frame adds its products and the sum decays by acf_keep per frame. */
  float  *acf[N_STREAMS];
  float   acf_keep;
  double  mean_rate;
  guint64 acf_frames;   /* frames that went into the autocorrelation */
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
  guint   silent_frames;   /* frames in a row without any onset */
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
  self->min_lag = frame_rate * 60.0 / MAX_BPM;
  self->max_lag_bpm = frame_rate * 60.0 / MIN_BPM;
  /* Twice the slowest period, for the comb over multiples. */
  self->max_lag = MIN ((guint) ceil (2.0 * self->max_lag_bpm) + 2, self->capacity - 1);
  self->acf_keep = (float) exp (-1.0 / (frame_rate * ACF_MEMORY_S));
  self->mean_rate = 1.0 / (frame_rate * ACF_MEMORY_S);
  self->onsets = g_new0 (float, 2 * self->capacity);
  self->teeth = g_new0 (float, 2 * self->capacity);
  for (guint s = 0; s < N_STREAMS; s++)
    {
      self->centered[s] = g_new0 (float, 2 * self->capacity);
      self->acf[s] = g_new0 (float, self->max_lag + 1);
    }
  roadie_beat_tracker_reset (self);
  return self;
}

void
roadie_beat_tracker_free (RoadieBeatTracker *self)
{
  if (self == NULL)
    return;
  g_free (self->onsets);
  g_free (self->teeth);
  for (guint s = 0; s < N_STREAMS; s++)
    {
      g_free (self->centered[s]);
      g_free (self->acf[s]);
    }
  g_free (self);
}

void
roadie_beat_tracker_reset (RoadieBeatTracker *self)
{
  g_return_if_fail (self != NULL);

  memset (self->onsets, 0, sizeof (float) * 2 * self->capacity);
  memset (self->teeth, 0, sizeof (float) * 2 * self->capacity);
  for (guint s = 0; s < N_STREAMS; s++)
    {
      memset (self->centered[s], 0, sizeof (float) * 2 * self->capacity);
      memset (self->acf[s], 0, sizeof (float) * (self->max_lag + 1));
      self->mean[s] = 0;
    }
  self->n_frames = 0;
  self->acf_frames = 0;
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
  self->silent_frames = 0;
}

/* The newest frame of a doubled ring; older frames are at negative
 * offsets, down to -(capacity - 1). */
static inline float *
newest (RoadieBeatTracker *self,
        float             *ring)
{
  return ring + (self->n_frames - 1) % self->capacity + self->capacity;
}

/* Stores frame n_frames - 1 (already counted) in a doubled ring. */
static inline void
ring_store (RoadieBeatTracker *self,
            float             *ring,
            float              value)
{
  guint i = (self->n_frames - 1) % self->capacity;

  ring[i] = value;
  ring[i + self->capacity] = value;
}

/* The smoothed onset `back` frames before the newest one (fractional:
 * linear interpolation); 0 outside the history. A comb tooth three frames
 * wide, since a flux peak can straddle two hops. */
static double
tooth (RoadieBeatTracker *self,
       double             back)
{
  const float *now = newest (self, self->teeth);
  guint whole;
  double frac;

  if (back < 0 || back + 1 >= MIN (self->capacity, self->n_frames))
    return 0;
  whole = (guint) back;
  frac = back - whole;
  return (1.0 - frac) * now[-(int) whole] + frac * now[-(int) whole - 1];
}

/* The unsmoothed onset `back` frames before the newest one. */
static double
onset_at (RoadieBeatTracker *self,
          guint              back)
{
  if (back >= MIN (self->capacity, self->n_frames))
    return 0;
  return newest (self, self->onsets)[-(int) back];
}

/* Normalized autocorrelation of a stream, largest within a frame of a
 * fractional lag. */
static double
acf_near (RoadieBeatTracker *self,
          guint              stream,
          double             lag)
{
  const float *acf = self->acf[stream];
  int centre = (int) round (lag);
  double best = -1;

  if (acf[0] <= 0)
    return 0;
  for (int l = centre - 1; l <= centre + 1; l++)
    if (l >= 1 && (guint) l <= self->max_lag)
      best = MAX (best, acf[l] / acf[0]);
  return best < -0.5 ? 0 : best;
}

/* Periodicity of a period: the lag itself and its double, since a true
 * beat period repeats at two beats too while an off-beat pulse does not. */
static double
comb_score (RoadieBeatTracker *self,
            guint              stream,
            double             lag)
{
  double score = acf_near (self, stream, lag);

  if (2 * lag <= self->max_lag)
    score += 0.5 * acf_near (self, stream, 2 * lag);
  return score;
}

/* A broad preference for moderate tempi, as listeners have: a log-normal
 * around 120 BPM, one and a half octaves wide, so it only breaks near-ties. */
static double
tempo_prior (RoadieBeatTracker *self,
             double             lag)
{
  double bpm = 60.0 * self->frame_rate / lag;
  double octaves = log2 (bpm / PRIOR_CENTRE_BPM);

  return exp (-0.5 * octaves * octaves / (PRIOR_OCTAVES * PRIOR_OCTAVES));
}

/* Whether half of `lag` is the beat rather than `lag` itself, from the
 * register that carries the groove. With a kick (repeating at either),
 * the half is the beat when the kick repeats there as strongly, or when
 * the accents do: kick and snare alternating on the beats. Without one
 * (half-time grooves, whose kick and snare come once a bar), the hats
 * decide: their accents mark the beat, so the half is the beat when they
 * repeat there as strongly, and eighths with accented beats are not. */
static gboolean
half_is_beat (RoadieBeatTracker *self,
              double             lag)
{
  double half = lag / 2;

  if (MAX (acf_near (self, STREAM_LOW, half), acf_near (self, STREAM_LOW, lag)) >= KICK_PRESENT)
    return acf_near (self, STREAM_LOW, half) >= HALF_BEAT_RATIO * acf_near (self, STREAM_LOW, lag)
           || acf_near (self, STREAM_ACCENT, half) >= ACCENT_RATIO * acf_near (self, STREAM_ACCENT, lag);
  return acf_near (self, STREAM_HIGH, half) >= HALF_BEAT_RATIO * acf_near (self, STREAM_HIGH, lag);
}

/* The register that carries the groove at `lag`: the kick when it repeats
 * there or at twice the lag, the hats otherwise. */
static guint
groove_register (RoadieBeatTracker *self,
                 double             lag)
{
  if (MAX (acf_near (self, STREAM_LOW, lag), acf_near (self, STREAM_LOW, 2 * lag)) >= KICK_PRESENT)
    return STREAM_LOW;
  return STREAM_HIGH;
}

/* Octave errors: the comb over the whole onset function finds the right
 * periodicity but may land on half or twice the beat, or on a dotted beat
 * (a kick on one and on "two-and" repeats every beat and a half). One rule
 * settles each octave both ways, so going up and coming back down never
 * disagree. */
static double
settle_octave (RoadieBeatTracker *self,
               double             lag)
{
  double two_thirds = lag * 2 / 3;

  /* A dotted period: the groove's register repeats clearly more often at
   * two thirds of it. */
  if (two_thirds >= self->min_lag - 0.5)
    {
      guint stream = groove_register (self, two_thirds);
      double at_dotted = acf_near (self, stream, lag);
      double at_beat = acf_near (self, stream, two_thirds);

      if (at_beat >= DOTTED_MIN && at_beat >= DOTTED_RATIO * MAX (at_dotted, 0.0))
        lag = round (two_thirds);
    }
  if (2 * lag <= self->max_lag_bpm + 0.5 && !half_is_beat (self, 2 * lag))
    return 2 * lag;
  if (lag / 2 >= self->min_lag - 0.5 && half_is_beat (self, lag))
    return round (lag / 2);
  return lag;
}

static void
estimate_tempo (RoadieBeatTracker *self)
{
  double best_score = 0, best_lag = 0;

  if (self->acf_frames < ACF_WARMUP_S * self->frame_rate || self->acf[STREAM_ALL][0] <= 1e-9f)
    return;

  for (guint lag = (guint) floor (self->min_lag); lag <= (guint) ceil (self->max_lag_bpm); lag++)
    {
      double score = comb_score (self, STREAM_ALL, lag) * tempo_prior (self, lag);

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

  best_lag = settle_octave (self, best_lag);

  /* Refine to a fractional period on the parabola through the peak. */
  {
    guint l = (guint) best_lag;
    const float *acf = self->acf[STREAM_ALL];

    if (l >= 1 && l + 1 <= self->max_lag)
      {
        double a = acf[l - 1], b = acf[l], c = acf[l + 1];
        double denom = a - 2 * b + c;

        if (denom < 0)
          best_lag = l + CLAMP (0.5 * (a - c) / denom, -0.5, 0.5);
      }
  }

  self->period = CLAMP (best_lag, self->min_lag, self->max_lag_bpm);
  self->tempo_confidence = CLAMP (acf_near (self, STREAM_ALL, self->period), 0.0, 1.0);
}

/* How well a comb of PHASE_BEATS teeth, `period` apart with the newest
 * `offset` frames back, fits the onsets. */
static double
comb_fit (RoadieBeatTracker *self,
          double             period,
          double             offset)
{
  double score = 0, weight = 1;

  for (guint k = 0; k < PHASE_BEATS; k++)
    {
      score += weight * tooth (self, offset + k * period);
      /* Recent beats count most, so the grid follows a tempo change. */
      weight *= 0.6;
    }
  return score;
}

/* Aligns the comb at a period with the newest onsets; returns the best
 * offset back from the newest frame and stores how much it stands out. */
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
      double score = comb_fit (self, period, offset);

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

/* Whether the grid already predicted should stay where it is although the
 * best alignment lies elsewhere in the beat: a strong off-beat hit (the
 * kick on "two-and" of a half-time groove) can briefly outscore the beat,
 * and following it would drop or add a beat. The grid moves when the new
 * alignment is clearly better, as after a tempo step. */
static gboolean
hold_grid (RoadieBeatTracker *self,
           double             time_s,
           double             offset,
           double             best_score)
{
  double held_period, held_offset, jump;

  if (self->next_beat < 0 || self->beat_period_s <= 0)
    return FALSE;
  held_period = self->beat_period_s * self->frame_rate;
  held_offset = (time_s - self->latency_s - self->next_beat) * self->frame_rate;
  held_offset -= held_period * floor (held_offset / held_period);
  jump = fabs (offset - held_offset) / held_period;
  jump = MIN (jump, 1.0 - jump);
  return jump > PHASE_JUMP
         && best_score < PHASE_SWITCH_MARGIN * comb_fit (self, held_period, held_offset);
}

/* Files one hop's onsets: the rings, the smoothed teeth, and (unless the
 * music has stopped, so the groove's periodicity is remembered through a
 * breakdown) the running autocorrelation. */
static void
store_frame (RoadieBeatTracker         *self,
             const RoadieOnsetStrength *onset,
             gboolean                   update_acf)
{
  float values[N_STREAMS] = { onset->all, onset->low, onset->high, onset->accent };
  const float *onsets;
  float *teeth;

  self->n_frames++;
  ring_store (self, self->onsets, values[STREAM_ALL]);
  onsets = newest (self, self->onsets);
  /* The newest tooth lacks its right neighbour until the next frame, when
   * it is completed. Before the first frame the rings read zero. */
  ring_store (self, self->teeth, onsets[0] + 0.5f * onsets[-1]);
  if (self->n_frames >= 2)
    {
      guint previous = (self->n_frames - 2) % self->capacity;

      teeth = self->teeth;
      teeth[previous] = onsets[-1] + 0.5f * (onsets[0] + onsets[-2]);
      teeth[previous + self->capacity] = teeth[previous];
    }

  for (guint s = 0; s < N_STREAMS; s++)
    {
      float *acf = self->acf[s];
      const float *centered;
      float c;

      self->mean[s] += (values[s] - self->mean[s]) * self->mean_rate;
      c = (float) (values[s] - self->mean[s]);
      ring_store (self, self->centered[s], c);
      if (!update_acf)
        continue;
      centered = newest (self, self->centered[s]);
      for (guint lag = 0; lag <= self->max_lag; lag++)
        acf[lag] = acf[lag] * self->acf_keep + c * centered[-(int) lag];
    }
  if (update_acf)
    self->acf_frames++;
}

gboolean
roadie_beat_tracker_push_strength (RoadieBeatTracker         *self,
                                   double                     time_s,
                                   const RoadieOnsetStrength *strength,
                                   double                    *beat_time_s)
{
  double dt = 1.0 / self->frame_rate;
  RoadieOnsetStrength onset;
  gboolean breakdown;
  double period_s;

  g_return_val_if_fail (self != NULL, FALSE);
  g_return_val_if_fail (strength != NULL, FALSE);

  onset = *strength;
  if (!isfinite (onset.all) || onset.all < 0)
    onset.all = 0;
  if (!isfinite (onset.low) || onset.low < 0)
    onset.low = 0;
  if (!isfinite (onset.high) || onset.high < 0)
    onset.high = 0;
  if (!isfinite (onset.accent) || onset.accent < 0)
    onset.accent = 0;

  self->level_short += (onset.all - self->level_short) * (dt / 0.5);
  /* The long level follows only while the music is there, so a breakdown
   * stands out against what came before it. */
  if (self->level_short >= BREAKDOWN_RATIO * self->level_long)
    self->level_long += (onset.all - self->level_long) * (dt / 6.0);
  breakdown = self->level_short < BREAKDOWN_RATIO * self->level_long
              || self->level_long < 1e-6;
  store_frame (self, &onset, !breakdown);
  self->silent_frames = onset.all > 0 ? 0 : MIN (self->silent_frames + 1, G_MAXUINT - 1);

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
          && recent_peak >= 0.4 * self->peak_level
          && !hold_grid (self, time_s, offset, best_score))
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
      /* The grid runs as long as the music does, however long the
       * breakdown: the beat goes on under the pads. Silence (not one
       * onset for a while) ends it: the track is over. */
      if (self->silent_frames > GRID_SILENCE_S * self->frame_rate)
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

gboolean
roadie_beat_tracker_push (RoadieBeatTracker *self,
                          double             time_s,
                          float              onset,
                          double            *beat_time_s)
{
  RoadieOnsetStrength strength = { onset, onset, onset, onset };

  return roadie_beat_tracker_push_strength (self, time_s, &strength, beat_time_s);
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
