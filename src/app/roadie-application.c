/* roadie-application.c: the single-instance Roadie application.
 *
 * Startup creates the RoadieService, which attaches to a running server or
 * auto-starts one; activate presents the window. Quitting (Ctrl+Q, the menu,
 * the tray, SIGTERM/SIGINT) always stops the server gracefully first: the
 * application holds itself until that is done. Closing the window while
 * the server runs keeps Roadie in the background when a tray shows it or
 * the DJ asked for it; otherwise closing quits.
 *
 * Other processes drive the running instance over D-Bus: the application
 * actions (app.start, app.stop, app.restart, app.show, app.preferences,
 * app.quit) and io.github.roadie.Roadie.Status.GetStatus, which
 * `roadie --status` prints.
 */
#include "config.h"

#include <signal.h>
#include <string.h>

#include <glib/gi18n.h>
#include <glib-unix.h>

#include "roadie-application.h"
#include "roadie-engine-link.h"
#include "roadie-notifier.h"
#include "roadie-paths.h"
#include "roadie-preferences-window.h"
#include "roadie-tray.h"
#include "roadie-window.h"
#include "roadie-ws-profile.h"

#define STATUS_INTERFACE "io.github.roadie.Roadie.Status"

static const char status_introspection[] =
  "<node>"
  "  <interface name='" STATUS_INTERFACE "'>"
  "    <method name='GetStatus'>"
  "      <arg type='s' name='json' direction='out'/>"
  "    </method>"
  "  </interface>"
  "</node>";

struct _RoadieApplication
{
  AdwApplication  parent_instance;

  RoadieService  *service;
  /* --set KEY=VALUE of this run, applied before the service starts. */
  GPtrArray      *overrides;
  /* Why the overrides were refused; the run then ends with status 2. */
  char           *overrides_error;
  /* --start, --stop, --restart: run once this instance has started up. */
  char           *startup_command;
  RoadieNotifier *notifier;
  RoadieEngineLink *engine_link;
  GSettings      *engine_link_settings;
  gulong          stats_handler;
  /* The outbound links' states in the last stats, to see auth failures come. */
  char           *relay_state;
  char           *visualizer_state;
  RoadieTray     *tray;
  GDBusConnection *status_connection;
  guint           status_registration;
  gulong          changed_handler;
  gulong          api_problem_handler;
  guint           sigterm_id;
  guint           sigint_id;
  guint           quitting : 1;
  /* The window is hidden, Roadie runs on behind the tray or by choice. */
  guint           in_background : 1;
};

G_DEFINE_FINAL_TYPE (RoadieApplication, roadie_application, ADW_TYPE_APPLICATION)

static void
update_actions (RoadieApplication *self)
{
  RoadieSupervisorState state;
  GAction *action;

  state = roadie_supervisor_get_state (roadie_service_get_supervisor (self->service));

  action = g_action_map_lookup_action (G_ACTION_MAP (self), "start");
  g_simple_action_set_enabled (G_SIMPLE_ACTION (action),
                               !self->quitting && roadie_service_state_can_start (state));
  action = g_action_map_lookup_action (G_ACTION_MAP (self), "stop");
  g_simple_action_set_enabled (G_SIMPLE_ACTION (action),
                               !self->quitting && roadie_service_state_can_stop (state));
  /* The "gave up" notification's Restart button must work on failed. */
  action = g_action_map_lookup_action (G_ACTION_MAP (self), "restart");
  g_simple_action_set_enabled (G_SIMPLE_ACTION (action),
                               !self->quitting && (roadie_service_state_can_restart (state)
                                                   || state == ROADIE_SUPERVISOR_STATE_FAILED));
}

static RoadieWindow *
get_window (RoadieApplication *self)
{
  GtkWindow *window = gtk_application_get_active_window (GTK_APPLICATION (self));

  return ROADIE_IS_WINDOW (window) ? ROADIE_WINDOW (window) : NULL;
}

/* app.start, app.stop and app.restart go through the window when there is
 * one, so a refusal shows up there; otherwise it is logged. */
