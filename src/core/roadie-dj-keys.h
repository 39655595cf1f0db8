/* roadie-dj-keys.h: the DJ keys file.
 *
 * One "dj_id key" pair per line, "#" starts a comment. A file that group or
 * others can read is refused: it holds secrets. Keys are compared in
 * constant time and never logged.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct _RoadieDjKeys RoadieDjKeys;

RoadieDjKeys *roadie_dj_keys_load   (const char   *path,
                                     GError      **error);
/* From text, for tests and for keys passed another way. */
RoadieDjKeys *roadie_dj_keys_parse  (const char   *text,
                                     GError      **error);
/* TRUE when dj_id is known and key matches (constant time in the key). */
gboolean      roadie_dj_keys_check  (RoadieDjKeys *self,
                                     const char   *dj_id,
                                     const char   *key);
guint         roadie_dj_keys_count  (RoadieDjKeys *self);
void          roadie_dj_keys_free   (RoadieDjKeys *self);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (RoadieDjKeys, roadie_dj_keys_free)

G_END_DECLS
