/* roadie-spectrum-view.h: the live spectrum and beat display.
 *
 * A widget drawn in snapshot and animated by the frame clock: the engine's
 * bands with peak-hold markers, a beat pulse, the tempo in BPM with its
 * confidence, and a calm idle state when no analysis arrives. Frames are
 * pushed in as they come (roadie_spectrum_view_push_frame() only copies);
 * a tick callback runs while something moves and is removed once the view
 * has settled into its idle state, so an idle view costs no CPU.
 */
#pragma once

#include <gtk/gtk.h>

#include "roadie-live-frame.h"

G_BEGIN_DECLS

#define ROADIE_TYPE_SPECTRUM_VIEW (roadie_spectrum_view_get_type ())

G_DECLARE_FINAL_TYPE (RoadieSpectrumView, roadie_spectrum_view, ROADIE, SPECTRUM_VIEW, GtkWidget)

/* Properties (read-only):
 *   is-idle      boolean  TRUE  no live frames: the idle title is shown
 *   idle-title   string         what the idle state says, NULL when live
 *   idle-detail  string         the line under it
 */
GtkWidget  *roadie_spectrum_view_new             (void);

/* Copies frame as the new target; the tick callback animates towards it.
 * A frame with audio ends any idle state; one without ("audio":false)
 * makes the view idle with "No audio". */
void        roadie_spectrum_view_push_frame      (RoadieSpectrumView    *self,
                                                  const RoadieLiveFrame *frame);
/* title NULL: not idle; from idle, frames then have a second to come
 * before "Waiting for frames" (while live it changes nothing). Else the
 * view is idle with title and detail (detail may be NULL) until a frame
 * with audio arrives or this is called again; frames without audio do not
 * replace a title set here. */
void        roadie_spectrum_view_set_idle        (RoadieSpectrumView    *self,
                                                  const char            *title,
                                                  const char            *detail);
gboolean    roadie_spectrum_view_get_is_idle     (RoadieSpectrumView    *self);
const char *roadie_spectrum_view_get_idle_title  (RoadieSpectrumView    *self);
const char *roadie_spectrum_view_get_idle_detail (RoadieSpectrumView    *self);

/* What is on screen, for tests and the benchmark. */
/* The tempo shown, rounded as drawn; 0 when "—" is shown. */
double      roadie_spectrum_view_get_displayed_bpm (RoadieSpectrumView  *self);
/* The beat pulse, 1 on a beat, decaying to 0 in about 150 ms. */
double      roadie_spectrum_view_get_beat_pulse  (RoadieSpectrumView    *self);
/* The height of band index as drawn, 0..1 (0 past the last band). */
double      roadie_spectrum_view_get_band_level  (RoadieSpectrumView    *self,
                                                  guint                  index);
/* Where band index's peak-hold marker is drawn, 0..1. */
double      roadie_spectrum_view_get_peak_level  (RoadieSpectrumView    *self,
                                                  guint                  index);
/* How many bars are drawn: the last frame's band count, 0 before any. */
guint       roadie_spectrum_view_get_n_bands     (RoadieSpectrumView    *self);
/* Moves the animation to now_us (monotonic µs) as a frame-clock tick
 * would, and stops the tick callback if everything is at rest: for tests
 * that drive an unrealized view (whose callback never runs) with their
 * own clock. */
void        roadie_spectrum_view_advance         (RoadieSpectrumView    *self,
                                                  gint64                 now_us);
/* Whether the tick callback is installed. */
gboolean    roadie_spectrum_view_is_animating    (RoadieSpectrumView    *self);
/* The accessible label last set, e.g. "Spectrum, 124 BPM, steady". */
const char *roadie_spectrum_view_get_summary     (RoadieSpectrumView    *self);

G_END_DECLS