static void
run_command (RoadieApplication *self,
             const char        *name)
{
  RoadieSupervisor *supervisor = roadie_service_get_supervisor (self->service);
  RoadieWindow *window = get_window (self);
  g_autoptr(GError) error = NULL;
  g_autofree char *action = NULL;

  /* Restarting what is not running (it failed) is starting it. */
  if (strcmp (name, "restart") == 0
      && !roadie_service_state_can_restart (roadie_supervisor_get_state (supervisor)))
    name = "start";

  if (window != NULL)
    {
      action = g_strconcat ("win.", name, NULL);
      gtk_widget_activate_action (GTK_WIDGET (window), action, NULL);
      return;
    }

  if (strcmp (name, "start") == 0)
    roadie_supervisor_start (supervisor, &error);
  else if (strcmp (name, "stop") == 0)
    roadie_supervisor_stop (supervisor, &error);
  else
    roadie_supervisor_restart (supervisor, &error);

  if (error != NULL)
    g_warning ("%s", error->message);
}

static void
start_action (GSimpleAction *action,
              GVariant      *parameter,
              gpointer       user_data)
{
  run_command (ROADIE_APPLICATION (user_data), "start");
}

static void
stop_action (GSimpleAction *action,
             GVariant      *parameter,
             gpointer       user_data)
{
  run_command (ROADIE_APPLICATION (user_data), "stop");
}

static void
restart_action (GSimpleAction *action,
                GVariant      *parameter,
                gpointer       user_data)
{
  run_command (ROADIE_APPLICATION (user_data), "restart");
}

static RoadieWindow *
ensure_window (RoadieApplication *self)
{
  RoadieWindow *window = get_window (self);
  GList *windows;

  if (window != NULL)
    return window;
  /* A hidden window is not the active one. */
  for (windows = gtk_application_get_windows (GTK_APPLICATION (self)); windows; windows = windows->next)
    if (ROADIE_IS_WINDOW (windows->data))
      return windows->data;

  g_application_activate (G_APPLICATION (self));
  return get_window (self);
}

static void
show_action (GSimpleAction *action,
             GVariant      *parameter,
             gpointer       user_data)
{
  RoadieApplication *self = user_data;
  RoadieWindow *window = ensure_window (self);

  if (self->in_background)
    {
      self->in_background = FALSE;
      g_application_release (G_APPLICATION (self));
    }
  if (self->notifier != NULL)
    roadie_notifier_withdraw_restarts (self->notifier);
  if (window != NULL)
    gtk_window_present (GTK_WINDOW (window));
}

static gboolean keeps_running_in_background (RoadieApplication *self);
static void     go_to_background            (RoadieApplication *self,
                                             GtkWindow         *window);

/* The tray's left click: hide a visible window (only when something can
 * bring it back), show a hidden one. */
static void
toggle_window_action (GSimpleAction *action,
                      GVariant      *parameter,
                      gpointer       user_data)
{
  RoadieApplication *self = user_data;
  RoadieWindow *window = ensure_window (self);

  if (window != NULL && gtk_widget_get_visible (GTK_WIDGET (window))
      && !self->in_background && keeps_running_in_background (self))
    go_to_background (self, GTK_WINDOW (window));
  else
    show_action (NULL, NULL, self);
}

static void
preferences_action (GSimpleAction *action,
                    GVariant      *parameter,
                    gpointer       user_data)
{
  RoadieApplication *self = user_data;
  RoadieWindow *window = ensure_window (self);
  RoadiePreferencesWindow *preferences;

  if (window == NULL)
    return;
  show_action (NULL, NULL, self);
  preferences = roadie_preferences_window_new (GTK_WINDOW (window),
                                               roadie_service_get_settings (self->service),
                                               roadie_service_get_control_api (self->service));
  gtk_window_present (GTK_WINDOW (preferences));
}

