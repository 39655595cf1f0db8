/* test-app.c: Roadie driven from outside its window.
 *
 * A private X server and D-Bus session; the real RoadieApplication is the
 * primary instance in this process. Other processes reach it the way a DJ's
 * scripts would: `gapplication action`, `roadie --status/--start/--stop`.
 * A notification server (tests/roadie-test-notifications.c) records what
 * Roadie shows: the coalesced
 * "restarted" notification during a crash loop and the "gave up" one with
 * its Restart button.
 */
#include "config.h"

#include <math.h>
#include <signal.h>
#include <string.h>

#include <adwaita.h>
#include <json-glib/json-glib.h>
#include <libsoup/soup.h>

#include "roadie-application.h"
#include "roadie-http.h"
#include "roadie-notifier.h"
#include "roadie-service.h"
#include "roadie-spectrum-view.h"
#include "roadie-test-gtk.h"
#include "roadie-test-notifications.h"
#include "roadie-test-util.h"
#include "roadie-window.h"

typedef struct
{
  RoadieApplication *app;
  RoadieSupervisor  *supervisor;
  GSettings         *settings;
  char              *tag;
  guint16            port;
  RoadieTestNotifications *notifications;
  GStrv              arguments;
} Fixture;

static Fixture fixture;

/* --- helpers ------------------------------------------------------------ */

static gboolean
state_is (gpointer user_data)
{
  return (int) roadie_supervisor_get_state (fixture.supervisor) == GPOINTER_TO_INT (user_data);
}

static void
wait_for_state (RoadieSupervisorState state,
                guint                 timeout_ms)
{
  if (!roadie_test_wait_until (state_is, GINT_TO_POINTER (state), timeout_ms))
    g_error ("the supervisor is %s, not %s, after %u ms",
             roadie_supervisor_state_to_string (roadie_supervisor_get_state (fixture.supervisor)),
             roadie_supervisor_state_to_string (state), timeout_ms);
}

typedef struct
{
  gboolean  done;
  int       status;
  char     *out;
  char     *err;
} Command;

static void
command_done_cb (GObject      *object,
                 GAsyncResult *result,
                 gpointer      user_data)
{
  Command *command = user_data;
  g_autoptr(GError) error = NULL;

  g_subprocess_communicate_utf8_finish (G_SUBPROCESS (object), result,
                                        &command->out, &command->err, &error);
  g_assert_no_error (error);
  command->status = g_subprocess_get_exit_status (G_SUBPROCESS (object));
  command->done = TRUE;
}

static gboolean
command_done (gpointer user_data)
{
  return ((Command *) user_data)->done;
}

/* Runs argv without blocking the main loop: this process is the Roadie it
 * talks to. */
static void
run_command (Command            *command,
             const char * const *argv)
{
  g_autoptr(GSubprocess) process = NULL;
  g_autoptr(GError) error = NULL;

  memset (command, 0, sizeof *command);
  process = g_subprocess_newv (argv, G_SUBPROCESS_FLAGS_STDOUT_PIPE | G_SUBPROCESS_FLAGS_STDERR_PIPE, &error);
  g_assert_no_error (error);
  g_subprocess_communicate_utf8_async (process, NULL, NULL, command_done_cb, command);
  g_assert_true (roadie_test_wait_until (command_done, command, 20000));
  g_test_message ("%s %s → %d\n%s%s", argv[0], argv[1], command->status,
                  command->out, command->err);
}

static void
command_clear (Command *command)
{
  g_clear_pointer (&command->out, g_free);
  g_clear_pointer (&command->err, g_free);
}

/* --- tests -------------------------------------------------------------- */

/* `gapplication action io.github.roadie.Roadie start`, and roadie's own
 * --status/--stop/--start, reach this instance. */
