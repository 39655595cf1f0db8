/* roadie-output-reader.h: drains a child's pipe and cuts it into lines.
 *
 * Reads without blocking from the main loop, so the child never stalls on a
 * full pipe; a line longer than 64 KiB is cut into pieces rather than held.
 */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

#define ROADIE_TYPE_OUTPUT_READER (roadie_output_reader_get_type ())

G_DECLARE_FINAL_TYPE (RoadieOutputReader, roadie_output_reader, ROADIE, OUTPUT_READER, GObject)

/* Signals: "line" (const char *line, gsize len) and "eof". */
RoadieOutputReader *roadie_output_reader_new  (GInputStream       *stream);
void                roadie_output_reader_drain (RoadieOutputReader *self);
void                roadie_output_reader_stop  (RoadieOutputReader *self);

G_END_DECLS
