/* test-tray.c: RoadieTray against a StatusNotifierWatcher on a private bus.
 *
 * The test starts its own dbus-daemon and plays the tray host itself: a
 * StatusNotifierWatcher on one connection, a host reading the item's
 * properties and calling its menu on another. The tray lives on a third
 * connection, as it would in Roadie, and follows a real supervisor that
 * runs tests/fake-audio-server.
 */
#include "config.h"

#include <signal.h>
#include <string.h>

#include "roadie-service.h"
#include "roadie-supervisor.h"
#include "roadie-test-util.h"
#include "roadie-tray.h"

#define WATCHER_NAME      "org.kde.StatusNotifierWatcher"
#define WATCHER_PATH      "/StatusNotifierWatcher"
#define WATCHER_INTERFACE "org.kde.StatusNotifierWatcher"
#define ITEM_PATH         "/StatusNotifierItem"
#define ITEM_INTERFACE    "org.kde.StatusNotifierItem"
#define MENU_PATH         "/MenuBar"
#define MENU_INTERFACE    "com.canonical.dbusmenu"

#define ICON_RUNNING      "io.github.roadie.Roadie-running-symbolic"
#define ICON_STARTING     "io.github.roadie.Roadie-starting-symbolic"
#define ICON_ATTENTION    "io.github.roadie.Roadie-attention-symbolic"
#define ICON_STOPPED      "io.github.roadie.Roadie-stopped-symbolic"

static const char * const no_names[] = { NULL };

/* The test's StatusNotifierWatcher */

static const char watcher_xml[] =
  "<node>"
  " <interface name='org.kde.StatusNotifierWatcher'>"
  "  <method name='RegisterStatusNotifierItem'>"
  "   <arg name='service' type='s' direction='in'/>"
  "  </method>"
  "  <method name='RegisterStatusNotifierHost'>"
  "   <arg name='service' type='s' direction='in'/>"
  "  </method>"
  "  <property name='RegisteredStatusNotifierItems' type='as' access='read'/>"
  "  <property name='IsStatusNotifierHostRegistered' type='b' access='read'/>"
  "  <property name='ProtocolVersion' type='i' access='read'/>"
  "  <signal name='StatusNotifierItemRegistered'><arg type='s'/></signal>"
  "  <signal name='StatusNotifierItemUnregistered'><arg type='s'/></signal>"
  "  <signal name='StatusNotifierHostRegistered'/>"
  "  <signal name='StatusNotifierHostUnregistered'/>"
  " </interface>"
  "</node>";

typedef struct
{
  GDBusConnection *connection;
  guint            object_id;
  guint            owner_id;
  gboolean         owned;
  gboolean         host_registered;
  GPtrArray       *services;   /* every RegisterStatusNotifierItem argument */
  GPtrArray       *senders;    /* and who sent it */
} Watcher;

static GDBusConnection *
new_bus_connection (void)
{
  g_autoptr(GError) error = NULL;
  GDBusConnection *connection;

  connection = g_dbus_connection_new_for_address_sync (g_getenv ("DBUS_SESSION_BUS_ADDRESS"),
                                                       G_DBUS_CONNECTION_FLAGS_AUTHENTICATION_CLIENT |
                                                       G_DBUS_CONNECTION_FLAGS_MESSAGE_BUS_CONNECTION,
                                                       NULL, NULL, &error);
  g_assert_no_error (error);
  g_dbus_connection_set_exit_on_close (connection, FALSE);
  return connection;
}

static void
watcher_method_call (GDBusConnection       *connection,
                     const char            *sender,
                     const char            *object_path,
                     const char            *interface_name,
                     const char            *method_name,
                     GVariant              *parameters,
                     GDBusMethodInvocation *invocation,
                     gpointer               user_data)
{
  Watcher *watcher = user_data;

  if (g_str_equal (method_name, "RegisterStatusNotifierItem"))
    {
      const char *service;

      g_variant_get (parameters, "(&s)", &service);
      g_ptr_array_add (watcher->services, g_strdup (service));
      g_ptr_array_add (watcher->senders, g_strdup (sender));
      g_dbus_connection_emit_signal (connection, NULL, WATCHER_PATH, WATCHER_INTERFACE,
                                     "StatusNotifierItemRegistered",
                                     g_variant_new ("(s)", service), NULL);
    }
  g_dbus_method_invocation_return_value (invocation, NULL);
}

static GVariant *
watcher_get_property (GDBusConnection  *connection,
                      const char       *sender,
                      const char       *object_path,
                      const char       *interface_name,
                      const char       *property_name,
                      GError          **error,
                      gpointer          user_data)
{
  Watcher *watcher = user_data;

  if (g_str_equal (property_name, "RegisteredStatusNotifierItems"))
    return g_variant_new_strv ((const char * const *) watcher->services->pdata, watcher->services->len);
  if (g_str_equal (property_name, "IsStatusNotifierHostRegistered"))
    return g_variant_new_boolean (watcher->host_registered);
  return g_variant_new_int32 (0);
}

static const GDBusInterfaceVTable watcher_vtable = { watcher_method_call, watcher_get_property, NULL, { 0 } };

static void
on_watcher_name_acquired (GDBusConnection *connection,
                          const char      *name,
                          gpointer         user_data)
{
  ((Watcher *) user_data)->owned = TRUE;
}

static void
on_watcher_name_lost (GDBusConnection *connection,
                      const char      *name,
                      gpointer         user_data)
{
  ((Watcher *) user_data)->owned = FALSE;
}

static gboolean
watcher_owned (gpointer data)
{
  return ((Watcher *) data)->owned;
}

static Watcher *
watcher_new (gboolean host_registered)
{
  g_autoptr(GDBusNodeInfo) info = g_dbus_node_info_new_for_xml (watcher_xml, NULL);
  g_autoptr(GError) error = NULL;
  Watcher *watcher = g_new0 (Watcher, 1);

  watcher->host_registered = host_registered;
  watcher->services = g_ptr_array_new_with_free_func (g_free);
  watcher->senders = g_ptr_array_new_with_free_func (g_free);
  watcher->connection = new_bus_connection ();
  watcher->object_id = g_dbus_connection_register_object (watcher->connection, WATCHER_PATH,
                                                          info->interfaces[0], &watcher_vtable,
                                                          watcher, NULL, &error);
  g_assert_no_error (error);
  watcher->owner_id = g_bus_own_name_on_connection (watcher->connection, WATCHER_NAME,
                                                    G_BUS_NAME_OWNER_FLAGS_NONE,
                                                    on_watcher_name_acquired, on_watcher_name_lost,
                                                    watcher, NULL);
  g_assert_true (roadie_test_wait_until (watcher_owned, watcher, 10000));
  return watcher;
}

