/* roadie-ws-probe.h: the seed's health check, a WebSocket connect test.
 *
 * Healthy means a complete WebSocket handshake within the timeout; the
 * connection is closed again at once.
 */
#pragma once

#include <libsoup/soup.h>

G_BEGIN_DECLS

void     roadie_ws_probe_async  (SoupSession         *session,
                                 const char          *url,
                                 guint                timeout_ms,
                                 GCancellable        *cancellable,
                                 GAsyncReadyCallback  callback,
                                 gpointer             user_data);
gboolean roadie_ws_probe_finish (GAsyncResult        *result,
                                 GError             **error);

G_END_DECLS
