/* roadie-engine-server.c: roadie-engine's network side.
 *
 * One SoupServer, one handler at "/": a WebSocket upgrade on "/" becomes a
 * client that is greeted with the hello message, GET /health answers with
 * a small JSON object, anything else is 404. Incoming messages are ignored
 * for now (the hub of a later issue reads them), but every client has a
 * bounded incoming payload so a flood of bytes cannot grow memory.
 *
 * Shutting down closes every client with 1001 (going away) and waits a
 * short moment for the close frames to leave before completing, so that
 * roadie-engine exits well inside 100 ms of SIGTERM.
 */
#include "config.h"

#include <json-glib/json-glib.h>

#include "roadie-error.h"
#include "roadie-engine-server.h"
#include "roadie-http.h"

/* Generous for the control messages of the protocol, small enough that a
 * client cannot make the engine buffer megabytes. */
#define MAX_INCOMING_PAYLOAD (64 * 1024)

/* How long shutdown waits for clients to acknowledge the close frame. */
#define SHUTDOWN_GRACE_MS 50

#define HELLO_PROTOCOL 1

struct _RoadieEngineServer
{
  GObject     parent_instance;

  SoupServer *server;
  GPtrArray  *clients;          /* SoupWebsocketConnection, open or closing */
  gint64      started_at_us;    /* monotonic; 0 until listening */
  guint       port;

  GTask      *shutdown_task;
  guint       shutdown_timeout_id;
};

G_DEFINE_FINAL_TYPE (RoadieEngineServer, roadie_engine_server, G_TYPE_OBJECT)

enum {
  PROP_0,
  PROP_PORT,
  PROP_N_CLIENTS,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

static void finish_shutdown_if_drained (RoadieEngineServer *self);

static gint64
uptime_ms (RoadieEngineServer *self)
{
  if (self->started_at_us == 0)
    return 0;
  return (g_get_monotonic_time () - self->started_at_us) / 1000;
}

static char *
build_hello (void)
{
  g_autoptr(JsonBuilder) builder = json_builder_new ();
  g_autoptr(JsonNode) node = NULL;

  /* json-glib keeps insertion order, so "type" stays first as the
   * protocol asks. */
  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "type");
  json_builder_add_string_value (builder, "hello");
  json_builder_set_member_name (builder, "server");
  json_builder_add_string_value (builder, "roadie-engine");
  json_builder_set_member_name (builder, "version");
  json_builder_add_string_value (builder, PACKAGE_VERSION);
  json_builder_set_member_name (builder, "protocol");
  json_builder_add_int_value (builder, HELLO_PROTOCOL);
  json_builder_end_object (builder);
  node = json_builder_get_root (builder);

  return json_to_string (node, FALSE);
}

static void
handle_health (RoadieEngineServer *self,
               SoupServerMessage  *msg)
{
  g_autoptr(JsonBuilder) builder = json_builder_new ();
  g_autoptr(JsonNode) node = NULL;

  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "status");
  json_builder_add_string_value (builder, "ok");
  json_builder_set_member_name (builder, "server");
  json_builder_add_string_value (builder, "roadie-engine");
  json_builder_set_member_name (builder, "version");
  json_builder_add_string_value (builder, PACKAGE_VERSION);
  json_builder_set_member_name (builder, "uptimeMs");
  json_builder_add_int_value (builder, uptime_ms (self));
  json_builder_set_member_name (builder, "clients");
  json_builder_add_int_value (builder, self->clients->len);
  json_builder_end_object (builder);
  node = json_builder_get_root (builder);

  roadie_http_respond_json (msg, SOUP_STATUS_OK, node);
}

static void
handle_request (SoupServer        *server,
                SoupServerMessage *msg,
                const char        *path,
                GHashTable        *query,
                gpointer           user_data)
{
  RoadieEngineServer *self = user_data;
  const char *method = soup_server_message_get_method (msg);

  if (g_strcmp0 (path, "/health") == 0)
    {
      if (method != SOUP_METHOD_GET && method != SOUP_METHOD_HEAD)
        {
          soup_message_headers_replace (soup_server_message_get_response_headers (msg),
                                        "Allow", "GET, HEAD");
          roadie_http_respond_error (msg, SOUP_STATUS_METHOD_NOT_ALLOWED, "/health only answers GET");
          return;
        }
      handle_health (self, msg);
      return;
    }

  if (g_strcmp0 (path, "/") == 0)
    {
      /* Leaving the status unset lets SoupServer complete the WebSocket
       * handshake and hand the connection to websocket_connected(). */
      if (soup_websocket_server_check_handshake (msg, NULL, NULL, NULL, NULL))
        return;
      roadie_http_respond_error (msg, SOUP_STATUS_BAD_REQUEST,
                      "this is the roadie-engine WebSocket endpoint; connect with a WebSocket client, or GET /health");
      return;
    }

  roadie_http_respond_error (msg, SOUP_STATUS_NOT_FOUND, "no such path on roadie-engine; try GET /health");
}