static void
watcher_emit (Watcher    *watcher,
              const char *signal_name)
{
  g_autoptr(GError) error = NULL;

  g_dbus_connection_emit_signal (watcher->connection, NULL, WATCHER_PATH, WATCHER_INTERFACE,
                                 signal_name, NULL, &error);
  g_assert_no_error (error);
}

/* The name goes away with the watcher's connection, as when a tray host
 * crashes or restarts. */
static void
watcher_free (Watcher *watcher)
{
  g_bus_unown_name (watcher->owner_id);
  g_dbus_connection_unregister_object (watcher->connection, watcher->object_id);
  g_assert_true (g_dbus_connection_close_sync (watcher->connection, NULL, NULL));
  g_object_unref (watcher->connection);
  g_ptr_array_unref (watcher->services);
  g_ptr_array_unref (watcher->senders);
  g_free (watcher);
}

/* The fixture: a supervisor, actions wired to it, the tray, a host */

typedef struct
{
  GSettings          *gsettings;
  RoadieSettings     *settings;
  RoadieSupervisor   *supervisor;
  guint16             port;
  char               *tag;
  GSimpleActionGroup *actions;
  guint               start_calls;
  guint               stop_calls;
  guint               restart_calls;
  guint               toggle_window_calls;
  guint               show_calls;
  guint               quit_calls;

  Watcher            *watcher;
  GDBusConnection    *tray_connection;
  GDBusConnection    *host;
  guint               host_signal_id;
  GPtrArray          *item_signals;     /* "NewIcon", "NewStatus NeedsAttention", … */
  GPtrArray          *menu_updates;     /* ItemsPropertiesUpdated parameters */
  RoadieTray         *tray;
  guint               registered_notifies;

  /* from GetLayout */
  gint32              start_stop_id;
  gint32              restart_id;
  gint32              show_id;
  gint32              quit_id;
} Fixture;

static void
on_action (GSimpleAction *action,
           GVariant      *parameter,
           Fixture       *fixture)
{
  const char *name = g_action_get_name (G_ACTION (action));
  g_autoptr(GError) error = NULL;

  if (g_str_equal (name, "start"))
    {
      fixture->start_calls++;
      roadie_supervisor_start (fixture->supervisor, &error);
    }
  else if (g_str_equal (name, "stop"))
    {
      fixture->stop_calls++;
      roadie_supervisor_stop (fixture->supervisor, &error);
    }
  else if (g_str_equal (name, "restart"))
    {
      fixture->restart_calls++;
      roadie_supervisor_restart (fixture->supervisor, &error);
    }
  else if (g_str_equal (name, "toggle-window"))
    fixture->toggle_window_calls++;
  else if (g_str_equal (name, "show"))
    fixture->show_calls++;
  else if (g_str_equal (name, "quit"))
    fixture->quit_calls++;
  g_assert_no_error (error);
}

static void
set_action_enabled (Fixture    *fixture,
                    const char *name,
                    gboolean    enabled)
{
  GAction *action = g_action_map_lookup_action (G_ACTION_MAP (fixture->actions), name);

  g_simple_action_set_enabled (G_SIMPLE_ACTION (action), enabled);
}

/* As the application does: commands enabled by the supervisor's state. */
static void
on_supervisor_state (RoadieSupervisor *supervisor,
                     GParamSpec       *pspec,
                     Fixture          *fixture)
{
  RoadieSupervisorState state = roadie_supervisor_get_state (supervisor);

  set_action_enabled (fixture, "start", roadie_service_state_can_start (state));
  set_action_enabled (fixture, "stop", roadie_service_state_can_stop (state));
  set_action_enabled (fixture, "restart", roadie_service_state_can_restart (state));
}

static void
on_host_signal (GDBusConnection *connection,
                const char      *sender_name,
                const char      *object_path,
                const char      *interface_name,
                const char      *signal_name,
                GVariant        *parameters,
                gpointer         user_data)
{
  Fixture *fixture = user_data;

  if (g_str_equal (interface_name, MENU_INTERFACE) && g_str_equal (signal_name, "ItemsPropertiesUpdated"))
    g_ptr_array_add (fixture->menu_updates, g_variant_ref (parameters));
  else if (g_str_equal (signal_name, "NewStatus"))
    {
      const char *status;

      g_variant_get (parameters, "(&s)", &status);
      g_ptr_array_add (fixture->item_signals, g_strdup_printf ("NewStatus %s", status));
    }
  else
    g_ptr_array_add (fixture->item_signals, g_strdup (signal_name));
}

static void
on_registered_notify (RoadieTray *tray,
                      GParamSpec *pspec,
                      Fixture    *fixture)
{
  fixture->registered_notifies++;
}

static void
set_args (Fixture    *fixture,
          const char *first,
          ...)
{
  g_autoptr(GPtrArray) args = g_ptr_array_new_with_free_func (g_free);
  va_list ap;

  g_ptr_array_add (args, g_strdup ("--port"));
  g_ptr_array_add (args, g_strdup_printf ("%u", fixture->port));
  g_ptr_array_add (args, g_strdup ("--tag"));
  g_ptr_array_add (args, g_strdup (fixture->tag));
  va_start (ap, first);
  for (const char *arg = first; arg != NULL; arg = va_arg (ap, const char *))
    g_ptr_array_add (args, g_strdup (arg));
  va_end (ap);
  g_ptr_array_add (args, NULL);
  g_settings_set_strv (fixture->gsettings, "arguments", (const char * const *) args->pdata);
}

static void
new_tray (Fixture *fixture)
{
  fixture->tray = roadie_tray_new (fixture->tray_connection, fixture->supervisor,
                                   G_ACTION_GROUP (fixture->actions));
  g_signal_connect (fixture->tray, "notify::registered", G_CALLBACK (on_registered_notify), fixture);
}

