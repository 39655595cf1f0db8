/* roadie-test-frames.c: synthetic analysis frames, a test and demo source.
 *
 * Numbers are written with json-glib like every other message, so a
 * synthetic frame has the size a real one will have (about 700 bytes).
 * tests/interop/reference_broadcaster.py builds the same frames in Python
 * for the broadcast benchmark; keep the two in step.
 */
#include "config.h"

#include <math.h>

#include <json-glib/json-glib.h>

#include "roadie-test-frames.h"

char *
roadie_test_frame_build (guint64     seq,
                         double      fps,
                         double      ts,
                         const char *dj_id)
{
  g_autoptr(JsonBuilder) builder = json_builder_new ();
  g_autoptr(JsonNode) root = NULL;
  double t = seq / fps;
  double beats = t * ROADIE_TEST_FRAMES_BPM / 60.0;
  double phase = beats - floor (beats);
  double previous_beats = (seq > 0) ? (seq - 1) / fps * ROADIE_TEST_FRAMES_BPM / 60.0 : -1.0;
  gboolean beat = floor (beats) != floor (previous_beats);
  /* The kick decays over about a quarter of a beat. */
  double kick = exp (-phase * 8.0);
  double rms = 0.25 + 0.2 * kick;

  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "type");
  json_builder_add_string_value (builder, dj_id != NULL ? "dj_frame" : "frame");
  if (dj_id != NULL)
    {
      json_builder_set_member_name (builder, "dj_id");
      json_builder_add_string_value (builder, dj_id);
    }
  json_builder_set_member_name (builder, "seq");
  json_builder_add_int_value (builder, (gint64) seq);
  json_builder_set_member_name (builder, "ts");
  json_builder_add_double_value (builder, ts);
  json_builder_set_member_name (builder, "rms");
  json_builder_add_double_value (builder, rms);
  json_builder_set_member_name (builder, "peak");
  json_builder_add_double_value (builder, MIN (1.0, rms * 1.6));
  json_builder_set_member_name (builder, "bands");
  json_builder_begin_array (builder);
  for (guint i = 0; i < ROADIE_TEST_FRAMES_BANDS; i++)
    {
      /* A falling spectrum; the kick lifts the low bands, a slow wobble
       * moves the highs. */
      double level = 0.7 * exp (-(double) i / 10.0)
                     + 0.3 * kick * exp (-(double) i / 3.0)
                     + 0.05 * (1.0 + sin (t * 2.0 + i * 0.7));

      json_builder_add_double_value (builder, MIN (1.0, level));
    }
  json_builder_end_array (builder);
  json_builder_set_member_name (builder, "onset");
  json_builder_add_double_value (builder, kick);
  json_builder_set_member_name (builder, "beat");
  json_builder_add_boolean_value (builder, beat);
  json_builder_set_member_name (builder, "bpm");
  json_builder_add_double_value (builder, ROADIE_TEST_FRAMES_BPM);
  json_builder_set_member_name (builder, "confidence");
  json_builder_add_double_value (builder, 0.9);
  json_builder_set_member_name (builder, "phase");
  json_builder_add_double_value (builder, phase);
  json_builder_end_object (builder);
  root = json_builder_get_root (builder);

  return json_to_string (root, FALSE);
}