static void
about_action (GSimpleAction *action,
              GVariant      *parameter,
              gpointer       user_data)
{
  RoadieApplication *self = user_data;
  static const char *developers[] = { "The Roadie developers", NULL };
  GtkWidget *about;

  about = g_object_new (ADW_TYPE_ABOUT_WINDOW,
                        "transient-for", gtk_application_get_active_window (GTK_APPLICATION (self)),
                        "modal", TRUE,
                        "application-name", _("Roadie"),
                        "application-icon", APP_ID,
                        "version", PACKAGE_VERSION,
                        "comments", _("Keeps a DJ’s audio server running and shows what it hears."),
                        "developers", developers,
                        "license-type", GTK_LICENSE_GPL_3_0,
                        "translator-credits", _("translator-credits"),
                        NULL);
  gtk_window_present (GTK_WINDOW (about));
}

static void
shutdown_done_cb (GObject      *object,
                  GAsyncResult *result,
                  gpointer      user_data)
{
  g_autoptr(RoadieApplication) self = user_data;
  g_autoptr(GError) error = NULL;
  GList *windows;

  if (!roadie_service_shutdown_finish (ROADIE_SERVICE (object), result, &error))
    g_warning ("%s", error->message);

  /* The windows stayed open, showing "Stopping…", until now. */
  while ((windows = gtk_application_get_windows (GTK_APPLICATION (self))) != NULL)
    gtk_window_destroy (GTK_WINDOW (windows->data));

  g_application_release (G_APPLICATION (self));
  g_application_quit (G_APPLICATION (self));
}

static void
quit_action (GSimpleAction *action,
             GVariant      *parameter,
             gpointer       user_data)
{
  RoadieApplication *self = user_data;

  if (self->quitting)
    return;
  self->quitting = TRUE;
  update_actions (self);

  g_application_hold (G_APPLICATION (self));
  roadie_service_shutdown_async (self->service, NULL, shutdown_done_cb, g_object_ref (self));
}

static gboolean
quit_signal_cb (gpointer user_data)
{
  g_action_group_activate_action (G_ACTION_GROUP (user_data), "quit", NULL);
  /* Kept installed: a second signal must not kill Roadie halfway. */
  return G_SOURCE_CONTINUE;
}

/* A tray shows Roadie is still there, or the DJ asked for it. */
static gboolean
keeps_running_in_background (RoadieApplication *self)
{
  if (self->tray != NULL && roadie_tray_get_registered (self->tray))
    return TRUE;
  return roadie_settings_get_boolean (roadie_service_get_settings (self->service), "run-in-background");
}

static void
go_to_background (RoadieApplication *self,
                  GtkWindow         *window)
{
  /* Held so that hiding the last visible window does not end the run. */
  if (!self->in_background)
    {
      self->in_background = TRUE;
      g_application_hold (G_APPLICATION (self));
    }
  gtk_widget_set_visible (GTK_WIDGET (window), FALSE);
}

static gboolean
window_close_request_cb (RoadieApplication *self,
                         GtkWindow         *window)
{
  RoadieSupervisorState state = roadie_supervisor_get_state (roadie_service_get_supervisor (self->service));

  /* A running server stays up behind the tray; anything else quits, and
   * quitting stops the server first: the window stays until it has. */
  if (!self->quitting && roadie_service_state_can_stop (state)
      && keeps_running_in_background (self))
    {
      go_to_background (self, window);
      return TRUE;
    }

  g_action_group_activate_action (G_ACTION_GROUP (self), "quit", NULL);
  return TRUE;
}

static const GActionEntry app_actions[] = {
  { "start", start_action },
  { "stop", stop_action },
  { "restart", restart_action },
  { "show", show_action },
  { "toggle-window", toggle_window_action },
  { "preferences", preferences_action },
  { "about", about_action },
  { "quit", quit_action },
};

static GSettings *
open_settings (GError **error)
{
  GSettingsSchemaSource *source = g_settings_schema_source_get_default ();
  g_autoptr(GSettingsSchema) schema = NULL;

  if (source != NULL)
    schema = g_settings_schema_source_lookup (source, APP_ID, TRUE);
  if (schema == NULL)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND,
                   _("The settings schema %s is not installed. Install Roadie, "
                     "or run it through “meson devenv” from the build folder."),
                   APP_ID);
      return NULL;
    }
  return g_settings_new_full (schema, NULL, NULL);
}

