/* roadie-demo-source.h: a synthesized 124 BPM groove (`--input demo`).
 *
 * Four-on-the-floor kick, snare on 2 and 4, closed hats on the off-beats
 * and a bass line, so someone without audio playing still sees Roadie's
 * spectrum and beat display work. Deterministic: the same rate gives the
 * same samples.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define ROADIE_DEMO_SOURCE_BPM 124.0

typedef struct _RoadieDemoSource RoadieDemoSource;

RoadieDemoSource *roadie_demo_source_new             (guint             sample_rate);
void              roadie_demo_source_free            (RoadieDemoSource *self);
guint             roadie_demo_source_get_sample_rate (RoadieDemoSource *self);
/* Always fills all n mono samples: the groove never ends. */
void              roadie_demo_source_read            (RoadieDemoSource *self,
                                                      float            *mono,
                                                      gsize             n);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (RoadieDemoSource, roadie_demo_source_free)

G_END_DECLS
