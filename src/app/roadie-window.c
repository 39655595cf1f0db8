/* roadie-window.c: the main window: Start/Stop, Restart, the status, the
 * live view, the connections and the log.
 *
 * Everything about the server comes from the supervisor and is refreshed on
 * its "changed" signal; one short timer ticks only while an uptime or a
 * restart countdown is on screen. Commands never wait: the supervisor's
 * start and stop return at once and report back through "changed". The
 * live view and the connections page are fed by the engine link.
 */
#define _GNU_SOURCE /* sigabbrev_np () */
#include "config.h"

#include <signal.h>
#include <string.h>

#include <glib/gi18n.h>

#include "roadie-connections-view.h"
#include "roadie-log-view.h"
#include "roadie-service.h"
#include "roadie-spectrum-view.h"
#include "roadie-window.h"

/* Fine enough for a seconds countdown, or a seconds uptime, not to skip a
 * number; the uptime alone can tick more lazily. */
#define COUNTDOWN_TICK_MS 250
#define UPTIME_TICK_MS    500

struct _RoadieWindow
{
  AdwApplicationWindow  parent_instance;

  RoadieSupervisor     *supervisor;
  char                 *control_api_problem;
  /* The refusal of the last command (e.g. the executable is missing). */
  char                 *command_error;
  GtkFileChooserNative *chooser;
  gulong                changed_handler;
  guint                 tick_id;
  guint                 tick_interval_ms;

  /* Template widgets */
  AdwViewSwitcherTitle *switcher_title;
  AdwViewStack         *view_stack;
  GtkStack             *live_stack;
  GtkWidget            *spectrum_box;
  AdwStatusPage        *failed_page;
  GtkWidget            *stopped_start_button;
  GtkWidget            *failed_start_button;
  GtkWidget            *connections_box;
  GtkWidget            *log_box;
  GtkWidget            *log_view;
  GtkWidget            *spectrum_view;
  GtkWidget            *connections_view;

  RoadieEngineLink     *engine_link;
  gulong                frame_handler;
  gulong                analysis_handler;
  gulong                stats_handler;
  GtkButton            *start_button;
  GtkButton            *restart_button;
  AdwToastOverlay      *toast_overlay;
  GtkWidget            *status_dot;
  GtkLabel             *state_label;
  GtkLabel             *state_detail_label;
  GtkWidget            *problem_group;
  AdwActionRow         *error_row;
  GtkWidget            *choose_button;
  AdwActionRow         *api_row;
  AdwPreferencesGroup  *run_group;
  AdwPreferencesGroup  *details_group;
  GtkLabel             *pid_label;
  GtkLabel             *uptime_label;
  GtkLabel             *restarts_label;
  GtkLabel             *last_exit_label;
};

G_DEFINE_FINAL_TYPE (RoadieWindow, roadie_window, ADW_TYPE_APPLICATION_WINDOW)

