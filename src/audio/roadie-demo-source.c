/* roadie-demo-source.c: a synthesized 124 BPM groove.
 *
 * Each voice is a function of the time since its last hit, so the groove is
 * exact to the sample (beat n starts at sample round (n × 60 / 124 × rate))
 * and needs no state but the sample counter and a noise generator.
 */
#include "config.h"

#include <math.h>

#include "roadie-demo-source.h"

struct _RoadieDemoSource
{
  guint   sample_rate;
  guint64 position;     /* samples since the start */
  guint32 noise_state;  /* xorshift: cheap, deterministic noise */
};

/* An A minor bass line, one note per beat over two bars (Hz). */
static const double bass_notes[8] = { 55.0, 55.0, 65.41, 55.0, 73.42, 55.0, 49.0, 61.74 };

RoadieDemoSource *
roadie_demo_source_new (guint sample_rate)
{
  RoadieDemoSource *self = g_new0 (RoadieDemoSource, 1);

  g_return_val_if_fail (sample_rate > 0, NULL);

  self->sample_rate = sample_rate;
  self->noise_state = 0x9e3779b9u;

  return self;
}

void
roadie_demo_source_free (RoadieDemoSource *self)
{
  g_free (self);
}

guint
roadie_demo_source_get_sample_rate (RoadieDemoSource *self)
{
  return self->sample_rate;
}

static float
next_noise (RoadieDemoSource *self)
{
  guint32 x = self->noise_state;

  x ^= x << 13;
  x ^= x >> 17;
  x ^= x << 5;
  self->noise_state = x;

  return (float) ((double) x / G_MAXUINT32 * 2.0 - 1.0);
}

void
roadie_demo_source_read (RoadieDemoSource *self,
                         float            *mono,
                         gsize             n)
{
  double beat_s = 60.0 / ROADIE_DEMO_SOURCE_BPM;

  for (gsize i = 0; i < n; i++)
    {
      double t = (double) (self->position + i) / self->sample_rate;
      double beats = t / beat_s;
      guint64 beat = (guint64) floor (beats);
      double since_beat = (beats - beat) * beat_s;
      double half = beats * 2.0;
      double since_half = (half - floor (half)) * beat_s / 2.0;
      gboolean offbeat = ((guint64) floor (half) & 1) == 1;
      float noise = next_noise (self);
      double sample = 0.0;

      /* Kick: a sine falling from 150 Hz to 50 Hz; the phase is the
       * integral of that sweep so it does not click. */
      {
        double k = 30.0;
        double phase = 2.0 * G_PI * (50.0 * since_beat + 100.0 / k * (1.0 - exp (-k * since_beat)));

        sample += 0.8 * sin (phase) * exp (-since_beat * 9.0);
      }
      /* Snare on beats 2 and 4: noise with a short tone. */
      if (beat % 2 == 1)
        sample += (0.35 * noise + 0.2 * sin (2.0 * G_PI * 190.0 * since_beat)) * exp (-since_beat * 18.0);
      /* Closed hat on the off-beats: bright, very short noise. */
      if (offbeat)
        sample += 0.12 * noise * exp (-since_half * 60.0);
      /* Bass on the off-beats too, under the hat, as house bass goes. */
      if (offbeat)
        {
          double f = bass_notes[beat % G_N_ELEMENTS (bass_notes)];

          sample += 0.25 * sin (2.0 * G_PI * f * since_half) * exp (-since_half * 4.0);
        }

      mono[i] = (float) CLAMP (sample * 0.7, -1.0, 1.0);
    }

  self->position += n;
}