static gboolean
apply_overrides (RoadieApplication  *self,
                 GError            **error)
{
  RoadieSettings *settings = roadie_service_get_settings (self->service);

  for (guint i = 0; self->overrides != NULL && i < self->overrides->len; i++)
    {
      const char *assignment = g_ptr_array_index (self->overrides, i);
      const char *equals = strchr (assignment, '=');
      g_autofree char *key = g_strndup (assignment, equals - assignment);

      if (!roadie_settings_set_override (settings, key, equals + 1, "--set", error))
        return FALSE;
    }
  return TRUE;
}

static void
check_link_auth (RoadieApplication  *self,
                 JsonObject         *links,
                 const char         *member,
                 const char         *name,
                 char              **last_state)
{
  JsonNode *node = links != NULL ? json_object_get_member (links, member) : NULL;
  const char *state = NULL;

  if (node != NULL && JSON_NODE_HOLDS_OBJECT (node))
    state = json_object_get_string_member_with_default (json_node_get_object (node), "state", NULL);

  if (g_strcmp0 (state, "auth-failed") == 0 && g_strcmp0 (*last_state, "auth-failed") != 0)
    roadie_notifier_auth_failed (self->notifier, name, NULL);
  g_free (*last_state);
  *last_state = g_strdup (state);
}

/* A link refused by its peer's authentication stops for good: tell the DJ
 * once, when it happens. */
static void
engine_stats_cb (RoadieApplication *self)
{
  g_autoptr(JsonObject) stats = roadie_engine_link_dup_stats (self->engine_link);
  JsonObject *links = NULL;

  if (stats == NULL)
    return;
  if (json_object_has_member (stats, "links")
      && JSON_NODE_HOLDS_OBJECT (json_object_get_member (stats, "links")))
    links = json_object_get_object_member (stats, "links");
  check_link_auth (self, links, "relay", _("DJ relay"), &self->relay_state);
  check_link_auth (self, links, "visualizer", _("Visualizer link"), &self->visualizer_state);
}

static void
roadie_application_startup (GApplication *application)
{
  RoadieApplication *self = ROADIE_APPLICATION (application);
  g_autoptr(GSettings) gsettings = NULL;
  g_autoptr(GError) error = NULL;

  G_APPLICATION_CLASS (roadie_application_parent_class)->startup (application);

  g_action_map_add_action_entries (G_ACTION_MAP (self), app_actions,
                                   G_N_ELEMENTS (app_actions), self);

  /* The icons when Roadie runs from its build tree or an unusual prefix. */
  {
    g_autofree char *icon_dir = roadie_paths_find_icon_dir ();

    if (icon_dir != NULL && gdk_display_get_default () != NULL)
      gtk_icon_theme_add_search_path (gtk_icon_theme_get_for_display (gdk_display_get_default ()),
                                      icon_dir);
  }
  gtk_application_set_accels_for_action (GTK_APPLICATION (self), "app.quit",
                                         (const char *[]) { "<Control>q", NULL });
  gtk_application_set_accels_for_action (GTK_APPLICATION (self), "app.preferences",
                                         (const char *[]) { "<Control>comma", NULL });

  /* handle_local_options has made sure the schema is there. */
  gsettings = open_settings (&error);
  if (gsettings == NULL)
    g_error ("%s", error->message);

  self->service = roadie_service_new (gsettings);
  if (!apply_overrides (self, &error))
    {
      /* handle_local_options reports it and ends the run. */
      self->overrides_error = g_strdup (error->message);
      return;
    }

  self->changed_handler =
    g_signal_connect_swapped (roadie_service_get_supervisor (self->service), "changed",
                              G_CALLBACK (update_actions), self);
  update_actions (self);

  self->sigterm_id = g_unix_signal_add (SIGTERM, quit_signal_cb, self);
  self->sigint_id = g_unix_signal_add (SIGINT, quit_signal_cb, self);

  self->notifier = roadie_notifier_new (G_APPLICATION (self),
                                        roadie_service_get_supervisor (self->service));

  self->engine_link_settings = roadie_ws_profile_settings_new (ROADIE_WS_PROFILE_ENGINE_LINK, NULL);
  self->engine_link = roadie_engine_link_new (roadie_service_get_supervisor (self->service),
                                              self->engine_link_settings);
  self->stats_handler = g_signal_connect_swapped (self->engine_link, "stats-changed",
                                                  G_CALLBACK (engine_stats_cb), self);

  /* A tray host may come and go; without one nothing changes. */
  if (g_application_get_dbus_connection (application) != NULL)
    self->tray = roadie_tray_new (g_application_get_dbus_connection (application),
                                  roadie_service_get_supervisor (self->service),
                                  G_ACTION_GROUP (self));

  roadie_service_startup (self->service);

  /* roadie --start on the first instance: after auto-start, which may
   * already have attached or started. */
  if (self->startup_command != NULL)
    {
      RoadieSupervisorState state = roadie_supervisor_get_state (roadie_service_get_supervisor (self->service));

      if (strcmp (self->startup_command, "start") != 0 || roadie_service_state_can_start (state))
        run_command (self, self->startup_command);
    }
}