enum {
  PROP_0,
  PROP_SUPERVISOR,
  PROP_CONTROL_API_PROBLEM,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

static const char * const dot_classes[] = {
  "success", "warning", "error", "accent", "dim-label",
};

static void roadie_window_refresh (RoadieWindow *self);

static char *
format_duration (gint64 ms)
{
  guint64 s = (guint64) MAX (ms, 0) / 1000;

  if (s < 60)
    return g_strdup_printf (_("%u s"), (guint) s);
  if (s < 60 * 60)
    return g_strdup_printf (_("%u min %02u s"), (guint) (s / 60), (guint) (s % 60));
  if (s < 24 * 60 * 60)
    return g_strdup_printf (_("%u h %02u min"), (guint) (s / 3600), (guint) (s / 60 % 60));
  return g_strdup_printf (_("%u d %u h"), (guint) (s / 86400), (guint) (s / 3600 % 24));
}

/* "5 min" for the restart window; the schema's default is whole minutes. */
static char *
format_span (gint64 ms)
{
  if (ms >= 60000 && ms % 60000 == 0)
    return g_strdup_printf (_("%u min"), (guint) (ms / 60000));
  return g_strdup_printf (_("%u s"), (guint) ((ms + 999) / 1000));
}

static char *
signal_name (int signum)
{
  const char *abbrev = sigabbrev_np (signum);

  if (abbrev == NULL)
    return g_strdup_printf (_("signal %d"), signum);
  return g_strconcat ("SIG", abbrev, NULL);
}

/* "code 1 at 21:14:03", "killed by SIGKILL at 21:14:03",
 * "stopped by SIGTERM at 21:14:03", or NULL. */
static char *
format_last_exit (RoadieSupervisor *supervisor)
{
  GDateTime *at = NULL; /* owned by the supervisor */
  g_autoptr(GDateTime) local = NULL;
  g_autofree char *time = NULL;
  int code = 0;
  int signum = 0;

  if (!roadie_supervisor_get_last_exit (supervisor, &code, &signum, &at))
    return NULL;

  if (at != NULL)
    {
      local = g_date_time_to_local (at);
      time = g_date_time_format (local, "%X");
    }

  /* SIGTERM and SIGINT are how a server is asked to stop, so "stopped";
   * any other signal ended it against its will. */
  if (signum == SIGTERM || signum == SIGINT)
    {
      g_autofree char *name = signal_name (signum);

      if (time != NULL)
        return g_strdup_printf (_("stopped by %s at %s"), name, time);
      return g_strdup_printf (_("stopped by %s"), name);
    }
  else if (signum > 0)
    {
      g_autofree char *name = signal_name (signum);

      if (time != NULL)
        return g_strdup_printf (_("killed by %s at %s"), name, time);
      return g_strdup_printf (_("killed by %s"), name);
    }

  if (time != NULL)
    return g_strdup_printf (_("code %d at %s"), code, time);
  return g_strdup_printf (_("code %d"), code);
}

static const char *
state_dot_class (RoadieSupervisorState state)
{
  switch (state)
    {
    case ROADIE_SUPERVISOR_STATE_RUNNING:
      return "success";

    case ROADIE_SUPERVISOR_STATE_STARTING:
    case ROADIE_SUPERVISOR_STATE_UNHEALTHY:
    case ROADIE_SUPERVISOR_STATE_BACKOFF:
    case ROADIE_SUPERVISOR_STATE_STOPPING:
      return "warning";

    case ROADIE_SUPERVISOR_STATE_FAILED:
      return "error";

    case ROADIE_SUPERVISOR_STATE_ATTACHED:
      return "accent";

    case ROADIE_SUPERVISOR_STATE_STOPPED:
    default:
      return "dim-label";
    }
}

/* The big words, readable from across the booth. */
static char *
state_title (RoadieSupervisor *supervisor)
{
  RoadieSupervisorState state = roadie_supervisor_get_state (supervisor);

  switch (state)
    {
    case ROADIE_SUPERVISOR_STATE_STOPPED:
      return g_strdup (_("Stopped"));

    case ROADIE_SUPERVISOR_STATE_STARTING:
      return g_strdup (_("Starting…"));

    case ROADIE_SUPERVISOR_STATE_RUNNING:
      return g_strdup (_("Running"));

    case ROADIE_SUPERVISOR_STATE_UNHEALTHY:
      return g_strdup (_("Not Responding"));

    case ROADIE_SUPERVISOR_STATE_BACKOFF:
      {
        gint64 ms = roadie_supervisor_get_next_restart_in_ms (supervisor);

        if (ms <= 0)
          return g_strdup (_("Restarting…"));
        return g_strdup_printf (_("Restarting in %u s…"), (guint) ((ms + 999) / 1000));
      }

    case ROADIE_SUPERVISOR_STATE_FAILED:
      return g_strdup (_("Failed"));

    case ROADIE_SUPERVISOR_STATE_STOPPING:
      return g_strdup (_("Stopping…"));

    case ROADIE_SUPERVISOR_STATE_ATTACHED:
      return g_strdup (_("Attached"));

    default:
      g_return_val_if_reached (g_strdup (""));
    }
}

/* One line under the big words: what is going on, or what to do. */
static char *
state_detail (RoadieSupervisor *supervisor)
{
  RoadieSettings *settings = roadie_supervisor_get_settings (supervisor);
  int port = roadie_settings_get_int (settings, "ws-port");

  switch (roadie_supervisor_get_state (supervisor))
    {
    case ROADIE_SUPERVISOR_STATE_STOPPED:
      if (roadie_supervisor_get_last_error (supervisor) != NULL)
        return g_strdup (_("The audio server is not running. Fix the problem below, then press Start."));
      return g_strdup (_("The audio server is not running. Press Start to launch it."));

    case ROADIE_SUPERVISOR_STATE_STARTING:
      return g_strdup_printf (_("Waiting for the server to answer on port %d"), port);

    case ROADIE_SUPERVISOR_STATE_RUNNING:
      return g_strdup_printf (_("Healthy, answering on port %d"), port);

    case ROADIE_SUPERVISOR_STATE_UNHEALTHY:
      return g_strdup_printf (_("The server stopped answering on port %d"), port);

    case ROADIE_SUPERVISOR_STATE_BACKOFF:
      {
        g_autofree char *last_exit = format_last_exit (supervisor);

        if (last_exit == NULL)
          return g_strdup (_("The server stopped unexpectedly"));
        /* Translators: %s is e.g. "killed by SIGKILL at 21:14:03" */
        return g_strdup_printf (_("The server stopped unexpectedly: %s"), last_exit);
      }

    case ROADIE_SUPERVISOR_STATE_FAILED:
      return g_strdup (_("Manual intervention needed: fix the problem, then press Start."));

    case ROADIE_SUPERVISOR_STATE_STOPPING:
      return g_strdup (_("Waiting for the server to exit"));

    case ROADIE_SUPERVISOR_STATE_ATTACHED:
      return g_strdup_printf (_("Watching a server Roadie did not start, on port %d"), port);

    default:
      g_return_val_if_reached (g_strdup (""));
    }
}

static void
set_label (GtkLabel   *label,
           const char *text)
{
  /* An em dash keeps the row calm and its height steady. */
  gtk_label_set_text (label, text != NULL ? text : "—");
}

/* True when the configured program cannot be run, so choosing another is
 * the fix. */
static gboolean
executable_is_unusable (RoadieSupervisor *supervisor)
{
  g_autofree char *path = roadie_supervisor_dup_executable_path (supervisor);

  return path == NULL ||
         !g_file_test (path, G_FILE_TEST_IS_REGULAR) ||
         !g_file_test (path, G_FILE_TEST_IS_EXECUTABLE);
}

/* Whether the uptime row counts: a server is up, or has just come up and
 * its uptime is still under a millisecond. */
static gboolean
shows_uptime (RoadieSupervisor *supervisor)
{
  return roadie_supervisor_state_is_up (roadie_supervisor_get_state (supervisor))
         || roadie_supervisor_get_uptime_ms (supervisor) > 0;
}

static void
update_uptime (RoadieWindow *self)
{
  g_autofree char *uptime = NULL;

  if (shows_uptime (self->supervisor))
    uptime = format_duration (roadie_supervisor_get_uptime_ms (self->supervisor));
  set_label (self->uptime_label, uptime);
}

/* Only what moves with the clock alone: the restart countdown in the
 * title and the uptime. Everything else changes with the supervisor's
 * "changed" signal, which refreshes the whole window. */
static gboolean
tick_cb (gpointer user_data)
{
  RoadieWindow *self = user_data;
  g_autofree char *title = state_title (self->supervisor);

  gtk_label_set_text (self->state_label, title);
  update_uptime (self);
  return G_SOURCE_CONTINUE;
}

/* interval_ms 0: nothing on screen changes by itself, so no timer. */
static void
update_tick (RoadieWindow *self,
             guint         interval_ms)
{
  if (self->tick_id != 0 && self->tick_interval_ms == interval_ms)
    return;

  g_clear_handle_id (&self->tick_id, g_source_remove);
  self->tick_interval_ms = interval_ms;
  if (interval_ms > 0)
    self->tick_id = g_timeout_add (interval_ms, tick_cb, self);
}

static void
update_commands (RoadieWindow          *self,
                 RoadieSupervisorState  state)
{
  GtkWidget *widget = GTK_WIDGET (self->start_button);
  gboolean can_start = roadie_service_state_can_start (state);
  gboolean can_stop = roadie_service_state_can_stop (state);

  gtk_widget_action_set_enabled (GTK_WIDGET (self), "win.start", can_start);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "win.stop", can_stop);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "win.restart",
                                 roadie_service_state_can_restart (state));

  /* One button that always offers the next sensible step. */
  if (can_start)
    {
      gtk_button_set_label (self->start_button, _("Start"));
      gtk_actionable_set_action_name (GTK_ACTIONABLE (widget), "win.start");
      gtk_widget_set_tooltip_text (widget, _("Start the audio server"));
      gtk_widget_remove_css_class (widget, "destructive-action");
      gtk_widget_add_css_class (widget, "suggested-action");
      return;
    }

  gtk_button_set_label (self->start_button, _("Stop"));
  gtk_actionable_set_action_name (GTK_ACTIONABLE (widget), "win.stop");
  gtk_widget_remove_css_class (widget, "suggested-action");
  if (can_stop)
    gtk_widget_add_css_class (widget, "destructive-action");
  else
    gtk_widget_remove_css_class (widget, "destructive-action");

  if (state == ROADIE_SUPERVISOR_STATE_ATTACHED)
    gtk_widget_set_tooltip_text (widget, _("Roadie did not start this server, so it cannot stop it"));
  else if (state == ROADIE_SUPERVISOR_STATE_STOPPING)
    gtk_widget_set_tooltip_text (widget, _("The audio server is stopping"));
  else
    gtk_widget_set_tooltip_text (widget, _("Stop the audio server"));
}