static void
test_app_remote_commands (void)
{
  const char *status_argv[] = { roadie_test_roadie (), "--status", NULL };
  const char *stop_argv[] = { roadie_test_roadie (), "--stop", NULL };
  const char *start_argv[] = { roadie_test_roadie (), "--start", NULL };
  const char *gapplication_argv[] = { "gapplication", "action", APP_ID, "start", NULL };
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(GError) error = NULL;
  Command command;
  JsonObject *status;

  roadie_test_allow_roadie_warnings ();
  g_assert_cmpint (roadie_supervisor_get_state (fixture.supervisor), ==, ROADIE_SUPERVISOR_STATE_STOPPED);

  run_command (&command, gapplication_argv);
  g_assert_cmpint (command.status, ==, 0);
  command_clear (&command);
  wait_for_state (ROADIE_SUPERVISOR_STATE_RUNNING, 15000);

  run_command (&command, status_argv);
  g_assert_cmpint (command.status, ==, 0);
  g_assert_true (json_parser_load_from_data (parser, command.out, -1, &error));
  g_assert_no_error (error);
  status = json_node_get_object (json_parser_get_root (parser));
  g_assert_cmpstr (json_object_get_string_member (status, "state"), ==, "running");
  g_assert_true (json_object_get_boolean_member (status, "isProcessRunning"));
  g_assert_cmpint (json_object_get_int_member (status, "pid"), ==,
                   roadie_supervisor_get_pid (fixture.supervisor));
  command_clear (&command);

  run_command (&command, stop_argv);
  g_assert_cmpint (command.status, ==, 0);
  command_clear (&command);
  wait_for_state (ROADIE_SUPERVISOR_STATE_STOPPED, 10000);
  g_assert_cmpuint (roadie_test_count_tagged (fixture.tag), ==, 0);

  run_command (&command, start_argv);
  g_assert_cmpint (command.status, ==, 0);
  command_clear (&command);
  wait_for_state (ROADIE_SUPERVISOR_STATE_RUNNING, 15000);

  /* Two commands at once is a mistake, said as such. */
  {
    const char *both_argv[] = { roadie_test_roadie (), "--start", "--stop", NULL };

    run_command (&command, both_argv);
    g_assert_cmpint (command.status, ==, 2);
    g_assert_nonnull (strstr (command.err, "--status"));
    command_clear (&command);
  }

  g_assert_true (roadie_supervisor_stop (fixture.supervisor, NULL));
  wait_for_state (ROADIE_SUPERVISOR_STATE_STOPPED, 10000);
}

static gboolean
has_notification (gpointer user_data)
{
  return roadie_test_notifications_last (fixture.notifications, user_data) != NULL;
}

/* A server that crashes 300 ms after every start: restarts are one
 * notification, updated at most once per coalescing window, then Roadie
 * gives up and says so with a Restart button that works. */
static void
test_app_crash_notifications (void)
{
  g_autofree char *port_text = g_strdup_printf ("%u", fixture.port);
  const char *arguments[] = { "--port", port_text, "--tag", fixture.tag, "--crash-after", "300", NULL };
  const char *normal[] = { "--port", port_text, "--tag", fixture.tag, NULL };
  RoadieTestNotification *gave_up;
  guint restarted;

  roadie_test_allow_roadie_warnings ();

  g_settings_set_strv (fixture.settings, "arguments", arguments);
  g_settings_set_int (fixture.settings, "max-restarts", 4);
  g_settings_set_int (fixture.settings, "restart-delay-ms", 100);
  g_settings_set_double (fixture.settings, "restart-delay-multiplier", 1.0);

  g_assert_true (roadie_supervisor_start (fixture.supervisor, NULL));
  g_assert_true (roadie_test_wait_until (has_notification, (gpointer) ROADIE_NOTIFICATION_GAVE_UP, 30000));
  wait_for_state (ROADIE_SUPERVISOR_STATE_FAILED, 1000);

  /* Four restarts, but far fewer banners. */
  restarted = roadie_test_notifications_count (fixture.notifications, ROADIE_NOTIFICATION_RESTARTED);
  g_assert_cmpuint (restarted, >=, 1);
  g_assert_cmpuint (restarted, <=, 2);
  g_assert_nonnull (strstr (roadie_test_notifications_last (fixture.notifications, ROADIE_NOTIFICATION_RESTARTED)->body, "stopped unexpectedly"));
  /* Giving up replaces the restart summary. */
  g_assert_cmpuint (roadie_test_notifications_count_removals (fixture.notifications), >=, 1);

  gave_up = roadie_test_notifications_last (fixture.notifications, ROADIE_NOTIFICATION_GAVE_UP);
  g_assert_cmpstr (gave_up->title, ==, "Roadie gave up on the audio server");
  g_assert_nonnull (strstr (gave_up->body, "crashed 4 times"));
  g_assert_null (strstr (strstr (gave_up->body, "crashed 4 times") + 1, "crashed 4 times"));
  g_assert_nonnull (gave_up->button_actions);
  g_assert_cmpstr (gave_up->button_actions[0], ==, "app.restart");
  g_assert_cmpstr (gave_up->default_action, ==, "app.show");

  /* Its button: app.restart starts the (now healthy) server again. */
  g_settings_set_strv (fixture.settings, "arguments", normal);
  g_action_group_activate_action (G_ACTION_GROUP (fixture.app), "restart", NULL);
  wait_for_state (ROADIE_SUPERVISOR_STATE_RUNNING, 15000);

  g_assert_true (roadie_supervisor_stop (fixture.supervisor, NULL));
  wait_for_state (ROADIE_SUPERVISOR_STATE_STOPPED, 10000);
  g_settings_reset (fixture.settings, "max-restarts");
}

