/* test-window.c: the main window against a real, supervised fake server.
 *
 * Runs under a private Xvfb and a private D-Bus session that the test starts
 * itself. Drives the real RoadieApplication: Start, the server comes up,
 * gets SIGKILLed, the window shows the restart countdown and the new server,
 * Stop, Quit. Saves light and dark screenshots of the running window.
 */
#include "config.h"

#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/types.h>

#include <adwaita.h>

#include "roadie-application.h"
#include "roadie-log-view.h"
#include "roadie-service.h"
#include "roadie-test-gtk.h"
#include "roadie-test-notifications.h"
#include "roadie-test-util.h"
#include "roadie-window.h"

typedef struct
{
  RoadieApplication *app;
  GtkWidget         *window;
  RoadieSupervisor  *supervisor;
  GSettings         *settings;
  char              *tag;
  /* Every text the state label and the line under it showed, in order,
   * without repeats. */
  GPtrArray         *state_texts;
  GPtrArray         *detail_texts;
  guint              control_port;
} Fixture;

static GtkWidget *
template_child (Fixture    *fixture,
                const char *name)
{
  GObject *child = gtk_widget_get_template_child (fixture->window, ROADIE_TYPE_WINDOW, name);

  g_assert_nonnull (child);
  return GTK_WIDGET (child);
}

static const char *
label_text (Fixture    *fixture,
            const char *name)
{
  return gtk_label_get_text (GTK_LABEL (template_child (fixture, name)));
}

static void
record_label (GtkLabel   *label,
              GParamSpec *pspec,
              GPtrArray  *texts)
{
  const char *text = gtk_label_get_text (label);

  if (texts->len == 0 || g_strcmp0 (g_ptr_array_index (texts, texts->len - 1), text) != 0)
    g_ptr_array_add (texts, g_strdup (text));
}

static gboolean
state_reads (gpointer user_data)
{
  Fixture *fixture = ((gpointer *) user_data)[0];
  const char *expected = ((gpointer *) user_data)[1];

  return g_strcmp0 (label_text (fixture, "state_label"), expected) == 0;
}

static void
wait_for_state_text (Fixture    *fixture,
                     const char *expected,
                     guint       timeout_ms)
{
  gpointer data[] = { fixture, (gpointer) expected };

  if (!roadie_test_wait_until (state_reads, data, timeout_ms))
    g_error ("the window still reads “%s” (%s), not “%s”, after %u ms",
             label_text (fixture, "state_label"),
             label_text (fixture, "state_detail_label"),
             expected, timeout_ms);
}

static gboolean
seen_text_with_prefix (GPtrArray  *texts,
                       const char *prefix)
{
  for (guint i = 0; i < texts->len; i++)
    if (g_str_has_prefix (g_ptr_array_index (texts, i), prefix))
      return TRUE;
  return FALSE;
}

static gboolean
restart_shown (gpointer user_data)
{
  Fixture *fixture = user_data;

  return seen_text_with_prefix (fixture->state_texts, "Restarting in ");
}

static gboolean
window_is_mapped (gpointer user_data)
{
  Fixture *fixture = user_data;

  return fixture->window != NULL &&
         gtk_widget_get_mapped (fixture->window) &&
         gtk_widget_get_width (fixture->window) > 0;
}

static gboolean
no_windows_left (gpointer user_data)
{
  Fixture *fixture = user_data;

  return gtk_application_get_windows (GTK_APPLICATION (fixture->app)) == NULL;
}

static gboolean
no_tagged_process (gpointer user_data)
{
  Fixture *fixture = user_data;

  return roadie_test_count_tagged (fixture->tag) == 0;
}

static void
configure_settings (Fixture *fixture)
{
  g_autofree char *port_text = NULL;
  guint16 port = roadie_test_free_port ();
  const char *arguments[5];

  fixture->tag = roadie_test_new_tag ();
  fixture->control_port = roadie_test_free_port ();
  port_text = g_strdup_printf ("%u", port);
  arguments[0] = "--port";
  arguments[1] = port_text;
  arguments[2] = "--tag";
  arguments[3] = fixture->tag;
  arguments[4] = NULL;

  /* The memory backend is one per process, so the application's own
   * GSettings sees these. */
  fixture->settings = g_settings_new (APP_ID);
  g_settings_set_string (fixture->settings, "executable-path", roadie_test_fake_server ());
  g_settings_set_strv (fixture->settings, "arguments", arguments);
  g_settings_set_int (fixture->settings, "ws-port", port);
  g_settings_set_boolean (fixture->settings, "auto-start", FALSE);
  g_settings_set_int (fixture->settings, "restart-delay-ms", 300);
  g_settings_set_int (fixture->settings, "health-check-interval", 500);
  g_settings_set_int (fixture->settings, "stop-timeout-ms", 2000);
  g_settings_set_int (fixture->settings, "control-api-port", fixture->control_port);
}