static void
update_status_card (RoadieWindow          *self,
                    RoadieSupervisorState  state)
{
  g_autofree char *title = state_title (self->supervisor);
  g_autofree char *detail = state_detail (self->supervisor);
  const char *dot_class = state_dot_class (state);

  gtk_label_set_text (self->state_label, title);
  gtk_label_set_text (self->state_detail_label, detail);

  for (guint i = 0; i < G_N_ELEMENTS (dot_classes); i++)
    if (g_strcmp0 (dot_classes[i], dot_class) != 0)
      gtk_widget_remove_css_class (self->status_dot, dot_classes[i]);
  gtk_widget_add_css_class (self->status_dot, dot_class);
}

static void
update_details (RoadieWindow *self)
{
  RoadieSettings *settings = roadie_supervisor_get_settings (self->supervisor);
  g_autofree char *path = roadie_supervisor_dup_executable_path (self->supervisor);
  g_autofree char *basename = path != NULL ? g_path_get_basename (path) : NULL;
  g_autofree char *pid = NULL;
  g_autofree char *span = NULL;
  g_autofree char *restarts = NULL;
  g_autofree char *last_exit = NULL;
  GPid server_pid = roadie_supervisor_get_pid (self->supervisor);

  adw_view_switcher_title_set_subtitle (self->switcher_title, basename != NULL ? basename : "");
  adw_preferences_group_set_description (self->details_group, path);

  if (server_pid > 0)
    pid = g_strdup_printf ("%d", (int) server_pid);
  span = format_span (roadie_settings_get_int (settings, "restart-window-ms"));
  /* Translators: "2 of 5 in the last 5 min" */
  restarts = g_strdup_printf (_("%u of %u in the last %s"),
                              roadie_supervisor_get_restart_count (self->supervisor),
                              roadie_supervisor_get_max_restarts (self->supervisor),
                              span);
  last_exit = format_last_exit (self->supervisor);

  set_label (self->pid_label, pid);
  update_uptime (self);
  set_label (self->restarts_label, restarts);
  set_label (self->last_exit_label, last_exit);
}

