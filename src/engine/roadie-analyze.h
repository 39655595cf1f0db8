/* roadie-analyze.h: `roadie-engine --input FILE --analyze`.
 *
 * Reads the file as fast as it can and prints JSON lines: one
 * {"type":"beat","t":S,"bpm":F} per beat, then
 * {"type":"summary","bpm":F,"confidence":F}.
 */
#pragma once

#include <stdio.h>

#include <glib.h>

G_BEGIN_DECLS

/* FALSE with error set when the file cannot be read or decoded. */
gboolean roadie_analyze_file (const char  *path,
                              FILE        *out,
                              GError     **error);

G_END_DECLS