static gboolean
window_is_mapped (gpointer user_data)
{
  GtkWindow *window = gtk_application_get_active_window (GTK_APPLICATION (fixture.app));

  return window != NULL && gtk_widget_get_mapped (GTK_WIDGET (window));
}

static gboolean
window_is_hidden (gpointer user_data)
{
  return !gtk_widget_get_visible (user_data);
}

static gboolean
view_is_live (gpointer user_data)
{
  RoadieSpectrumView *view = user_data;

  return !roadie_spectrum_view_get_is_idle (view)
         && fabs (roadie_spectrum_view_get_displayed_bpm (view) - 124.0) < 124.0 * 0.04;
}

static gboolean
view_is_idle (gpointer user_data)
{
  return roadie_spectrum_view_get_is_idle (user_data);
}

/* The bundled engine playing its demo groove: the window's live view gets
 * its frames through the engine link, shows the groove's 124 BPM, and
 * goes idle, saying why, when the server stops. */
static void
test_app_live_view (void)
{
  GtkWidget *window;
  RoadieSpectrumView *view;

  roadie_test_allow_roadie_warnings ();

  g_settings_set_string (fixture.settings, "executable-path", "");
  g_settings_set_strv (fixture.settings, "arguments", NULL);
  g_settings_set_string (fixture.settings, "engine-capture", "demo");
#ifdef __SANITIZE_ADDRESS__
  /* Under ASan the window cannot draw 60 frames a second and answer the
   * health probes on two shared cores; fewer frames still walk every path. */
  g_settings_set_int (fixture.settings, "engine-frame-rate", 15);
  g_settings_set_int (fixture.settings, "health-check-interval", 3000);
  g_settings_set_int (fixture.settings, "health-check-timeout-ms", 3000);
#endif
  g_settings_set_int (fixture.settings, "engine-browser-port", roadie_test_free_port ());
  g_settings_set_int (fixture.settings, "engine-dj-port", roadie_test_free_port ());

  g_action_group_activate_action (G_ACTION_GROUP (fixture.app), "show", NULL);
  g_assert_true (roadie_test_wait_until (window_is_mapped, NULL, 10000));
  window = GTK_WIDGET (gtk_application_get_active_window (GTK_APPLICATION (fixture.app)));
  view = ROADIE_SPECTRUM_VIEW (roadie_test_find_descendant (window, ROADIE_TYPE_SPECTRUM_VIEW));
  g_assert_nonnull (view);
  g_assert_true (roadie_spectrum_view_get_is_idle (view));
  g_free (roadie_test_save_screenshot (window, "roadie-window-stopped.png"));

  g_assert_true (roadie_supervisor_start (fixture.supervisor, NULL));
  wait_for_state (ROADIE_SUPERVISOR_STATE_RUNNING, 20000);
  if (!roadie_test_wait_until (view_is_live, view, 20000))
    g_error ("the live view shows %s, %.1f BPM, not the demo's 124 BPM",
             roadie_spectrum_view_get_is_idle (view) ? roadie_spectrum_view_get_idle_title (view) : "frames",
             roadie_spectrum_view_get_displayed_bpm (view));
  g_assert_cmpuint (roadie_spectrum_view_get_n_bands (view), ==, 32);
  roadie_test_run_for (1500);
  g_free (roadie_test_save_screenshot (window, "roadie-window-live.png"));
  adw_style_manager_set_color_scheme (adw_style_manager_get_default (), ADW_COLOR_SCHEME_FORCE_DARK);
  roadie_test_run_for (500);
  g_free (roadie_test_save_screenshot (window, "roadie-window-live-dark.png"));
  adw_style_manager_set_color_scheme (adw_style_manager_get_default (), ADW_COLOR_SCHEME_DEFAULT);

  /* Off screen, the view costs no frame clock; back on screen it is live. */
  g_assert_true (roadie_spectrum_view_is_animating (view));
  gtk_widget_activate_action (window, "win.show-view", "s", "log");
  roadie_test_run_for (300);
  g_assert_false (roadie_spectrum_view_is_animating (view));
  gtk_widget_activate_action (window, "win.show-view", "s", "live");
  roadie_test_run_for (300);
  g_assert_true (roadie_spectrum_view_is_animating (view));
  g_assert_false (roadie_spectrum_view_get_is_idle (view));

  g_assert_true (roadie_supervisor_stop (fixture.supervisor, NULL));
  wait_for_state (ROADIE_SUPERVISOR_STATE_STOPPED, 10000);
  g_assert_true (roadie_test_wait_until (view_is_idle, view, 5000));

  g_settings_set_string (fixture.settings, "executable-path", roadie_test_fake_server ());
  g_settings_reset (fixture.settings, "engine-capture");
  g_settings_reset (fixture.settings, "engine-frame-rate");
  g_settings_set_int (fixture.settings, "health-check-interval", 500);
  g_settings_reset (fixture.settings, "health-check-timeout-ms");
}

