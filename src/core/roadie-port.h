/* roadie-port.h: is a TCP port free, and if not, who holds it. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* TRUE when nothing listens on port (IPv4, any address). */
gboolean  roadie_port_is_free         (guint16 port);
/* "python3 (pid 1234)" for the process listening on port, or NULL if unknown. */
char     *roadie_port_describe_holder (guint16 port);

G_END_DECLS
