/* roadie-test-notifications.c: org.gtk.Notifications, recorded. */
#include "config.h"

#include <string.h>

#include "roadie-test-notifications.h"

struct _RoadieTestNotifications
{
  char            *app_id;
  GDBusConnection *bus;
  guint            object_id;
  GPtrArray       *shown;      /* RoadieTestNotification *, in arrival order */
  guint            removals;
};

static const char notifications_xml[] =
  "<node>"
  "  <interface name='org.gtk.Notifications'>"
  "    <method name='AddNotification'>"
  "      <arg type='s' direction='in'/>"
  "      <arg type='s' direction='in'/>"
  "      <arg type='a{sv}' direction='in'/>"
  "    </method>"
  "    <method name='RemoveNotification'>"
  "      <arg type='s' direction='in'/>"
  "      <arg type='s' direction='in'/>"
  "    </method>"
  "  </interface>"
  "</node>";

static void
notification_free (RoadieTestNotification *notification)
{
  g_free (notification->id);
  g_free (notification->title);
  g_free (notification->body);
  g_free (notification->default_action);
  g_strfreev (notification->button_actions);
  g_free (notification);
}

static void
method_call (GDBusConnection       *connection,
             const char            *sender,
             const char            *object_path,
             const char            *interface_name,
             const char            *method_name,
             GVariant              *parameters,
             GDBusMethodInvocation *invocation,
             gpointer               user_data)
{
  RoadieTestNotifications *self = user_data;

  if (strcmp (method_name, "AddNotification") == 0)
    {
      RoadieTestNotification *notification = g_new0 (RoadieTestNotification, 1);
      g_autoptr(GVariant) data = NULL;
      g_autoptr(GVariant) buttons = NULL;
      GPtrArray *actions = g_ptr_array_new ();
      const char *app_id;

      g_variant_get (parameters, "(&ss@a{sv})", &app_id, &notification->id, &data);
      g_assert_cmpstr (app_id, ==, self->app_id);
      g_variant_lookup (data, "title", "s", &notification->title);
      g_variant_lookup (data, "body", "s", &notification->body);
      g_variant_lookup (data, "default-action", "s", &notification->default_action);
      buttons = g_variant_lookup_value (data, "buttons", G_VARIANT_TYPE ("aa{sv}"));
      for (gsize i = 0; buttons != NULL && i < g_variant_n_children (buttons); i++)
        {
          g_autoptr(GVariant) button = g_variant_get_child_value (buttons, i);
          char *action = NULL;

          g_variant_lookup (button, "action", "s", &action);
          g_ptr_array_add (actions, action);
        }
      g_ptr_array_add (actions, NULL);
      notification->button_actions = (GStrv) g_ptr_array_free (actions, FALSE);
      g_test_message ("notification %s: %s — %s", notification->id, notification->title,
                      notification->body);
      g_ptr_array_add (self->shown, notification);
    }
  else
    self->removals++;

  g_dbus_method_invocation_return_value (invocation, NULL);
}

RoadieTestNotifications *
roadie_test_notifications_start (const char *app_id)
{
  static const GDBusInterfaceVTable vtable = { method_call, NULL, NULL, { 0 } };
  g_autoptr(GDBusNodeInfo) info = g_dbus_node_info_new_for_xml (notifications_xml, NULL);
  RoadieTestNotifications *self = g_new0 (RoadieTestNotifications, 1);
  g_autoptr(GError) error = NULL;
  g_autofree char *address = g_dbus_address_get_for_bus_sync (G_BUS_TYPE_SESSION, NULL, &error);
  g_autoptr(GVariant) reply = NULL;
  guint32 result = 0;

  g_assert_no_error (error);
  self->app_id = g_strdup (app_id);
  self->shown = g_ptr_array_new_with_free_func ((GDestroyNotify) notification_free);
  self->bus = g_dbus_connection_new_for_address_sync (address,
                                                      G_DBUS_CONNECTION_FLAGS_AUTHENTICATION_CLIENT |
                                                      G_DBUS_CONNECTION_FLAGS_MESSAGE_BUS_CONNECTION,
                                                      NULL, NULL, &error);
  g_assert_no_error (error);
  self->object_id = g_dbus_connection_register_object (self->bus, "/org/gtk/Notifications",
                                                       info->interfaces[0], &vtable,
                                                       self, NULL, &error);
  g_assert_no_error (error);
  /* Owned before the application's first notification picks a backend. */
  reply = g_dbus_connection_call_sync (self->bus, "org.freedesktop.DBus", "/org/freedesktop/DBus",
                                       "org.freedesktop.DBus", "RequestName",
                                       g_variant_new ("(su)", "org.gtk.Notifications", 4 /* do not queue */),
                                       G_VARIANT_TYPE ("(u)"), G_DBUS_CALL_FLAGS_NONE, 5000, NULL, &error);
  g_assert_no_error (error);
  g_variant_get (reply, "(u)", &result);
  g_assert_cmpuint (result, ==, 1 /* primary owner */);
  return self;
}

void
roadie_test_notifications_free (RoadieTestNotifications *self)
{
  g_dbus_connection_unregister_object (self->bus, self->object_id);
  g_dbus_connection_close_sync (self->bus, NULL, NULL);
  g_clear_object (&self->bus);
  g_ptr_array_unref (self->shown);
  g_free (self->app_id);
  g_free (self);
}

guint
roadie_test_notifications_count (RoadieTestNotifications *self,
                                 const char              *id)
{
  guint count = 0;

  for (guint i = 0; i < self->shown->len; i++)
    if (g_strcmp0 (((RoadieTestNotification *) g_ptr_array_index (self->shown, i))->id, id) == 0)
      count++;
  return count;
}

RoadieTestNotification *
roadie_test_notifications_last (RoadieTestNotifications *self,
                                const char              *id)
{
  for (guint i = self->shown->len; i > 0; i--)
    {
      RoadieTestNotification *notification = g_ptr_array_index (self->shown, i - 1);

      if (g_strcmp0 (notification->id, id) == 0)
        return notification;
    }
  return NULL;
}

guint
roadie_test_notifications_count_removals (RoadieTestNotifications *self)
{
  return self->removals;
}