static gboolean
accels_contain (const char *action,
                const char *accel)
{
  g_auto(GStrv) accels = gtk_application_get_accels_for_action (GTK_APPLICATION (fixture.app), action);

  return accels != NULL && g_strv_contains ((const char * const *) accels, accel);
}

/* The shortcuts, and the shortcuts window behind Ctrl+?. */
static void
test_app_shortcuts (void)
{
  GtkWindow *window;

  roadie_test_allow_roadie_warnings ();

  g_action_group_activate_action (G_ACTION_GROUP (fixture.app), "show", NULL);
  g_assert_true (roadie_test_wait_until (window_is_mapped, NULL, 10000));
  window = gtk_application_get_active_window (GTK_APPLICATION (fixture.app));

  g_assert_true (accels_contain ("app.quit", "<Control>q"));
  g_assert_true (accels_contain ("app.preferences", "<Control>comma"));
  g_assert_true (accels_contain ("win.show-help-overlay", "<Control>question"));
  g_assert_nonnull (gtk_application_window_get_help_overlay (GTK_APPLICATION_WINDOW (window)));
  g_assert_true (g_action_group_has_action (G_ACTION_GROUP (fixture.app), "preferences"));
  g_assert_true (g_action_group_has_action (G_ACTION_GROUP (fixture.app), "show"));
}

/* With "run in background", closing the window while the server runs
 * hides it; the server stays up; app.show brings the same window back;
 * closing it with the server stopped quits and leaves nothing running. */
