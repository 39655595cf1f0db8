/* roadie-tray.c: the StatusNotifierItem and its dbusmenu.
 *
 * Both objects are exported on the connection for the tray's whole life;
 * only the registration with the watcher comes and goes. A watcher's
 * RegisterStatusNotifierItem gets the connection's unique name, so the host
 * finds the item at the default path /StatusNotifierItem.
 */
#include "config.h"

#include <glib/gi18n.h>
#include <gtk/gtk.h>

#include "roadie-service.h"
#include "roadie-paths.h"
#include "roadie-tray.h"

#define TRAY_ID               "io.github.roadie.Roadie"
#define ITEM_PATH             "/StatusNotifierItem"
#define ITEM_INTERFACE        "org.kde.StatusNotifierItem"
#define MENU_PATH             "/MenuBar"
#define MENU_INTERFACE        "com.canonical.dbusmenu"
#define WATCHER_NAME          "org.kde.StatusNotifierWatcher"
#define WATCHER_PATH          "/StatusNotifierWatcher"
#define WATCHER_INTERFACE     "org.kde.StatusNotifierWatcher"

#define ICON_RUNNING          "io.github.roadie.Roadie-running-symbolic"
#define ICON_STARTING         "io.github.roadie.Roadie-starting-symbolic"
#define ICON_ATTENTION        "io.github.roadie.Roadie-attention-symbolic"
#define ICON_STOPPED          "io.github.roadie.Roadie-stopped-symbolic"

/* The tooltip shows the uptime in minutes; this keeps it at most this stale. */
#define TOOLTIP_REFRESH_S     15

static const char introspection_xml[] =
  "<node>"
  " <interface name='org.kde.StatusNotifierItem'>"
  "  <property name='Category' type='s' access='read'/>"
  "  <property name='Id' type='s' access='read'/>"
  "  <property name='Title' type='s' access='read'/>"
  "  <property name='Status' type='s' access='read'/>"
  "  <property name='WindowId' type='i' access='read'/>"
  "  <property name='IconThemePath' type='s' access='read'/>"
  "  <property name='IconName' type='s' access='read'/>"
  "  <property name='IconPixmap' type='a(iiay)' access='read'/>"
  "  <property name='OverlayIconName' type='s' access='read'/>"
  "  <property name='OverlayIconPixmap' type='a(iiay)' access='read'/>"
  "  <property name='AttentionIconName' type='s' access='read'/>"
  "  <property name='AttentionIconPixmap' type='a(iiay)' access='read'/>"
  "  <property name='AttentionMovieName' type='s' access='read'/>"
  "  <property name='ToolTip' type='(sa(iiay)ss)' access='read'/>"
  "  <property name='ItemIsMenu' type='b' access='read'/>"
  "  <property name='Menu' type='o' access='read'/>"
  "  <method name='ContextMenu'>"
  "   <arg name='x' type='i' direction='in'/>"
  "   <arg name='y' type='i' direction='in'/>"
  "  </method>"
  "  <method name='Activate'>"
  "   <arg name='x' type='i' direction='in'/>"
  "   <arg name='y' type='i' direction='in'/>"
  "  </method>"
  "  <method name='SecondaryActivate'>"
  "   <arg name='x' type='i' direction='in'/>"
  "   <arg name='y' type='i' direction='in'/>"
  "  </method>"
  "  <method name='Scroll'>"
  "   <arg name='delta' type='i' direction='in'/>"
  "   <arg name='orientation' type='s' direction='in'/>"
  "  </method>"
  "  <signal name='NewTitle'/>"
  "  <signal name='NewIcon'/>"
  "  <signal name='NewAttentionIcon'/>"
  "  <signal name='NewOverlayIcon'/>"
  "  <signal name='NewToolTip'/>"
  "  <signal name='NewStatus'>"
  "   <arg name='status' type='s'/>"
  "  </signal>"
  " </interface>"
  " <interface name='com.canonical.dbusmenu'>"
  "  <property name='Version' type='u' access='read'/>"
  "  <property name='TextDirection' type='s' access='read'/>"
  "  <property name='Status' type='s' access='read'/>"
  "  <property name='IconThemePath' type='as' access='read'/>"
  "  <method name='GetLayout'>"
  "   <arg name='parentId' type='i' direction='in'/>"
  "   <arg name='recursionDepth' type='i' direction='in'/>"
  "   <arg name='propertyNames' type='as' direction='in'/>"
  "   <arg name='revision' type='u' direction='out'/>"
  "   <arg name='layout' type='(ia{sv}av)' direction='out'/>"
  "  </method>"
  "  <method name='GetGroupProperties'>"
  "   <arg name='ids' type='ai' direction='in'/>"
  "   <arg name='propertyNames' type='as' direction='in'/>"
  "   <arg name='properties' type='a(ia{sv})' direction='out'/>"
  "  </method>"
  "  <method name='GetProperty'>"
  "   <arg name='id' type='i' direction='in'/>"
  "   <arg name='name' type='s' direction='in'/>"
  "   <arg name='value' type='v' direction='out'/>"
  "  </method>"
  "  <method name='Event'>"
  "   <arg name='id' type='i' direction='in'/>"
  "   <arg name='eventId' type='s' direction='in'/>"
  "   <arg name='data' type='v' direction='in'/>"
  "   <arg name='timestamp' type='u' direction='in'/>"
  "  </method>"
  "  <method name='EventGroup'>"
  "   <arg name='events' type='a(isvu)' direction='in'/>"
  "   <arg name='idErrors' type='ai' direction='out'/>"
  "  </method>"
  "  <method name='AboutToShow'>"
  "   <arg name='id' type='i' direction='in'/>"
  "   <arg name='needUpdate' type='b' direction='out'/>"
  "  </method>"
  "  <method name='AboutToShowGroup'>"
  "   <arg name='ids' type='ai' direction='in'/>"
  "   <arg name='updatesNeeded' type='ai' direction='out'/>"
  "   <arg name='idErrors' type='ai' direction='out'/>"
  "  </method>"
  "  <signal name='ItemsPropertiesUpdated'>"
  "   <arg name='updatedProps' type='a(ia{sv})'/>"
  "   <arg name='removedProps' type='a(ias)'/>"
  "  </signal>"
  "  <signal name='LayoutUpdated'>"
  "   <arg name='revision' type='u'/>"
  "   <arg name='parent' type='i'/>"
  "  </signal>"
  "  <signal name='ItemActivationRequested'>"
  "   <arg name='id' type='i'/>"
  "   <arg name='timestamp' type='u'/>"
  "  </signal>"
  " </interface>"
  "</node>";

