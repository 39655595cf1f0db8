/* test-live-frame.c: RoadieLiveFrame from the engine's frame message,
 * including what a misbehaving server might send. */
#include "config.h"

#include <string.h>

#include <json-glib/json-glib.h>

#include "roadie-live-frame.h"
#include "roadie-test-util.h"

static JsonObject *
parse_object (const char *text)
{
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(GError) error = NULL;

  json_parser_load_from_data (parser, text, -1, &error);
  g_assert_no_error (error);
  g_assert_true (JSON_NODE_HOLDS_OBJECT (json_parser_get_root (parser)));
  return json_object_ref (json_node_get_object (json_parser_get_root (parser)));
}

static void
test_full_frame (void)
{
  g_autoptr(JsonObject) object = parse_object (
    "{\"type\":\"frame\",\"seq\":42,\"ts\":1700000000.25,\"rms\":0.3,\"peak\":0.9,"
    "\"bands\":[0,0.5,1],\"onset\":0.7,\"beat\":true,\"bpm\":124.0,\"confidence\":0.8,"
    "\"phase\":0.25,\"audio\":true}");
  RoadieLiveFrame frame;
  g_autoptr(GError) error = NULL;

  g_assert_true (roadie_live_frame_from_json (&frame, object, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (frame.seq, ==, 42);
  g_assert_cmpfloat_with_epsilon (frame.ts, 1700000000.25, 1e-6);
  g_assert_cmpfloat_with_epsilon (frame.rms, 0.3, 1e-6);
  g_assert_cmpfloat_with_epsilon (frame.peak, 0.9, 1e-6);
  g_assert_cmpuint (frame.n_bands, ==, 3);
  g_assert_cmpfloat_with_epsilon (frame.bands[1], 0.5, 1e-6);
  g_assert_cmpfloat_with_epsilon (frame.bands[2], 1.0, 1e-6);
  g_assert_true (frame.beat);
  g_assert_cmpfloat_with_epsilon (frame.bpm, 124.0, 1e-6);
  g_assert_cmpfloat_with_epsilon (frame.confidence, 0.8, 1e-6);
  g_assert_cmpfloat_with_epsilon (frame.phase, 0.25, 1e-6);
  g_assert_true (frame.has_audio);
}

static void
test_neutral_defaults (void)
{
  g_autoptr(JsonObject) object = parse_object ("{\"type\":\"frame\",\"audio\":false,\"bands\":null}");
  RoadieLiveFrame frame;

  memset (&frame, 0xff, sizeof frame);
  g_assert_true (roadie_live_frame_from_json (&frame, object, NULL));
  g_assert_false (frame.has_audio);
  g_assert_cmpuint (frame.n_bands, ==, 0);
  g_assert_cmpuint (frame.seq, ==, 0);
  g_assert_cmpfloat (frame.bpm, ==, 0.0);
  g_assert_false (frame.beat);
}

/* Out-of-range values are clamped, so the view never draws outside. */
static void
test_clamped (void)
{
  g_autoptr(JsonObject) object = parse_object (
    "{\"type\":\"frame\",\"seq\":-5,\"rms\":7.5,\"peak\":-1,\"bands\":[-3,2,1e308],"
    "\"bpm\":99999,\"confidence\":-0.5,\"phase\":1.5}");
  RoadieLiveFrame frame;

  g_assert_true (roadie_live_frame_from_json (&frame, object, NULL));
  g_assert_cmpuint (frame.seq, ==, 0);
  g_assert_cmpfloat (frame.rms, ==, 1.0f);
  g_assert_cmpfloat (frame.peak, ==, 0.0f);
  g_assert_cmpfloat (frame.bands[0], ==, 0.0f);
  g_assert_cmpfloat (frame.bands[1], ==, 1.0f);
  g_assert_cmpfloat (frame.bands[2], ==, 1.0f);
  g_assert_cmpfloat (frame.bpm, <=, 400.0f);
  g_assert_cmpfloat (frame.confidence, ==, 0.0f);
  g_assert_cmpfloat (frame.phase, ==, 1.0f);
}

/* Wrong types and too many bands are errors, and the frame passed in is
 * left as it was (the view keeps drawing the previous one). */
static void
test_malformed (void)
{
  static const char * const bad[] = {
    "{\"type\":\"frame\",\"rms\":\"loud\"}",
    "{\"type\":\"frame\",\"seq\":[1]}",
    "{\"type\":\"frame\",\"bpm\":{}}",
    "{\"type\":\"frame\",\"beat\":1}",
    "{\"type\":\"frame\",\"audio\":\"no\"}",
    "{\"type\":\"frame\",\"bands\":\"0,1,2\"}",
    "{\"type\":\"frame\",\"bands\":{\"0\":1}}",
    "{\"type\":\"frame\",\"bands\":[0.1,\"x\",0.3]}",
    "{\"type\":\"frame\",\"bands\":[0.1,null]}",
    "{\"type\":\"frame\",\"bands\":[[0.1]]}",
    "{\"type\":\"frame\",\"bands\":[true]}",
  };
  g_autoptr(GString) too_many = g_string_new ("{\"type\":\"frame\",\"bands\":[");

  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autoptr(JsonObject) object = parse_object (bad[i]);
      g_autoptr(GError) error = NULL;
      RoadieLiveFrame frame = { .seq = 7, .n_bands = 1, .bands = { 0.5f }, .has_audio = TRUE };

      g_test_message ("%s", bad[i]);
      g_assert_false (roadie_live_frame_from_json (&frame, object, &error));
      g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA);
      g_assert_cmpuint (frame.seq, ==, 7);
      g_assert_cmpuint (frame.n_bands, ==, 1);
      g_assert_cmpfloat (frame.bands[0], ==, 0.5f);
    }

  for (guint i = 0; i <= ROADIE_LIVE_FRAME_MAX_BANDS; i++)
    g_string_append (too_many, i == 0 ? "0.5" : ",0.5");
  g_string_append (too_many, "]}");
  {
    g_autoptr(JsonObject) object = parse_object (too_many->str);
    g_autoptr(GError) error = NULL;
    RoadieLiveFrame frame = { 0 };

    g_assert_false (roadie_live_frame_from_json (&frame, object, &error));
    g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA);
    g_assert_cmpuint (frame.n_bands, ==, 0);
  }
}

int
main (int   argc,
      char *argv[])
{
  roadie_test_init_environment ();
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/roadie/live-frame/full", test_full_frame);
  g_test_add_func ("/roadie/live-frame/neutral-defaults", test_neutral_defaults);
  g_test_add_func ("/roadie/live-frame/clamped", test_clamped);
  g_test_add_func ("/roadie/live-frame/malformed", test_malformed);

  return g_test_run ();
}
