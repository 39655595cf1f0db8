/* roadie-http.c: small helpers shared by Roadie's HTTP servers. */
#include "config.h"

#include <string.h>

#include "roadie-http.h"

void
roadie_http_respond_json (SoupServerMessage *msg,
                          guint              status,
                          JsonNode          *node)
{
  g_autofree char *body = json_to_string (node, FALSE);
  gsize len = strlen (body);

  soup_message_headers_replace (soup_server_message_get_response_headers (msg),
                                "Cache-Control", "no-store");
  soup_server_message_set_status (msg, status, NULL);
  soup_server_message_set_response (msg, "application/json",
                                    SOUP_MEMORY_TAKE, g_steal_pointer (&body), len);
}

void
roadie_http_respond_error (SoupServerMessage *msg,
                           guint              status,
                           const char        *message)
{
  g_autoptr(JsonBuilder) builder = json_builder_new ();
  g_autoptr(JsonNode) node = NULL;

  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "error");
  json_builder_add_string_value (builder, message);
  json_builder_end_object (builder);
  node = json_builder_get_root (builder);
  roadie_http_respond_json (msg, status, node);
}

guint
roadie_http_server_get_port (SoupServer *server)
{
  g_autoptr(GSList) listeners = soup_server_get_listeners (server);

  for (GSList *l = listeners; l != NULL; l = l->next)
    {
      g_autoptr(GSocketAddress) address = g_socket_get_local_address (l->data, NULL);

      if (G_IS_INET_SOCKET_ADDRESS (address))
        return g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (address));
    }
  return 0;
}