static Fixture fixture;

static void
fixture_set_up (void)
{
  g_autoptr(GError) error = NULL;

  fixture.state_texts = g_ptr_array_new_with_free_func (g_free);
  fixture.detail_texts = g_ptr_array_new_with_free_func (g_free);
  configure_settings (&fixture);

  fixture.app = roadie_application_new ();
  g_assert_true (g_application_register (G_APPLICATION (fixture.app), NULL, &error));
  g_assert_no_error (error);
  g_assert_false (g_application_get_is_remote (G_APPLICATION (fixture.app)));

  g_application_activate (G_APPLICATION (fixture.app));
  fixture.window = GTK_WIDGET (gtk_application_get_active_window (GTK_APPLICATION (fixture.app)));
  g_assert_true (ROADIE_IS_WINDOW (fixture.window));
  fixture.supervisor = roadie_application_get_supervisor (fixture.app);
  g_assert_true (roadie_test_wait_until (window_is_mapped, &fixture, 10000));

  g_signal_connect (template_child (&fixture, "state_label"), "notify::label",
                    G_CALLBACK (record_label), fixture.state_texts);
  g_signal_connect (template_child (&fixture, "state_detail_label"), "notify::label",
                    G_CALLBACK (record_label), fixture.detail_texts);
}

static void
fixture_tear_down (void)
{
  g_clear_object (&fixture.app);
  g_clear_object (&fixture.settings);
  g_clear_pointer (&fixture.state_texts, g_ptr_array_unref);
  g_clear_pointer (&fixture.detail_texts, g_ptr_array_unref);
  g_clear_pointer (&fixture.tag, g_free);
}

