/* roadie-paths.h: where Roadie's own helpers live.
 *
 * Found relative to the running executable (installed prefix, or the build
 * tree for `meson devenv` and tests), never through a hard-coded path.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Full path of the bundled roadie-engine, or NULL if it cannot be found. */
char *roadie_paths_find_engine (void);
/* Full path of roadie-reaper, or NULL if it cannot be found. */
char *roadie_paths_find_reaper (void);

G_END_DECLS
