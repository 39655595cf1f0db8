/* roadie-analysis-frame.c: a frame as DESIGN.md's `frame` message.
 *
 * Written by hand rather than with JsonBuilder: it runs 60 times a second
 * per engine, and the field order and rounding are fixed.
 */
#include "config.h"

#include <math.h>
#include <string.h>

#include "roadie-analysis-frame.h"

/* Four decimals, without trailing zeros ("0.5", "0", "0.1235"), in the C
 * locale whatever the DJ's. */
static void
append_number (GString *json,
               double   value,
               guint    decimals)
{
  char buffer[G_ASCII_DTOSTR_BUF_SIZE];
  char format[8];
  char *end;

  if (!isfinite (value))
    value = 0;
  g_snprintf (format, sizeof format, "%%.%uf", decimals);
  g_ascii_formatd (buffer, sizeof buffer, format, value);
  if (strchr (buffer, '.') != NULL)
    {
      end = buffer + strlen (buffer) - 1;
      while (*end == '0')
        *end-- = '\0';
      if (*end == '.')
        *end = '\0';
    }
  if (strcmp (buffer, "-0") == 0)
    strcpy (buffer, "0");
  g_string_append (json, buffer);
}

char *
roadie_analysis_frame_to_json (const RoadieAnalysisFrame *frame)
{
  GString *json;

  g_return_val_if_fail (frame != NULL, NULL);

  json = g_string_sized_new (64 + 8 * frame->n_bands);
  g_string_append_printf (json, "{\"type\":\"frame\",\"seq\":%" G_GUINT64_FORMAT ",\"ts\":",
                          frame->seq);
  append_number (json, frame->ts, 4);
  g_string_append (json, ",\"rms\":");
  append_number (json, frame->rms, 4);
  g_string_append (json, ",\"peak\":");
  append_number (json, frame->peak, 4);
  g_string_append (json, ",\"bands\":[");
  for (guint b = 0; b < MIN (frame->n_bands, ROADIE_MAX_BANDS); b++)
    {
      if (b > 0)
        g_string_append_c (json, ',');
      append_number (json, frame->bands[b], 4);
    }
  g_string_append (json, "],\"onset\":");
  append_number (json, frame->onset, 4);
  g_string_append (json, frame->beat ? ",\"beat\":true" : ",\"beat\":false");
  g_string_append (json, ",\"bpm\":");
  /* Two decimals are all a tempo display needs. */
  append_number (json, frame->bpm, 2);
  g_string_append (json, ",\"confidence\":");
  append_number (json, frame->confidence, 4);
  g_string_append (json, ",\"phase\":");
  append_number (json, frame->phase, 4);
  if (!frame->has_audio)
    g_string_append (json, ",\"audio\":false");
  g_string_append_c (json, '}');
  return g_string_free (json, FALSE);
}
