/* roadie-paths.h: where Roadie's own helpers live, and how a program
 * outside the Flatpak sandbox is reached.
 *
 * Found relative to the running executable (installed prefix, or the build
 * tree for `meson devenv` and tests), never through a hard-coded path.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef enum
{
  ROADIE_HELPER_ENGINE,   /* roadie-engine, in bindir next to roadie */
  ROADIE_HELPER_REAPER,   /* roadie-reaper, in libexecdir */
} RoadieHelper;

/* Full path of the bundled roadie-engine, or NULL if it cannot be found. */
char *roadie_paths_find_engine (void);
/* Full path of roadie-reaper, or NULL if it cannot be found. */
char *roadie_paths_find_reaper (void);
/* Folder holding hicolor/ with Roadie's icons (the tray's state icons
 * included): the source tree's data/icons when run from the build tree,
 * PREFIX/share/icons when installed. NULL if neither is there. */
char *roadie_paths_find_icon_dir (void);

/* Where `helper` belongs for a Roadie (or any of its programs) whose own
 * executable is `executable`; the pure part of the lookups above. */
char *roadie_paths_helper_for_executable (const char   *executable,
                                          RoadieHelper  helper);

/* An executable-path of the form "host:/path/to/server" names a program on
 * the host, outside the Flatpak sandbox, run through flatpak-spawn --host. */
#define ROADIE_HOST_PREFIX "host:"

gboolean     roadie_paths_is_host_executable (const char *executable_path);
/* The host path without the prefix, or NULL when it is not a host path. */
const char  *roadie_paths_host_executable    (const char *executable_path);
/* The argv that runs `host_path` `args` on the host through flatpak-spawn,
 * in `working_dir` (NULL or "": the home folder), forwarding signals, and
 * ended by the host when flatpak-spawn goes away (--watch-bus). */
GStrv        roadie_paths_host_command       (const char         *host_path,
                                              const char         *working_dir,
                                              const char * const *args);

G_END_DECLS