/* Menu item ids are these values; 0 is the root. */
typedef enum
{
  MENU_ROOT,
  MENU_START_STOP,
  MENU_RESTART,
  MENU_SEPARATOR_SHOW,
  MENU_SHOW,
  MENU_SEPARATOR_QUIT,
  MENU_QUIT,
  N_MENU_ITEMS
} MenuItem;

/* The layout never changes, only item properties do. */
#define MENU_REVISION 1

struct _RoadieTray
{
  GObject           parent_instance;

  GDBusConnection  *connection;
  RoadieSupervisor *supervisor;
  GActionGroup     *actions;

  guint             item_registration_id;
  guint             menu_registration_id;
  guint             watch_id;
  char             *watcher_owner;
  guint             watcher_signal_id;
  GCancellable     *register_cancellable;
  guint             tooltip_source_id;

  /* the current watcher accepted the item / says a host is there */
  guint             item_accepted : 1;
  guint             host_present : 1;
  guint             registered : 1;

  /* what the host was last told */
  char             *status;
  char             *icon_name;
  char             *attention_icon_name;
  char             *tooltip_title;
  char             *tooltip_description;
  GVariant         *menu_properties[N_MENU_ITEMS];
};

G_DEFINE_FINAL_TYPE (RoadieTray, roadie_tray, G_TYPE_OBJECT)

enum {
  PROP_0,
  PROP_CONNECTION,
  PROP_SUPERVISOR,
  PROP_ACTIONS,
  PROP_REGISTERED,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];
static GDBusNodeInfo *introspection_data;

static void register_item (RoadieTray *self);

static RoadieSupervisorState
current_state (RoadieTray *self)
{
  return roadie_supervisor_get_state (self->supervisor);
}

/* Actions */

static gboolean
action_usable (RoadieTray *self,
               const char *name)
{
  return self->actions != NULL &&
         name != NULL &&
         g_action_group_has_action (self->actions, name) &&
         g_action_group_get_action_parameter_type (self->actions, name) == NULL &&
         g_action_group_get_action_enabled (self->actions, name);
}

static void
activate_action (RoadieTray *self,
                 const char *name)
{
  g_autoptr(GObject) actions = NULL;

  if (!action_usable (self, name))
    {
      g_debug ("Tray: action “%s” is not available now", name != NULL ? name : "(none)");
      return;
    }

  /* Quit may drop the last reference to the tray (and the group) from here. */
  actions = g_object_ref (G_OBJECT (self->actions));
  g_action_group_activate_action (G_ACTION_GROUP (actions), name, NULL);
}

/* The first of two action names the group has, for the window actions that
 * an application may provide only one of. */
static const char *
either_action (RoadieTray *self,
               const char *preferred,
               const char *fallback)
{
  if (self->actions != NULL && !g_action_group_has_action (self->actions, preferred))
    return fallback;
  return preferred;
}

/* The item's state */

static const char *
state_icon (RoadieSupervisorState state)
{
  switch (state)
    {
    case ROADIE_SUPERVISOR_STATE_RUNNING:
    case ROADIE_SUPERVISOR_STATE_ATTACHED:
      return ICON_RUNNING;

    case ROADIE_SUPERVISOR_STATE_STARTING:
    case ROADIE_SUPERVISOR_STATE_UNHEALTHY:
    case ROADIE_SUPERVISOR_STATE_BACKOFF:
    case ROADIE_SUPERVISOR_STATE_STOPPING:
      return ICON_STARTING;

    case ROADIE_SUPERVISOR_STATE_FAILED:
      return ICON_ATTENTION;

    case ROADIE_SUPERVISOR_STATE_STOPPED:
    default:
      return ICON_STOPPED;
    }
}

static char *
state_title (RoadieSupervisorState state)
{
  switch (state)
    {
    case ROADIE_SUPERVISOR_STATE_STARTING:
      return g_strdup (_("Roadie — Starting…"));
    case ROADIE_SUPERVISOR_STATE_RUNNING:
      return g_strdup (_("Roadie — Running"));
    case ROADIE_SUPERVISOR_STATE_UNHEALTHY:
      return g_strdup (_("Roadie — Not Responding"));
    case ROADIE_SUPERVISOR_STATE_BACKOFF:
      return g_strdup (_("Roadie — Restarting…"));
    case ROADIE_SUPERVISOR_STATE_FAILED:
      return g_strdup (_("Roadie — Failed, Needs Attention"));
    case ROADIE_SUPERVISOR_STATE_STOPPING:
      return g_strdup (_("Roadie — Stopping…"));
    case ROADIE_SUPERVISOR_STATE_ATTACHED:
      return g_strdup (_("Roadie — Attached"));
    case ROADIE_SUPERVISOR_STATE_STOPPED:
    default:
      return g_strdup (_("Roadie — Stopped"));
    }
}