static void
update_problems (RoadieWindow *self)
{
  const char *error = roadie_supervisor_get_last_error (self->supervisor);

  if (error == NULL)
    error = self->command_error;
  /* The "gave up" page says it already, with its action. */
  if (roadie_supervisor_get_state (self->supervisor) == ROADIE_SUPERVISOR_STATE_FAILED
      && !executable_is_unusable (self->supervisor))
    error = NULL;

  if (error != NULL)
    {
      adw_preferences_row_set_title (ADW_PREFERENCES_ROW (self->error_row), error);
      gtk_widget_set_visible (self->choose_button, executable_is_unusable (self->supervisor));
    }
  gtk_widget_set_visible (GTK_WIDGET (self->error_row), error != NULL);

  if (self->control_api_problem != NULL)
    adw_action_row_set_subtitle (self->api_row, self->control_api_problem);
  gtk_widget_set_visible (GTK_WIDGET (self->api_row), self->control_api_problem != NULL);

  gtk_widget_set_visible (self->problem_group,
                          error != NULL || self->control_api_problem != NULL);
}

/* The big area shows the live view whenever a server is (or is about to
 * be) there; otherwise one status page with the one action that helps. */
static void
update_live_area (RoadieWindow          *self,
                  RoadieSupervisorState  state)
{
  if (state == ROADIE_SUPERVISOR_STATE_FAILED)
    {
      const char *error = roadie_supervisor_get_last_error (self->supervisor);
      const char *description = error != NULL
                                ? error
                                : _("The audio server kept stopping, so Roadie stopped restarting it.");

      adw_status_page_set_description (self->failed_page, description);
      gtk_stack_set_visible_child_name (self->live_stack, "failed");
    }
  else if (state == ROADIE_SUPERVISOR_STATE_STOPPED)
    gtk_stack_set_visible_child_name (self->live_stack, "stopped");
  else
    gtk_stack_set_visible_child_name (self->live_stack, "spectrum");
}