static void
status_method_call (GDBusConnection       *connection,
                    const char            *sender,
                    const char            *object_path,
                    const char            *interface_name,
                    const char            *method_name,
                    GVariant              *parameters,
                    GDBusMethodInvocation *invocation,
                    gpointer               user_data)
{
  RoadieApplication *self = user_data;
  g_autoptr(JsonNode) status = NULL;
  g_autofree char *text = NULL;

  if (self->service == NULL)
    {
      g_dbus_method_invocation_return_error (invocation, G_IO_ERROR, G_IO_ERROR_NOT_INITIALIZED,
                                             "Roadie is still starting up");
      return;
    }
  status = roadie_supervisor_build_status (roadie_service_get_supervisor (self->service));
  text = json_to_string (status, TRUE);
  g_dbus_method_invocation_return_value (invocation, g_variant_new ("(s)", text));
}

static gboolean
roadie_application_dbus_register (GApplication    *application,
                                  GDBusConnection *connection,
                                  const char      *object_path,
                                  GError         **error)
{
  RoadieApplication *self = ROADIE_APPLICATION (application);
  static const GDBusInterfaceVTable vtable = { status_method_call, NULL, NULL, { 0 } };
  g_autoptr(GDBusNodeInfo) info = NULL;

  if (!G_APPLICATION_CLASS (roadie_application_parent_class)->dbus_register (application, connection,
                                                                             object_path, error))
    return FALSE;

  info = g_dbus_node_info_new_for_xml (status_introspection, error);
  if (info == NULL)
    return FALSE;
  self->status_registration =
    g_dbus_connection_register_object (connection, object_path, info->interfaces[0],
                                       &vtable, self, NULL, error);
  if (self->status_registration == 0)
    return FALSE;
  self->status_connection = g_object_ref (connection);
  return TRUE;
}

static void
roadie_application_dbus_unregister (GApplication    *application,
                                    GDBusConnection *connection,
                                    const char      *object_path)
{
  RoadieApplication *self = ROADIE_APPLICATION (application);

  if (self->status_registration != 0 && self->status_connection == connection)
    {
      g_dbus_connection_unregister_object (connection, self->status_registration);
      self->status_registration = 0;
      g_clear_object (&self->status_connection);
    }

  G_APPLICATION_CLASS (roadie_application_parent_class)->dbus_unregister (application, connection,
                                                                          object_path);
}

static void
control_api_problem_cb (RoadieApplication *self,
                        GParamSpec        *pspec,
                        RoadieService     *service)
{
  GList *windows = gtk_application_get_windows (GTK_APPLICATION (self));

  for (const GList *l = windows; l != NULL; l = l->next)
    if (ROADIE_IS_WINDOW (l->data))
      roadie_window_set_control_api_problem (l->data,
                                             roadie_service_get_control_api_problem (service));
}