static void
client_message (SoupWebsocketConnection *connection,
                int                      type,
                GBytes                  *message,
                gpointer                 user_data)
{
  /* Nothing to read yet: the message hub arrives in a later issue. */
}

static void
client_closed (SoupWebsocketConnection *connection,
               gpointer                 user_data)
{
  RoadieEngineServer *self = user_data;

  g_signal_handlers_disconnect_by_data (connection, self);
  if (g_ptr_array_remove (self->clients, connection))
    g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_N_CLIENTS]);

  finish_shutdown_if_drained (self);
}

static void
websocket_connected (SoupServer              *server,
                     SoupServerMessage       *msg,
                     const char              *path,
                     SoupWebsocketConnection *connection,
                     gpointer                 user_data)
{
  RoadieEngineServer *self = user_data;
  g_autofree char *hello = NULL;

  /* Clients that connect while we are going away are turned back at once. */
  if (self->shutdown_task != NULL)
    {
      soup_websocket_connection_close (connection, SOUP_WEBSOCKET_CLOSE_GOING_AWAY,
                                       "roadie-engine is shutting down");
      return;
    }

  soup_websocket_connection_set_max_incoming_payload_size (connection, MAX_INCOMING_PAYLOAD);
  g_signal_connect (connection, "message", G_CALLBACK (client_message), self);
  g_signal_connect (connection, "closed", G_CALLBACK (client_closed), self);
  g_ptr_array_add (self->clients, g_object_ref (connection));
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_N_CLIENTS]);

  hello = build_hello ();
  soup_websocket_connection_send_text (connection, hello);
}

static void
close_all_clients (RoadieEngineServer *self)
{
  /* Iterate over a copy: a close may emit "closed" synchronously and
   * remove the connection from self->clients. */
  g_autoptr(GPtrArray) clients = g_ptr_array_new_with_free_func (g_object_unref);

  for (guint i = 0; i < self->clients->len; i++)
    g_ptr_array_add (clients, g_object_ref (g_ptr_array_index (self->clients, i)));
  for (guint i = 0; i < clients->len; i++)
    {
      SoupWebsocketConnection *connection = g_ptr_array_index (clients, i);

      if (soup_websocket_connection_get_state (connection) == SOUP_WEBSOCKET_STATE_OPEN)
        soup_websocket_connection_close (connection, SOUP_WEBSOCKET_CLOSE_GOING_AWAY,
                                         "roadie-engine is shutting down");
    }
}

static void
drop_all_clients (RoadieEngineServer *self)
{
  while (self->clients->len > 0)
    {
      g_autoptr(SoupWebsocketConnection) connection = g_object_ref (g_ptr_array_index (self->clients, 0));

      g_signal_handlers_disconnect_by_data (connection, self);
      g_ptr_array_remove_index (self->clients, 0);
    }
}

static void
complete_shutdown (RoadieEngineServer *self)
{
  g_autoptr(GTask) task = g_steal_pointer (&self->shutdown_task);

  g_clear_handle_id (&self->shutdown_timeout_id, g_source_remove);
  if (task != NULL)
    g_task_return_boolean (task, TRUE);
}

static void
finish_shutdown_if_drained (RoadieEngineServer *self)
{
  if (self->shutdown_task != NULL && self->clients->len == 0)
    complete_shutdown (self);
}

static gboolean
shutdown_grace_elapsed (gpointer user_data)
{
  RoadieEngineServer *self = user_data;

  self->shutdown_timeout_id = 0;
  /* Clients that did not answer the close frame in time are cut off. */
  drop_all_clients (self);
  complete_shutdown (self);

  return G_SOURCE_REMOVE;
}

static void
roadie_engine_server_dispose (GObject *object)
{
  RoadieEngineServer *self = (RoadieEngineServer *)object;

  roadie_engine_server_shutdown (self);
  complete_shutdown (self);
  g_clear_object (&self->server);

  G_OBJECT_CLASS (roadie_engine_server_parent_class)->dispose (object);
}

static void
roadie_engine_server_finalize (GObject *object)
{
  RoadieEngineServer *self = (RoadieEngineServer *)object;

  g_clear_pointer (&self->clients, g_ptr_array_unref);

  G_OBJECT_CLASS (roadie_engine_server_parent_class)->finalize (object);
}