/* What the live view says when it has nothing to draw, in the DJ's terms. */
static void
update_spectrum_idle (RoadieWindow *self)
{
  RoadieEngineAnalysis analysis = ROADIE_ENGINE_ANALYSIS_DISCONNECTED;
  RoadieSupervisorState state = roadie_supervisor_get_state (self->supervisor);
  RoadieSpectrumView *view = ROADIE_SPECTRUM_VIEW (self->spectrum_view);
  g_autofree char *detail = NULL;

  if (self->engine_link != NULL)
    analysis = roadie_engine_link_get_analysis (self->engine_link);

  switch (analysis)
    {
    case ROADIE_ENGINE_ANALYSIS_LIVE:
      roadie_spectrum_view_set_idle (view, NULL, NULL);
      return;

    case ROADIE_ENGINE_ANALYSIS_WAITING:
      roadie_spectrum_view_set_idle (view, _("Listening…"),
                                     _("Connected to the audio server; its analysis is on the way."));
      return;

    case ROADIE_ENGINE_ANALYSIS_NO_AUDIO:
      roadie_spectrum_view_set_idle (view, _("No Audio"),
                                     _("The engine hears nothing. Check that music plays on the output it captures."));
      return;

    case ROADIE_ENGINE_ANALYSIS_NOT_ROADIE:
      {
        g_autofree char *path = roadie_supervisor_dup_executable_path (self->supervisor);
        g_autofree char *name = path != NULL ? g_path_get_basename (path) : g_strdup (_("This server"));

        /* Translators: %s is the audio server's program name, e.g. MismoDJ */
        detail = g_strdup_printf (_("%s does not send a spectrum. Roadie still keeps it running."), name);
        roadie_spectrum_view_set_idle (view, _("No Analysis From This Server"), detail);
        return;
      }

    case ROADIE_ENGINE_ANALYSIS_STALLED:
      roadie_spectrum_view_set_idle (view, _("Analysis Stopped"),
                                     _("The audio server stopped sending frames."));
      return;

    case ROADIE_ENGINE_ANALYSIS_DISCONNECTED:
    default:
      break;
    }

  switch (state)
    {
    case ROADIE_SUPERVISOR_STATE_STARTING:
      roadie_spectrum_view_set_idle (view, _("Starting…"), _("Waiting for the audio server to answer."));
      break;

    case ROADIE_SUPERVISOR_STATE_BACKOFF:
      roadie_spectrum_view_set_idle (view, _("Restarting…"), _("The audio server will be back in a moment."));
      break;

    case ROADIE_SUPERVISOR_STATE_STOPPING:
      roadie_spectrum_view_set_idle (view, _("Stopping…"), NULL);
      break;

    default:
      roadie_spectrum_view_set_idle (view, _("Not Connected"),
                                     _("Roadie cannot reach the audio server’s analysis."));
      break;
    }
}

static void
roadie_window_refresh (RoadieWindow *self)
{
  RoadieSupervisorState state = roadie_supervisor_get_state (self->supervisor);

  update_commands (self, state);
  update_status_card (self, state);
  update_live_area (self, state);
  update_spectrum_idle (self);
  update_details (self);
  update_problems (self);
  if (state == ROADIE_SUPERVISOR_STATE_BACKOFF)
    update_tick (self, COUNTDOWN_TICK_MS);
  else if (shows_uptime (self->supervisor))
    update_tick (self, UPTIME_TICK_MS);
  else
    update_tick (self, 0);
}

static void
set_command_error (RoadieWindow *self,
                   const char   *message)
{
  if (g_strcmp0 (self->command_error, message) != 0)
    {
      g_free (self->command_error);
      self->command_error = g_strdup (message);
    }
  roadie_window_refresh (self);
}

static void
start_action (GtkWidget  *widget,
              const char *action_name,
              GVariant   *parameter)
{
  RoadieWindow *self = ROADIE_WINDOW (widget);
  g_autoptr(GError) error = NULL;

  roadie_supervisor_start (self->supervisor, &error);
  set_command_error (self, error != NULL ? error->message : NULL);
}

static void
stop_action (GtkWidget  *widget,
             const char *action_name,
             GVariant   *parameter)
{
  RoadieWindow *self = ROADIE_WINDOW (widget);
  g_autoptr(GError) error = NULL;

  roadie_supervisor_stop (self->supervisor, &error);
  set_command_error (self, error != NULL ? error->message : NULL);
}

static void
restart_action (GtkWidget  *widget,
                const char *action_name,
                GVariant   *parameter)
{
  RoadieWindow *self = ROADIE_WINDOW (widget);
  g_autoptr(GError) error = NULL;

  roadie_supervisor_restart (self->supervisor, &error);
  set_command_error (self, error != NULL ? error->message : NULL);
}

static void
show_toast (RoadieWindow *self,
            const char   *message)
{
  AdwToast *toast = adw_toast_new (message);

  adw_toast_set_timeout (toast, 5);
  adw_toast_overlay_add_toast (self->toast_overlay, toast);
}

static void
chooser_response_cb (RoadieWindow         *self,
                     int                   response,
                     GtkFileChooserNative *chooser)
{
  RoadieSettings *settings = roadie_supervisor_get_settings (self->supervisor);
  g_autoptr(GFile) file = NULL;
  g_autofree char *path = NULL;
  g_autofree char *message = NULL;
  const char *source;

  if (response == GTK_RESPONSE_ACCEPT)
    file = gtk_file_chooser_get_file (GTK_FILE_CHOOSER (chooser));
  g_signal_handlers_disconnect_by_data (chooser, self);
  g_clear_object (&self->chooser);

  if (file == NULL)
    return;

  path = g_file_get_path (file);
  if (path == NULL)
    {
      show_toast (self, _("Choose a program on this computer"));
      return;
    }

  g_settings_set_string (roadie_settings_get_gsettings (settings), "executable-path", path);
  g_clear_pointer (&self->command_error, g_free);

  source = roadie_settings_get_override_source (settings, "executable-path");
  if (source != NULL)
    message = g_strdup_printf (_("Saved, but %s overrides it for this run"), source);
  else if (!g_file_test (path, G_FILE_TEST_IS_EXECUTABLE))
    message = g_strdup_printf (_("%s is not executable (chmod +x it)"), path);
  else
    message = g_strdup (_("Saved. Press Start to run it."));

  show_toast (self, message);
  roadie_window_refresh (self);
}