/* data: whether a watcher is on the bus from the start */
static void
fixture_setup (Fixture       *fixture,
               gconstpointer  data)
{
  static const char *action_names[] = { "start", "stop", "restart", "toggle-window", "show", "quit" };
  g_autofree char *log_name = NULL;
  g_autofree char *log_path = NULL;

  roadie_test_allow_roadie_warnings ();
  fixture->gsettings = roadie_test_new_gsettings ();
  fixture->port = roadie_test_free_port ();
  fixture->tag = roadie_test_new_tag ();
  log_name = g_strdup_printf ("%s.log", fixture->tag);
  log_path = g_build_filename (roadie_test_tmpdir (), log_name, NULL);
  g_settings_set_string (fixture->gsettings, "executable-path", roadie_test_fake_server ());
  g_settings_set_int (fixture->gsettings, "ws-port", fixture->port);
  g_settings_set_string (fixture->gsettings, "log-file", log_path);
  g_settings_set_boolean (fixture->gsettings, "auto-start", FALSE);
  g_settings_set_int (fixture->gsettings, "startup-timeout-ms", 15000);
  g_settings_set_int (fixture->gsettings, "stop-timeout-ms", 1000);
  g_settings_set_int (fixture->gsettings, "restart-delay-ms", 100);
  g_settings_set_double (fixture->gsettings, "restart-jitter", 0.0);
  g_settings_set_int (fixture->gsettings, "health-check-interval", 60000);
  g_settings_set_int (fixture->gsettings, "health-check-timeout-ms", 2000);
  /* the first crash is one too many: failed at once */
  g_settings_set_int (fixture->gsettings, "max-restarts", 0);
  /* long enough to read the starting state over the bus */
  set_args (fixture, "--slow-start", "2000", NULL);
  fixture->settings = roadie_settings_new (fixture->gsettings, NULL);
  fixture->supervisor = roadie_supervisor_new (fixture->settings);

  fixture->actions = g_simple_action_group_new ();
  for (guint i = 0; i < G_N_ELEMENTS (action_names); i++)
    {
      g_autoptr(GSimpleAction) action = g_simple_action_new (action_names[i], NULL);

      g_signal_connect (action, "activate", G_CALLBACK (on_action), fixture);
      g_action_map_add_action (G_ACTION_MAP (fixture->actions), G_ACTION (action));
    }
  g_signal_connect (fixture->supervisor, "notify::state", G_CALLBACK (on_supervisor_state), fixture);
  on_supervisor_state (fixture->supervisor, NULL, fixture);

  if (GPOINTER_TO_INT (data))
    fixture->watcher = watcher_new (TRUE);
  fixture->host = new_bus_connection ();
  fixture->tray_connection = new_bus_connection ();
  fixture->item_signals = g_ptr_array_new_with_free_func (g_free);
  fixture->menu_updates = g_ptr_array_new_with_free_func ((GDestroyNotify) g_variant_unref);
  fixture->host_signal_id =
    g_dbus_connection_signal_subscribe (fixture->host,
                                        g_dbus_connection_get_unique_name (fixture->tray_connection),
                                        NULL, NULL, NULL, NULL, G_DBUS_SIGNAL_FLAGS_NONE,
                                        on_host_signal, fixture, NULL);
  new_tray (fixture);
  roadie_test_clear_log ();
}

typedef struct
{
  GVariant *reply;
  GError   *error;
  gboolean  done;
} CallResult;

static void
on_call_done (GObject      *source,
              GAsyncResult *result,
              gpointer      user_data)
{
  CallResult *call = user_data;

  call->reply = g_dbus_connection_call_finish (G_DBUS_CONNECTION (source), result, &call->error);
  call->done = TRUE;
}

static gboolean
call_done (gpointer data)
{
  return ((CallResult *) data)->done;
}

/* A method call from the host to the tray; the main loop runs meanwhile,
 * since the tray answers from it. */
static GVariant *
host_call (Fixture     *fixture,
           const char  *path,
           const char  *interface,
           const char  *method,
           GVariant    *parameters,
           GError     **error)
{
  CallResult call = { NULL, NULL, FALSE };

  g_dbus_connection_call (fixture->host, g_dbus_connection_get_unique_name (fixture->tray_connection),
                          path, interface, method, parameters, NULL, G_DBUS_CALL_FLAGS_NONE, 10000,
                          NULL, on_call_done, &call);
  g_assert_true (roadie_test_wait_until (call_done, &call, 15000));
  if (call.error != NULL)
    g_propagate_error (error, call.error);
  return call.reply;
}

static GVariant *
host_call_ok (Fixture    *fixture,
              const char *path,
              const char *interface,
              const char *method,
              GVariant   *parameters)
{
  g_autoptr(GError) error = NULL;
  GVariant *reply = host_call (fixture, path, interface, method, parameters, &error);

  g_assert_no_error (error);
  return reply;
}

static GVariant *
get_property (Fixture    *fixture,
              const char *path,
              const char *interface,
              const char *name)
{
  g_autoptr(GVariant) reply = NULL;
  GVariant *value = NULL;

  reply = host_call_ok (fixture, path, "org.freedesktop.DBus.Properties", "Get",
                        g_variant_new ("(ss)", interface, name));
  g_variant_get (reply, "(v)", &value);
  return value;
}

static char *
item_string (Fixture    *fixture,
             const char *name)
{
  g_autoptr(GVariant) value = get_property (fixture, ITEM_PATH, ITEM_INTERFACE, name);

  return g_variant_dup_string (value, NULL);
}

static void
assert_item_string (Fixture    *fixture,
                    const char *name,
                    const char *expected)
{
  g_autofree char *value = item_string (fixture, name);

  g_assert_cmpstr (value, ==, expected);
}

/* The tooltip's icon and title, and its description in *description. */
static void
assert_tooltip (Fixture    *fixture,
                const char *icon,
                const char *title,
                char      **description)
{
  g_autoptr(GVariant) value = get_property (fixture, ITEM_PATH, ITEM_INTERFACE, "ToolTip");
  g_autoptr(GVariant) pixmaps = NULL;
  const char *tip_icon, *tip_title, *tip_description;

  g_assert_cmpstr (g_variant_get_type_string (value), ==, "(sa(iiay)ss)");
  g_variant_get (value, "(&s@a(iiay)&s&s)", &tip_icon, &pixmaps, &tip_title, &tip_description);
  g_assert_cmpstr (tip_icon, ==, icon);
  g_assert_cmpstr (tip_title, ==, title);
  g_assert_cmpstr (tip_description, !=, "");
  if (description != NULL)
    *description = g_strdup (tip_description);
}