static void
test_app_background (void)
{
  GtkWidget *window;

  roadie_test_allow_roadie_warnings ();

  {
    g_autoptr(GSettingsSchema) schema = g_settings_schema_source_lookup (g_settings_schema_source_get_default (),
                                                                         APP_ID, TRUE);

    g_assert_true (g_settings_schema_has_key (schema, "run-in-background"));
    g_settings_set_boolean (fixture.settings, "run-in-background", TRUE);
  }

  g_action_group_activate_action (G_ACTION_GROUP (fixture.app), "show", NULL);
  g_assert_true (roadie_test_wait_until (window_is_mapped, NULL, 10000));
  window = GTK_WIDGET (gtk_application_get_active_window (GTK_APPLICATION (fixture.app)));
  g_settings_set_strv (fixture.settings, "arguments", (const char * const *) fixture.arguments);

  g_assert_true (roadie_supervisor_start (fixture.supervisor, NULL));
  wait_for_state (ROADIE_SUPERVISOR_STATE_RUNNING, 15000);

  gtk_window_close (GTK_WINDOW (window));
  g_assert_true (roadie_test_wait_until (window_is_hidden, window, 5000));
  roadie_test_run_for (300);
  g_assert_cmpint (roadie_supervisor_get_state (fixture.supervisor), ==, ROADIE_SUPERVISOR_STATE_RUNNING);
  g_assert_cmpuint (roadie_test_count_tagged (fixture.tag), >=, 1);

  /* The tray's click, or the menu's Show Roadie. */
  g_action_group_activate_action (G_ACTION_GROUP (fixture.app), "toggle-window", NULL);
  g_assert_true (roadie_test_wait_until (window_is_mapped, NULL, 5000));
  g_assert_true (GTK_WIDGET (gtk_application_get_active_window (GTK_APPLICATION (fixture.app))) == window);

  g_settings_set_boolean (fixture.settings, "run-in-background", FALSE);
  g_assert_true (roadie_supervisor_stop (fixture.supervisor, NULL));
  wait_for_state (ROADIE_SUPERVISOR_STATE_STOPPED, 10000);
}

static void
stand_in_connected (SoupServer              *server,
                    SoupServerMessage       *message,
                    const char              *path,
                    SoupWebsocketConnection *connection,
                    gpointer                 user_data)
{
  GPtrArray *connections = user_data;

  g_ptr_array_add (connections, g_object_ref (connection));
  soup_websocket_connection_send_text (connection,
                                       "{\"type\":\"hello\",\"server\":\"roadie-engine\",\"version\":\"0\",\"protocol\":1}");
  soup_websocket_connection_send_text (connection,
                                       "{\"type\":\"stats\",\"dj_connects\":0,\"dj_disconnects\":0,"
                                       "\"browser_connects\":0,\"browser_disconnects\":0,\"mc_reconnect_count\":0,"
                                       "\"current_djs\":0,\"current_browsers\":0,\"mc_connected\":false,\"djs\":[],"
                                       "\"links\":{\"visualizer\":null,\"relay\":{\"url\":\"ws://vj.example.com:9000/\","
                                       "\"state\":\"auth-failed\",\"next_retry_ms\":null}}}");
}

/* An engine whose DJ relay was refused for a wrong key (its stats say
 * so): Roadie, attached to it, tells the DJ once, with the way to the key. */
