/* roadie-analysis-frame.h: what the analyzer says about one hop of audio.
 *
 * Plain data, filled on the analysis thread and turned into DESIGN.md's
 * `frame` message on the main loop.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define ROADIE_MAX_BANDS 128

typedef struct
{
  guint64  seq;
  double   ts;           /* Unix seconds when sent (set by the sender) */
  double   time_s;       /* stream time of the end of this hop, seconds */
  float    rms;          /* linear, 0..1 */
  float    peak;         /* linear, 0..1 */
  guint    n_bands;
  float    bands[ROADIE_MAX_BANDS];  /* normalized dB, 0..1 */
  float    onset;        /* onset strength, normalized 0..1 */
  gboolean beat;         /* a beat falls within this hop */
  double   beat_time_s;  /* stream time of that beat (valid when beat) */
  float    bpm;          /* 0 when no tempo yet */
  float    confidence;   /* 0..1 */
  float    phase;        /* 0..1 position in the current beat */
  gboolean has_audio;    /* FALSE: no source (PipeWire down, silence of a missing stream) */
} RoadieAnalysisFrame;

/* {"type":"frame","seq":N,"ts":S,"rms":F,"peak":F,"bands":[…],"onset":F,
 *  "beat":B,"bpm":F,"confidence":F,"phase":F}, plus "audio":false when
 * there is no audio. Numbers rounded to 4 decimals to keep frames small. */
char *roadie_analysis_frame_to_json (const RoadieAnalysisFrame *frame);

G_END_DECLS
