/* roadie-log-writer.h: the audio server's log file, in the seed's format.
 *
 *   === Audio Server Started: 2025-10-14T17:19:05.123Z ===
 *   [STDOUT] line
 *   [STDERR] line
 *   === Audio Server Exited: 2025-10-14T17:25:32.456Z (code: 0, signal: null) ===
 *
 * Size-capped: the file is rotated (log → log.1 → … → log.N) before a write
 * would take it past max-bytes, so the total never exceeds
 * (backups + 1) × max-bytes plus one line.
 */
#pragma once

#include <glib-object.h>

G_BEGIN_DECLS

typedef enum
{
  ROADIE_LOG_STREAM_STDOUT,
  ROADIE_LOG_STREAM_STDERR,
} RoadieLogStream;

#define ROADIE_TYPE_LOG_WRITER (roadie_log_writer_get_type ())

G_DECLARE_FINAL_TYPE (RoadieLogWriter, roadie_log_writer, ROADIE, LOG_WRITER, GObject)

RoadieLogWriter *roadie_log_writer_new           (const char      *path,
                                                  gint64           max_bytes,
                                                  guint            backups);
const char      *roadie_log_writer_get_path      (RoadieLogWriter *self);
void             roadie_log_writer_set_limits    (RoadieLogWriter *self,
                                                  gint64           max_bytes,
                                                  guint            backups);
/* Each write opens the file (creating its folder) if needed. */
gboolean         roadie_log_writer_write_started (RoadieLogWriter *self,
                                                  GDateTime       *when,
                                                  GError         **error);
/* line without its newline; len may be -1 */
gboolean         roadie_log_writer_write_line    (RoadieLogWriter *self,
                                                  RoadieLogStream  stream,
                                                  const char      *line,
                                                  gssize           len,
                                                  GError         **error);
/* code < 0: no exit code (killed); signum 0: no signal */
gboolean         roadie_log_writer_write_exited  (RoadieLogWriter *self,
                                                  GDateTime       *when,
                                                  int              code,
                                                  int              signum,
                                                  GError         **error);
void             roadie_log_writer_close         (RoadieLogWriter *self);

/* "2025-10-14T17:19:05.123Z" (UTC, milliseconds) */
char            *roadie_format_iso8601_ms        (GDateTime       *when);
/* "SIGTERM", or NULL for 0 */
const char      *roadie_signal_name              (int              signum);

G_END_DECLS