static void
test_app_auth_notification (void)
{
  g_autoptr(SoupServer) server = soup_server_new (NULL, NULL);
  g_autoptr(GPtrArray) connections = g_ptr_array_new_with_free_func (g_object_unref);
  g_autoptr(GError) error = NULL;
  RoadieTestNotification *notification;
  guint16 port = roadie_test_free_port ();

  roadie_test_allow_roadie_warnings ();

  soup_server_add_websocket_handler (server, "/", NULL, NULL, stand_in_connected, connections, NULL);
  /* Roadie's own listen helper: soup_server_listen_local leaks an address
   * in libsoup 3.2. */
  g_assert_true (roadie_http_server_listen (server, "127.0.0.1", port, "the stand-in cannot listen",
                                            "pick another port", &error));
  g_assert_no_error (error);
  g_settings_set_int (fixture.settings, "ws-port", port);
  g_settings_set_boolean (fixture.settings, "auto-start", TRUE);

  /* What Roadie does at launch: a server already answers, so it attaches. */
  roadie_supervisor_auto_start (fixture.supervisor);
  wait_for_state (ROADIE_SUPERVISOR_STATE_ATTACHED, 10000);
  g_assert_true (roadie_test_wait_until (has_notification, (gpointer) ROADIE_NOTIFICATION_AUTH, 10000));
  notification = roadie_test_notifications_last (fixture.notifications, ROADIE_NOTIFICATION_AUTH);
  g_assert_nonnull (strstr (notification->title, "DJ relay"));
  g_assert_cmpstr (notification->default_action, ==, "app.preferences");

  /* Said once, not at every stats message. */
  roadie_test_run_for (1500);
  g_assert_cmpuint (roadie_test_notifications_count (fixture.notifications, ROADIE_NOTIFICATION_AUTH), ==, 1);

  for (guint i = 0; i < connections->len; i++)
    if (soup_websocket_connection_get_state (g_ptr_array_index (connections, i)) == SOUP_WEBSOCKET_STATE_OPEN)
      soup_websocket_connection_close (g_ptr_array_index (connections, i), SOUP_WEBSOCKET_CLOSE_GOING_AWAY, NULL);
  soup_server_disconnect (server);
  g_settings_set_int (fixture.settings, "ws-port", fixture.port);
  g_settings_set_boolean (fixture.settings, "auto-start", FALSE);
}

static void
configure (void)
{
  g_autofree char *port_text = NULL;
  const char *arguments[5];

  fixture.tag = roadie_test_new_tag ();
  fixture.port = roadie_test_free_port ();
  port_text = g_strdup_printf ("%u", fixture.port);
  arguments[0] = "--port";
  arguments[1] = port_text;
  arguments[2] = "--tag";
  arguments[3] = fixture.tag;
  arguments[4] = NULL;

  fixture.settings = g_settings_new (APP_ID);
  g_settings_set_string (fixture.settings, "executable-path", roadie_test_fake_server ());
  g_settings_set_strv (fixture.settings, "arguments", arguments);
  fixture.arguments = g_strdupv ((GStrv) arguments);
  g_settings_set_int (fixture.settings, "ws-port", fixture.port);
  g_settings_set_boolean (fixture.settings, "auto-start", FALSE);
  g_settings_set_int (fixture.settings, "restart-delay-ms", 200);
  g_settings_set_int (fixture.settings, "health-check-interval", 500);
  g_settings_set_int (fixture.settings, "stop-timeout-ms", 2000);
  g_settings_set_int (fixture.settings, "control-api-port", roadie_test_free_port ());
}

int
main (int   argc,
      char *argv[])
{
  g_autoptr(GError) error = NULL;
  int status;

  roadie_test_init_environment ();
  roadie_test_start_xvfb ();
  roadie_test_start_dbus ();

  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/roadie/app/remote-commands", test_app_remote_commands);
  g_test_add_func ("/roadie/app/crash-notifications", test_app_crash_notifications);
  g_test_add_func ("/roadie/app/live-view", test_app_live_view);
  g_test_add_func ("/roadie/app/shortcuts", test_app_shortcuts);
  g_test_add_func ("/roadie/app/background", test_app_background);
  g_test_add_func ("/roadie/app/auth-notification", test_app_auth_notification);

  roadie_test_capture_log ();
  fixture.notifications = roadie_test_notifications_start (APP_ID);
  configure ();

  fixture.app = roadie_application_new ();
  g_assert_true (g_application_register (G_APPLICATION (fixture.app), NULL, &error));
  g_assert_no_error (error);
  g_assert_false (g_application_get_is_remote (G_APPLICATION (fixture.app)));
  fixture.supervisor = roadie_application_get_supervisor (fixture.app);
  /* A short window, so the test sees the folded update too. */
  roadie_notifier_set_coalesce_ms (roadie_application_get_notifier (fixture.app), 1500);

  status = g_test_run ();

  g_clear_object (&fixture.app);
  g_clear_object (&fixture.settings);
  g_clear_pointer (&fixture.notifications, roadie_test_notifications_free);
  g_clear_pointer (&fixture.tag, g_free);
  g_clear_pointer (&fixture.arguments, g_strfreev);
  return status;
}
