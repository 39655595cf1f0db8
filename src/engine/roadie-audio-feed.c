/* roadie-audio-feed.c: roadie-engine's audio in, analysed.
 *
 * Capture hands samples over on the main loop already (see
 * roadie-pw-capture.c); a file or the demo is pulled by a 10 ms timer that
 * reads exactly the samples due by the monotonic clock, so playback keeps
 * real time however late a tick is. The analyzer is made when the rate is
 * known, and made again if the graph's rate changes.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "roadie-analyzer.h"
#include "roadie-audio-feed.h"
#include "roadie-demo-source.h"
#include "roadie-file-source.h"

#define PACE_INTERVAL_MS   10
#define PACE_BLOCK         4096
#define DEMO_RATE          48000
/* Audio counts as present while samples arrived this recently; PipeWire
 * sends a quantum every few to few tens of milliseconds. */
#define AUDIO_FRESH_US     (250 * 1000)

struct _RoadieAudioFeed
{
  RoadiePwCapture     *capture;
  RoadieFileSource    *file;
  RoadieDemoSource    *demo;
  char                *description;

  RoadieAnalyzer      *analyzer;
  guint                analyzer_rate;
  guint                fft_size;

  guint                pace_id;
  gint64               pace_epoch_us;
  guint64              paced_samples;
  guint                pace_rate;
  float               *pace_buffer;

  RoadieAnalysisFrame  latest;
  guint                hops_since_frame;
  gboolean             beat_pending;
  double               beat_time_s;
  gint64               last_audio_us;
  guint64              n_samples;

  RoadieAudioFeedAnalysedFunc analysed_func;
  gpointer             analysed_data;
};

static void
on_hop (const RoadieAnalysisFrame *frame,
        gpointer                   user_data)
{
  RoadieAudioFeed *self = user_data;
  RoadieAnalysisFrame merged = *frame;

  /* Often more than one hop lands between two frames (a 1024-sample
   * quantum brings two at once, and 94 hops a second outrun 60 frames):
   * a frame keeps the loudest of them, or a kick or a click in any hop
   * but the last would never be shown. */
  if (self->hops_since_frame > 0)
    {
      merged.rms = MAX (merged.rms, self->latest.rms);
      merged.peak = MAX (merged.peak, self->latest.peak);
      merged.onset = MAX (merged.onset, self->latest.onset);
      for (guint i = 0; i < MIN (merged.n_bands, self->latest.n_bands); i++)
        merged.bands[i] = MAX (merged.bands[i], self->latest.bands[i]);
    }
  self->latest = merged;
  self->hops_since_frame++;
  if (frame->beat)
    {
      self->beat_pending = TRUE;
      self->beat_time_s = frame->beat_time_s;
    }
}

static void
analyse (RoadieAudioFeed *self,
         const float     *mono,
         gsize            n,
         guint            rate)
{
  if (n == 0 || rate == 0)
    return;

  if (self->analyzer == NULL || self->analyzer_rate != rate)
    {
      RoadieAnalyzerConfig config = { .sample_rate = rate, .fft_size = self->fft_size };

      g_clear_pointer (&self->analyzer, roadie_analyzer_free);
      self->analyzer = roadie_analyzer_new (&config);
      self->analyzer_rate = rate;
    }

  roadie_analyzer_process (self->analyzer, mono, n, on_hop, self);
  self->n_samples += n;
  self->last_audio_us = g_get_monotonic_time ();
  if (self->hops_since_frame > 0 && self->analysed_func != NULL)
    self->analysed_func (self->analysed_data);
}

static void
on_captured (const float *mono,
             gsize        n_samples,
             guint        sample_rate,
             gpointer     user_data)
{
  analyse (user_data, mono, n_samples, sample_rate);
}

static gboolean
pace_tick (gpointer user_data)
{
  RoadieAudioFeed *self = user_data;
  gint64 elapsed = g_get_monotonic_time () - self->pace_epoch_us;
  guint64 due = (guint64) elapsed * self->pace_rate / G_USEC_PER_SEC;

  /* A stalled loop (a suspended machine) skips ahead instead of
   * analysing a burst of old audio. */
  if (due - self->paced_samples > self->pace_rate)
    self->paced_samples = due - PACE_BLOCK;

  while (self->paced_samples < due)
    {
      gsize want = MIN (due - self->paced_samples, PACE_BLOCK);
      gsize got;

      if (self->demo != NULL)
        {
          roadie_demo_source_read (self->demo, self->pace_buffer, want);
          got = want;
        }
      else
        {
          got = roadie_file_source_read (self->file, self->pace_buffer, want);
          if (got == 0)
            {
              /* The end: play it again, so a visual check can go on. */
              if (!roadie_file_source_rewind (self->file)
                  || (got = roadie_file_source_read (self->file, self->pace_buffer, want)) == 0)
                break;
            }
        }
      analyse (self, self->pace_buffer, got, self->pace_rate);
      self->paced_samples += got;
    }

  return G_SOURCE_CONTINUE;
}