static void
choose_executable_action (GtkWidget  *widget,
                          const char *action_name,
                          GVariant   *parameter)
{
  RoadieWindow *self = ROADIE_WINDOW (widget);

  if (self->chooser == NULL)
    {
      self->chooser = gtk_file_chooser_native_new (_("Choose the Audio Server"),
                                                   GTK_WINDOW (self),
                                                   GTK_FILE_CHOOSER_ACTION_OPEN,
                                                   _("_Choose"),
                                                   _("_Cancel"));
      gtk_native_dialog_set_modal (GTK_NATIVE_DIALOG (self->chooser), TRUE);
      g_signal_connect_swapped (self->chooser, "response",
                                G_CALLBACK (chooser_response_cb), self);
    }
  gtk_native_dialog_show (GTK_NATIVE_DIALOG (self->chooser));
}

static void
show_view_action (GtkWidget  *widget,
                  const char *action_name,
                  GVariant   *parameter)
{
  RoadieWindow *self = ROADIE_WINDOW (widget);
  const char *name = g_variant_get_string (parameter, NULL);

  if (adw_view_stack_get_child_by_name (self->view_stack, name) != NULL)
    adw_view_stack_set_visible_child_name (self->view_stack, name);
}

static GtkWidget *
new_run_row (const char *title,
             const char *subtitle,
             const char *icon_name,
             const char *icon_class)
{
  GtkWidget *row = adw_action_row_new ();
  GtkWidget *icon = g_object_new (GTK_TYPE_IMAGE,
                                  "icon-name", icon_name,
                                  "accessible-role", GTK_ACCESSIBLE_ROLE_PRESENTATION,
                                  NULL);

  adw_preferences_row_set_use_markup (ADW_PREFERENCES_ROW (row), FALSE);
  adw_preferences_row_set_title (ADW_PREFERENCES_ROW (row), title);
  adw_action_row_set_subtitle (ADW_ACTION_ROW (row), subtitle);
  adw_action_row_set_title_lines (ADW_ACTION_ROW (row), 0);
  adw_action_row_set_subtitle_lines (ADW_ACTION_ROW (row), 0);
  gtk_widget_add_css_class (icon, icon_class);
  adw_action_row_add_prefix (ADW_ACTION_ROW (row), icon);
  return row;
}

/* What the environment or the command line changed for this run, and what
 * it tried to change but could not: a DJ must not wonder why a stored
 * preference seems to be ignored. Overrides are fixed at start-up. */
static void
fill_run_group (RoadieWindow *self)
{
  RoadieSettings *settings = roadie_supervisor_get_settings (self->supervisor);
  const char * const *problems = roadie_settings_get_problems (settings);
  g_autoptr(GSettingsSchema) schema = NULL;
  g_auto(GStrv) keys = NULL;
  gboolean any = FALSE;

  g_object_get (roadie_settings_get_gsettings (settings), "settings-schema", &schema, NULL);
  keys = g_settings_schema_list_keys (schema);
  for (guint i = 0; keys[i] != NULL; i++)
    {
      const char *source = roadie_settings_get_override_source (settings, keys[i]);
      g_autoptr(GVariant) value = NULL;
      g_autofree char *text = NULL;
      g_autofree char *subtitle = NULL;

      if (source == NULL)
        continue;
      value = roadie_settings_get_value (settings, keys[i]);
      text = g_variant_is_of_type (value, G_VARIANT_TYPE_STRING)
             ? g_variant_dup_string (value, NULL)
             : g_variant_print (value, FALSE);
      /* Translators: "9090, from AUDIO_SERVER_WS_PORT" */
      subtitle = g_strdup_printf (_("%s, from %s"), text, source);
      adw_preferences_group_add (self->run_group,
                                 new_run_row (keys[i], subtitle, "document-edit-symbolic", "accent"));
      any = TRUE;
    }
  for (guint i = 0; problems != NULL && problems[i] != NULL; i++)
    {
      adw_preferences_group_add (self->run_group,
                                 new_run_row (_("Ignored"), problems[i], "dialog-warning-symbolic", "warning"));
      any = TRUE;
    }
  gtk_widget_set_visible (GTK_WIDGET (self->run_group), any);
}

