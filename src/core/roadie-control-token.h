/* roadie-control-token.h: the bearer token of the control API.
 *
 * Created on first run in $XDG_RUNTIME_DIR/roadie/control-token (file 0600,
 * folder 0700) and reused afterwards. Compared in constant time; never logged.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Loads the token at path, or creates one there. path NULL = the default. */
char     *roadie_control_token_load_or_create (const char  *path,
                                               GError     **error);
char     *roadie_control_token_default_path   (void);
char     *roadie_control_token_regenerate     (const char  *path,
                                               GError     **error);
gboolean  roadie_constant_time_equal          (const char  *a,
                                               const char  *b);

G_END_DECLS