static void
test_window_start_crash_stop (void)
{
  GtkWidget *start_button;
  GtkWidget *api_row;
  GPid first_pid;
  GPid second_pid;
  g_autofree char *pid_text = NULL;

  roadie_test_allow_roadie_warnings ();

  g_assert_true (roadie_test_was_logged ("Initializing audio server (background)..."));

  /* Auto-start is off: nothing runs, Start is the suggested action. */
  start_button = template_child (&fixture, "start_button");
  g_assert_cmpstr (label_text (&fixture, "state_label"), ==, "Stopped");
  g_assert_cmpstr (gtk_button_get_label (GTK_BUTTON (start_button)), ==, "Start");
  g_assert_true (gtk_widget_has_css_class (start_button, "suggested-action"));
  g_assert_true (gtk_widget_is_sensitive (start_button));
  g_assert_false (gtk_widget_is_sensitive (template_child (&fixture, "restart_button")));
  g_assert_cmpuint (roadie_test_count_tagged (fixture.tag), ==, 0);

  /* The control API listens on its free port: no warning row. */
  api_row = template_child (&fixture, "api_row");
  g_assert_false (gtk_widget_get_visible (api_row));
  g_assert_false (gtk_widget_get_visible (template_child (&fixture, "problem_group")));

  /* Click Start. */
  g_assert_true (gtk_widget_activate (start_button));
  wait_for_state_text (&fixture, "Running", 15000);
  first_pid = roadie_supervisor_get_pid (fixture.supervisor);
  g_assert_cmpint (first_pid, >, 0);
  pid_text = g_strdup_printf ("%d", (int) first_pid);
  g_assert_cmpstr (label_text (&fixture, "pid_label"), ==, pid_text);
  g_assert_cmpstr (gtk_button_get_label (GTK_BUTTON (start_button)), ==, "Stop");
  g_assert_true (gtk_widget_has_css_class (start_button, "destructive-action"));
  g_assert_false (gtk_widget_has_css_class (start_button, "suggested-action"));
  g_assert_true (gtk_widget_is_sensitive (template_child (&fixture, "restart_button")));
  g_assert_true (gtk_widget_has_css_class (template_child (&fixture, "status_dot"), "success"));
  g_assert_cmpstr (label_text (&fixture, "restarts_label"), ==, "0 of 5 in the last 5 min");
  g_assert_cmpuint (roadie_test_count_tagged (fixture.tag), >=, 1);

  /* Let the uptime tick past a couple of seconds, then take the pictures. */
  roadie_test_run_for (2200);
  g_assert_true (g_str_has_suffix (label_text (&fixture, "uptime_label"), " s"));
  g_assert_cmpstr (label_text (&fixture, "uptime_label"), !=, "0 s");
  g_free (roadie_test_save_screenshot (fixture.window, "roadie-window.png"));
  adw_style_manager_set_color_scheme (adw_style_manager_get_default (), ADW_COLOR_SCHEME_FORCE_DARK);
  roadie_test_run_for (500);
  g_free (roadie_test_save_screenshot (fixture.window, "roadie-window-dark.png"));
  adw_style_manager_set_color_scheme (adw_style_manager_get_default (), ADW_COLOR_SCHEME_DEFAULT);

  /* Crash it: the window shows the countdown, then the new server. */
  g_assert_cmpint (kill (first_pid, SIGKILL), ==, 0);
  g_assert_true (roadie_test_wait_until (restart_shown, &fixture, 5000));
  /* The crash is seen on the server's pidfd, its exit status only once the
   * reaper has exited, which may be after the countdown: the line under it
   * may or may not name the signal yet. */
  g_assert_true (seen_text_with_prefix (fixture.detail_texts, "The server stopped unexpectedly"));
  g_assert_true (gtk_widget_has_css_class (template_child (&fixture, "status_dot"), "warning"));
  roadie_test_run_for (50);
  g_free (roadie_test_save_screenshot (fixture.window, "roadie-window-restarting.png"));
  wait_for_state_text (&fixture, "Running", 15000);
  second_pid = roadie_supervisor_get_pid (fixture.supervisor);
  g_assert_cmpint (second_pid, >, 0);
  g_assert_cmpint (second_pid, !=, first_pid);
  g_assert_cmpstr (label_text (&fixture, "restarts_label"), ==, "1 of 5 in the last 5 min");
  g_assert_true (g_str_has_prefix (label_text (&fixture, "last_exit_label"), "killed by SIGKILL at "));

  /* Click Stop: stopped, and nothing of the server is left. */
  g_assert_true (gtk_widget_activate (start_button));
  wait_for_state_text (&fixture, "Stopped", 5000);
  g_assert_true (roadie_test_wait_until (no_tagged_process, &fixture, 3000));
  g_assert_cmpstr (gtk_button_get_label (GTK_BUTTON (start_button)), ==, "Start");
  g_assert_cmpstr (label_text (&fixture, "pid_label"), ==, "—");
  g_assert_cmpstr (label_text (&fixture, "uptime_label"), ==, "—");
  g_assert_true (g_str_has_prefix (label_text (&fixture, "last_exit_label"), "stopped by SIGTERM at "));

  for (guint i = 0; i < fixture.state_texts->len; i++)
    g_test_message ("state %u: %s", i, (const char *) g_ptr_array_index (fixture.state_texts, i));
}

static const char *
live_page (void)
{
  return gtk_stack_get_visible_child_name (GTK_STACK (template_child (&fixture, "live_stack")));
}

static gboolean
log_shows (gpointer user_data)
{
  GtkWidget *log_view = roadie_test_find_descendant (template_child (&fixture, "log_box"), ROADIE_TYPE_LOG_VIEW);
  g_autofree char *text = roadie_log_view_dup_text (ROADIE_LOG_VIEW (log_view));

  return strstr (text, user_data) != NULL;
}

/* The big area: a status page with Start when stopped, the live view while
 * a server runs, a "gave up" page with Try Again after a crash loop; and
 * the log page shows the server's lines, standard error marked. */