static void
roadie_window_constructed (GObject *object)
{
  RoadieWindow *self = ROADIE_WINDOW (object);

  G_OBJECT_CLASS (roadie_window_parent_class)->constructed (object);

  g_assert (ROADIE_IS_SUPERVISOR (self->supervisor));

  self->changed_handler = g_signal_connect_swapped (self->supervisor, "changed",
                                                    G_CALLBACK (roadie_window_refresh),
                                                    self);
  self->spectrum_view = roadie_spectrum_view_new ();
  gtk_widget_set_vexpand (self->spectrum_view, TRUE);
  gtk_box_append (GTK_BOX (self->spectrum_box), self->spectrum_view);

  self->connections_view = roadie_connections_view_new ();
  gtk_box_append (GTK_BOX (self->connections_box), self->connections_view);

  self->log_view = roadie_log_view_new (self->supervisor);
  gtk_widget_set_vexpand (self->log_view, TRUE);
  gtk_box_append (GTK_BOX (self->log_box), self->log_view);

  fill_run_group (self);
  roadie_window_refresh (self);
}

static void
roadie_window_dispose (GObject *object)
{
  RoadieWindow *self = ROADIE_WINDOW (object);

  g_clear_handle_id (&self->tick_id, g_source_remove);
  roadie_window_set_engine_link (self, NULL);
  if (self->supervisor != NULL)
    g_clear_signal_handler (&self->changed_handler, self->supervisor);
  if (self->chooser != NULL)
    {
      g_signal_handlers_disconnect_by_data (self->chooser, self);
      gtk_native_dialog_destroy (GTK_NATIVE_DIALOG (self->chooser));
      g_clear_object (&self->chooser);
    }
  g_clear_object (&self->supervisor);

  G_OBJECT_CLASS (roadie_window_parent_class)->dispose (object);
}

static void
roadie_window_finalize (GObject *object)
{
  RoadieWindow *self = ROADIE_WINDOW (object);

  g_clear_pointer (&self->control_api_problem, g_free);
  g_clear_pointer (&self->command_error, g_free);

  G_OBJECT_CLASS (roadie_window_parent_class)->finalize (object);
}

static void
roadie_window_get_property (GObject    *object,
                            guint       prop_id,
                            GValue     *value,
                            GParamSpec *pspec)
{
  RoadieWindow *self = ROADIE_WINDOW (object);

  switch (prop_id)
    {
    case PROP_SUPERVISOR:
      g_value_set_object (value, self->supervisor);
      break;

    case PROP_CONTROL_API_PROBLEM:
      g_value_set_string (value, self->control_api_problem);
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
roadie_window_set_property (GObject      *object,
                            guint         prop_id,
                            const GValue *value,
                            GParamSpec   *pspec)
{
  RoadieWindow *self = ROADIE_WINDOW (object);

  switch (prop_id)
    {
    case PROP_SUPERVISOR:
      self->supervisor = g_value_dup_object (value);
      break;

    case PROP_CONTROL_API_PROBLEM:
      roadie_window_set_control_api_problem (self, g_value_get_string (value));
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
roadie_window_class_init (RoadieWindowClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->constructed = roadie_window_constructed;
  object_class->dispose = roadie_window_dispose;
  object_class->finalize = roadie_window_finalize;
  object_class->get_property = roadie_window_get_property;
  object_class->set_property = roadie_window_set_property;

  properties[PROP_SUPERVISOR] =
    g_param_spec_object ("supervisor", NULL, NULL,
                         ROADIE_TYPE_SUPERVISOR,
                         (G_PARAM_READWRITE |
                          G_PARAM_CONSTRUCT_ONLY |
                          G_PARAM_STATIC_STRINGS));

  properties[PROP_CONTROL_API_PROBLEM] =
    g_param_spec_string ("control-api-problem", NULL, NULL,
                         NULL,
                         (G_PARAM_READWRITE |
                          G_PARAM_EXPLICIT_NOTIFY |
                          G_PARAM_STATIC_STRINGS));

  g_object_class_install_properties (object_class, N_PROPS, properties);

  gtk_widget_class_set_template_from_resource (widget_class, "/io/github/roadie/Roadie/roadie-window.ui");
  gtk_widget_class_bind_template_child (widget_class, RoadieWindow, switcher_title);
  gtk_widget_class_bind_template_child (widget_class, RoadieWindow, view_stack);
  gtk_widget_class_bind_template_child (widget_class, RoadieWindow, live_stack);
  gtk_widget_class_bind_template_child (widget_class, RoadieWindow, spectrum_box);
  gtk_widget_class_bind_template_child (widget_class, RoadieWindow, failed_page);
  gtk_widget_class_bind_template_child (widget_class, RoadieWindow, stopped_start_button);
  gtk_widget_class_bind_template_child (widget_class, RoadieWindow, failed_start_button);
  gtk_widget_class_bind_template_child (widget_class, RoadieWindow, connections_box);
  gtk_widget_class_bind_template_child (widget_class, RoadieWindow, log_box);
  gtk_widget_class_bind_template_child (widget_class, RoadieWindow, start_button);
  gtk_widget_class_bind_template_child (widget_class, RoadieWindow, restart_button);
  gtk_widget_class_bind_template_child (widget_class, RoadieWindow, toast_overlay);
  gtk_widget_class_bind_template_child (widget_class, RoadieWindow, status_dot);
  gtk_widget_class_bind_template_child (widget_class, RoadieWindow, state_label);
  gtk_widget_class_bind_template_child (widget_class, RoadieWindow, state_detail_label);
  gtk_widget_class_bind_template_child (widget_class, RoadieWindow, problem_group);
  gtk_widget_class_bind_template_child (widget_class, RoadieWindow, error_row);
  gtk_widget_class_bind_template_child (widget_class, RoadieWindow, choose_button);
  gtk_widget_class_bind_template_child (widget_class, RoadieWindow, api_row);
  gtk_widget_class_bind_template_child (widget_class, RoadieWindow, run_group);
  gtk_widget_class_bind_template_child (widget_class, RoadieWindow, details_group);
  gtk_widget_class_bind_template_child (widget_class, RoadieWindow, pid_label);
  gtk_widget_class_bind_template_child (widget_class, RoadieWindow, uptime_label);
  gtk_widget_class_bind_template_child (widget_class, RoadieWindow, restarts_label);
  gtk_widget_class_bind_template_child (widget_class, RoadieWindow, last_exit_label);

  gtk_widget_class_install_action (widget_class, "win.start", NULL, start_action);
  gtk_widget_class_install_action (widget_class, "win.stop", NULL, stop_action);
  gtk_widget_class_install_action (widget_class, "win.restart", NULL, restart_action);
  gtk_widget_class_install_action (widget_class, "win.choose-executable", NULL, choose_executable_action);

  gtk_widget_class_install_action (widget_class, "win.show-view", "s", show_view_action);

  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_1, GDK_ALT_MASK, "win.show-view", "s", "live");
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_2, GDK_ALT_MASK, "win.show-view", "s", "connections");
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_3, GDK_ALT_MASK, "win.show-view", "s", "log");
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_r, GDK_CONTROL_MASK, "win.restart", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_F5, 0, "win.restart", NULL);
}