/* "pid 1234, up 3 min": minutes only, so the tooltip need not tick. */
static char *
describe_running (RoadieTray *self)
{
  GPid pid = roadie_supervisor_get_pid (self->supervisor);
  guint minutes = (guint) (MAX (roadie_supervisor_get_uptime_ms (self->supervisor), 0) / 60000);

  if (pid <= 0)
    return g_strdup (_("Answering health checks"));
  if (minutes < 1)
    return g_strdup_printf (_("pid %d, up less than a minute"), (int) pid);
  if (minutes < 60)
    return g_strdup_printf (_("pid %d, up %u min"), (int) pid, minutes);
  return g_strdup_printf (_("pid %d, up %u h %02u min"), (int) pid, minutes / 60, minutes % 60);
}

static char *
state_description (RoadieTray *self)
{
  RoadieSupervisorState state = current_state (self);
  const char *last_error = roadie_supervisor_get_last_error (self->supervisor);

  switch (state)
    {
    case ROADIE_SUPERVISOR_STATE_STARTING:
      return g_strdup (_("Waiting for the audio server to answer"));

    case ROADIE_SUPERVISOR_STATE_RUNNING:
      return describe_running (self);

    case ROADIE_SUPERVISOR_STATE_UNHEALTHY:
      return g_strdup (last_error != NULL ? last_error : _("The audio server stopped answering"));

    case ROADIE_SUPERVISOR_STATE_BACKOFF:
      return g_strdup (last_error != NULL ? last_error : _("The audio server will be restarted"));

    case ROADIE_SUPERVISOR_STATE_FAILED:
      if (last_error != NULL)
        return g_strdup_printf (_("%s — fix the problem, then choose Start"), last_error);
      return g_strdup (_("Fix the problem, then choose Start"));

    case ROADIE_SUPERVISOR_STATE_STOPPING:
      return g_strdup (_("Waiting for the audio server to exit"));

    case ROADIE_SUPERVISOR_STATE_ATTACHED:
      return g_strdup (_("Watching an audio server Roadie did not start"));

    case ROADIE_SUPERVISOR_STATE_STOPPED:
    default:
      return g_strdup (last_error != NULL ? last_error : _("The audio server is not running"));
    }
}

static GVariant *
tooltip_variant (RoadieTray *self)
{
  return g_variant_new ("(sa(iiay)ss)",
                        self->icon_name,
                        NULL,
                        self->tooltip_title,
                        self->tooltip_description);
}

static void
emit_item_signal (RoadieTray *self,
                  const char *name,
                  GVariant   *parameters)
{
  g_autoptr(GError) error = NULL;

  if (self->item_registration_id == 0)
    {
      if (parameters != NULL)
        g_variant_unref (g_variant_ref_sink (parameters));
      return;
    }
  if (!g_dbus_connection_emit_signal (self->connection, NULL, ITEM_PATH, ITEM_INTERFACE,
                                      name, parameters, &error))
    g_debug ("Tray: could not emit %s: %s", name, error->message);
}

/* Takes new_value; TRUE when it differs from *field. */
static gboolean
replace_string (char **field,
                char  *new_value)
{
  if (g_strcmp0 (*field, new_value) == 0)
    {
      g_free (new_value);
      return FALSE;
    }
  g_free (*field);
  *field = new_value;
  return TRUE;
}

static gboolean
refresh_tooltip_cb (gpointer user_data);

static void
refresh_item (RoadieTray *self)
{
  RoadieSupervisorState state = current_state (self);
  gboolean failed = state == ROADIE_SUPERVISOR_STATE_FAILED;
  gboolean status_changed, icon_changed, attention_changed, title_changed, description_changed;

  status_changed = replace_string (&self->status, g_strdup (failed ? "NeedsAttention" : "Active"));
  icon_changed = replace_string (&self->icon_name, g_strdup (state_icon (state)));
  attention_changed = replace_string (&self->attention_icon_name, g_strdup (failed ? ICON_ATTENTION : ""));
  title_changed = replace_string (&self->tooltip_title, state_title (state));
  description_changed = replace_string (&self->tooltip_description, state_description (self));

  if (icon_changed)
    emit_item_signal (self, "NewIcon", NULL);
  if (attention_changed)
    emit_item_signal (self, "NewAttentionIcon", NULL);
  if (icon_changed || title_changed || description_changed)
    emit_item_signal (self, "NewToolTip", NULL);
  if (status_changed)
    emit_item_signal (self, "NewStatus", g_variant_new ("(s)", self->status));

  /* Only the uptime changes by itself. */
  if (state == ROADIE_SUPERVISOR_STATE_RUNNING)
    {
      if (self->tooltip_source_id == 0)
        self->tooltip_source_id = g_timeout_add_seconds (TOOLTIP_REFRESH_S, refresh_tooltip_cb, self);
    }
  else
    g_clear_handle_id (&self->tooltip_source_id, g_source_remove);
}

static gboolean
refresh_tooltip_cb (gpointer user_data)
{
  RoadieTray *self = user_data;

  if (replace_string (&self->tooltip_description, state_description (self)))
    emit_item_signal (self, "NewToolTip", NULL);
  return G_SOURCE_CONTINUE;
}

/* The menu */

static gboolean
menu_item_valid (gint32 id)
{
  return id >= 0 && id < N_MENU_ITEMS;
}

