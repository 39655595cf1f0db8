/* roadie-headless.h: `roadie --headless`, Roadie without a window.
 *
 * Runs the supervisor and the control API on a plain GMainLoop until
 * SIGTERM or SIGINT, then stops the server gracefully. Needs no display and
 * no D-Bus: nothing here touches GTK.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Returns the process exit status. */
int roadie_headless_run (int    argc,
                         char **argv);

G_END_DECLS
