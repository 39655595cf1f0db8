/* roadie-ws-probe.c: the seed's health check, a WebSocket connect test.
 *
 * The timeout is our own deadline over connect and handshake together
 * (cancelling the attempt), so a server that accepts the TCP connection
 * but never answers still fails the probe on time.
 */
#include "config.h"

#include "roadie-ws-probe.h"

typedef struct
{
  GCancellable *cancellable;   /* ours: cancelled on timeout or by the caller's */
  GCancellable *caller_cancellable;
  gulong        caller_handler;
  guint         timeout_id;
  guint         timeout_ms;
  gboolean      timed_out;
  char         *url;
} ProbeData;

static void
probe_data_free (ProbeData *data)
{
  g_clear_handle_id (&data->timeout_id, g_source_remove);
  if (data->caller_cancellable != NULL)
    g_cancellable_disconnect (data->caller_cancellable, data->caller_handler);
  g_clear_object (&data->caller_cancellable);
  g_clear_object (&data->cancellable);
  g_free (data->url);
  g_free (data);
}

static gboolean
probe_timed_out (gpointer user_data)
{
  ProbeData *data = user_data;

  data->timeout_id = 0;
  data->timed_out = TRUE;
  g_cancellable_cancel (data->cancellable);
  return G_SOURCE_REMOVE;
}

static void
caller_cancelled (GCancellable *caller,
                  gpointer      user_data)
{
  g_cancellable_cancel (G_CANCELLABLE (user_data));
}

static void
probe_connected (GObject      *source,
                 GAsyncResult *result,
                 gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  ProbeData *data = g_task_get_task_data (task);
  g_autoptr(SoupWebsocketConnection) connection = NULL;
  g_autoptr(GError) error = NULL;

  g_clear_handle_id (&data->timeout_id, g_source_remove);
  connection = soup_session_websocket_connect_finish (SOUP_SESSION (source), result, &error);
  if (connection != NULL)
    {
      soup_websocket_connection_close (connection, SOUP_WEBSOCKET_CLOSE_NORMAL, NULL);
      g_task_return_boolean (task, TRUE);
    }
  else if (data->timed_out)
    g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_TIMED_OUT,
                             "No WebSocket handshake from %s within %u ms",
                             data->url, data->timeout_ms);
  else
    g_task_return_error (task, g_steal_pointer (&error));
}

void
roadie_ws_probe_async (SoupSession         *session,
                       const char          *url,
                       guint                timeout_ms,
                       GCancellable        *cancellable,
                       GAsyncReadyCallback  callback,
                       gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;
  g_autoptr(SoupMessage) message = NULL;
  ProbeData *data;

  g_return_if_fail (SOUP_IS_SESSION (session));
  g_return_if_fail (url != NULL);

  task = g_task_new (session, cancellable, callback, user_data);
  g_task_set_source_tag (task, roadie_ws_probe_async);

  message = soup_message_new (SOUP_METHOD_GET, url);
  if (message == NULL)
    {
      g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                               "“%s” is not a valid WebSocket address", url);
      return;
    }

  data = g_new0 (ProbeData, 1);
  data->cancellable = g_cancellable_new ();
  data->timeout_ms = timeout_ms;
  data->url = g_strdup (url);
  if (cancellable != NULL)
    {
      data->caller_cancellable = g_object_ref (cancellable);
      data->caller_handler = g_cancellable_connect (cancellable, G_CALLBACK (caller_cancelled),
                                                    data->cancellable, NULL);
    }
  data->timeout_id = g_timeout_add (timeout_ms, probe_timed_out, data);
  g_task_set_task_data (task, data, (GDestroyNotify) probe_data_free);

  soup_session_websocket_connect_async (session, message, NULL, NULL, G_PRIORITY_DEFAULT,
                                        data->cancellable, probe_connected,
                                        g_steal_pointer (&task));
}

gboolean
roadie_ws_probe_finish (GAsyncResult  *result,
                        GError       **error)
{
  g_return_val_if_fail (G_IS_TASK (result), FALSE);

  return g_task_propagate_boolean (G_TASK (result), error);
}