static void
assert_looks (Fixture    *fixture,
              const char *status,
              const char *icon,
              const char *attention_icon,
              const char *title)
{
  assert_item_string (fixture, "Status", status);
  assert_item_string (fixture, "IconName", icon);
  assert_item_string (fixture, "AttentionIconName", attention_icon);
  assert_tooltip (fixture, icon, title, NULL);
}

static gboolean
menu_property_boolean (Fixture    *fixture,
                       gint32      id,
                       const char *name)
{
  g_autoptr(GVariant) reply = NULL;
  g_autoptr(GVariant) value = NULL;

  reply = host_call_ok (fixture, MENU_PATH, MENU_INTERFACE, "GetProperty", g_variant_new ("(is)", id, name));
  g_variant_get (reply, "(v)", &value);
  return g_variant_get_boolean (value);
}

static char *
menu_label (Fixture *fixture,
            gint32   id)
{
  g_autoptr(GVariant) reply = NULL;
  g_autoptr(GVariant) value = NULL;

  reply = host_call_ok (fixture, MENU_PATH, MENU_INTERFACE, "GetProperty", g_variant_new ("(is)", id, "label"));
  g_variant_get (reply, "(v)", &value);
  return g_variant_dup_string (value, NULL);
}

static void
menu_click (Fixture *fixture,
            gint32   id)
{
  g_autoptr(GVariant) reply = NULL;

  reply = host_call_ok (fixture, MENU_PATH, MENU_INTERFACE, "Event",
                        g_variant_new ("(isvu)", id, "clicked", g_variant_new_int32 (0), (guint32) 0));
}

/* Reads the whole menu with GetLayout, checks its shape and remembers the
 * ids of the items by label. */
static void
read_layout (Fixture *fixture)
{
  g_autoptr(GVariant) reply = NULL;
  g_autoptr(GVariant) root_properties = NULL;
  g_autoptr(GVariantIter) children = NULL;
  g_autoptr(GPtrArray) labels = g_ptr_array_new_with_free_func (g_free);
  const char *children_display = NULL;
  GVariant *child;
  guint32 revision;
  gint32 root_id;
  guint separators = 0;

  reply = host_call_ok (fixture, MENU_PATH, MENU_INTERFACE, "GetLayout",
                        g_variant_new ("(ii^as)", 0, -1, no_names));
  g_assert_cmpstr (g_variant_get_type_string (reply), ==, "(u(ia{sv}av))");
  g_variant_get (reply, "(u(i@a{sv}av))", &revision, &root_id, &root_properties, &children);
  g_assert_cmpint (root_id, ==, 0);
  g_assert_true (g_variant_lookup (root_properties, "children-display", "&s", &children_display));
  g_assert_cmpstr (children_display, ==, "submenu");

  fixture->start_stop_id = fixture->restart_id = fixture->show_id = fixture->quit_id = -1;
  while (g_variant_iter_next (children, "v", &child))
    {
      g_autoptr(GVariant) item = child;
      g_autoptr(GVariant) item_properties = NULL;
      g_autoptr(GVariantIter) grandchildren = NULL;
      const char *type = NULL;
      const char *label = NULL;
      gint32 id;

      g_variant_get (item, "(i@a{sv}av)", &id, &item_properties, &grandchildren);
      g_assert_cmpuint (g_variant_iter_n_children (grandchildren), ==, 0);
      g_assert_cmpint (id, >, 0);
      if (g_variant_lookup (item_properties, "type", "&s", &type) && g_str_equal (type, "separator"))
        {
          separators++;
          continue;
        }
      g_assert_true (g_variant_lookup (item_properties, "label", "&s", &label));
      g_ptr_array_add (labels, g_strdup (label));
      if (g_str_equal (label, "Start") || g_str_equal (label, "Stop"))
        fixture->start_stop_id = id;
      else if (g_str_equal (label, "Restart"))
        fixture->restart_id = id;
      else if (g_str_equal (label, "Show Roadie"))
        fixture->show_id = id;
      else if (g_str_equal (label, "Quit"))
        fixture->quit_id = id;
    }
  g_ptr_array_add (labels, NULL);
  {
    g_autofree char *joined = g_strjoinv (", ", (char **) labels->pdata);

    g_assert_cmpstr (joined, ==, roadie_service_state_can_start (roadie_supervisor_get_state (fixture->supervisor))
                                   ? "Start, Restart, Show Roadie, Quit"
                                   : "Stop, Restart, Show Roadie, Quit");
  }
  g_assert_cmpuint (separators, ==, 2);
}

static gboolean
tray_registered (gpointer data)
{
  return roadie_tray_get_registered (((Fixture *) data)->tray);
}

static gboolean
tray_not_registered (gpointer data)
{
  return !roadie_tray_get_registered (((Fixture *) data)->tray);
}

typedef struct
{
  Fixture              *fixture;
  RoadieSupervisorState state;
} StateWait;

static gboolean
in_state (gpointer data)
{
  StateWait *wait = data;

  return roadie_supervisor_get_state (wait->fixture->supervisor) == wait->state;
}

static void
wait_state (Fixture               *fixture,
            RoadieSupervisorState  state,
            guint                  timeout_ms)
{
  StateWait wait = { fixture, state };

  if (!roadie_test_wait_until (in_state, &wait, timeout_ms))
    g_error ("state %s, expected %s",
             roadie_supervisor_state_to_string (roadie_supervisor_get_state (fixture->supervisor)),
             roadie_supervisor_state_to_string (state));
}

typedef struct
{
  GPtrArray  *signals;
  const char *name;
} SignalWait;

static gboolean
item_signal_seen (gpointer data)
{
  SignalWait *wait = data;

  for (guint i = 0; i < wait->signals->len; i++)
    if (g_str_equal (g_ptr_array_index (wait->signals, i), wait->name))
      return TRUE;
  return FALSE;
}

static void
wait_item_signal (Fixture    *fixture,
                  const char *name)
{
  SignalWait wait = { fixture->item_signals, name };

  g_assert_true (roadie_test_wait_until (item_signal_seen, &wait, 10000));
}