static void
roadie_window_init (RoadieWindow *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
}

RoadieWindow *
roadie_window_new (GtkApplication   *application,
                   RoadieSupervisor *supervisor)
{
  g_return_val_if_fail (!application || GTK_IS_APPLICATION (application), NULL);
  g_return_val_if_fail (ROADIE_IS_SUPERVISOR (supervisor), NULL);

  return g_object_new (ROADIE_TYPE_WINDOW,
                       "application", application,
                       "supervisor", supervisor,
                       NULL);
}

void
roadie_window_set_control_api_problem (RoadieWindow *self,
                                       const char   *message)
{
  g_return_if_fail (ROADIE_IS_WINDOW (self));

  if (g_strcmp0 (self->control_api_problem, message) == 0)
    return;

  g_free (self->control_api_problem);
  self->control_api_problem = g_strdup (message);
  if (self->supervisor != NULL)
    update_problems (self);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_CONTROL_API_PROBLEM]);
}

static void
frame_cb (RoadieWindow          *self,
          const RoadieLiveFrame *frame)
{
  roadie_spectrum_view_push_frame (ROADIE_SPECTRUM_VIEW (self->spectrum_view), frame);
}

static void
stats_changed_cb (RoadieWindow *self)
{
  g_autoptr(JsonObject) stats = NULL;

  if (self->engine_link != NULL)
    stats = roadie_engine_link_dup_stats (self->engine_link);
  roadie_connections_view_set_stats (ROADIE_CONNECTIONS_VIEW (self->connections_view), stats);
}

/* The live view and the connections page follow link; NULL detaches. */
void
roadie_window_set_engine_link (RoadieWindow     *self,
                               RoadieEngineLink *link)
{
  g_return_if_fail (ROADIE_IS_WINDOW (self));
  g_return_if_fail (link == NULL || ROADIE_IS_ENGINE_LINK (link));

  if (self->engine_link == link)
    return;

  if (self->engine_link != NULL)
    {
      g_clear_signal_handler (&self->frame_handler, self->engine_link);
      g_clear_signal_handler (&self->analysis_handler, self->engine_link);
      g_clear_signal_handler (&self->stats_handler, self->engine_link);
      g_clear_object (&self->engine_link);
    }

  if (link != NULL)
    {
      self->engine_link = g_object_ref (link);
      self->frame_handler = g_signal_connect_swapped (link, "frame", G_CALLBACK (frame_cb), self);
      self->analysis_handler = g_signal_connect_swapped (link, "notify::analysis",
                                                         G_CALLBACK (update_spectrum_idle), self);
      self->stats_handler = g_signal_connect_swapped (link, "stats-changed",
                                                      G_CALLBACK (stats_changed_cb), self);
    }

  /* Not while the window is being torn down. */
  if (self->spectrum_view != NULL && gtk_widget_get_parent (self->spectrum_view) != NULL)
    {
      update_spectrum_idle (self);
      stats_changed_cb (self);
    }
}
