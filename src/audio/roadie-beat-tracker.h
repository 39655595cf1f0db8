/* roadie-beat-tracker.h: tempo and beat phase from an onset strength function.
 *
 * Pure code: fed the onset values of each analysis hop with the stream
 * time of that hop, it estimates the tempo (60–200 BPM: a running
 * autocorrelation scored by a comb over multiples and a tempo prior, with
 * the octave settled by which pulse the kick and the hats repeat at),
 * aligns a beat grid to the recent onsets and predicts the next beat, so a
 * beat is reported by the first hop that ends at or after it; the spacing
 * of the coming beats follows the last few beats, so a tempo step is
 * followed within a beat or two. Through a breakdown it keeps the grid
 * running with falling confidence, for as long as there are onsets at
 * all; two seconds without any (silence) end it. Allocates only in
 * roadie_beat_tracker_new.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* One hop's onset strength, whole and split by register. */
typedef struct
{
  float all;    /* over the whole spectrum: places the beats */
  float low;    /* the lowest bands: kick and bass */
  float high;   /* the top bands: hats and snare noise */
  float accent; /* all bands, loudness differences kept */
} RoadieOnsetStrength;

typedef struct _RoadieBeatTracker RoadieBeatTracker;

/* frame_rate: onset values per second (sample rate / hop). latency_s: how
 * long after a transient its onset value peaks (the analysis window's
 * delay); beat times are corrected by it. */
RoadieBeatTracker *roadie_beat_tracker_new   (double             frame_rate,
                                              double             latency_s);
void               roadie_beat_tracker_free  (RoadieBeatTracker *self);
void               roadie_beat_tracker_reset (RoadieBeatTracker *self);
/* Feeds the onsets of the hop that ends at time_s. Returns TRUE when a
 * beat falls at or before time_s that was not reported yet, with its time
 * in *beat_time_s. */
gboolean           roadie_beat_tracker_push_strength (RoadieBeatTracker         *self,
                                                      double                     time_s,
                                                      const RoadieOnsetStrength *onset,
                                                      double                    *beat_time_s);
/* The same with one onset value standing for all registers. */
gboolean           roadie_beat_tracker_push  (RoadieBeatTracker *self,
                                              double             time_s,
                                              float              onset,
                                              double            *beat_time_s);
/* 0 when there is no tempo yet. */
float              roadie_beat_tracker_get_bpm        (RoadieBeatTracker *self);
float              roadie_beat_tracker_get_confidence (RoadieBeatTracker *self);
/* Position in the current beat at time_s, 0..1 (0 without a tempo). */
float              roadie_beat_tracker_get_phase      (RoadieBeatTracker *self,
                                                       double             time_s);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (RoadieBeatTracker, roadie_beat_tracker_free)

G_END_DECLS
