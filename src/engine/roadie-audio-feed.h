/* roadie-audio-feed.h: roadie-engine's audio in, analysed.
 *
 * One source (PipeWire capture by default, a file or the demo groove paced
 * in real time) feeding one analyzer on the main loop. The engine's frame
 * clock asks for the latest analysis at its own rate (--fps) with
 * roadie_audio_feed_take_frame, which also says whether there is audio at
 * all and whether a beat fell since the previous take.
 */
#pragma once

#include <glib.h>

#include "roadie-analysis-frame.h"
#include "roadie-pw-capture.h"

G_BEGIN_DECLS

typedef struct _RoadieAudioFeed RoadieAudioFeed;

/* Live capture (mode and target as for roadie_pw_capture_new). */
RoadieAudioFeed *roadie_audio_feed_new_capture (RoadiePwCaptureMode  mode,
                                                const char          *target);
/* "demo" or an audio file, played in real time (a file loops). */
RoadieAudioFeed *roadie_audio_feed_new_input   (const char          *input,
                                                GError             **error);
void             roadie_audio_feed_free        (RoadieAudioFeed     *self);
/* Samples per analysis window (--fft-size); 0 = the analyzer's default.
 * Call before roadie_audio_feed_start. */
void             roadie_audio_feed_set_fft_size (RoadieAudioFeed    *self,
                                                 guint               fft_size);
void             roadie_audio_feed_start       (RoadieAudioFeed     *self);
/* A sentence for the start-up output: where the audio comes from. */
const char      *roadie_audio_feed_describe    (RoadieAudioFeed     *self);
/* Copies the latest analysis into frame (seq and ts are the caller's).
 * has_audio is FALSE when nothing arrived lately; beat is TRUE when a
 * beat fell since the previous call, so no beat is lost between frames. */
void             roadie_audio_feed_take_frame  (RoadieAudioFeed     *self,
                                                RoadieAnalysisFrame *frame);
/* Called on the main loop after new audio has been analysed (one or more
 * hops), so frames can leave as soon as there is something new to say. */
typedef void (*RoadieAudioFeedAnalysedFunc) (gpointer user_data);
void             roadie_audio_feed_set_analysed_func (RoadieAudioFeed           *self,
                                                      RoadieAudioFeedAnalysedFunc func,
                                                      gpointer                   user_data);
/* Hops analysed since the last take_frame. */
gboolean         roadie_audio_feed_has_news    (RoadieAudioFeed     *self);
/* Audio arrived lately (what take_frame calls has_audio). */
gboolean         roadie_audio_feed_is_flowing  (RoadieAudioFeed     *self);
/* Samples analysed since the start. */
guint64          roadie_audio_feed_get_n_samples (RoadieAudioFeed   *self);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (RoadieAudioFeed, roadie_audio_feed_free)

G_END_DECLS
