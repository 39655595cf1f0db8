/* roadie-analyze.c: `roadie-engine --input FILE --analyze`.
 *
 * A command-line tool, not a server: it blocks on the file and owns stdout
 * until it is done. Numbers go through g_ascii_formatd so a DJ's locale
 * never turns 120.5 into 120,5 and breaks the JSON.
 */
#include "config.h"

#include "roadie-analyze.h"
#include "roadie-analyzer.h"
#include "roadie-file-source.h"

#define READ_BLOCK 8192

typedef struct
{
  FILE *out;
} Printer;

static void
print_number (FILE       *out,
              const char *format,
              double      value)
{
  char buffer[G_ASCII_DTOSTR_BUF_SIZE];

  fputs (g_ascii_formatd (buffer, sizeof buffer, format, value), out);
}

static void
on_hop (const RoadieAnalysisFrame *frame,
        gpointer                   user_data)
{
  Printer *printer = user_data;

  if (!frame->beat)
    return;

  fputs ("{\"type\":\"beat\",\"t\":", printer->out);
  print_number (printer->out, "%.4f", frame->beat_time_s);
  fputs (",\"bpm\":", printer->out);
  print_number (printer->out, "%.2f", frame->bpm);
  fputs ("}\n", printer->out);
}

gboolean
roadie_analyze_file (const char  *path,
                     FILE        *out,
                     GError     **error)
{
  g_autoptr(RoadieFileSource) source = roadie_file_source_open (path, error);
  g_autoptr(RoadieAnalyzer) analyzer = NULL;
  g_autofree float *block = NULL;
  RoadieAnalyzerConfig config = { 0 };
  Printer printer = { out };
  float bpm = 0.0f;
  float confidence = 0.0f;
  gsize n;

  if (source == NULL)
    return FALSE;

  config.sample_rate = roadie_file_source_get_sample_rate (source);
  analyzer = roadie_analyzer_new (&config);
  block = g_new (float, READ_BLOCK);
  while ((n = roadie_file_source_read (source, block, READ_BLOCK)) > 0)
    roadie_analyzer_process (analyzer, block, n, on_hop, &printer);

  if (!roadie_analyzer_get_tempo (analyzer, &bpm, &confidence))
    bpm = confidence = 0.0f;
  fputs ("{\"type\":\"summary\",\"bpm\":", out);
  print_number (out, "%.2f", bpm);
  fputs (",\"confidence\":", out);
  print_number (out, "%.3f", confidence);
  fputs ("}\n", out);
  fflush (out);

  return TRUE;
}