static void
test_window_live_area_and_failed (void)
{
  g_autofree char *port_text = g_strdup_printf ("%d", g_settings_get_int (fixture.settings, "ws-port"));
  const char *crashing[] = { "--port", port_text, "--tag", fixture.tag, "--crash-after", "300", NULL };
  const char *printing[] = { "--port", port_text, "--tag", fixture.tag, "--print-lines", "2", NULL };
  g_auto(GStrv) saved = g_settings_get_strv (fixture.settings, "arguments");
  AdwStatusPage *failed_page;
  GtkWidget *try_again;

  roadie_test_allow_roadie_warnings ();

  g_assert_cmpstr (label_text (&fixture, "state_label"), ==, "Stopped");
  g_assert_cmpstr (live_page (), ==, "stopped");
  g_assert_cmpstr (gtk_actionable_get_action_name (GTK_ACTIONABLE (template_child (&fixture, "stopped_start_button"))),
                   ==, "win.start");

  g_settings_set_strv (fixture.settings, "arguments", crashing);
  g_settings_set_int (fixture.settings, "max-restarts", 2);
  g_settings_set_int (fixture.settings, "restart-delay-ms", 100);
  g_settings_set_double (fixture.settings, "restart-delay-multiplier", 1.0);

  g_assert_true (gtk_widget_activate (template_child (&fixture, "start_button")));
  wait_for_state_text (&fixture, "Failed", 30000);
  g_assert_cmpstr (live_page (), ==, "failed");
  failed_page = ADW_STATUS_PAGE (template_child (&fixture, "failed_page"));
  g_test_message ("failed page: %s", adw_status_page_get_description (failed_page));
  g_assert_nonnull (strstr (adw_status_page_get_description (failed_page), "gave up restarting it"));
  try_again = template_child (&fixture, "failed_start_button");
  g_assert_true (gtk_widget_is_sensitive (try_again));
  g_assert_true (gtk_widget_has_css_class (template_child (&fixture, "status_dot"), "error"));
  roadie_test_run_for (400);
  g_free (roadie_test_save_screenshot (fixture.window, "roadie-window-failed.png"));

  /* The page's one action: a fixed server runs again. */
  g_settings_set_strv (fixture.settings, "arguments", printing);
  g_assert_true (gtk_widget_activate (try_again));
  wait_for_state_text (&fixture, "Running", 15000);
  g_assert_cmpstr (live_page (), ==, "spectrum");

  g_assert_true (roadie_test_wait_until (log_shows, (gpointer) "STDERR err 2", 5000));
  g_assert_true (log_shows ((gpointer) "line 1\n"));
  gtk_widget_activate_action (fixture.window, "win.show-view", "s", "log");
  roadie_test_run_for (300);
  g_free (roadie_test_save_screenshot (fixture.window, "roadie-window-log.png"));
  gtk_widget_activate_action (fixture.window, "win.show-view", "s", "live");

  g_assert_true (gtk_widget_activate (template_child (&fixture, "start_button")));
  wait_for_state_text (&fixture, "Stopped", 5000);
  g_assert_cmpstr (live_page (), ==, "stopped");

  g_settings_set_strv (fixture.settings, "arguments", (const char * const *) saved);
  g_settings_reset (fixture.settings, "max-restarts");
  g_settings_set_int (fixture.settings, "restart-delay-ms", 300);
  g_settings_reset (fixture.settings, "restart-delay-multiplier");
}

/* Tab reaches Start from wherever the focus is, and activating the focused
 * button (what Enter and Space do) starts the server. */
static void
test_window_keyboard_start (void)
{
  GtkWidget *start_button = template_child (&fixture, "start_button");
  GtkWidget *focus = NULL;
  guint steps;

  roadie_test_allow_roadie_warnings ();

  g_assert_cmpstr (label_text (&fixture, "state_label"), ==, "Stopped");
  gtk_window_set_focus (GTK_WINDOW (fixture.window), NULL);
  for (steps = 0; steps < 40; steps++)
    {
      if (!gtk_widget_child_focus (fixture.window, GTK_DIR_TAB_FORWARD))
        continue;
      focus = gtk_root_get_focus (GTK_ROOT (fixture.window));
      if (focus == start_button || (focus != NULL && gtk_widget_is_ancestor (focus, start_button)))
        break;
    }
  g_test_message ("Start reached after %u Tab presses", steps + 1);
  g_assert_cmpuint (steps, <, 40);
  g_assert_true (gtk_widget_activate (focus));
  wait_for_state_text (&fixture, "Running", 15000);

  /* Ctrl+R is bound to restart; the accessible names are there to say so. */
  g_assert_cmpstr (gtk_widget_get_tooltip_text (template_child (&fixture, "restart_button")), ==,
                   "Restart the audio server (Ctrl+R)");

  g_assert_true (gtk_widget_activate (start_button));
  wait_for_state_text (&fixture, "Stopped", 5000);
}