static const char *
menu_item_action (RoadieTray *self,
                  MenuItem    item)
{
  switch (item)
    {
    case MENU_START_STOP:
      return roadie_service_state_can_start (current_state (self)) ? "start" : "stop";
    case MENU_RESTART:
      return "restart";
    case MENU_SHOW:
      return either_action (self, "show", "toggle-window");
    case MENU_QUIT:
      return "quit";
    case MENU_ROOT:
    case MENU_SEPARATOR_SHOW:
    case MENU_SEPARATOR_QUIT:
    case N_MENU_ITEMS:
    default:
      return NULL;
    }
}

static gboolean
menu_item_enabled (RoadieTray *self,
                   MenuItem    item)
{
  RoadieSupervisorState state = current_state (self);

  if (!action_usable (self, menu_item_action (self, item)))
    return FALSE;
  if (item == MENU_START_STOP)
    return roadie_service_state_can_start (state) || roadie_service_state_can_stop (state);
  if (item == MENU_RESTART)
    return roadie_service_state_can_restart (state);
  return TRUE;
}

static const char *
menu_item_label (RoadieTray *self,
                 MenuItem    item)
{
  switch (item)
    {
    case MENU_START_STOP:
      return roadie_service_state_can_start (current_state (self)) ? _("Start") : _("Stop");
    case MENU_RESTART:
      return _("Restart");
    case MENU_SHOW:
      return _("Show Roadie");
    case MENU_QUIT:
      return _("Quit");
    case MENU_ROOT:
    case MENU_SEPARATOR_SHOW:
    case MENU_SEPARATOR_QUIT:
    case N_MENU_ITEMS:
    default:
      return NULL;
    }
}

static gboolean
wanted (const char * const *names,
        const char         *name)
{
  return names == NULL || names[0] == NULL || g_strv_contains (names, name);
}

/* An a{sv} of the item's properties, limited to names unless that is
 * NULL or empty. Floating. */
static GVariant *
menu_item_properties (RoadieTray         *self,
                      MenuItem            item,
                      const char * const *names)
{
  GVariantBuilder builder;
  const char *label = menu_item_label (self, item);

  g_variant_builder_init (&builder, G_VARIANT_TYPE_VARDICT);
  if (item == MENU_ROOT)
    {
      if (wanted (names, "children-display"))
        g_variant_builder_add (&builder, "{sv}", "children-display", g_variant_new_string ("submenu"));
    }
  else if (item == MENU_SEPARATOR_SHOW || item == MENU_SEPARATOR_QUIT)
    {
      if (wanted (names, "type"))
        g_variant_builder_add (&builder, "{sv}", "type", g_variant_new_string ("separator"));
      if (wanted (names, "visible"))
        g_variant_builder_add (&builder, "{sv}", "visible", g_variant_new_boolean (TRUE));
    }
  else
    {
      if (wanted (names, "label"))
        g_variant_builder_add (&builder, "{sv}", "label", g_variant_new_string (label));
      if (wanted (names, "enabled"))
        g_variant_builder_add (&builder, "{sv}", "enabled", g_variant_new_boolean (menu_item_enabled (self, item)));
      if (wanted (names, "visible"))
        g_variant_builder_add (&builder, "{sv}", "visible", g_variant_new_boolean (TRUE));
    }
  return g_variant_builder_end (&builder);
}

/* (ia{sv}av): the item and, depth permitting, its children. */
static GVariant *
menu_layout (RoadieTray         *self,
             MenuItem            item,
             gint32              depth,
             const char * const *names)
{
  GVariantBuilder children;

  g_variant_builder_init (&children, G_VARIANT_TYPE ("av"));
  if (item == MENU_ROOT && depth != 0)
    for (MenuItem child = MENU_ROOT + 1; child < N_MENU_ITEMS; child++)
      g_variant_builder_add (&children, "v", menu_layout (self, child, depth - 1, names));

  return g_variant_new ("(i@a{sv}av)", (gint32) item, menu_item_properties (self, item, names), &children);
}

/* Tells the host about every item whose properties changed. */
static void
refresh_menu (RoadieTray *self)
{
  GVariantBuilder updated;
  gboolean any = FALSE;

  g_variant_builder_init (&updated, G_VARIANT_TYPE ("a(ia{sv})"));
  for (MenuItem item = MENU_ROOT; item < N_MENU_ITEMS; item++)
    {
      g_autoptr(GVariant) properties_now = g_variant_ref_sink (menu_item_properties (self, item, NULL));

      if (self->menu_properties[item] != NULL && g_variant_equal (self->menu_properties[item], properties_now))
        continue;
      g_clear_pointer (&self->menu_properties[item], g_variant_unref);
      self->menu_properties[item] = g_variant_ref (properties_now);
      g_variant_builder_add (&updated, "(i@a{sv})", (gint32) item, properties_now);
      any = TRUE;
    }

  if (any && self->menu_registration_id != 0)
    {
      g_autoptr(GError) error = NULL;

      if (!g_dbus_connection_emit_signal (self->connection, NULL, MENU_PATH, MENU_INTERFACE,
                                          "ItemsPropertiesUpdated",
                                          g_variant_new ("(a(ia{sv})a(ias))", &updated, NULL),
                                          &error))
        g_debug ("Tray: could not emit ItemsPropertiesUpdated: %s", error->message);
    }
  else
    g_variant_builder_clear (&updated);
}

static void
refresh (RoadieTray *self)
{
  refresh_item (self);
  refresh_menu (self);
}

static void
on_supervisor_changed (RoadieTray *self)
{
  refresh (self);
}

static void
on_actions_changed (RoadieTray *self)
{
  refresh_menu (self);
}

/* D-Bus: the item */