typedef struct
{
  Fixture    *fixture;
  gint32      id;
  const char *property;
  GVariant   *value;
} MenuUpdateWait;

/* Whether an ItemsPropertiesUpdated said item id now has property = value. */
static gboolean
menu_update_seen (gpointer data)
{
  MenuUpdateWait *wait = data;

  for (guint i = 0; i < wait->fixture->menu_updates->len; i++)
    {
      GVariant *update = g_ptr_array_index (wait->fixture->menu_updates, i);
      g_autoptr(GVariantIter) items = NULL;
      g_autoptr(GVariantIter) removed = NULL;
      GVariant *item_properties;
      gint32 id;

      g_variant_get (update, "(a(ia{sv})a(ias))", &items, &removed);
      while (g_variant_iter_next (items, "(i@a{sv})", &id, &item_properties))
        {
          g_autoptr(GVariant) owned = item_properties;
          g_autoptr(GVariant) value = g_variant_lookup_value (owned, wait->property, NULL);

          if (id == wait->id && value != NULL && g_variant_equal (value, wait->value))
            return TRUE;
        }
    }
  return FALSE;
}

static void
wait_menu_update (Fixture    *fixture,
                  gint32      id,
                  const char *property,
                  GVariant   *value)
{
  MenuUpdateWait wait = { fixture, id, property, g_variant_ref_sink (value) };

  g_assert_true (roadie_test_wait_until (menu_update_seen, &wait, 10000));
  g_variant_unref (wait.value);
}

static void
on_stopped (GObject      *source,
            GAsyncResult *result,
            gpointer      user_data)
{
  g_assert_true (roadie_supervisor_stop_finish (ROADIE_SUPERVISOR (source), result, NULL));
  *(gboolean *) user_data = TRUE;
}

static gboolean
flag_set (gpointer data)
{
  return *(gboolean *) data;
}

static gboolean
no_tagged (gpointer data)
{
  return roadie_test_count_tagged (data) == 0;
}

static gboolean
pointer_cleared (gpointer data)
{
  return *(gpointer *) data == NULL;
}

static void
fixture_teardown (Fixture       *fixture,
                  gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) reply = NULL;
  gboolean done = FALSE;
  gboolean was_registered;
  gpointer weak;

  /* Nothing but the fixture holds the tray, and it takes its objects off
   * the bus with it. */
  was_registered = roadie_tray_get_registered (fixture->tray);
  g_ptr_array_set_size (fixture->item_signals, 0);
  weak = fixture->tray;
  g_object_add_weak_pointer (weak, &weak);
  g_object_unref (fixture->tray);
  g_assert_null (weak);
  /* a host hides a Passive item: the icon goes with the tray */
  if (was_registered)
    wait_item_signal (fixture, "NewStatus Passive");
  reply = host_call (fixture, ITEM_PATH, "org.freedesktop.DBus.Properties", "Get",
                     g_variant_new ("(ss)", ITEM_INTERFACE, "Status"), &error);
  g_assert_null (reply);
  g_assert_nonnull (error);
  g_clear_error (&error);
  reply = host_call (fixture, MENU_PATH, MENU_INTERFACE, "GetLayout",
                     g_variant_new ("(ii^as)", 0, -1, no_names), &error);
  g_assert_null (reply);
  g_assert_nonnull (error);

  roadie_supervisor_stop_async (fixture->supervisor, NULL, on_stopped, &done);
  g_assert_true (roadie_test_wait_until (flag_set, &done, 10000));
  g_assert_true (roadie_test_wait_until (no_tagged, fixture->tag, 5000));
  weak = fixture->supervisor;
  g_object_add_weak_pointer (weak, &weak);
  g_object_unref (fixture->supervisor);
  g_assert_true (roadie_test_wait_until (pointer_cleared, &weak, 5000));

  g_dbus_connection_signal_unsubscribe (fixture->host, fixture->host_signal_id);
  g_assert_true (g_dbus_connection_close_sync (fixture->tray_connection, NULL, NULL));
  g_assert_true (g_dbus_connection_close_sync (fixture->host, NULL, NULL));
  g_object_unref (fixture->tray_connection);
  g_object_unref (fixture->host);
  g_clear_pointer (&fixture->watcher, watcher_free);
  g_object_unref (fixture->actions);
  g_object_unref (fixture->settings);
  g_object_unref (fixture->gsettings);
  g_ptr_array_unref (fixture->item_signals);
  g_ptr_array_unref (fixture->menu_updates);
  g_free (fixture->tag);
}

/* The item registers under the connection's unique name; its icon, status
 * and tooltip follow the supervisor; the menu starts and stops the server. */
