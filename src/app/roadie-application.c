/* roadie-application.c: the single-instance Roadie application.
 *
 * Startup creates the RoadieService, which attaches to a running server or
 * auto-starts one; activate presents the window. Quitting (Ctrl+Q, the menu,
 * closing the window, SIGTERM/SIGINT) always stops the server gracefully
 * first: the application holds itself until that is done.
 */
#include "config.h"

#include <signal.h>
#include <string.h>

#include <glib/gi18n.h>
#include <glib-unix.h>

#include "roadie-application.h"
#include "roadie-window.h"

struct _RoadieApplication
{
  AdwApplication  parent_instance;

  RoadieService  *service;
  /* --set KEY=VALUE of this run, applied before the service starts. */
  GPtrArray      *overrides;
  /* Why the overrides were refused; the run then ends with status 2. */
  char           *overrides_error;
  gulong          changed_handler;
  gulong          api_problem_handler;
  guint           sigterm_id;
  guint           sigint_id;
  guint           quitting : 1;
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
  action = g_action_map_lookup_action (G_ACTION_MAP (self), "restart");
  g_simple_action_set_enabled (G_SIMPLE_ACTION (action),
                               !self->quitting && roadie_service_state_can_restart (state));
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

static gboolean
window_close_request_cb (RoadieApplication *self,
                         GtkWindow         *window)
{
  /* Closing the last window quits, and quitting stops the server first;
   * the window stays until it has. */
  g_action_group_activate_action (G_ACTION_GROUP (self), "quit", NULL);
  return TRUE;
}

static const GActionEntry app_actions[] = {
  { "start", start_action },
  { "stop", stop_action },
  { "restart", restart_action },
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
roadie_application_startup (GApplication *application)
{
  RoadieApplication *self = ROADIE_APPLICATION (application);
  g_autoptr(GSettings) gsettings = NULL;
  g_autoptr(GError) error = NULL;

  G_APPLICATION_CLASS (roadie_application_parent_class)->startup (application);

  g_action_map_add_action_entries (G_ACTION_MAP (self), app_actions,
                                   G_N_ELEMENTS (app_actions), self);
  gtk_application_set_accels_for_action (GTK_APPLICATION (self), "app.quit",
                                         (const char *[]) { "<Control>q", NULL });

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

  roadie_service_startup (self->service);
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
      g_signal_connect_object (window, "close-request",
                               G_CALLBACK (window_close_request_cb), self,
                               G_CONNECT_SWAPPED);
      if (self->api_problem_handler == 0)
        self->api_problem_handler =
          g_signal_connect_swapped (self->service, "notify::control-api-problem",
                                    G_CALLBACK (control_api_problem_cb), self);
    }

  gtk_window_present (GTK_WINDOW (window));
}

static int
roadie_application_handle_local_options (GApplication *application,
                                         GVariantDict *options)
{
  RoadieApplication *self = ROADIE_APPLICATION (application);
  g_autoptr(GError) error = NULL;
  g_autofree const char **assignments = NULL;

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

  if (!g_variant_dict_lookup (options, "set", "^a&s", &assignments))
    return -1;

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

  /* Registering runs startup here when this is the first instance, which
   * applies the overrides before the server is auto-started. */
  if (!g_application_register (application, NULL, &error))
    {
      g_printerr ("%s\n", error->message);
      return 1;
    }

  if (g_application_get_is_remote (application))
    g_printerr (_("Roadie is already running; --set only applies when Roadie starts.\n"));
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
  g_clear_object (&self->service);

  G_OBJECT_CLASS (roadie_application_parent_class)->dispose (object);
}

static void
roadie_application_finalize (GObject *object)
{
  RoadieApplication *self = ROADIE_APPLICATION (object);

  g_clear_pointer (&self->overrides, g_ptr_array_unref);
  g_clear_pointer (&self->overrides_error, g_free);

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
