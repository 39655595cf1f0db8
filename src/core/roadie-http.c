/* roadie-http.c: small helpers shared by Roadie's HTTP servers. */
#include "config.h"

#include <string.h>

#include "roadie-error.h"
#include "roadie-http.h"
#include "roadie-port.h"

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

gboolean
roadie_http_server_listen (SoupServer  *server,
                           const char  *bind,
                           guint        port,
                           const char  *consequence,
                           const char  *remedy,
                           GError     **error)
{
  g_autoptr(GInetAddress) inet_address = NULL;
  g_autoptr(GSocketAddress) address = NULL;
  g_autoptr(GError) local_error = NULL;

  g_return_val_if_fail (SOUP_IS_SERVER (server), FALSE);
  g_return_val_if_fail (port <= G_MAXUINT16, FALSE);

  if (bind == NULL || g_ascii_strcasecmp (bind, "localhost") == 0)
    bind = "127.0.0.1";
  inet_address = g_inet_address_new_from_string (bind);
  if (inet_address == NULL)
    {
      g_set_error (error, ROADIE_ERROR, ROADIE_ERROR_INVALID_SETTING,
                   "“%s” is not an IP address: give 127.0.0.1, 0.0.0.0 or another address of this machine",
                   bind);
      return FALSE;
    }

  address = g_inet_socket_address_new (inet_address, port);
  if (soup_server_listen (server, address, 0, &local_error))
    return TRUE;

  if (g_error_matches (local_error, G_IO_ERROR, G_IO_ERROR_ADDRESS_IN_USE))
    {
      g_autofree char *holder = roadie_port_describe_holder (port);

      g_set_error (error, ROADIE_ERROR, ROADIE_ERROR_PORT_IN_USE,
                   "Port %u on %s is in use by %s: %s. %s",
                   port, bind, holder != NULL ? holder : "another program", consequence, remedy);
    }
  else
    g_set_error (error, ROADIE_ERROR, ROADIE_ERROR_FAILED,
                 "Cannot listen on %s port %u (%s): %s. %s",
                 bind, port, local_error->message, consequence, remedy);
  return FALSE;
}