/* Capture coming and going is news for the DJ, on stderr like the
 * engine's other problems, in one full line for the supervisor's log. */
static void
on_capture_status (const char *message,
                   gpointer    user_data)
{
  fprintf (stderr, "roadie-engine: %s\n", message);
}

RoadieAudioFeed *
roadie_audio_feed_new_capture (RoadiePwCaptureMode  mode,
                               const char          *target)
{
  RoadieAudioFeed *self = g_new0 (RoadieAudioFeed, 1);

  self->capture = roadie_pw_capture_new (mode, target, on_captured, self);
  roadie_pw_capture_set_status_func (self->capture, on_capture_status, NULL);
  switch (mode)
    {
    case ROADIE_PW_CAPTURE_NAMED_NODE:
      self->description = g_strdup_printf ("Audio: PipeWire capture from %s", target);
      break;
    case ROADIE_PW_CAPTURE_INPUT_DEVICE:
      self->description = g_strdup ("Audio: PipeWire capture from the default input device");
      break;
    case ROADIE_PW_CAPTURE_SINK_MONITOR:
    default:
      self->description = g_strdup ("Audio: PipeWire capture of what plays on the default output");
      break;
    }

  return self;
}

RoadieAudioFeed *
roadie_audio_feed_new_input (const char  *input,
                             GError     **error)
{
  g_autoptr(RoadieAudioFeed) self = g_new0 (RoadieAudioFeed, 1);

  if (g_strcmp0 (input, "demo") == 0)
    {
      self->demo = roadie_demo_source_new (DEMO_RATE);
      self->pace_rate = DEMO_RATE;
      self->description = g_strdup_printf ("Audio: the demo groove at %.0f BPM", ROADIE_DEMO_SOURCE_BPM);
    }
  else
    {
      self->file = roadie_file_source_open (input, error);
      if (self->file == NULL)
        return NULL;
      self->pace_rate = roadie_file_source_get_sample_rate (self->file);
      self->description = g_strdup_printf ("Audio: %s, played in real time", input);
    }
  self->pace_buffer = g_new (float, PACE_BLOCK);

  return g_steal_pointer (&self);
}

void
roadie_audio_feed_free (RoadieAudioFeed *self)
{
  if (self == NULL)
    return;

  g_clear_handle_id (&self->pace_id, g_source_remove);
  g_clear_pointer (&self->capture, roadie_pw_capture_free);
  g_clear_pointer (&self->file, roadie_file_source_free);
  g_clear_pointer (&self->demo, roadie_demo_source_free);
  g_clear_pointer (&self->analyzer, roadie_analyzer_free);
  g_free (self->pace_buffer);
  g_free (self->description);
  g_free (self);
}

void
roadie_audio_feed_set_fft_size (RoadieAudioFeed *self,
                                guint            fft_size)
{
  self->fft_size = fft_size;
  /* The analyzer is made at the first audio, when the rate is known. */
  g_clear_pointer (&self->analyzer, roadie_analyzer_free);
}

void
roadie_audio_feed_start (RoadieAudioFeed *self)
{
  if (self->capture != NULL)
    {
      roadie_pw_capture_start (self->capture);
      return;
    }
  if (self->pace_id != 0)
    return;

  self->pace_epoch_us = g_get_monotonic_time ();
  self->paced_samples = 0;
  self->pace_id = g_timeout_add (PACE_INTERVAL_MS, pace_tick, self);
}

const char *
roadie_audio_feed_describe (RoadieAudioFeed *self)
{
  return self->description;
}

void
roadie_audio_feed_take_frame (RoadieAudioFeed     *self,
                              RoadieAnalysisFrame *frame)
{
  gboolean fresh = roadie_audio_feed_is_flowing (self);

  if (!fresh)
    {
      /* Stale spectra would look like frozen music: say there is none. */
      memset (frame, 0, sizeof *frame);
      frame->n_bands = self->latest.n_bands > 0 ? self->latest.n_bands : 32;
      frame->has_audio = FALSE;
      self->beat_pending = FALSE;
      self->hops_since_frame = 0;
      return;
    }

  *frame = self->latest;
  self->hops_since_frame = 0;
  frame->has_audio = TRUE;
  frame->beat = self->beat_pending;
  if (self->beat_pending)
    frame->beat_time_s = self->beat_time_s;
  self->beat_pending = FALSE;
}

void
roadie_audio_feed_set_analysed_func (RoadieAudioFeed             *self,
                                     RoadieAudioFeedAnalysedFunc  func,
                                     gpointer                     user_data)
{
  self->analysed_func = func;
  self->analysed_data = user_data;
}

gboolean
roadie_audio_feed_has_news (RoadieAudioFeed *self)
{
  return self->hops_since_frame > 0;
}

gboolean
roadie_audio_feed_is_flowing (RoadieAudioFeed *self)
{
  return self->last_audio_us != 0
         && g_get_monotonic_time () - self->last_audio_us < AUDIO_FRESH_US;
}

guint64
roadie_audio_feed_get_n_samples (RoadieAudioFeed *self)
{
  return self->n_samples;
}