static void
roadie_application_activate (GApplication *application)
{
  RoadieApplication *self = ROADIE_APPLICATION (application);
  RoadieWindow *window = get_window (self);

  if (self->overrides_error != NULL)
    return;

  if (window == NULL)
    {
      window = roadie_window_new (GTK_APPLICATION (self),
                                  roadie_service_get_supervisor (self->service));
      roadie_window_set_control_api_problem (window,
                                             roadie_service_get_control_api_problem (self->service));
      roadie_window_set_engine_link (window, self->engine_link);
      g_signal_connect_object (window, "close-request",
                               G_CALLBACK (window_close_request_cb), self,
                               G_CONNECT_SWAPPED);
      if (self->api_problem_handler == 0)
        self->api_problem_handler =
          g_signal_connect_swapped (self->service, "notify::control-api-problem",
                                    G_CALLBACK (control_api_problem_cb), self);
    }

  /* Launched again while running behind the tray: back to the front. */
  if (self->in_background)
    {
      self->in_background = FALSE;
      g_application_release (application);
    }
  gtk_window_present (GTK_WINDOW (window));
}

static const char * const remote_commands[] = { "start", "stop", "restart", "status" };

static const char *
remote_command (GVariantDict *options,
                guint        *n_found)
{
  const char *found = NULL;

  *n_found = 0;
  for (guint i = 0; i < G_N_ELEMENTS (remote_commands); i++)
    if (g_variant_dict_contains (options, remote_commands[i]))
      {
        found = remote_commands[i];
        (*n_found)++;
      }
  return found;
}

/* Whether a Roadie owns its name on the session bus; no bus, no Roadie. */
static gboolean
instance_is_running (void)
{
  g_autoptr(GDBusConnection) bus = g_bus_get_sync (G_BUS_TYPE_SESSION, NULL, NULL);
  g_autoptr(GVariant) reply = NULL;
  gboolean has_owner = FALSE;

  if (bus == NULL)
    return FALSE;
  reply = g_dbus_connection_call_sync (bus, "org.freedesktop.DBus", "/org/freedesktop/DBus",
                                       "org.freedesktop.DBus", "NameHasOwner",
                                       g_variant_new ("(s)", APP_ID), G_VARIANT_TYPE ("(b)"),
                                       G_DBUS_CALL_FLAGS_NONE, 5000, NULL, NULL);
  if (reply != NULL)
    g_variant_get (reply, "(b)", &has_owner);
  return has_owner;
}

/* The status JSON's shape for a Roadie that is not running. */
static void
print_status_of_nothing (void)
{
  g_autoptr(JsonBuilder) builder = json_builder_new ();
  g_autoptr(JsonNode) root = NULL;
  g_autofree char *text = NULL;

  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "isHealthy");
  json_builder_add_boolean_value (builder, FALSE);
  json_builder_set_member_name (builder, "isProcessRunning");
  json_builder_add_boolean_value (builder, FALSE);
  json_builder_set_member_name (builder, "isReady");
  json_builder_add_boolean_value (builder, FALSE);
  json_builder_set_member_name (builder, "pid");
  json_builder_add_null_value (builder);
  json_builder_set_member_name (builder, "state");
  json_builder_add_string_value (builder, "stopped");
  /* Nothing answers: no Roadie instance to ask. */
  json_builder_set_member_name (builder, "roadieRunning");
  json_builder_add_boolean_value (builder, FALSE);
  json_builder_end_object (builder);
  root = json_builder_get_root (builder);
  text = json_to_string (root, TRUE);
  g_print ("%s\n", text);
}

static int
run_remote_command (GApplication *application,
                    const char   *command)
{
  GDBusConnection *connection = g_application_get_dbus_connection (application);
  g_autoptr(GError) error = NULL;

  if (strcmp (command, "status") == 0)
    {
      g_autoptr(GVariant) reply = NULL;
      const char *text;

      reply = g_dbus_connection_call_sync (connection, APP_ID,
                                           g_application_get_dbus_object_path (application),
                                           STATUS_INTERFACE, "GetStatus", NULL,
                                           G_VARIANT_TYPE ("(s)"), G_DBUS_CALL_FLAGS_NONE,
                                           5000, NULL, &error);
      if (reply == NULL)
        {
          g_dbus_error_strip_remote_error (error);
          g_printerr (_("Could not ask Roadie for its status: %s\n"), error->message);
          return 1;
        }
      g_variant_get (reply, "(&s)", &text);
      g_print ("%s\n", text);
      return 0;
    }

  g_action_group_activate_action (G_ACTION_GROUP (application), command, NULL);
  if (!g_dbus_connection_flush_sync (connection, NULL, &error))
    {
      g_printerr ("%s\n", error->message);
      return 1;
    }
  return 0;
}

