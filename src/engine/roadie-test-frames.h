/* roadie-test-frames.h: synthetic analysis frames, a test and demo source.
 *
 * roadie-engine has no capture or analysis yet; `--test-frames FPS` sends
 * these so the links, the relay and the benchmark have frames to carry.
 * They look like a steady 128 BPM track: a kick on every beat, a falling
 * spectrum that breathes with it. Pure: the same seq gives the same values.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define ROADIE_TEST_FRAMES_BANDS 32
#define ROADIE_TEST_FRAMES_BPM   128.0

/* A "frame" message (DESIGN.md fields, 32 bands) for frame number seq of a
 * source running at fps, stamped ts (Unix seconds). With dj_id, a
 * "dj_frame" carrying it, as a relay sends. */
char *roadie_test_frame_build (guint64     seq,
                               double      fps,
                               double      ts,
                               const char *dj_id);

G_END_DECLS