static void
test_follows_supervisor (Fixture       *fixture,
                         gconstpointer  data)
{
  const char *unique_name = g_dbus_connection_get_unique_name (fixture->tray_connection);
  g_autoptr(GVariant) menu_path = NULL;
  g_autoptr(GVariant) version = NULL;
  g_autofree char *description = NULL;
  g_autofree char *expected = NULL;
  g_autofree char *label = NULL;
  const char *last_error;
  GPid pid;

  g_assert_true (roadie_test_wait_until (tray_registered, fixture, 10000));
  g_assert_cmpuint (fixture->registered_notifies, ==, 1);
  g_assert_cmpuint (fixture->watcher->services->len, ==, 1);
  g_assert_cmpstr (g_ptr_array_index (fixture->watcher->services, 0), ==, unique_name);
  g_assert_cmpstr (g_ptr_array_index (fixture->watcher->senders, 0), ==, unique_name);

  assert_item_string (fixture, "Id", "io.github.roadie.Roadie");
  assert_item_string (fixture, "Category", "ApplicationStatus");
  assert_item_string (fixture, "Title", "Roadie");
  menu_path = get_property (fixture, ITEM_PATH, ITEM_INTERFACE, "Menu");
  g_assert_cmpstr (g_variant_get_string (menu_path, NULL), ==, MENU_PATH);
  version = get_property (fixture, MENU_PATH, MENU_INTERFACE, "Version");
  g_assert_cmpuint (g_variant_get_uint32 (version), ==, 3);

  /* stopped */
  assert_looks (fixture, "Active", ICON_STOPPED, "", "Roadie — Stopped");
  read_layout (fixture);
  g_assert_true (menu_property_boolean (fixture, fixture->start_stop_id, "enabled"));
  g_assert_false (menu_property_boolean (fixture, fixture->restart_id, "enabled"));

  /* Start from the menu: starting, then running */
  menu_click (fixture, fixture->start_stop_id);
  g_assert_cmpuint (fixture->start_calls, ==, 1);
  g_assert_cmpint (roadie_supervisor_get_state (fixture->supervisor), ==, ROADIE_SUPERVISOR_STATE_STARTING);
  assert_looks (fixture, "Active", ICON_STARTING, "", "Roadie — Starting…");
  g_assert_cmpint (roadie_supervisor_get_state (fixture->supervisor), ==, ROADIE_SUPERVISOR_STATE_STARTING);
  wait_item_signal (fixture, "NewIcon");
  wait_item_signal (fixture, "NewToolTip");
  wait_menu_update (fixture, fixture->start_stop_id, "label", g_variant_new_string ("Stop"));
  wait_menu_update (fixture, fixture->restart_id, "enabled", g_variant_new_boolean (TRUE));

  wait_state (fixture, ROADIE_SUPERVISOR_STATE_RUNNING, 20000);
  pid = roadie_supervisor_get_pid (fixture->supervisor);
  g_assert_cmpint (pid, >, 0);
  assert_item_string (fixture, "Status", "Active");
  assert_item_string (fixture, "IconName", ICON_RUNNING);
  assert_tooltip (fixture, ICON_RUNNING, "Roadie — Running", &description);
  expected = g_strdup_printf ("pid %d, up less than a minute", (int) pid);
  g_assert_cmpstr (description, ==, expected);
  label = menu_label (fixture, fixture->start_stop_id);
  g_assert_cmpstr (label, ==, "Stop");
  g_clear_pointer (&description, g_free);
  g_clear_pointer (&expected, g_free);
  g_clear_pointer (&label, g_free);

  /* The server dies with no restarts left: failed, needs attention. */
  g_ptr_array_set_size (fixture->item_signals, 0);
  g_assert_cmpint (kill (pid, SIGKILL), ==, 0);
  wait_state (fixture, ROADIE_SUPERVISOR_STATE_FAILED, 15000);
  wait_item_signal (fixture, "NewStatus NeedsAttention");
  wait_item_signal (fixture, "NewAttentionIcon");
  assert_item_string (fixture, "Status", "NeedsAttention");
  assert_item_string (fixture, "IconName", ICON_ATTENTION);
  assert_item_string (fixture, "AttentionIconName", ICON_ATTENTION);
  assert_tooltip (fixture, ICON_ATTENTION, "Roadie — Failed, Needs Attention", &description);
  last_error = roadie_supervisor_get_last_error (fixture->supervisor);
  g_assert_nonnull (last_error);
  g_assert_nonnull (strstr (description, last_error));
  label = menu_label (fixture, fixture->start_stop_id);
  g_assert_cmpstr (label, ==, "Start");
  g_assert_true (menu_property_boolean (fixture, fixture->start_stop_id, "enabled"));
  g_assert_false (menu_property_boolean (fixture, fixture->restart_id, "enabled"));

  /* Start clears failed; the same item then stops the server. */
  g_ptr_array_set_size (fixture->item_signals, 0);
  menu_click (fixture, fixture->start_stop_id);
  g_assert_cmpuint (fixture->start_calls, ==, 2);
  wait_item_signal (fixture, "NewStatus Active");
  wait_state (fixture, ROADIE_SUPERVISOR_STATE_RUNNING, 20000);
  assert_looks (fixture, "Active", ICON_RUNNING, "", "Roadie — Running");
  read_layout (fixture);

  menu_click (fixture, fixture->start_stop_id);
  g_assert_cmpuint (fixture->stop_calls, ==, 1);
  wait_state (fixture, ROADIE_SUPERVISOR_STATE_STOPPED, 10000);
  assert_looks (fixture, "Active", ICON_STOPPED, "", "Roadie — Stopped");
  g_assert_true (roadie_test_wait_until (no_tagged, fixture->tag, 5000));

  /* never unregistered meanwhile */
  g_assert_cmpuint (fixture->registered_notifies, ==, 1);
  g_assert_cmpuint (fixture->watcher->services->len, ==, 1);
}

