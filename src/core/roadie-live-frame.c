/* roadie-live-frame.c: the `frame` message back into plain data. */
#include "config.h"

#include <math.h>
#include <string.h>

#include "roadie-live-frame.h"

static gboolean
read_number (JsonObject  *object,
             const char  *name,
             double       fallback,
             double      *out,
             GError     **error)
{
  JsonNode *node = json_object_get_member (object, name);

  *out = fallback;
  if (node == NULL || JSON_NODE_HOLDS_NULL (node))
    return TRUE;
  if (!JSON_NODE_HOLDS_VALUE (node)
      || (json_node_get_value_type (node) != G_TYPE_DOUBLE
          && json_node_get_value_type (node) != G_TYPE_INT64))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                   "frame field “%s” is not a number", name);
      return FALSE;
    }
  *out = json_node_get_double (node);
  if (!isfinite (*out))
    *out = fallback;
  return TRUE;
}

static gboolean
read_boolean (JsonObject  *object,
              const char  *name,
              gboolean     fallback,
              gboolean    *out,
              GError     **error)
{
  JsonNode *node = json_object_get_member (object, name);

  *out = fallback;
  if (node == NULL || JSON_NODE_HOLDS_NULL (node))
    return TRUE;
  if (!JSON_NODE_HOLDS_VALUE (node) || json_node_get_value_type (node) != G_TYPE_BOOLEAN)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                   "frame field “%s” is not true or false", name);
      return FALSE;
    }
  *out = json_node_get_boolean (node);
  return TRUE;
}

static float
unit (double value)
{
  return (float) CLAMP (value, 0.0, 1.0);
}

gboolean
roadie_live_frame_from_json (RoadieLiveFrame *frame,
                             JsonObject      *object,
                             GError         **error)
{
  RoadieLiveFrame parsed = { 0 };
  double seq, ts, rms, peak, onset, bpm, confidence, phase;
  JsonNode *bands_node;

  g_return_val_if_fail (frame != NULL, FALSE);
  g_return_val_if_fail (object != NULL, FALSE);

  if (!read_number (object, "seq", 0, &seq, error)
      || !read_number (object, "ts", 0, &ts, error)
      || !read_number (object, "rms", 0, &rms, error)
      || !read_number (object, "peak", 0, &peak, error)
      || !read_number (object, "onset", 0, &onset, error)
      || !read_number (object, "bpm", 0, &bpm, error)
      || !read_number (object, "confidence", 0, &confidence, error)
      || !read_number (object, "phase", 0, &phase, error)
      || !read_boolean (object, "beat", FALSE, &parsed.beat, error)
      || !read_boolean (object, "audio", TRUE, &parsed.has_audio, error))
    return FALSE;

  bands_node = json_object_get_member (object, "bands");
  if (bands_node != NULL && !JSON_NODE_HOLDS_NULL (bands_node))
    {
      JsonArray *bands;
      guint n;

      if (!JSON_NODE_HOLDS_ARRAY (bands_node))
        {
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "frame field “bands” is not a list");
          return FALSE;
        }
      bands = json_node_get_array (bands_node);
      n = json_array_get_length (bands);
      if (n > ROADIE_LIVE_FRAME_MAX_BANDS)
        {
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                       "frame has %u bands; at most %d are shown", n, ROADIE_LIVE_FRAME_MAX_BANDS);
          return FALSE;
        }
      for (guint i = 0; i < n; i++)
        {
          JsonNode *band = json_array_get_element (bands, i);
          double value;

          if (!JSON_NODE_HOLDS_VALUE (band)
              || (json_node_get_value_type (band) != G_TYPE_DOUBLE
                  && json_node_get_value_type (band) != G_TYPE_INT64))
            {
              g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "frame band %u is not a number", i);
              return FALSE;
            }
          value = json_node_get_double (band);
          parsed.bands[i] = isfinite (value) ? unit (value) : 0.0f;
        }
      parsed.n_bands = n;
    }

  parsed.seq = seq > 0 ? (guint64) seq : 0;
  parsed.ts = ts;
  parsed.rms = unit (rms);
  parsed.peak = unit (peak);
  parsed.onset = unit (onset);
  parsed.bpm = (float) CLAMP (bpm, 0.0, 400.0);
  parsed.confidence = unit (confidence);
  parsed.phase = unit (phase);

  *frame = parsed;
  return TRUE;
}
