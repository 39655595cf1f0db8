/* roadie-analyzer.h: spectrum, onsets, tempo and beats from mono samples.
 *
 * Hann-windowed real FFT (FFTW, single precision, plans made once in
 * roadie_analyzer_new), log-spaced bands in normalized dB, RMS and peak, an
 * onset strength function, tempo from the onset function with octave-error
 * protection, and beats predicted forward so a beat is reported no later
 * than one hop after it happens. Sizes are in seconds-derived samples, so
 * 44.1 kHz and 48 kHz behave alike. Not thread-safe: one thread feeds it.
 */
#pragma once

#include "roadie-analysis-frame.h"

G_BEGIN_DECLS

typedef struct
{
  guint sample_rate;   /* Hz */
  guint fft_size;      /* samples; 0 = default for the rate */
  guint hop_size;      /* samples; 0 = default for the rate */
  guint n_bands;       /* 0 = 32 */
} RoadieAnalyzerConfig;

typedef struct _RoadieAnalyzer RoadieAnalyzer;

/* Called once per hop, on the thread that calls roadie_analyzer_process. */
typedef void (*RoadieAnalyzerHopFunc) (const RoadieAnalysisFrame *frame,
                                       gpointer                   user_data);

RoadieAnalyzer *roadie_analyzer_new         (const RoadieAnalyzerConfig *config);
void            roadie_analyzer_free        (RoadieAnalyzer             *self);
void            roadie_analyzer_process     (RoadieAnalyzer             *self,
                                             const float                *mono,
                                             gsize                       n_samples,
                                             RoadieAnalyzerHopFunc       func,
                                             gpointer                    user_data);
guint           roadie_analyzer_get_hop_size (RoadieAnalyzer            *self);
guint           roadie_analyzer_get_fft_size (RoadieAnalyzer            *self);
/* The current tempo estimate; FALSE when there is none yet. */
gboolean        roadie_analyzer_get_tempo   (RoadieAnalyzer             *self,
                                             float                      *bpm,
                                             float                      *confidence);
void            roadie_analyzer_reset       (RoadieAnalyzer             *self);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (RoadieAnalyzer, roadie_analyzer_free)

G_END_DECLS