#ifndef __SANITIZE_ADDRESS__
static GtkWidget *
find_chooser_dialog (void)
{
  GListModel *toplevels = gtk_window_get_toplevels ();

  for (guint i = 0; i < g_list_model_get_n_items (toplevels); i++)
    {
      g_autoptr(GObject) window = g_list_model_get_item (toplevels, i);

      if (GTK_IS_FILE_CHOOSER_DIALOG (window) && gtk_widget_get_mapped (GTK_WIDGET (window)))
        return GTK_WIDGET (window);
    }
  return NULL;
}

static gboolean
chooser_shown (gpointer user_data)
{
  return find_chooser_dialog () != NULL;
}

/* The chooser selects a file only once it has listed its folder. */
static gboolean
chooser_has_file (gpointer user_data)
{
  GtkWidget *chooser = find_chooser_dialog ();
  g_autoptr(GFile) selected = NULL;

  if (chooser == NULL)
    return FALSE;
  selected = gtk_file_chooser_get_file (GTK_FILE_CHOOSER (chooser));
  return selected != NULL && g_file_equal (selected, user_data);
}
#endif

static void
test_window_missing_executable (void)
{
  GtkWidget *start_button = template_child (&fixture, "start_button");
  GtkWidget *error_row = template_child (&fixture, "error_row");
  const char *missing = "/nonexistent/MismoDJ";
  const char *title;
  g_autofree char *chosen = NULL;
#ifndef __SANITIZE_ADDRESS__
  GtkWidget *chooser;
  g_autoptr(GFile) fake = NULL;
#endif

  roadie_test_allow_roadie_warnings ();

  g_assert_cmpstr (label_text (&fixture, "state_label"), ==, "Stopped");
  g_settings_set_string (fixture.settings, "executable-path", missing);

  /* Start is refused at once, in words, with the fix one click away. */
  g_assert_true (gtk_widget_activate (start_button));
  roadie_test_run_for (300);
  g_assert_cmpuint (roadie_test_count_tagged (fixture.tag), ==, 0);
  g_assert_true (gtk_widget_get_visible (template_child (&fixture, "problem_group")));
  g_assert_true (gtk_widget_get_visible (error_row));
  title = adw_preferences_row_get_title (ADW_PREFERENCES_ROW (error_row));
  g_test_message ("error row: %s", title);
  g_assert_nonnull (strstr (title, missing));
  g_assert_true (gtk_widget_get_visible (template_child (&fixture, "choose_button")));
  g_assert_cmpstr (gtk_button_get_label (GTK_BUTTON (start_button)), ==, "Start");
  g_free (roadie_test_save_screenshot (fixture.window, "roadie-window-error.png"));

  /* Choose… opens a file chooser; the chosen program is stored. */
#ifndef __SANITIZE_ADDRESS__
  g_assert_true (gtk_widget_activate (template_child (&fixture, "choose_button")));
  g_assert_true (roadie_test_wait_until (chooser_shown, NULL, 5000));
  chooser = find_chooser_dialog ();
  fake = g_file_new_for_path (roadie_test_fake_server ());
  g_assert_true (gtk_file_chooser_set_file (GTK_FILE_CHOOSER (chooser), fake, NULL));
  g_assert_true (roadie_test_wait_until (chooser_has_file, fake, 10000));
  gtk_dialog_response (GTK_DIALOG (chooser), GTK_RESPONSE_ACCEPT);
  roadie_test_run_for (100);
  g_assert_null (find_chooser_dialog ());
#else
  /* GTK 4.8's file chooser leaks inside libraries (libcloudproviders in its
   * sidebar, GFiles from its enumerator threads), which LeakSanitizer
   * cannot be told apart from Roadie's; the plain build clicks it. */
  g_test_message ("sanitizer build: the file chooser is not opened");
  g_settings_set_string (fixture.settings, "executable-path", roadie_test_fake_server ());
#endif
  chosen = g_settings_get_string (fixture.settings, "executable-path");
  g_assert_cmpstr (chosen, ==, roadie_test_fake_server ());

  /* A runnable server again: Start works and the Choose… button goes. */
  g_assert_true (gtk_widget_activate (start_button));
  wait_for_state_text (&fixture, "Running", 15000);
  g_assert_false (gtk_widget_get_visible (template_child (&fixture, "choose_button")) &&
                  gtk_widget_get_visible (error_row));
}