static void
item_method_call (GDBusConnection       *connection,
                  const char            *sender,
                  const char            *object_path,
                  const char            *interface_name,
                  const char            *method_name,
                  GVariant              *parameters,
                  GDBusMethodInvocation *invocation,
                  gpointer               user_data)
{
  RoadieTray *self = user_data;
  const char *action = NULL;

  if (g_str_equal (method_name, "Activate"))
    action = either_action (self, "toggle-window", "show");
  else if (g_str_equal (method_name, "SecondaryActivate"))
    action = either_action (self, "show", "toggle-window");

  /* Reply first: the action may quit Roadie. */
  g_dbus_method_invocation_return_value (invocation, NULL);
  if (action != NULL)
    activate_action (self, action);
}

static GVariant *
item_get_property (GDBusConnection  *connection,
                   const char       *sender,
                   const char       *object_path,
                   const char       *interface_name,
                   const char       *property_name,
                   GError          **error,
                   gpointer          user_data)
{
  RoadieTray *self = user_data;

  if (g_str_equal (property_name, "Category"))
    return g_variant_new_string ("ApplicationStatus");
  if (g_str_equal (property_name, "Id"))
    return g_variant_new_string (TRAY_ID);
  if (g_str_equal (property_name, "Title"))
    return g_variant_new_string (_("Roadie"));
  if (g_str_equal (property_name, "Status"))
    return g_variant_new_string (self->status);
  if (g_str_equal (property_name, "WindowId"))
    return g_variant_new_int32 (0);
  if (g_str_equal (property_name, "IconName"))
    return g_variant_new_string (self->icon_name);
  if (g_str_equal (property_name, "AttentionIconName"))
    return g_variant_new_string (self->attention_icon_name);
  if (g_str_equal (property_name, "IconThemePath"))
    {
      /* Where the state icons are when Roadie is not installed in a
       * prefix the host's icon theme searches (build tree, /opt). */
      g_autofree char *icon_dir = roadie_paths_find_icon_dir ();

      return g_variant_new_string (icon_dir != NULL ? icon_dir : "");
    }
  if (g_str_equal (property_name, "OverlayIconName") ||
      g_str_equal (property_name, "AttentionMovieName"))
    return g_variant_new_string ("");
  if (g_str_equal (property_name, "IconPixmap") ||
      g_str_equal (property_name, "OverlayIconPixmap") ||
      g_str_equal (property_name, "AttentionIconPixmap"))
    return g_variant_new ("a(iiay)", NULL);
  if (g_str_equal (property_name, "ToolTip"))
    return tooltip_variant (self);
  if (g_str_equal (property_name, "ItemIsMenu"))
    return g_variant_new_boolean (FALSE);
  if (g_str_equal (property_name, "Menu"))
    return g_variant_new_object_path (MENU_PATH);

  g_set_error (error, G_DBUS_ERROR, G_DBUS_ERROR_UNKNOWN_PROPERTY,
               "No property %s", property_name);
  return NULL;
}

/* D-Bus: the menu */

static void
return_no_such_item (GDBusMethodInvocation *invocation,
                     gint32                 id)
{
  g_dbus_method_invocation_return_error (invocation, G_DBUS_ERROR, G_DBUS_ERROR_INVALID_ARGS,
                                         "No menu item %d", id);
}