/* Clicks, the rest of dbusmenu, and items following action enablement. */
static void
test_menu_and_clicks (Fixture       *fixture,
                      gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) reply = NULL;
  g_autoptr(GVariant) value = NULL;
  g_autoptr(GVariant) root_properties = NULL;
  g_autoptr(GVariantIter) children = NULL;
  g_autoptr(GVariantIter) entries = NULL;
  g_autoptr(GVariant) updates_needed = NULL;
  g_autoptr(GVariant) id_errors = NULL;
  GVariant *entry_properties;
  gboolean need_update = TRUE;
  guint32 revision;
  gint32 id;
  guint n;

  g_assert_true (roadie_test_wait_until (tray_registered, fixture, 10000));
  read_layout (fixture);

  /* left click toggles the window, middle click shows it */
  g_clear_pointer (&reply, g_variant_unref);
  reply = host_call_ok (fixture, ITEM_PATH, ITEM_INTERFACE, "Activate", g_variant_new ("(ii)", 10, 20));
  g_assert_cmpuint (fixture->toggle_window_calls, ==, 1);
  g_assert_cmpuint (fixture->show_calls, ==, 0);
  g_clear_pointer (&reply, g_variant_unref);
  reply = host_call_ok (fixture, ITEM_PATH, ITEM_INTERFACE, "SecondaryActivate", g_variant_new ("(ii)", 10, 20));
  g_assert_cmpuint (fixture->show_calls, ==, 1);
  g_clear_pointer (&reply, g_variant_unref);
  reply = host_call_ok (fixture, ITEM_PATH, ITEM_INTERFACE, "ContextMenu", g_variant_new ("(ii)", 10, 20));
  g_clear_pointer (&reply, g_variant_unref);
  reply = host_call_ok (fixture, ITEM_PATH, ITEM_INTERFACE, "Scroll", g_variant_new ("(is)", 3, "vertical"));
  g_assert_cmpuint (fixture->toggle_window_calls, ==, 1);
  g_assert_cmpuint (fixture->show_calls, ==, 1);

  /* menu items */
  menu_click (fixture, fixture->show_id);
  g_assert_cmpuint (fixture->show_calls, ==, 2);
  g_clear_pointer (&reply, g_variant_unref);
  reply = host_call_ok (fixture, MENU_PATH, MENU_INTERFACE, "Event",
                        g_variant_new ("(isvu)", fixture->quit_id, "hovered", g_variant_new_int32 (0), (guint32) 0));
  g_assert_cmpuint (fixture->quit_calls, ==, 0);
  menu_click (fixture, fixture->quit_id);
  g_assert_cmpuint (fixture->quit_calls, ==, 1);
  /* Restart makes no sense while stopped */
  menu_click (fixture, fixture->restart_id);
  g_assert_cmpuint (fixture->restart_calls, ==, 0);

  /* a disabled action disables its item, and the host hears of it */
  set_action_enabled (fixture, "quit", FALSE);
  wait_menu_update (fixture, fixture->quit_id, "enabled", g_variant_new_boolean (FALSE));
  g_assert_false (menu_property_boolean (fixture, fixture->quit_id, "enabled"));
  menu_click (fixture, fixture->quit_id);
  g_assert_cmpuint (fixture->quit_calls, ==, 1);
  g_ptr_array_set_size (fixture->menu_updates, 0);
  set_action_enabled (fixture, "quit", TRUE);
  wait_menu_update (fixture, fixture->quit_id, "enabled", g_variant_new_boolean (TRUE));
  menu_click (fixture, fixture->quit_id);
  g_assert_cmpuint (fixture->quit_calls, ==, 2);

  /* GetLayout without recursion: the root alone */
  g_clear_pointer (&reply, g_variant_unref);
  reply = host_call_ok (fixture, MENU_PATH, MENU_INTERFACE, "GetLayout", g_variant_new ("(ii^as)", 0, 0, no_names));
  g_variant_get (reply, "(u(i@a{sv}av))", &revision, &id, &root_properties, &children);
  g_assert_cmpuint (g_variant_iter_n_children (children), ==, 0);
  g_clear_pointer (&reply, g_variant_unref);
  reply = host_call (fixture, MENU_PATH, MENU_INTERFACE, "GetLayout", g_variant_new ("(ii^as)", 99, -1, no_names), &error);
  g_assert_error (error, G_DBUS_ERROR, G_DBUS_ERROR_INVALID_ARGS);
  g_clear_error (&error);

  /* GetGroupProperties: the asked items and properties only; all without ids */
  {
    const char *names[] = { "label", NULL };
    gint32 ids[] = { fixture->show_id, 99, fixture->quit_id };
    const char *label;

    g_clear_pointer (&reply, g_variant_unref);
    reply = host_call_ok (fixture, MENU_PATH, MENU_INTERFACE, "GetGroupProperties",
                          g_variant_new ("(@ai^as)",
                                         g_variant_new_fixed_array (G_VARIANT_TYPE_INT32, ids, G_N_ELEMENTS (ids), sizeof (gint32)),
                                         names));
    g_variant_get (reply, "(a(ia{sv}))", &entries);
    g_assert_cmpuint (g_variant_iter_n_children (entries), ==, 2);
    n = 0;
    while (g_variant_iter_next (entries, "(i@a{sv})", &id, &entry_properties))
      {
        g_autoptr(GVariant) owned = entry_properties;

        g_assert_cmpuint (g_variant_n_children (owned), ==, 1);
        g_assert_true (g_variant_lookup (owned, "label", "&s", &label));
        g_assert_cmpstr (label, ==, n++ == 0 ? "Show Roadie" : "Quit");
      }
    g_clear_pointer (&entries, g_variant_iter_free);
    g_clear_pointer (&reply, g_variant_unref);
    reply = host_call_ok (fixture, MENU_PATH, MENU_INTERFACE, "GetGroupProperties",
                          g_variant_new ("(@ai^as)", g_variant_new_fixed_array (G_VARIANT_TYPE_INT32, NULL, 0, sizeof (gint32)), no_names));
    g_variant_get (reply, "(a(ia{sv}))", &entries);
    /* root, 4 items, 2 separators */
    g_assert_cmpuint (g_variant_iter_n_children (entries), ==, 7);
  }

  g_clear_pointer (&reply, g_variant_unref);
  reply = host_call (fixture, MENU_PATH, MENU_INTERFACE, "GetProperty",
                     g_variant_new ("(is)", fixture->quit_id, "no-such-property"), &error);
  g_assert_error (error, G_DBUS_ERROR, G_DBUS_ERROR_INVALID_ARGS);
  g_clear_error (&error);
  reply = host_call (fixture, MENU_PATH, MENU_INTERFACE, "Event",
                     g_variant_new ("(isvu)", 99, "clicked", g_variant_new_int32 (0), (guint32) 0), &error);
  g_assert_error (error, G_DBUS_ERROR, G_DBUS_ERROR_INVALID_ARGS);
  g_clear_error (&error);

  /* AboutToShow: nothing to update; unknown ids are reported */
  g_clear_pointer (&reply, g_variant_unref);
  reply = host_call_ok (fixture, MENU_PATH, MENU_INTERFACE, "AboutToShow", g_variant_new ("(i)", 0));
  g_variant_get (reply, "(b)", &need_update);
  g_assert_false (need_update);
  {
    gint32 ids[] = { 0, 99 };

    g_clear_pointer (&reply, g_variant_unref);
    reply = host_call_ok (fixture, MENU_PATH, MENU_INTERFACE, "AboutToShowGroup",
                          g_variant_new ("(@ai)", g_variant_new_fixed_array (G_VARIANT_TYPE_INT32, ids, 2, sizeof (gint32))));
    g_variant_get (reply, "(@ai@ai)", &updates_needed, &id_errors);
    g_assert_cmpuint (g_variant_n_children (updates_needed), ==, 0);
    g_assert_cmpuint (g_variant_n_children (id_errors), ==, 1);
    g_clear_pointer (&id_errors, g_variant_unref);
  }

  /* EventGroup: the click happens, the unknown id comes back */
  {
    GVariantBuilder events;

    g_variant_builder_init (&events, G_VARIANT_TYPE ("a(isvu)"));
    g_variant_builder_add (&events, "(isvu)", fixture->show_id, "clicked", g_variant_new_int32 (0), (guint32) 0);
    g_variant_builder_add (&events, "(isvu)", 99, "clicked", g_variant_new_int32 (0), (guint32) 0);
    g_clear_pointer (&reply, g_variant_unref);
    reply = host_call_ok (fixture, MENU_PATH, MENU_INTERFACE, "EventGroup", g_variant_new ("(a(isvu))", &events));
    g_variant_get (reply, "(@ai)", &id_errors);
    g_assert_cmpuint (g_variant_n_children (id_errors), ==, 1);
    g_assert_cmpuint (fixture->show_calls, ==, 3);
  }

  value = get_property (fixture, MENU_PATH, MENU_INTERFACE, "Status");
  g_assert_cmpstr (g_variant_get_string (value, NULL), ==, "normal");
  g_clear_pointer (&value, g_variant_unref);
  value = get_property (fixture, MENU_PATH, MENU_INTERFACE, "TextDirection");
  g_assert_cmpstr (g_variant_get_string (value, NULL), ==, "ltr");
}