static void
test_window_control_api_port_taken (void)
{
  g_autoptr(GSettings) settings = roadie_test_new_gsettings ();
  g_autoptr(GSocket) socket = NULL;
  g_autoptr(GSocketAddress) address = NULL;
  g_autoptr(GInetAddress) loopback = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr(RoadieService) service = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *port_text = NULL;
  RoadieWindow *window;
  GObject *api_row;
  Fixture other = { 0 };
  guint16 port = roadie_test_free_port ();

  roadie_test_allow_roadie_warnings ();

  /* Someone else holds the control port. */
  socket = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP, &error);
  g_assert_no_error (error);
  address = g_inet_socket_address_new (loopback, port);
  g_assert_true (g_socket_bind (socket, address, FALSE, &error));
  g_assert_true (g_socket_listen (socket, &error));
  g_assert_no_error (error);

  g_settings_set_int (settings, "control-api-port", port);
  g_settings_set_int (settings, "ws-port", roadie_test_free_port ());
  g_settings_set_boolean (settings, "auto-start", FALSE);
  g_settings_set_string (settings, "executable-path", roadie_test_fake_server ());

  /* Roadie goes on without the API and keeps the reason for the window. */
  service = roadie_service_new (settings);
  roadie_service_startup (service);
  g_assert_null (roadie_service_get_control_api (service));
  g_assert_nonnull (roadie_service_get_control_api_problem (service));
  port_text = g_strdup_printf ("%u", port);
  g_assert_nonnull (strstr (roadie_service_get_control_api_problem (service), port_text));
  g_assert_true (roadie_test_was_logged (roadie_service_get_control_api_problem (service)));

  window = roadie_window_new (GTK_APPLICATION (fixture.app), roadie_service_get_supervisor (service));
  roadie_window_set_control_api_problem (window, roadie_service_get_control_api_problem (service));
  gtk_window_present (GTK_WINDOW (window));
  other.window = GTK_WIDGET (window);
  g_assert_true (roadie_test_wait_until (window_is_mapped, &other, 10000));

  api_row = gtk_widget_get_template_child (GTK_WIDGET (window), ROADIE_TYPE_WINDOW, "api_row");
  g_assert_true (gtk_widget_get_visible (GTK_WIDGET (api_row)));
  g_assert_cmpstr (adw_action_row_get_subtitle (ADW_ACTION_ROW (api_row)), ==,
                   roadie_service_get_control_api_problem (service));
  g_free (roadie_test_save_screenshot (GTK_WIDGET (window), "roadie-window-api-problem.png"));

  gtk_window_destroy (GTK_WINDOW (window));
}

static void
die_with_test (gpointer user_data)
{
  /* An aborted test must not leave this server behind. */
  prctl (PR_SET_PDEATHSIG, SIGKILL);
}

static gboolean
port_answers (gpointer user_data)
{
  g_autoptr(GSocketClient) client = g_socket_client_new ();
  g_autoptr(GSocketConnection) connection = NULL;

  connection = g_socket_client_connect_to_host (client, "127.0.0.1",
                                                GPOINTER_TO_UINT (user_data), NULL, NULL);
  return connection != NULL;
}

static void
note_finalized (gpointer  data,
                GObject  *where_the_object_was)
{
  *(gboolean *) data = TRUE;
}

static gboolean
attached_shown (gpointer user_data)
{
  GtkWidget *window = user_data;
  GObject *label = gtk_widget_get_template_child (window, ROADIE_TYPE_WINDOW, "state_label");

  return g_strcmp0 (gtk_label_get_text (GTK_LABEL (label)), "Attached") == 0;
}

