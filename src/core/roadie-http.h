/* roadie-http.h: small helpers shared by Roadie's HTTP servers. */
#pragma once

#include <json-glib/json-glib.h>
#include <libsoup/soup.h>

G_BEGIN_DECLS

/* The body is node as compact JSON, never cached: status changes by the second. */
void     roadie_http_respond_json    (SoupServerMessage *msg,
                                      guint              status,
                                      JsonNode          *node);
/* {"error": "message"} */
void     roadie_http_respond_error   (SoupServerMessage *msg,
                                      guint              status,
                                      const char        *message);
/* The port a listening server actually got (for port 0), or 0. */
guint    roadie_http_server_get_port (SoupServer        *server);
/* Listens on bind:port (bind an IP address, "localhost" = 127.0.0.1; port 0
 * = ephemeral). A taken port is ROADIE_ERROR_PORT_IN_USE, naming its holder:
 * "Port 3000 on 127.0.0.1 is in use by python3 (pid 12): <consequence>. <remedy>" */
gboolean roadie_http_server_listen   (SoupServer        *server,
                                      const char        *bind,
                                      guint              port,
                                      const char        *consequence,
                                      const char        *remedy,
                                      GError           **error);

G_END_DECLS
