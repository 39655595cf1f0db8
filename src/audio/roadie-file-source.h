/* roadie-file-source.h: mono samples from an audio file (libsndfile).
 *
 * WAV, FLAC, OGG and whatever else libsndfile reads, mixed down to mono at
 * the file's own rate. A plain pull reader: the engine paces it in real
 * time for streaming, or reads it as fast as it can for --analyze.
 */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

typedef struct _RoadieFileSource RoadieFileSource;

/* NULL with a G_IO_ERROR (NOT_FOUND, PERMISSION_DENIED, NOT_SUPPORTED,
 * FAILED) whose message names the file and what is wrong with it. */
RoadieFileSource *roadie_file_source_open            (const char        *path,
                                                      GError           **error);
void              roadie_file_source_free            (RoadieFileSource  *self);
guint             roadie_file_source_get_sample_rate (RoadieFileSource  *self);
guint             roadie_file_source_get_channels    (RoadieFileSource  *self);
/* Frames in the file (per channel). */
guint64           roadie_file_source_get_n_frames    (RoadieFileSource  *self);
/* Reads up to n mono samples; 0 at the end of the file. */
gsize             roadie_file_source_read            (RoadieFileSource  *self,
                                                      float             *mono,
                                                      gsize              n);
/* Back to the start, for looping playback. */
gboolean          roadie_file_source_rewind          (RoadieFileSource  *self);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (RoadieFileSource, roadie_file_source_free)

G_END_DECLS