static void
test_window_attached (void)
{
  g_autoptr(GSettings) settings = roadie_test_new_gsettings ();
  g_autoptr(GSubprocessLauncher) launcher = NULL;
  g_autoptr(GSubprocess) server = NULL;
  g_autoptr(RoadieService) service = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *port_text = NULL;
  g_autofree char *tag = roadie_test_new_tag ();
  GtkWidget *window;
  GObject *start_button;
  GObject *detail;
  Fixture other = { 0 };
  gboolean finalized = FALSE;
  guint16 port = roadie_test_free_port ();

  roadie_test_allow_roadie_warnings ();

  /* A server that someone else started already answers on the port. */
  port_text = g_strdup_printf ("%u", port);
  launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_SILENCE |
                                        G_SUBPROCESS_FLAGS_STDERR_SILENCE);
  g_subprocess_launcher_set_child_setup (launcher, die_with_test, NULL, NULL);
  server = g_subprocess_launcher_spawn (launcher, &error,
                                        roadie_test_fake_server (), "--port", port_text,
                                        "--tag", tag, NULL);
  g_assert_no_error (error);
  g_assert_true (roadie_test_wait_until (port_answers, GUINT_TO_POINTER (port), 10000));

  g_settings_set_int (settings, "ws-port", port);
  g_settings_set_int (settings, "control-api-port", roadie_test_free_port ());
  g_settings_set_boolean (settings, "auto-start", TRUE);
  g_settings_set_string (settings, "executable-path", roadie_test_fake_server ());

  service = roadie_service_new (settings);
  roadie_service_startup (service);

  window = GTK_WIDGET (roadie_window_new (GTK_APPLICATION (fixture.app),
                                          roadie_service_get_supervisor (service)));
  gtk_window_present (GTK_WINDOW (window));
  other.window = window;
  g_assert_true (roadie_test_wait_until (window_is_mapped, &other, 10000));
  g_assert_true (roadie_test_wait_until (attached_shown, window, 10000));

  /* Roadie watches it, says so, and does not pretend it can stop it. */
  detail = gtk_widget_get_template_child (window, ROADIE_TYPE_WINDOW, "state_detail_label");
  g_assert_true (g_str_has_prefix (gtk_label_get_text (GTK_LABEL (detail)),
                                   "Watching a server Roadie did not start"));
  start_button = gtk_widget_get_template_child (window, ROADIE_TYPE_WINDOW, "start_button");
  g_assert_cmpstr (gtk_button_get_label (GTK_BUTTON (start_button)), ==, "Stop");
  g_assert_false (gtk_widget_is_sensitive (GTK_WIDGET (start_button)));
  g_assert_false (gtk_widget_has_css_class (GTK_WIDGET (start_button), "suggested-action"));
  g_assert_false (gtk_widget_has_css_class (GTK_WIDGET (start_button), "destructive-action"));
  g_assert_nonnull (strstr (gtk_widget_get_tooltip_text (GTK_WIDGET (start_button)), "cannot stop"));
  g_assert_true (gtk_widget_has_css_class (GTK_WIDGET (gtk_widget_get_template_child (window, ROADIE_TYPE_WINDOW, "status_dot")),
                                           "accent"));
  /* Let the buttons' style transitions finish before the picture. */
  roadie_test_run_for (400);
  g_free (roadie_test_save_screenshot (window, "roadie-window-attached.png"));

  /* Only the one server runs: Roadie started no second one. */
  g_assert_cmpuint (roadie_test_count_tagged (tag), ==, 1);

  /* The uptime ticks; a closed window leaves no timer behind. Only the
   * pointer's value is compared once the window is gone. */
  g_assert_nonnull (g_main_context_find_source_by_user_data (NULL, window));
  g_object_weak_ref (G_OBJECT (window), note_finalized, &finalized);
  gtk_window_destroy (GTK_WINDOW (window));
  g_assert_true (finalized);
  g_assert_null (g_main_context_find_source_by_user_data (NULL, window));

  g_subprocess_send_signal (server, SIGTERM);
  g_assert_true (g_subprocess_wait (server, NULL, &error));
  g_assert_no_error (error);
}

static AdwAboutWindow *
find_about_window (void)
{
  GListModel *toplevels = gtk_window_get_toplevels ();

  for (guint i = 0; i < g_list_model_get_n_items (toplevels); i++)
    {
      g_autoptr(GObject) window = g_list_model_get_item (toplevels, i);

      if (ADW_IS_ABOUT_WINDOW (window) && gtk_widget_get_mapped (GTK_WIDGET (window)))
        return ADW_ABOUT_WINDOW (window);
    }
  return NULL;
}

static gboolean
about_shown (gpointer user_data)
{
  return find_about_window () != NULL;
}

static void
test_window_about (void)
{
  AdwAboutWindow *about;

  roadie_test_allow_roadie_warnings ();

  g_action_group_activate_action (G_ACTION_GROUP (fixture.app), "about", NULL);
  g_assert_true (roadie_test_wait_until (about_shown, NULL, 5000));
  about = find_about_window ();
  g_assert_cmpstr (adw_about_window_get_version (about), ==, PACKAGE_VERSION);
  g_assert_true (gtk_window_get_transient_for (GTK_WINDOW (about)) == GTK_WINDOW (fixture.window));
  gtk_window_destroy (GTK_WINDOW (about));
  g_assert_null (find_about_window ());
}