static int
roadie_application_handle_local_options (GApplication *application,
                                         GVariantDict *options)
{
  RoadieApplication *self = ROADIE_APPLICATION (application);
  g_autoptr(GError) error = NULL;
  g_autofree const char **assignments = NULL;
  const char *command;
  guint n_commands;

  if (g_variant_dict_contains (options, "version"))
    {
      g_print ("roadie %s\n", PACKAGE_VERSION);
      return 0;
    }

  /* Say so plainly rather than abort in startup. */
  {
    g_autoptr(GSettings) settings = open_settings (&error);

    if (settings == NULL)
      {
        g_printerr ("%s\n", error->message);
        return 1;
      }
  }

  command = remote_command (options, &n_commands);
  if (n_commands > 1)
    {
      g_printerr (_("Pass one of --start, --stop, --restart and --status\n"));
      return 2;
    }
  /* Asking about, or stopping, a Roadie that is not running must not
   * start one. */
  if (command != NULL && (strcmp (command, "status") == 0 || strcmp (command, "stop") == 0)
      && !instance_is_running ())
    {
      if (strcmp (command, "stop") == 0)
        {
          g_print (_("Roadie is not running.\n"));
          return 0;
        }
      print_status_of_nothing ();
      return 3;
    }

  if (!g_variant_dict_lookup (options, "set", "^a&s", &assignments))
    assignments = g_new0 (const char *, 1);

  for (guint i = 0; assignments[i] != NULL; i++)
    {
      const char *equals = strchr (assignments[i], '=');

      if (equals == NULL || equals == assignments[i])
        {
          g_printerr (_("--set needs KEY=VALUE, not “%s”\n"), assignments[i]);
          return 2;
        }
      g_ptr_array_add (self->overrides, g_strdup (assignments[i]));
    }

  if (command != NULL && strcmp (command, "status") != 0)
    self->startup_command = g_strdup (command);

  /* Registering runs startup here when this is the first instance, which
   * applies the overrides before the server is auto-started. */
  if (!g_application_register (application, NULL, &error))
    {
      g_printerr ("%s\n", error->message);
      return 1;
    }

  if (g_application_get_is_remote (application))
    {
      if (assignments[0] != NULL)
        g_printerr (_("Roadie is already running; --set only applies when Roadie starts.\n"));
      if (command != NULL)
        return run_remote_command (application, command);
    }
  else if (self->overrides_error != NULL)
    {
      g_printerr ("%s\n", self->overrides_error);
      return 2;
    }

  return -1;
}

/* Quitting without the quit action (e.g. g_application_quit from D-Bus)
 * still stops the server: iterate until it has, there is no window left to
 * block. */
static void
roadie_application_shutdown (GApplication *application)
{
  RoadieApplication *self = ROADIE_APPLICATION (application);

  if (self->service != NULL && !roadie_service_is_shut_down (self->service))
    {
      if (!self->quitting)
        quit_action (NULL, NULL, self);
      while (!roadie_service_is_shut_down (self->service))
        g_main_context_iteration (NULL, TRUE);
    }

  g_clear_handle_id (&self->sigterm_id, g_source_remove);
  g_clear_handle_id (&self->sigint_id, g_source_remove);

  G_APPLICATION_CLASS (roadie_application_parent_class)->shutdown (application);
}

