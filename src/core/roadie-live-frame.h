/* roadie-live-frame.h: one analysis frame as the window receives it.
 *
 * The engine's `frame` message (DESIGN.md) turned back into plain data on
 * the app side: the engine link parses it, the spectrum view draws it.
 * Independent of src/audio so that roadie-core and the app need no FFTW.
 */
#pragma once

#include <json-glib/json-glib.h>

G_BEGIN_DECLS

#define ROADIE_LIVE_FRAME_MAX_BANDS 128

typedef struct
{
  guint64  seq;
  double   ts;            /* Unix seconds, as sent */
  float    rms;           /* linear, 0..1 */
  float    peak;          /* linear, 0..1 */
  guint    n_bands;
  float    bands[ROADIE_LIVE_FRAME_MAX_BANDS];  /* normalized dB, 0..1 */
  float    onset;         /* 0..1 */
  gboolean beat;          /* a beat falls in this frame */
  float    bpm;           /* 0: no tempo yet */
  float    confidence;    /* 0..1 */
  float    phase;         /* 0..1 position within the beat */
  gboolean has_audio;     /* FALSE when the engine says "audio":false */
} RoadieLiveFrame;

/* Fills frame from a parsed `frame` (or `dj_frame`) object. Missing
 * optional fields keep neutral values; a wrong type or a band count over
 * ROADIE_LIVE_FRAME_MAX_BANDS is an error. Values are clamped to their
 * ranges so a misbehaving server cannot make the view draw outside. */
gboolean roadie_live_frame_from_json (RoadieLiveFrame *frame,
                                      JsonObject      *object,
                                      GError         **error);

G_END_DECLS