static void
menu_method_call (GDBusConnection       *connection,
                  const char            *sender,
                  const char            *object_path,
                  const char            *interface_name,
                  const char            *method_name,
                  GVariant              *parameters,
                  GDBusMethodInvocation *invocation,
                  gpointer               user_data)
{
  RoadieTray *self = user_data;

  if (g_str_equal (method_name, "GetLayout"))
    {
      g_autofree const char **names = NULL;
      gint32 parent, depth;

      g_variant_get (parameters, "(ii^a&s)", &parent, &depth, &names);
      if (!menu_item_valid (parent))
        {
          return_no_such_item (invocation, parent);
          return;
        }
      g_dbus_method_invocation_return_value (invocation,
                                             g_variant_new ("(u@(ia{sv}av))", MENU_REVISION,
                                                            menu_layout (self, parent, depth, names)));
    }
  else if (g_str_equal (method_name, "GetGroupProperties"))
    {
      g_autoptr(GVariant) ids = NULL;
      g_autofree const char **names = NULL;
      GVariantBuilder result;
      const gint32 *id_values;
      gsize n_ids;

      g_variant_get (parameters, "(@ai^a&s)", &ids, &names);
      id_values = g_variant_get_fixed_array (ids, &n_ids, sizeof (gint32));
      g_variant_builder_init (&result, G_VARIANT_TYPE ("a(ia{sv})"));
      /* No ids: all of them, as libdbusmenu does. */
      for (gsize i = 0; i < (n_ids > 0 ? n_ids : N_MENU_ITEMS); i++)
        {
          gint32 id = n_ids > 0 ? id_values[i] : (gint32) i;

          if (menu_item_valid (id))
            g_variant_builder_add (&result, "(i@a{sv})", id, menu_item_properties (self, id, names));
        }
      g_dbus_method_invocation_return_value (invocation, g_variant_new ("(a(ia{sv}))", &result));
    }
  else if (g_str_equal (method_name, "GetProperty"))
    {
      g_autoptr(GVariant) item_properties = NULL;
      g_autoptr(GVariant) value = NULL;
      const char *name;
      gint32 id;

      g_variant_get (parameters, "(i&s)", &id, &name);
      if (!menu_item_valid (id))
        {
          return_no_such_item (invocation, id);
          return;
        }
      item_properties = g_variant_ref_sink (menu_item_properties (self, id, NULL));
      value = g_variant_lookup_value (item_properties, name, NULL);
      if (value == NULL)
        {
          g_dbus_method_invocation_return_error (invocation, G_DBUS_ERROR, G_DBUS_ERROR_INVALID_ARGS,
                                                 "Menu item %d has no property %s", id, name);
          return;
        }
      g_dbus_method_invocation_return_value (invocation, g_variant_new ("(v)", value));
    }
  else if (g_str_equal (method_name, "Event"))
    {
      g_autoptr(GVariant) data = NULL;
      const char *event_id;
      const char *action = NULL;
      gint32 id;
      guint32 timestamp;

      g_variant_get (parameters, "(i&s@vu)", &id, &event_id, &data, &timestamp);
      if (!menu_item_valid (id))
        {
          return_no_such_item (invocation, id);
          return;
        }
      if (g_str_equal (event_id, "clicked") && menu_item_enabled (self, id))
        action = menu_item_action (self, id);
      g_dbus_method_invocation_return_value (invocation, NULL);
      if (action != NULL)
        activate_action (self, action);
    }
  else if (g_str_equal (method_name, "EventGroup"))
    {
      g_autoptr(GVariantIter) events = NULL;
      g_autoptr(GPtrArray) to_activate = g_ptr_array_new ();
      GVariantBuilder id_errors;
      const char *event_id;
      GVariant *data;
      gint32 id;
      guint32 timestamp;

      g_variant_builder_init (&id_errors, G_VARIANT_TYPE ("ai"));
      g_variant_get (parameters, "(a(isvu))", &events);
      while (g_variant_iter_loop (events, "(i&svu)", &id, &event_id, &data, &timestamp))
        {
          if (!menu_item_valid (id))
            g_variant_builder_add (&id_errors, "i", id);
          else if (g_str_equal (event_id, "clicked") && menu_item_enabled (self, id))
            g_ptr_array_add (to_activate, (gpointer) menu_item_action (self, id));
        }
      g_dbus_method_invocation_return_value (invocation, g_variant_new ("(ai)", &id_errors));
      /* The action names are static strings; the first click wins, as
       * after it the items may mean something else. */
      if (to_activate->len > 0)
        activate_action (self, g_ptr_array_index (to_activate, 0));
    }
  else if (g_str_equal (method_name, "AboutToShow"))
    {
      gint32 id;

      g_variant_get (parameters, "(i)", &id);
      if (!menu_item_valid (id))
        {
          return_no_such_item (invocation, id);
          return;
        }
      /* The host always has the current properties. */
      g_dbus_method_invocation_return_value (invocation, g_variant_new ("(b)", FALSE));
    }
  else if (g_str_equal (method_name, "AboutToShowGroup"))
    {
      g_autoptr(GVariantIter) ids = NULL;
      GVariantBuilder id_errors;
      gint32 id;

      g_variant_builder_init (&id_errors, G_VARIANT_TYPE ("ai"));
      g_variant_get (parameters, "(ai)", &ids);
      while (g_variant_iter_next (ids, "i", &id))
        if (!menu_item_valid (id))
          g_variant_builder_add (&id_errors, "i", id);
      g_dbus_method_invocation_return_value (invocation, g_variant_new ("(aiai)", NULL, &id_errors));
    }
  else
    g_dbus_method_invocation_return_error (invocation, G_DBUS_ERROR, G_DBUS_ERROR_UNKNOWN_METHOD,
                                           "No method %s", method_name);
}

static GVariant *
menu_get_property (GDBusConnection  *connection,
                   const char       *sender,
                   const char       *object_path,
                   const char       *interface_name,
                   const char       *property_name,
                   GError          **error,
                   gpointer          user_data)
{
  if (g_str_equal (property_name, "Version"))
    return g_variant_new_uint32 (3);
  if (g_str_equal (property_name, "TextDirection"))
    return g_variant_new_string (gtk_widget_get_default_direction () == GTK_TEXT_DIR_RTL ? "rtl" : "ltr");
  if (g_str_equal (property_name, "Status"))
    return g_variant_new_string ("normal");
  if (g_str_equal (property_name, "IconThemePath"))
    return g_variant_new_strv (NULL, 0);

  g_set_error (error, G_DBUS_ERROR, G_DBUS_ERROR_UNKNOWN_PROPERTY,
               "No property %s", property_name);
  return NULL;
}

static const GDBusInterfaceVTable item_vtable = { item_method_call, item_get_property, NULL, { 0 } };
static const GDBusInterfaceVTable menu_vtable = { menu_method_call, menu_get_property, NULL, { 0 } };

/* Registration with the watcher */

static void
set_registered (RoadieTray *self)
{
  gboolean registered = self->item_accepted && self->host_present;

  if (self->registered == registered)
    return;
  self->registered = registered;
  g_debug ("Tray: %s", registered ? "shown by a tray host" : "not shown by a tray host");
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_REGISTERED]);
}

static void
on_host_query_done (GObject      *source,
                    GAsyncResult *result,
                    gpointer      user_data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) reply = NULL;
  g_autoptr(GVariant) value = NULL;
  RoadieTray *self;

  reply = g_dbus_connection_call_finish (G_DBUS_CONNECTION (source), result, &error);
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;

  self = user_data;
  if (reply != NULL)
    {
      g_variant_get (reply, "(v)", &value);
      self->host_present = g_variant_is_of_type (value, G_VARIANT_TYPE_BOOLEAN) &&
                           g_variant_get_boolean (value);
    }
  else
    {
      /* It accepted the item; assume it shows it. */
      g_debug ("Tray: the watcher does not say whether a host is there: %s", error->message);
      self->host_present = TRUE;
    }
  set_registered (self);
}