/* A watcher that goes away and comes back gets the item again; a host
 * that appears later makes the item register again. */
static void
test_watcher_restart (Fixture       *fixture,
                      gconstpointer  data)
{
  const char *unique_name = g_dbus_connection_get_unique_name (fixture->tray_connection);

  g_assert_true (roadie_test_wait_until (tray_registered, fixture, 10000));
  g_assert_cmpuint (fixture->watcher->services->len, ==, 1);

  g_clear_pointer (&fixture->watcher, watcher_free);
  g_assert_true (roadie_test_wait_until (tray_not_registered, fixture, 10000));
  g_assert_cmpuint (fixture->registered_notifies, ==, 2);

  /* a new watcher (another process: another unique name), host there */
  fixture->watcher = watcher_new (TRUE);
  g_assert_true (roadie_test_wait_until (tray_registered, fixture, 10000));
  g_assert_cmpuint (fixture->registered_notifies, ==, 3);
  g_assert_cmpuint (fixture->watcher->services->len, ==, 1);
  g_assert_cmpstr (g_ptr_array_index (fixture->watcher->services, 0), ==, unique_name);
  g_clear_pointer (&fixture->watcher, watcher_free);
  g_assert_true (roadie_test_wait_until (tray_not_registered, fixture, 10000));

  /* a watcher without a host: the item registers, but nobody shows it */
  fixture->watcher = watcher_new (FALSE);
  g_assert_true (roadie_test_wait_until (tray_registered, fixture, 2000) == FALSE);
  g_assert_cmpuint (fixture->watcher->services->len, ==, 1);
  g_assert_false (roadie_tray_get_registered (fixture->tray));

  /* the host arrives: registered again, and shown */
  fixture->watcher->host_registered = TRUE;
  watcher_emit (fixture->watcher, "StatusNotifierHostRegistered");
  g_assert_true (roadie_test_wait_until (tray_registered, fixture, 10000));
  g_assert_cmpuint (fixture->watcher->services->len, ==, 2);
  g_assert_cmpstr (g_ptr_array_index (fixture->watcher->services, 1), ==, unique_name);

  /* and leaves */
  fixture->watcher->host_registered = FALSE;
  watcher_emit (fixture->watcher, "StatusNotifierHostUnregistered");
  g_assert_true (roadie_test_wait_until (tray_not_registered, fixture, 10000));
  g_assert_cmpuint (fixture->registered_notifies, ==, 6);
}

/* No tray host: nothing logged, nothing registered, the item still
 * answers; it registers once a watcher turns up. */
static void
test_no_watcher (Fixture       *fixture,
                 gconstpointer  data)
{
  /* any warning is fatal here */
  g_test_log_set_fatal_handler (NULL, NULL);
  g_assert_null (fixture->watcher);

  roadie_test_run_for (1500);
  g_assert_false (roadie_tray_get_registered (fixture->tray));
  g_assert_cmpuint (fixture->registered_notifies, ==, 0);
  assert_looks (fixture, "Active", ICON_STOPPED, "", "Roadie — Stopped");
  read_layout (fixture);
  menu_click (fixture, fixture->show_id);
  g_assert_cmpuint (fixture->show_calls, ==, 1);
  g_assert_cmpuint (roadie_test_count_logged (NULL), ==, 0);

  fixture->watcher = watcher_new (TRUE);
  g_assert_true (roadie_test_wait_until (tray_registered, fixture, 10000));
  g_assert_cmpuint (fixture->registered_notifies, ==, 1);
  g_assert_cmpstr (g_ptr_array_index (fixture->watcher->services, 0), ==,
                   g_dbus_connection_get_unique_name (fixture->tray_connection));
  g_assert_cmpuint (roadie_test_count_logged (NULL), ==, 0);
}

/* Without a bus connection the tray is inert. */
static void
test_no_connection (void)
{
  g_autoptr(GSettings) gsettings = roadie_test_new_gsettings ();
  g_autoptr(RoadieSettings) settings = roadie_settings_new (gsettings, NULL);
  g_autoptr(RoadieSupervisor) supervisor = roadie_supervisor_new (settings);
  g_autoptr(RoadieTray) tray = roadie_tray_new (NULL, supervisor, NULL);

  roadie_test_run_for (200);
  g_assert_false (roadie_tray_get_registered (tray));
}

int
main (int   argc,
      char *argv[])
{
  roadie_test_init_environment ();
  roadie_test_capture_log ();
  roadie_test_start_dbus ();
  g_test_init (&argc, &argv, NULL);

  g_test_add ("/roadie/tray/follows-supervisor", Fixture, GINT_TO_POINTER (TRUE),
              fixture_setup, test_follows_supervisor, fixture_teardown);
  g_test_add ("/roadie/tray/menu-and-clicks", Fixture, GINT_TO_POINTER (TRUE),
              fixture_setup, test_menu_and_clicks, fixture_teardown);
  g_test_add ("/roadie/tray/watcher-restart", Fixture, GINT_TO_POINTER (TRUE),
              fixture_setup, test_watcher_restart, fixture_teardown);
  g_test_add ("/roadie/tray/no-watcher", Fixture, GINT_TO_POINTER (FALSE),
              fixture_setup, test_no_watcher, fixture_teardown);
  g_test_add_func ("/roadie/tray/no-connection", test_no_connection);

  return g_test_run ();
}
