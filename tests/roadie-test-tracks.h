/* roadie-test-tracks.h: generated test tracks with exact beat grids, and
 * the standard beat-tracking evaluation.
 *
 * The generator is deterministic (each spec carries its seed): drums,
 * bass, pads and noise on a tempo curve (fixed, drifting, or stepping),
 * so the true beat times are known to the sample. The evaluator is the
 * usual rule: F-measure with a ±70 ms window, beats in the first 5 s
 * ignored, and tempo within 4 %.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef enum
{
  ROADIE_TEST_GROOVE_STRAIGHT,     /* four on the floor, off-beat hats */
  ROADIE_TEST_GROOVE_SWUNG,        /* kick 1 and 3, triplet-swung hats */
  ROADIE_TEST_GROOVE_SYNCOPATED,   /* kick on off-beats too, 16th hats */
  ROADIE_TEST_GROOVE_HALF_TIME,    /* snare only on 3, 8th hats */
} RoadieTestGroove;

typedef struct
{
  const char       *name;
  const char       *family;
  guint             sample_rate;
  double            duration_s;
  double            bpm;
  double            bpm_end;         /* drift or step target; 0 = steady */
  double            step_s;          /* > 0: jump to bpm_end here; else drift */
  RoadieTestGroove  groove;
  double            gain_db;         /* of the mix's peak; > 0 saturates */
  double            breakdown_from_s;/* drums and bass stop (0 = none) */
  double            breakdown_to_s;
  double            noise_db;        /* background noise level; 0 = none */
  guint32           seed;
} RoadieTestTrackSpec;

typedef struct
{
  const RoadieTestTrackSpec *spec;
  float  *samples;
  gsize   n_samples;
  double *beats;        /* true beat times, seconds */
  guint   n_beats;
  double  final_bpm;    /* tempo at the end of the track */
} RoadieTestTrack;

/* The standard set the accuracy test runs. */
const RoadieTestTrackSpec *roadie_test_track_specs (guint *n_specs);

RoadieTestTrack *roadie_test_track_generate (const RoadieTestTrackSpec *spec);
void             roadie_test_track_free     (RoadieTestTrack           *track);

#define ROADIE_TEST_BEAT_TOLERANCE_S 0.070
#define ROADIE_TEST_SKIP_S 5.0

/* F-measure of detected against truth, both sorted, one-to-one matches
 * within tolerance_s, ignoring beats before skip_s in both. */
double   roadie_test_beat_f_measure (const double *truth,
                                     guint         n_truth,
                                     const double *detected,
                                     guint         n_detected,
                                     double        skip_s,
                                     double        tolerance_s);
/* Whether estimated is within 4 % of truth. */
gboolean roadie_test_tempo_ok       (double        estimated,
                                     double        truth);
/* How many true beats after step_s pass before four in a row are matched;
 * -1 if that never happens. */
int      roadie_test_relock_beats   (const double *truth,
                                     guint         n_truth,
                                     const double *detected,
                                     guint         n_detected,
                                     double        step_s,
                                     double        tolerance_s);

G_END_DECLS
