/* roadie-dj-keys.h: the DJ keys file.
 *
 * One "dj_id key" pair per line, "#" starts a comment. A file that group or
 * others can read is refused: it holds secrets. Keys are compared in
 * constant time and never logged.
 *
 * Details: a comment is a line whose first non-blank character is "#";
 * blank lines are skipped; any other line must be exactly two words
 * (dj_id up to 64 bytes, key up to 1024, no blanks in either), and each
 * dj_id appears once. Errors name the file and the line. The file must be
 * a regular file with no group or other permission bits (chmod 600).
 * The dj_id "admin" is the admin: RoadieWsHub lets it choose the active DJ.
 *
 * A RoadieDjKeys is reference counted: roadie_dj_keys_free() drops one
 * reference (the last one wipes the keys), so a holder such as
 * RoadieWsHub takes its own with roadie_dj_keys_ref().
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct _RoadieDjKeys RoadieDjKeys;

RoadieDjKeys *roadie_dj_keys_load     (const char   *path,
                                       GError      **error);
/* From text, for tests and for keys passed another way. */
RoadieDjKeys *roadie_dj_keys_parse    (const char   *text,
                                       GError      **error);
/* TRUE when dj_id is known and key matches (constant time in the key). */
gboolean      roadie_dj_keys_check    (RoadieDjKeys *self,
                                       const char   *dj_id,
                                       const char   *key);
/* Whether dj_id has a key (not secret: ids show up in logs). */
gboolean      roadie_dj_keys_contains (RoadieDjKeys *self,
                                       const char   *dj_id);
guint         roadie_dj_keys_count    (RoadieDjKeys *self);
RoadieDjKeys *roadie_dj_keys_ref      (RoadieDjKeys *self);
/* Drops a reference. */
void          roadie_dj_keys_free     (RoadieDjKeys *self);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (RoadieDjKeys, roadie_dj_keys_free)

G_END_DECLS