static void
roadie_engine_server_get_property (GObject    *object,
                                   guint       prop_id,
                                   GValue     *value,
                                   GParamSpec *pspec)
{
  RoadieEngineServer *self = ROADIE_ENGINE_SERVER (object);

  switch (prop_id)
    {
    case PROP_PORT:
      g_value_set_uint (value, self->port);
      break;

    case PROP_N_CLIENTS:
      g_value_set_uint (value, self->clients->len);
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
roadie_engine_server_class_init (RoadieEngineServerClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = roadie_engine_server_dispose;
  object_class->finalize = roadie_engine_server_finalize;
  object_class->get_property = roadie_engine_server_get_property;

  properties[PROP_PORT] =
    g_param_spec_uint ("port", NULL, NULL,
                       0, G_MAXUINT16, 0,
                       (G_PARAM_READABLE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY));

  properties[PROP_N_CLIENTS] =
    g_param_spec_uint ("n-clients", NULL, NULL,
                       0, G_MAXUINT, 0,
                       (G_PARAM_READABLE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY));

  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
roadie_engine_server_init (RoadieEngineServer *self)
{
  self->clients = g_ptr_array_new_with_free_func (g_object_unref);
}

RoadieEngineServer *
roadie_engine_server_new (void)
{
  return g_object_new (ROADIE_TYPE_ENGINE_SERVER, NULL);
}

gboolean
roadie_engine_server_listen (RoadieEngineServer  *self,
                             const char          *bind,
                             guint                port,
                             GError             **error)
{
  g_autoptr(GInetAddress) inet_address = NULL;
  g_autoptr(GSocketAddress) address = NULL;
  g_autoptr(SoupServer) server = NULL;
  g_autoptr(GError) local_error = NULL;

  g_return_val_if_fail (ROADIE_IS_ENGINE_SERVER (self), FALSE);
  g_return_val_if_fail (self->server == NULL, FALSE);
  g_return_val_if_fail (port <= G_MAXUINT16, FALSE);

  if (bind == NULL || g_ascii_strcasecmp (bind, "localhost") == 0)
    bind = "127.0.0.1";

  inet_address = g_inet_address_new_from_string (bind);
  if (inet_address == NULL)
    {
      g_set_error (error, ROADIE_ERROR, ROADIE_ERROR_INVALID_SETTING,
                   "“%s” is not an IP address; pass --bind 127.0.0.1, 0.0.0.0 or another address of this machine",
                   bind);
      return FALSE;
    }

  server = soup_server_new (NULL, NULL);
  soup_server_add_handler (server, "/", handle_request, self, NULL);
  soup_server_add_websocket_handler (server, "/", NULL, NULL, websocket_connected, self, NULL);

  address = g_inet_socket_address_new (inet_address, port);
  if (!soup_server_listen (server, address, 0, &local_error))
    {
      if (g_error_matches (local_error, G_IO_ERROR, G_IO_ERROR_ADDRESS_IN_USE))
        g_set_error (error, ROADIE_ERROR, ROADIE_ERROR_PORT_IN_USE,
                     "port %u on %s is already in use; stop the other program or pass --port",
                     port, bind);
      else
        g_set_error (error, ROADIE_ERROR, ROADIE_ERROR_FAILED,
                     "cannot listen on %s port %u: %s", bind, port, local_error->message);
      return FALSE;
    }

  self->server = g_steal_pointer (&server);
  self->port = roadie_http_server_get_port (self->server);
  self->started_at_us = g_get_monotonic_time ();
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_PORT]);

  return TRUE;
}

guint
roadie_engine_server_get_port (RoadieEngineServer *self)
{
  g_return_val_if_fail (ROADIE_IS_ENGINE_SERVER (self), 0);

  return self->port;
}

guint
roadie_engine_server_get_n_clients (RoadieEngineServer *self)
{
  g_return_val_if_fail (ROADIE_IS_ENGINE_SERVER (self), 0);

  return self->clients->len;
}

/* Stops listening and closes every client with 1001 right away, without
 * waiting for the close frames to be acknowledged. */
void
roadie_engine_server_shutdown (RoadieEngineServer *self)
{
  g_return_if_fail (ROADIE_IS_ENGINE_SERVER (self));

  if (self->server != NULL)
    soup_server_disconnect (self->server);
  close_all_clients (self);
  drop_all_clients (self);
}

void
roadie_engine_server_shutdown_async (RoadieEngineServer  *self,
                                     GCancellable        *cancellable,
                                     GAsyncReadyCallback  callback,
                                     gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;

  g_return_if_fail (ROADIE_IS_ENGINE_SERVER (self));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, roadie_engine_server_shutdown_async);

  if (self->shutdown_task != NULL)
    {
      g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_PENDING,
                               "roadie-engine is already shutting down");
      return;
    }

  /* Stop accepting first, so nobody new arrives while we say goodbye. */
  if (self->server != NULL)
    soup_server_disconnect (self->server);

  self->shutdown_task = g_steal_pointer (&task);
  close_all_clients (self);

  if (self->clients->len == 0)
    {
      complete_shutdown (self);
      return;
    }

  self->shutdown_timeout_id = g_timeout_add (SHUTDOWN_GRACE_MS, shutdown_grace_elapsed, self);
}

gboolean
roadie_engine_server_shutdown_finish (RoadieEngineServer  *self,
                                      GAsyncResult        *result,
                                      GError             **error)
{
  g_return_val_if_fail (ROADIE_IS_ENGINE_SERVER (self), FALSE);
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);

  return g_task_propagate_boolean (G_TASK (result), error);
}