static void
roadie_application_dispose (GObject *object)
{
  RoadieApplication *self = ROADIE_APPLICATION (object);

  g_clear_handle_id (&self->sigterm_id, g_source_remove);
  g_clear_handle_id (&self->sigint_id, g_source_remove);
  if (self->service != NULL)
    {
      g_clear_signal_handler (&self->changed_handler,
                              roadie_service_get_supervisor (self->service));
      g_clear_signal_handler (&self->api_problem_handler, self->service);
    }
  if (self->engine_link != NULL)
    g_clear_signal_handler (&self->stats_handler, self->engine_link);
  g_clear_object (&self->tray);
  g_clear_object (&self->engine_link);
  g_clear_object (&self->engine_link_settings);
  g_clear_object (&self->notifier);
  g_clear_object (&self->service);

  G_OBJECT_CLASS (roadie_application_parent_class)->dispose (object);
}

static void
roadie_application_finalize (GObject *object)
{
  RoadieApplication *self = ROADIE_APPLICATION (object);

  g_clear_pointer (&self->overrides, g_ptr_array_unref);
  g_clear_pointer (&self->overrides_error, g_free);
  g_clear_pointer (&self->startup_command, g_free);
  g_clear_pointer (&self->relay_state, g_free);
  g_clear_pointer (&self->visualizer_state, g_free);

  G_OBJECT_CLASS (roadie_application_parent_class)->finalize (object);
}

static void
roadie_application_class_init (RoadieApplicationClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GApplicationClass *app_class = G_APPLICATION_CLASS (klass);

  object_class->dispose = roadie_application_dispose;
  object_class->finalize = roadie_application_finalize;

  app_class->startup = roadie_application_startup;
  app_class->activate = roadie_application_activate;
  app_class->handle_local_options = roadie_application_handle_local_options;
  app_class->shutdown = roadie_application_shutdown;
  app_class->dbus_register = roadie_application_dbus_register;
  app_class->dbus_unregister = roadie_application_dbus_unregister;
}

static void
roadie_application_init (RoadieApplication *self)
{
  const GOptionEntry entries[] = {
    { "set", 0, 0, G_OPTION_ARG_STRING_ARRAY, NULL,
      N_("Override a setting for this run only (repeatable)"), N_("KEY=VALUE") },
    { "version", 0, 0, G_OPTION_ARG_NONE, NULL,
      N_("Show the version and exit"), NULL },
    { "headless", 0, 0, G_OPTION_ARG_NONE, NULL,
      N_("Run without a window until SIGTERM or SIGINT"), NULL },
    { "start", 0, 0, G_OPTION_ARG_NONE, NULL,
      N_("Start the audio server (in the running Roadie, or a new one)"), NULL },
    { "stop", 0, 0, G_OPTION_ARG_NONE, NULL,
      N_("Stop the audio server of the running Roadie"), NULL },
    { "restart", 0, 0, G_OPTION_ARG_NONE, NULL,
      N_("Restart the audio server (in the running Roadie, or a new one)"), NULL },
    { "status", 0, 0, G_OPTION_ARG_NONE, NULL,
      N_("Print the status of the running Roadie as JSON"), NULL },
    { NULL }
  };

  self->overrides = g_ptr_array_new_with_free_func (g_free);
  g_application_add_main_option_entries (G_APPLICATION (self), entries);
  g_application_set_option_context_summary (G_APPLICATION (self),
                                            _("Keeps a DJ’s audio server running."));
}

RoadieApplication *
roadie_application_new (void)
{
  return g_object_new (ROADIE_TYPE_APPLICATION,
                       "application-id", APP_ID,
                       "flags", G_APPLICATION_DEFAULT_FLAGS,
                       NULL);
}

RoadieService *
roadie_application_get_service (RoadieApplication *self)
{
  g_return_val_if_fail (ROADIE_IS_APPLICATION (self), NULL);

  return self->service;
}

RoadieSupervisor *
roadie_application_get_supervisor (RoadieApplication *self)
{
  g_return_val_if_fail (ROADIE_IS_APPLICATION (self), NULL);

  return self->service != NULL ? roadie_service_get_supervisor (self->service) : NULL;
}

RoadieNotifier *
roadie_application_get_notifier (RoadieApplication *self)
{
  g_return_val_if_fail (ROADIE_IS_APPLICATION (self), NULL);

  return self->notifier;
}