static void
query_host (RoadieTray *self)
{
  g_dbus_connection_call (self->connection, self->watcher_owner, WATCHER_PATH,
                          "org.freedesktop.DBus.Properties", "Get",
                          g_variant_new ("(ss)", WATCHER_INTERFACE, "IsStatusNotifierHostRegistered"),
                          G_VARIANT_TYPE ("(v)"), G_DBUS_CALL_FLAGS_NONE, -1,
                          self->register_cancellable, on_host_query_done, self);
}

static void
on_register_done (GObject      *source,
                  GAsyncResult *result,
                  gpointer      user_data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) reply = NULL;
  RoadieTray *self;

  reply = g_dbus_connection_call_finish (G_DBUS_CONNECTION (source), result, &error);
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;

  self = user_data;
  if (reply == NULL)
    {
      g_debug ("Tray: the StatusNotifierWatcher refused the item: %s", error->message);
      self->item_accepted = FALSE;
      set_registered (self);
      return;
    }

  g_debug ("Tray: registered with the StatusNotifierWatcher %s", self->watcher_owner);
  self->item_accepted = TRUE;
  query_host (self);
}

static void
register_item (RoadieTray *self)
{
  if (self->watcher_owner == NULL || self->item_registration_id == 0)
    return;

  /* A newer registration supersedes any answer still on its way. */
  g_cancellable_cancel (self->register_cancellable);
  g_clear_object (&self->register_cancellable);
  self->register_cancellable = g_cancellable_new ();

  g_dbus_connection_call (self->connection, self->watcher_owner, WATCHER_PATH,
                          WATCHER_INTERFACE, "RegisterStatusNotifierItem",
                          g_variant_new ("(s)", g_dbus_connection_get_unique_name (self->connection)),
                          NULL, G_DBUS_CALL_FLAGS_NONE, -1,
                          self->register_cancellable, on_register_done, self);
}

static void
on_watcher_signal (GDBusConnection *connection,
                   const char      *sender_name,
                   const char      *object_path,
                   const char      *interface_name,
                   const char      *signal_name,
                   GVariant        *parameters,
                   gpointer         user_data)
{
  RoadieTray *self = user_data;

  /* A host that appears later may rely on the item registering again. */
  if (g_str_equal (signal_name, "StatusNotifierHostRegistered"))
    register_item (self);
  else if (g_str_equal (signal_name, "StatusNotifierHostUnregistered") && self->item_accepted)
    query_host (self);
}

static void
forget_watcher (RoadieTray *self)
{
  g_cancellable_cancel (self->register_cancellable);
  g_clear_object (&self->register_cancellable);
  if (self->watcher_signal_id != 0)
    {
      g_dbus_connection_signal_unsubscribe (self->connection, self->watcher_signal_id);
      self->watcher_signal_id = 0;
    }
  g_clear_pointer (&self->watcher_owner, g_free);
  self->item_accepted = FALSE;
  self->host_present = FALSE;
}

static void
on_watcher_appeared (GDBusConnection *connection,
                     const char      *name,
                     const char      *name_owner,
                     gpointer         user_data)
{
  RoadieTray *self = user_data;

  g_debug ("Tray: a StatusNotifierWatcher appeared (%s)", name_owner);
  forget_watcher (self);
  self->watcher_owner = g_strdup (name_owner);
  self->watcher_signal_id =
    g_dbus_connection_signal_subscribe (connection, name_owner, WATCHER_INTERFACE, NULL,
                                        WATCHER_PATH, NULL, G_DBUS_SIGNAL_FLAGS_NONE,
                                        on_watcher_signal, self, NULL);
  register_item (self);
}

static void
on_watcher_vanished (GDBusConnection *connection,
                     const char      *name,
                     gpointer         user_data)
{
  RoadieTray *self = user_data;

  if (self->watcher_owner != NULL)
    g_debug ("Tray: the StatusNotifierWatcher went away");
  forget_watcher (self);
  set_registered (self);
}

/* GObject */

static void
export_objects (RoadieTray *self)
{
  g_autoptr(GError) error = NULL;

  self->item_registration_id =
    g_dbus_connection_register_object (self->connection, ITEM_PATH,
                                       g_dbus_node_info_lookup_interface (introspection_data, ITEM_INTERFACE),
                                       &item_vtable, self, NULL, &error);
  if (self->item_registration_id == 0)
    {
      g_debug ("Tray: cannot export %s: %s", ITEM_PATH, error->message);
      return;
    }

  self->menu_registration_id =
    g_dbus_connection_register_object (self->connection, MENU_PATH,
                                       g_dbus_node_info_lookup_interface (introspection_data, MENU_INTERFACE),
                                       &menu_vtable, self, NULL, &error);
  if (self->menu_registration_id == 0)
    {
      g_debug ("Tray: cannot export %s: %s", MENU_PATH, error->message);
      g_dbus_connection_unregister_object (self->connection, self->item_registration_id);
      self->item_registration_id = 0;
    }
}

static void
roadie_tray_constructed (GObject *object)
{
  RoadieTray *self = ROADIE_TRAY (object);

  G_OBJECT_CLASS (roadie_tray_parent_class)->constructed (object);

  g_signal_connect_object (self->supervisor, "changed",
                           G_CALLBACK (on_supervisor_changed), self, G_CONNECT_SWAPPED);
  g_signal_connect_object (self->supervisor, "notify::state",
                           G_CALLBACK (on_supervisor_changed), self, G_CONNECT_SWAPPED);
  if (self->actions != NULL)
    {
      g_signal_connect_object (self->actions, "action-added",
                               G_CALLBACK (on_actions_changed), self, G_CONNECT_SWAPPED);
      g_signal_connect_object (self->actions, "action-removed",
                               G_CALLBACK (on_actions_changed), self, G_CONNECT_SWAPPED);
      g_signal_connect_object (self->actions, "action-enabled-changed",
                               G_CALLBACK (on_actions_changed), self, G_CONNECT_SWAPPED);
    }
  /* Before exporting: the first values are not news to anyone. */
  refresh (self);

  if (self->connection == NULL)
    return;

  export_objects (self);
  if (self->item_registration_id != 0)
    self->watch_id = g_bus_watch_name_on_connection (self->connection, WATCHER_NAME,
                                                     G_BUS_NAME_WATCHER_FLAGS_NONE,
                                                     on_watcher_appeared, on_watcher_vanished,
                                                     self, NULL);
}