static gboolean
service_is_shut_down (gpointer user_data)
{
  return roadie_service_is_shut_down (roadie_application_get_service (user_data));
}

static void
test_window_close_stops_server (void)
{
  /* The server runs (from the previous case). */
  g_assert_cmpstr (label_text (&fixture, "state_label"), ==, "Running");
  g_assert_cmpuint (roadie_test_count_tagged (fixture.tag), >=, 1);

  roadie_test_allow_roadie_warnings ();

  /* Closing the window is quitting; the window stays, saying so, until
   * the server is down. */
  gtk_window_close (GTK_WINDOW (fixture.window));
  g_assert_nonnull (gtk_application_get_windows (GTK_APPLICATION (fixture.app)));
  g_assert_cmpstr (label_text (&fixture, "state_label"), ==, "Stopping…");
  g_assert_false (gtk_widget_is_sensitive (template_child (&fixture, "start_button")));
  g_assert_true (roadie_test_wait_until (service_is_shut_down, fixture.app, 5000));
  g_assert_true (roadie_test_wait_until (no_windows_left, &fixture, 5000));
  g_assert_cmpuint (roadie_test_count_tagged (fixture.tag), ==, 0);
  g_assert_true (seen_text_with_prefix (fixture.state_texts, "Stopping"));
  g_assert_false (g_action_group_get_action_enabled (G_ACTION_GROUP (fixture.app), "start"));
}

static void
collect_rows (GtkWidget *widget,
              GString   *text)
{
  if (ADW_IS_ACTION_ROW (widget))
    g_string_append_printf (text, "%s: %s\n",
                            adw_preferences_row_get_title (ADW_PREFERENCES_ROW (widget)),
                            adw_action_row_get_subtitle (ADW_ACTION_ROW (widget)));
  for (GtkWidget *child = gtk_widget_get_first_child (widget); child != NULL;
       child = gtk_widget_get_next_sibling (child))
    collect_rows (child, text);
}

static void
test_window_this_run (void)
{
  GtkWidget *run_group = template_child (&fixture, "run_group");
  g_autoptr(GString) rows = g_string_new (NULL);

  /* main() set one good and one bad variable before the window existed. */
  g_assert_true (gtk_widget_get_visible (run_group));
  collect_rows (run_group, rows);
  g_test_message ("this run:\n%s", rows->str);
  g_assert_nonnull (strstr (rows->str, "health-check-timeout-ms: 1500, from AUDIO_SERVER_HEALTH_CHECK_TIMEOUT_MS\n"));
  g_assert_nonnull (strstr (rows->str, "Ignored: AUDIO_SERVER_MAX_RESTARTS=lots is not a whole number from 0 to 1000"));
  /* only what was overridden is listed */
  g_assert_null (strstr (rows->str, "ws-port"));
  g_free (roadie_test_save_screenshot (fixture.window, "roadie-window-this-run.png"));
}

int
main (int   argc,
      char *argv[])
{
  RoadieTestNotifications *notifications;
  int status;

  roadie_test_init_environment ();
  /* Overrides for this run, to be listed in the window. */
  g_setenv ("AUDIO_SERVER_HEALTH_CHECK_TIMEOUT_MS", "1500", TRUE);
  g_setenv ("AUDIO_SERVER_MAX_RESTARTS", "lots", TRUE);
  roadie_test_start_xvfb ();
  roadie_test_start_dbus ();
  /* Crashes make notifications; something must be there to take them. */
  notifications = roadie_test_notifications_start (APP_ID);

  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/roadie/window/this-run", test_window_this_run);
  g_test_add_func ("/roadie/window/start-crash-stop", test_window_start_crash_stop);
  g_test_add_func ("/roadie/window/live-area-and-failed", test_window_live_area_and_failed);
  g_test_add_func ("/roadie/window/keyboard-start", test_window_keyboard_start);
  g_test_add_func ("/roadie/window/missing-executable", test_window_missing_executable);
  g_test_add_func ("/roadie/window/control-api-port-taken", test_window_control_api_port_taken);
  g_test_add_func ("/roadie/window/attached", test_window_attached);
  g_test_add_func ("/roadie/window/about", test_window_about);
  g_test_add_func ("/roadie/window/close-stops-server", test_window_close_stops_server);

  roadie_test_capture_log ();

  fixture_set_up ();
  status = g_test_run ();
  fixture_tear_down ();
  roadie_test_notifications_free (notifications);

  return status;
}