static void
roadie_tray_dispose (GObject *object)
{
  RoadieTray *self = ROADIE_TRAY (object);

  g_clear_handle_id (&self->tooltip_source_id, g_source_remove);
  if (self->watch_id != 0)
    {
      g_bus_unwatch_name (self->watch_id);
      self->watch_id = 0;
    }
  if (self->connection != NULL)
    {
      /* Hosts drop a Passive item from view; watchers only forget it when
       * the whole connection goes away. */
      if (self->registered)
        emit_item_signal (self, "NewStatus", g_variant_new ("(s)", "Passive"));
      forget_watcher (self);
      if (self->item_registration_id != 0)
        g_dbus_connection_unregister_object (self->connection, self->item_registration_id);
      if (self->menu_registration_id != 0)
        g_dbus_connection_unregister_object (self->connection, self->menu_registration_id);
      self->item_registration_id = 0;
      self->menu_registration_id = 0;
    }
  if (self->supervisor != NULL)
    g_signal_handlers_disconnect_by_data (self->supervisor, self);
  if (self->actions != NULL)
    g_signal_handlers_disconnect_by_data (self->actions, self);
  g_clear_object (&self->supervisor);
  g_clear_object (&self->actions);
  g_clear_object (&self->connection);
  for (MenuItem item = MENU_ROOT; item < N_MENU_ITEMS; item++)
    g_clear_pointer (&self->menu_properties[item], g_variant_unref);

  G_OBJECT_CLASS (roadie_tray_parent_class)->dispose (object);
}

static void
roadie_tray_finalize (GObject *object)
{
  RoadieTray *self = ROADIE_TRAY (object);

  g_free (self->status);
  g_free (self->icon_name);
  g_free (self->attention_icon_name);
  g_free (self->tooltip_title);
  g_free (self->tooltip_description);

  G_OBJECT_CLASS (roadie_tray_parent_class)->finalize (object);
}

static void
roadie_tray_get_property (GObject    *object,
                          guint       prop_id,
                          GValue     *value,
                          GParamSpec *pspec)
{
  RoadieTray *self = ROADIE_TRAY (object);

  switch (prop_id)
    {
    case PROP_CONNECTION:
      g_value_set_object (value, self->connection);
      break;

    case PROP_SUPERVISOR:
      g_value_set_object (value, self->supervisor);
      break;

    case PROP_ACTIONS:
      g_value_set_object (value, self->actions);
      break;

    case PROP_REGISTERED:
      g_value_set_boolean (value, self->registered);
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
roadie_tray_set_property (GObject      *object,
                          guint         prop_id,
                          const GValue *value,
                          GParamSpec   *pspec)
{
  RoadieTray *self = ROADIE_TRAY (object);

  switch (prop_id)
    {
    case PROP_CONNECTION:
      self->connection = g_value_dup_object (value);
      break;

    case PROP_SUPERVISOR:
      self->supervisor = g_value_dup_object (value);
      break;

    case PROP_ACTIONS:
      self->actions = g_value_dup_object (value);
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
roadie_tray_class_init (RoadieTrayClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->constructed = roadie_tray_constructed;
  object_class->dispose = roadie_tray_dispose;
  object_class->finalize = roadie_tray_finalize;
  object_class->get_property = roadie_tray_get_property;
  object_class->set_property = roadie_tray_set_property;

  properties[PROP_CONNECTION] =
    g_param_spec_object ("connection", NULL, NULL,
                         G_TYPE_DBUS_CONNECTION,
                         G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);
  properties[PROP_SUPERVISOR] =
    g_param_spec_object ("supervisor", NULL, NULL,
                         ROADIE_TYPE_SUPERVISOR,
                         G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);
  properties[PROP_ACTIONS] =
    g_param_spec_object ("actions", NULL, NULL,
                         G_TYPE_ACTION_GROUP,
                         G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);
  properties[PROP_REGISTERED] =
    g_param_spec_boolean ("registered", NULL, NULL,
                          FALSE,
                          G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  /* Kept for the life of the process, like a class's own data. */
  introspection_data = g_dbus_node_info_new_for_xml (introspection_xml, NULL);
  g_assert (introspection_data != NULL);
}

static void
roadie_tray_init (RoadieTray *self)
{
}

RoadieTray *
roadie_tray_new (GDBusConnection  *connection,
                 RoadieSupervisor *supervisor,
                 GActionGroup     *actions)
{
  g_return_val_if_fail (connection == NULL || G_IS_DBUS_CONNECTION (connection), NULL);
  g_return_val_if_fail (ROADIE_IS_SUPERVISOR (supervisor), NULL);
  g_return_val_if_fail (actions == NULL || G_IS_ACTION_GROUP (actions), NULL);

  return g_object_new (ROADIE_TYPE_TRAY,
                       "connection", connection,
                       "supervisor", supervisor,
                       "actions", actions,
                       NULL);
}

gboolean
roadie_tray_get_registered (RoadieTray *self)
{
  g_return_val_if_fail (ROADIE_IS_TRAY (self), FALSE);

  return self->registered;
}
