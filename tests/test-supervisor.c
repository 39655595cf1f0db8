/* test-supervisor.c: RoadieSupervisor against a real, misbehaving server.
 *
 * Every case spawns tests/fake-audio-server through the real roadie-reaper,
 * tags the process tree with a unique marker and checks /proc afterwards:
 * nothing of the server may outlive a stop.
 */
#include "config.h"

#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "roadie-error.h"
#include "roadie-supervisor.h"
#include "roadie-test-util.h"

typedef struct
{
  GSettings        *gsettings;
  RoadieSettings   *settings;
  RoadieSupervisor *supervisor;
  guint16           port;
  char             *tag;
  char             *log_path;
  GArray           *transitions;   /* Transition */
  guint             gave_up;
  char             *last_flood_line;
} Fixture;

typedef struct
{
  RoadieSupervisorState state;
  gint64                at_us;
} Transition;

static void
on_state (RoadieSupervisor *supervisor,
          GParamSpec       *pspec,
          Fixture          *fixture)
{
  Transition t = { roadie_supervisor_get_state (supervisor), g_get_monotonic_time () };

  g_array_append_val (fixture->transitions, t);
}

static void
on_gave_up (RoadieSupervisor *supervisor,
            const char       *message,
            Fixture          *fixture)
{
  fixture->gave_up++;
}

static void
on_output_line (RoadieSupervisor *supervisor,
                int               stream,
                const char       *line,
                Fixture          *fixture)
{
  if (stream == ROADIE_LOG_STREAM_STDOUT && g_str_has_prefix (line, "flood line "))
    {
      g_free (fixture->last_flood_line);
      fixture->last_flood_line = g_strndup (line, 20);
    }
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
fixture_setup (Fixture       *fixture,
               gconstpointer  data)
{
  g_autofree char *log_name = NULL;

  roadie_test_allow_roadie_warnings ();
  fixture->gsettings = roadie_test_new_gsettings ();
  fixture->port = roadie_test_free_port ();
  fixture->tag = roadie_test_new_tag ();
  log_name = g_strdup_printf ("%s.log", fixture->tag);
  fixture->log_path = g_build_filename (roadie_test_tmpdir (), log_name, NULL);
  fixture->transitions = g_array_new (FALSE, FALSE, sizeof (Transition));

  g_settings_set_string (fixture->gsettings, "executable-path", roadie_test_fake_server ());
  g_settings_set_int (fixture->gsettings, "ws-port", fixture->port);
  g_settings_set_string (fixture->gsettings, "log-file", fixture->log_path);
  g_settings_set_boolean (fixture->gsettings, "auto-start", FALSE);
  g_settings_set_int (fixture->gsettings, "startup-timeout-ms", 5000);
  g_settings_set_int (fixture->gsettings, "stop-timeout-ms", 1000);
  g_settings_set_int (fixture->gsettings, "restart-delay-ms", 100);
  g_settings_set_double (fixture->gsettings, "restart-jitter", 0.0);
  g_settings_set_int (fixture->gsettings, "health-check-interval", 60000);
  g_settings_set_int (fixture->gsettings, "health-check-timeout-ms", 500);
  set_args (fixture, NULL);

  fixture->settings = roadie_settings_new (fixture->gsettings, NULL);
  fixture->supervisor = roadie_supervisor_new (fixture->settings);
  g_signal_connect (fixture->supervisor, "notify::state", G_CALLBACK (on_state), fixture);
  g_signal_connect (fixture->supervisor, "gave-up", G_CALLBACK (on_gave_up), fixture);
  g_signal_connect (fixture->supervisor, "output-line", G_CALLBACK (on_output_line), fixture);
  roadie_test_clear_log ();
}

static void
on_stopped (GObject      *source,
            GAsyncResult *result,
            gpointer      user_data)
{
  gboolean *done = user_data;

  g_assert_true (roadie_supervisor_stop_finish (ROADIE_SUPERVISOR (source), result, NULL));
  *done = TRUE;
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
  gboolean done = FALSE;

  roadie_supervisor_stop_async (fixture->supervisor, NULL, on_stopped, &done);
  g_assert_true (roadie_test_wait_until (flag_set, &done, 10000));
  g_assert_true (roadie_test_wait_until (no_tagged, fixture->tag, 3000));
  /* A cancelled probe may still hold a reference until its callback runs. */
  {
    gpointer weak = fixture->supervisor;

    g_object_add_weak_pointer (weak, &weak);
    g_object_unref (fixture->supervisor);
    g_assert_true (roadie_test_wait_until (pointer_cleared, &weak, 2000));
  }
  g_object_unref (fixture->settings);
  g_object_unref (fixture->gsettings);
  g_array_unref (fixture->transitions);
  g_free (fixture->tag);
  g_free (fixture->log_path);
  g_free (fixture->last_flood_line);
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
    g_error ("state %s not reached within %u ms (still %s, last error: %s)",
             roadie_supervisor_state_to_string (state), timeout_ms,
             roadie_supervisor_state_to_string (roadie_supervisor_get_state (fixture->supervisor)),
             roadie_supervisor_get_last_error (fixture->supervisor));
}

/* When the n-th (1-based) transition into state happened, or 0. */
static gint64
transition_time (Fixture               *fixture,
                 RoadieSupervisorState  state,
                 guint                  n)
{
  for (guint i = 0; i < fixture->transitions->len; i++)
    {
      Transition *t = &g_array_index (fixture->transitions, Transition, i);

      if (t->state == state && --n == 0)
        return t->at_us;
    }
  return 0;
}

static guint
count_transitions (Fixture               *fixture,
                   RoadieSupervisorState  state)
{
  guint count = 0;

  for (guint i = 0; i < fixture->transitions->len; i++)
    if (g_array_index (fixture->transitions, Transition, i).state == state)
      count++;
  return count;
}

static void
start_ok (Fixture *fixture)
{
  g_autoptr(GError) error = NULL;

  g_assert_true (roadie_supervisor_start (fixture->supervisor, &error));
  g_assert_no_error (error);
}

static JsonObject *
status_object (Fixture   *fixture,
               JsonNode **node)
{
  *node = roadie_supervisor_build_status (fixture->supervisor);
  return json_node_get_object (*node);
}

/* ---- cases ---- */

static void
test_start_stop (Fixture       *fixture,
                 gconstpointer  data)
{
  g_autoptr(JsonNode) node = NULL;
  g_autofree char *log = NULL;
  JsonObject *status;
  GPid pid;

  start_ok (fixture);
  g_assert_cmpint (roadie_supervisor_get_state (fixture->supervisor), ==, ROADIE_SUPERVISOR_STATE_STARTING);
  wait_state (fixture, ROADIE_SUPERVISOR_STATE_RUNNING, 5000);

  pid = roadie_supervisor_get_pid (fixture->supervisor);
  g_assert_cmpint (pid, >, 0);
  g_assert_cmpint (kill (pid, 0), ==, 0);
  /* the reaper and the server carry the tag */
  g_assert_cmpuint (roadie_test_count_tagged (fixture->tag), ==, 2);

  status = status_object (fixture, &node);
  g_assert_true (json_object_get_boolean_member (status, "isReady"));
  g_assert_true (json_object_get_boolean_member (status, "isHealthy"));
  g_assert_true (json_object_get_boolean_member (status, "isProcessRunning"));
  g_assert_true (json_object_get_boolean_member (status, "healthMonitoring"));
  g_assert_cmpint (json_object_get_int_member (status, "pid"), ==, pid);
  g_assert_cmpstr (json_object_get_string_member (status, "state"), ==, "running");

  g_assert_true (roadie_test_was_logged ("Starting audio server: "));
  g_assert_true (roadie_test_was_logged ("Waiting for audio server to be ready..."));
  g_assert_true (roadie_test_was_logged ("✓ Audio server started successfully"));
  g_assert_true (roadie_test_was_logged ("Starting audio server health monitoring (interval: 60000ms)"));
  g_assert_true (roadie_test_was_logged ("✓ Audio server ready"));

  g_assert_true (roadie_supervisor_stop (fixture->supervisor, NULL));
  g_assert_cmpint (roadie_supervisor_get_state (fixture->supervisor), ==, ROADIE_SUPERVISOR_STATE_STOPPING);
  wait_state (fixture, ROADIE_SUPERVISOR_STATE_STOPPED, 3000);
  g_assert_true (roadie_test_was_logged ("Stopping audio server..."));
  g_assert_true (roadie_test_was_logged ("Audio server stopped"));
  g_assert_cmpint (roadie_supervisor_get_pid (fixture->supervisor), ==, 0);
  g_assert_cmpuint (roadie_test_count_tagged (fixture->tag), ==, 0);

  /* A stop is not a crash: no restart follows. */
  roadie_test_run_for (400);
  g_assert_cmpint (roadie_supervisor_get_state (fixture->supervisor), ==, ROADIE_SUPERVISOR_STATE_STOPPED);
  g_assert_cmpuint (count_transitions (fixture, ROADIE_SUPERVISOR_STATE_STARTING), ==, 1);

  log = roadie_test_read_file (fixture->log_path, NULL);
  g_assert_nonnull (log);
  g_assert_true (g_str_has_prefix (log, "=== Audio Server Started: "));
  {
    g_autofree char *listening = g_strdup_printf ("\n[STDOUT] WebSocket server listening on port %u\n", fixture->port);
    g_assert_nonnull (strstr (log, listening));
  }
  g_assert_true (g_str_has_suffix (log, " (code: null, signal: SIGTERM) ===\n\n"));
}

static void
test_log_format (Fixture       *fixture,
                 gconstpointer  data)
{
  g_autofree char *log = NULL;
  g_auto(GStrv) lines = NULL;
  g_autoptr(GRegex) frame = NULL;
  guint out = 0, err = 0;

  set_args (fixture, "--print-lines", "3", "--exit-on-sigterm", "0", NULL);
  start_ok (fixture);
  wait_state (fixture, ROADIE_SUPERVISOR_STATE_RUNNING, 5000);
  roadie_test_run_for (200);
  g_assert_true (roadie_supervisor_stop (fixture->supervisor, NULL));
  wait_state (fixture, ROADIE_SUPERVISOR_STATE_STOPPED, 3000);

  log = roadie_test_read_file (fixture->log_path, NULL);
  /* The seed's frame, byte for byte apart from the times. */
  frame = g_regex_new ("^=== Audio Server Started: \\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d\\.\\d{3}Z ===\n"
                       "\n"
                       "(\\[STD(OUT|ERR)\\] [^\n]*\n)+"
                       "\n"
                       "=== Audio Server Exited: \\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d\\.\\d{3}Z \\(code: 0, signal: null\\) ===\n"
                       "\n$", G_REGEX_DEFAULT, G_REGEX_MATCH_DEFAULT, NULL);
  g_assert_true (g_regex_match (frame, log, G_REGEX_MATCH_DEFAULT, NULL));

  /* Each stream's lines in order (the two pipes may interleave). */
  lines = g_strsplit (log, "\n", -1);
  for (guint i = 0; lines[i] != NULL; i++)
    {
      if (g_str_has_prefix (lines[i], "[STDOUT] line "))
        {
          g_autofree char *expected = g_strdup_printf ("[STDOUT] line %u", ++out);
          g_assert_cmpstr (lines[i], ==, expected);
        }
      else if (g_str_has_prefix (lines[i], "[STDERR] "))
        {
          g_autofree char *expected = g_strdup_printf ("[STDERR] err %u", ++err);
          g_assert_cmpstr (lines[i], ==, expected);
        }
    }
  g_assert_cmpuint (out, ==, 3);
  g_assert_cmpuint (err, ==, 3);
}

static void
test_crash_restart (Fixture       *fixture,
                    gconstpointer  data)
{
  g_autoptr(JsonNode) node = NULL;
  g_autofree char *log = NULL;
  JsonObject *status, *last_exit;
  GPid first_pid, second_pid;
  gint64 crashed, restarted, delay_ms;

  g_settings_set_int (fixture->gsettings, "restart-delay-ms", 400);
  g_settings_set_double (fixture->gsettings, "restart-jitter", 0.1);
  set_args (fixture, "--crash-after", "300", "--exit-code", "3", NULL);
  start_ok (fixture);
  wait_state (fixture, ROADIE_SUPERVISOR_STATE_RUNNING, 5000);
  first_pid = roadie_supervisor_get_pid (fixture->supervisor);

  wait_state (fixture, ROADIE_SUPERVISOR_STATE_BACKOFF, 5000);
  g_assert_true (roadie_test_was_logged ("Audio server crashed, attempting auto-restart..."));
  g_assert_true (roadie_test_was_logged ("Restarting audio server (attempt 1/5)..."));
  status = status_object (fixture, &node);
  g_assert_cmpint (json_object_get_int_member (status, "nextRestartInMs"), >, 0);
  g_assert_cmpint (json_object_get_int_member (status, "nextRestartInMs"), <=, 440);
  g_assert_cmpint (json_object_get_int_member (status, "restartCount"), ==, 1);
  g_clear_pointer (&node, json_node_unref);

  wait_state (fixture, ROADIE_SUPERVISOR_STATE_RUNNING, 5000);
  second_pid = roadie_supervisor_get_pid (fixture->supervisor);
  g_assert_cmpint (second_pid, >, 0);
  g_assert_cmpint (second_pid, !=, first_pid);

  /* The delay lies within 400 ms ± 10 % (plus scheduling slack). */
  crashed = transition_time (fixture, ROADIE_SUPERVISOR_STATE_BACKOFF, 1);
  restarted = transition_time (fixture, ROADIE_SUPERVISOR_STATE_STARTING, 2);
  delay_ms = (restarted - crashed) / 1000;
  g_test_message ("restart delay %" G_GINT64_FORMAT " ms", delay_ms);
  g_assert_cmpint (delay_ms, >=, 360 - 2);
  g_assert_cmpint (delay_ms, <=, 440 + 100);

  status = status_object (fixture, &node);
  last_exit = json_object_get_object_member (status, "lastExit");
  g_assert_nonnull (last_exit);
  g_assert_cmpint (json_object_get_int_member (last_exit, "code"), ==, 3);
  g_assert_true (json_object_get_null_member (last_exit, "signal"));
  g_assert_true (g_str_has_suffix (json_object_get_string_member (last_exit, "at"), "Z"));

  log = roadie_test_read_file (fixture->log_path, NULL);
  g_assert_nonnull (strstr (log, " (code: 3, signal: null) ===\n\n=== Audio Server Started: "));
}

static gboolean
has_last_exit (gpointer data)
{
  return roadie_supervisor_get_last_exit (data, NULL, NULL, NULL);
}

static void
test_crash_signal (Fixture       *fixture,
                   gconstpointer  data)
{
  g_autofree char *log = NULL;
  int code = 0, signum = 0;

  g_settings_set_boolean (fixture->gsettings, "auto-restart", FALSE);
  set_args (fixture, "--crash-after", "100", "--crash-signal", "SEGV", NULL);
  start_ok (fixture);
  wait_state (fixture, ROADIE_SUPERVISOR_STATE_RUNNING, 5000);
  wait_state (fixture, ROADIE_SUPERVISOR_STATE_STOPPED, 5000);
  g_assert_true (roadie_test_wait_until (has_last_exit, fixture->supervisor, 2000));
  g_assert_true (roadie_supervisor_get_last_exit (fixture->supervisor, &code, &signum, NULL));
  g_assert_cmpint (code, ==, -1);
  g_assert_cmpint (signum, ==, SIGSEGV);
  g_assert_nonnull (roadie_supervisor_get_last_error (fixture->supervisor));
  /* auto-restart off: it stays down */
  roadie_test_run_for (300);
  g_assert_cmpint (roadie_supervisor_get_state (fixture->supervisor), ==, ROADIE_SUPERVISOR_STATE_STOPPED);

  log = roadie_test_read_file (fixture->log_path, NULL);
  g_assert_nonnull (strstr (log, "[STDERR] crashing now\n"));
  g_assert_true (g_str_has_suffix (log, " (code: null, signal: SIGSEGV) ===\n\n"));
}

static void
test_crash_loop_fails (Fixture       *fixture,
                       gconstpointer  data)
{
  g_autoptr(JsonNode) node = NULL;
  JsonObject *status;

  g_settings_set_int (fixture->gsettings, "max-restarts", 3);
  g_settings_set_int (fixture->gsettings, "restart-delay-ms", 20);
  set_args (fixture, "--crash-after", "30", NULL);
  start_ok (fixture);
  wait_state (fixture, ROADIE_SUPERVISOR_STATE_FAILED, 15000);

  g_assert_cmpuint (fixture->gave_up, ==, 1);
  g_assert_cmpuint (count_transitions (fixture, ROADIE_SUPERVISOR_STATE_STARTING), ==, 4);
  g_assert_true (roadie_test_was_logged ("Restarting audio server (attempt 3/3)..."));
  g_assert_true (roadie_test_was_logged ("Audio server has crashed 3 times within 300s, giving up"));
  g_assert_nonnull (strstr (roadie_supervisor_get_last_error (fixture->supervisor), "gave up"));
  status = status_object (fixture, &node);
  g_assert_cmpstr (json_object_get_string_member (status, "state"), ==, "failed");
  g_assert_cmpint (json_object_get_int_member (status, "restartCount"), ==, 3);
  g_assert_false (json_object_get_boolean_member (status, "isProcessRunning"));

  /* Failed means failed: nothing comes back by itself. */
  roadie_test_run_for (300);
  g_assert_cmpint (roadie_supervisor_get_state (fixture->supervisor), ==, ROADIE_SUPERVISOR_STATE_FAILED);
  g_assert_true (roadie_test_wait_until (no_tagged, fixture->tag, 1000));

  /* Start clears it. */
  set_args (fixture, NULL);
  start_ok (fixture);
  wait_state (fixture, ROADIE_SUPERVISOR_STATE_RUNNING, 5000);
  g_assert_cmpuint (roadie_supervisor_get_restart_count (fixture->supervisor), ==, 0);
}

static void
test_hang_unhealthy (Fixture       *fixture,
                     gconstpointer  data)
{
  GPid first_pid;

  g_settings_set_int (fixture->gsettings, "health-check-interval", 250);
  g_settings_set_int (fixture->gsettings, "health-check-timeout-ms", 200);
  g_settings_set_int (fixture->gsettings, "health-failure-threshold", 2);
  set_args (fixture, "--hang-after", "300", NULL);
  start_ok (fixture);
  wait_state (fixture, ROADIE_SUPERVISOR_STATE_RUNNING, 5000);
  first_pid = roadie_supervisor_get_pid (fixture->supervisor);

  wait_state (fixture, ROADIE_SUPERVISOR_STATE_UNHEALTHY, 5000);
  g_assert_true (roadie_test_was_logged ("Audio server health check failed, attempting restart..."));
  wait_state (fixture, ROADIE_SUPERVISOR_STATE_BACKOFF, 5000);
  /* the hung process is gone before the new one starts */
  wait_state (fixture, ROADIE_SUPERVISOR_STATE_STARTING, 5000);
  g_assert_cmpint (kill (first_pid, 0), !=, 0);
  wait_state (fixture, ROADIE_SUPERVISOR_STATE_RUNNING, 5000);
  g_assert_cmpint (roadie_supervisor_get_pid (fixture->supervisor), !=, first_pid);
  /* counted like a crash */
  g_assert_cmpuint (roadie_supervisor_get_restart_count (fixture->supervisor), ==, 1);
}

static void
test_ignore_sigterm (Fixture       *fixture,
                     gconstpointer  data)
{
  gint64 begin, took_ms;

  g_settings_set_int (fixture->gsettings, "stop-timeout-ms", 800);
  set_args (fixture, "--ignore-sigterm", NULL);
  start_ok (fixture);
  wait_state (fixture, ROADIE_SUPERVISOR_STATE_RUNNING, 5000);

  begin = g_get_monotonic_time ();
  g_assert_true (roadie_supervisor_stop (fixture->supervisor, NULL));
  wait_state (fixture, ROADIE_SUPERVISOR_STATE_STOPPED, 5000);
  took_ms = (g_get_monotonic_time () - begin) / 1000;
  g_test_message ("stop of a server ignoring SIGTERM took %" G_GINT64_FORMAT " ms", took_ms);
  g_assert_cmpint (took_ms, >=, 750);
  g_assert_cmpint (took_ms, <=, 800 + 1000);
  g_assert_cmpuint (roadie_test_count_tagged (fixture->tag), ==, 0);
  {
    int signum = 0;
    g_assert_true (roadie_supervisor_get_last_exit (fixture->supervisor, NULL, &signum, NULL));
    g_assert_cmpint (signum, ==, SIGKILL);
  }
}

static gboolean
three_tagged (gpointer data)
{
  return roadie_test_count_tagged (data) == 3;
}

static void
test_grandchild (Fixture       *fixture,
                 gconstpointer  data)
{
  gint64 begin, took_ms;

  g_settings_set_int (fixture->gsettings, "stop-timeout-ms", 500);
  set_args (fixture, "--fork-grandchild", NULL);
  start_ok (fixture);
  wait_state (fixture, ROADIE_SUPERVISOR_STATE_RUNNING, 5000);
  g_assert_true (roadie_test_wait_until (three_tagged, fixture->tag, 3000));

  begin = g_get_monotonic_time ();
  g_assert_true (roadie_supervisor_stop (fixture->supervisor, NULL));
  wait_state (fixture, ROADIE_SUPERVISOR_STATE_STOPPED, 5000);
  took_ms = (g_get_monotonic_time () - begin) / 1000;
  g_test_message ("stop with a grandchild that ignores SIGTERM took %" G_GINT64_FORMAT " ms", took_ms);
  g_assert_cmpint (took_ms, <=, 500 + 1000);
  /* the stop completes only when the whole tree is gone */
  g_assert_cmpuint (roadie_test_count_tagged (fixture->tag), ==, 0);
}

static void
expect_start_error (Fixture    *fixture,
                    int         code,
                    const char *needle)
{
  g_autoptr(GError) error = NULL;

  g_assert_false (roadie_supervisor_start (fixture->supervisor, &error));
  g_assert_error (error, ROADIE_ERROR, code);
  g_test_message ("%s", error->message);
  g_assert_nonnull (strstr (error->message, needle));
  g_assert_cmpint (roadie_supervisor_get_state (fixture->supervisor), ==, ROADIE_SUPERVISOR_STATE_STOPPED);
  g_assert_cmpstr (roadie_supervisor_get_last_error (fixture->supervisor), ==, error->message);
  /* no loop: nothing is scheduled, nothing runs */
  roadie_test_run_for (300);
  g_assert_cmpint (roadie_supervisor_get_state (fixture->supervisor), ==, ROADIE_SUPERVISOR_STATE_STOPPED);
  g_assert_cmpuint (count_transitions (fixture, ROADIE_SUPERVISOR_STATE_STARTING), ==, 0);
  g_assert_cmpuint (roadie_test_count_tagged (fixture->tag), ==, 0);
}

static void
test_bad_executable (Fixture       *fixture,
                     gconstpointer  data)
{
  g_autofree char *missing = g_build_filename (roadie_test_tmpdir (), "no-such-server", NULL);
  g_autofree char *plain = g_build_filename (roadie_test_tmpdir (), "not-executable", NULL);
  g_autofree char *folder = g_build_filename (roadie_test_tmpdir (), "a-folder", NULL);

  g_settings_set_string (fixture->gsettings, "executable-path", missing);
  expect_start_error (fixture, ROADIE_ERROR_EXECUTABLE_MISSING, missing);

  g_assert_true (g_file_set_contents (plain, "#!/bin/sh\n", -1, NULL));
  g_assert_cmpint (chmod (plain, 0644), ==, 0);
  g_settings_set_string (fixture->gsettings, "executable-path", plain);
  expect_start_error (fixture, ROADIE_ERROR_EXECUTABLE_NOT_EXECUTABLE, "chmod +x");

  g_assert_cmpint (g_mkdir_with_parents (folder, 0755), ==, 0);
  g_settings_set_string (fixture->gsettings, "executable-path", folder);
  expect_start_error (fixture, ROADIE_ERROR_EXECUTABLE_NOT_REGULAR, "is a folder");

  g_settings_set_string (fixture->gsettings, "executable-path", roadie_test_fake_server ());
  g_settings_set_string (fixture->gsettings, "working-dir", missing);
  expect_start_error (fixture, ROADIE_ERROR_WORKING_DIR_MISSING, missing);
}

static void
test_port_in_use (Fixture       *fixture,
                  gconstpointer  data)
{
  struct sockaddr_in addr = { 0 };
  g_autofree char *port_text = g_strdup_printf ("Port %u", fixture->port);
  int fd = socket (AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl (INADDR_LOOPBACK);
  addr.sin_port = htons (fixture->port);
  g_assert_cmpint (bind (fd, (struct sockaddr *) &addr, sizeof addr), ==, 0);
  g_assert_cmpint (listen (fd, 1), ==, 0);

  expect_start_error (fixture, ROADIE_ERROR_PORT_IN_USE, port_text);
  /* it names the holder: this very test program */
  g_assert_nonnull (strstr (roadie_supervisor_get_last_error (fixture->supervisor), "(pid "));
  close (fd);

  /* freed: it starts */
  start_ok (fixture);
  wait_state (fixture, ROADIE_SUPERVISOR_STATE_RUNNING, 5000);
}

static void
test_engine_port_in_use (Fixture       *fixture,
                         gconstpointer  data)
{
  struct sockaddr_in addr = { 0 };
  guint16 busy = roadie_test_free_port ();
  int fd = socket (AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl (INADDR_LOOPBACK);
  addr.sin_port = htons (busy);
  g_assert_cmpint (bind (fd, (struct sockaddr *) &addr, sizeof addr), ==, 0);
  g_assert_cmpint (listen (fd, 1), ==, 0);

  /* The bundled engine's browser port is taken: said before spawning. */
  g_settings_set_string (fixture->gsettings, "executable-path", "");
  g_settings_set_strv (fixture->gsettings, "arguments", NULL);
  g_settings_set_int (fixture->gsettings, "engine-dj-port", 0);
  g_settings_set_int (fixture->gsettings, "engine-browser-port", busy);
  expect_start_error (fixture, ROADIE_ERROR_PORT_IN_USE, "engine-browser-port");

  /* Another server than the bundled one does not open that port. */
  g_settings_set_string (fixture->gsettings, "executable-path", roadie_test_fake_server ());
  set_args (fixture, NULL);
  start_ok (fixture);
  wait_state (fixture, ROADIE_SUPERVISOR_STATE_RUNNING, 5000);
  close (fd);
}

static void
test_attached (Fixture       *fixture,
               gconstpointer  data)
{
  g_autoptr(GSubprocess) foreign = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonNode) node = NULL;
  g_autofree char *port = g_strdup_printf ("%u", fixture->port);
  JsonObject *status;

  foreign = g_subprocess_new (G_SUBPROCESS_FLAGS_STDOUT_SILENCE, &error,
                              roadie_test_fake_server (), "--port", port, "--tag", fixture->tag, NULL);
  g_assert_no_error (error);
  roadie_test_run_for (300);

  g_settings_set_boolean (fixture->gsettings, "auto-start", TRUE);
  roadie_supervisor_auto_start (fixture->supervisor);
  wait_state (fixture, ROADIE_SUPERVISOR_STATE_ATTACHED, 5000);
  g_assert_cmpuint (count_transitions (fixture, ROADIE_SUPERVISOR_STATE_STARTING), ==, 0);
  g_assert_cmpuint (roadie_test_count_tagged (fixture->tag), ==, 1);

  status = status_object (fixture, &node);
  g_assert_cmpstr (json_object_get_string_member (status, "state"), ==, "attached");
  g_assert_true (json_object_get_boolean_member (status, "isReady"));
  g_assert_false (json_object_get_boolean_member (status, "isProcessRunning"));

  g_assert_false (roadie_supervisor_stop (fixture->supervisor, &error));
  g_assert_error (error, ROADIE_ERROR, ROADIE_ERROR_NOT_OWNED);
  g_assert_nonnull (strstr (error->message, "did not start"));
  g_assert_cmpint (roadie_supervisor_get_state (fixture->supervisor), ==, ROADIE_SUPERVISOR_STATE_ATTACHED);

  g_subprocess_force_exit (foreign);
  g_assert_true (g_subprocess_wait (foreign, NULL, NULL));
}

typedef struct
{
  Fixture              *fixture;
  RoadieSupervisorState state;
  guint                 target;
} CycleWait;

static gboolean
enough_transitions (gpointer data)
{
  CycleWait *wait = data;

  return count_transitions (wait->fixture, wait->state) >= wait->target;
}

static void
test_manual_restart (Fixture       *fixture,
                     gconstpointer  data)
{
  GPid first_pid;

  start_ok (fixture);
  wait_state (fixture, ROADIE_SUPERVISOR_STATE_RUNNING, 5000);
  first_pid = roadie_supervisor_get_pid (fixture->supervisor);

  g_assert_true (roadie_supervisor_restart (fixture->supervisor, NULL));
  {
    CycleWait wait = { fixture, ROADIE_SUPERVISOR_STATE_RUNNING, 2 };
    g_assert_true (roadie_test_wait_until (enough_transitions, &wait, 5000));
  }
  /* through stopping and stopped, not through a crash */
  g_assert_cmpuint (count_transitions (fixture, ROADIE_SUPERVISOR_STATE_STOPPED), ==, 1);
  g_assert_cmpuint (count_transitions (fixture, ROADIE_SUPERVISOR_STATE_BACKOFF), ==, 0);
  g_assert_cmpint (roadie_supervisor_get_pid (fixture->supervisor), !=, first_pid);
  g_assert_cmpint (kill (first_pid, 0), !=, 0);
  /* asked for, so not counted against the restart limit */
  g_assert_cmpuint (roadie_supervisor_get_restart_count (fixture->supervisor), ==, 0);
  g_assert_cmpuint (roadie_test_count_tagged (fixture->tag), ==, 2);
}

/* Delay between the n-th crash and the restart that follows it. */
static gint64
restart_delay_ms (Fixture *fixture,
                  guint    n)
{
  return (transition_time (fixture, ROADIE_SUPERVISOR_STATE_STARTING, n + 1)
          - transition_time (fixture, ROADIE_SUPERVISOR_STATE_BACKOFF, n)) / 1000;
}

static void
run_two_crashes (Fixture *fixture,
                 int      stable_ms)
{
  g_settings_set_int (fixture->gsettings, "restart-delay-ms", 200);
  g_settings_set_double (fixture->gsettings, "restart-delay-multiplier", 4.0);
  g_settings_set_int (fixture->gsettings, "stable-uptime-ms", stable_ms);
  set_args (fixture, "--crash-after", "600", NULL);
  start_ok (fixture);
  wait_state (fixture, ROADIE_SUPERVISOR_STATE_RUNNING, 5000);
  wait_state (fixture, ROADIE_SUPERVISOR_STATE_BACKOFF, 5000);
  wait_state (fixture, ROADIE_SUPERVISOR_STATE_RUNNING, 5000);
  wait_state (fixture, ROADIE_SUPERVISOR_STATE_BACKOFF, 5000);
  wait_state (fixture, ROADIE_SUPERVISOR_STATE_STARTING, 5000);
}

static void
test_stable_uptime_resets (Fixture       *fixture,
                           gconstpointer  data)
{
  gint64 first, second;

  /* up 600 ms each time, stable after 300 ms: the schedule starts over */
  run_two_crashes (fixture, 300);
  first = restart_delay_ms (fixture, 1);
  second = restart_delay_ms (fixture, 2);
  g_test_message ("delays %" G_GINT64_FORMAT " ms, %" G_GINT64_FORMAT " ms", first, second);
  g_assert_cmpint (first, >=, 195);
  g_assert_cmpint (first, <, 700);
  g_assert_cmpint (second, >=, 195);
  g_assert_cmpint (second, <, 700);
}

static void
test_backoff_grows (Fixture       *fixture,
                    gconstpointer  data)
{
  gint64 first, second;

  /* never stable long enough: the second delay is 4 × the first */
  run_two_crashes (fixture, 60000);
  first = restart_delay_ms (fixture, 1);
  second = restart_delay_ms (fixture, 2);
  g_test_message ("delays %" G_GINT64_FORMAT " ms, %" G_GINT64_FORMAT " ms", first, second);
  g_assert_cmpint (first, >=, 195);
  g_assert_cmpint (first, <, 700);
  g_assert_cmpint (second, >=, 795);
  g_assert_cmpint (second, <, 1300);
}

static void
test_startup_timeout (Fixture       *fixture,
                      gconstpointer  data)
{
  g_settings_set_int (fixture->gsettings, "startup-timeout-ms", 400);
  g_settings_set_int (fixture->gsettings, "max-restarts", 1);
  set_args (fixture, "--never-listen", NULL);
  start_ok (fixture);
  /* counted as a failed start: one restart, then the limit */
  wait_state (fixture, ROADIE_SUPERVISOR_STATE_BACKOFF, 5000);
  g_assert_nonnull (strstr (roadie_supervisor_get_last_error (fixture->supervisor), "within 400 ms"));
  wait_state (fixture, ROADIE_SUPERVISOR_STATE_FAILED, 8000);
  /* the state changes when the server dies; the reaper follows at once */
  g_assert_true (roadie_test_wait_until (no_tagged, fixture->tag, 1000));
}

static void
test_many_cycles (Fixture       *fixture,
                  gconstpointer  data)
{
  CycleWait wait = { fixture, ROADIE_SUPERVISOR_STATE_STARTING, 0 };
  guint fds_before, fds_after;

  g_settings_set_int (fixture->gsettings, "restart-delay-ms", 0);
  g_settings_set_int (fixture->gsettings, "max-restarts", 1000);
  set_args (fixture, "--crash-after", "5", NULL);
  start_ok (fixture);

  wait.target = 5;
  g_assert_true (roadie_test_wait_until (enough_transitions, &wait, 20000));
  fds_before = roadie_test_count_fds ();

  wait.target = 205;
  g_assert_true (roadie_test_wait_until (enough_transitions, &wait, 120000));
  g_assert_true (roadie_supervisor_stop (fixture->supervisor, NULL));
  wait_state (fixture, ROADIE_SUPERVISOR_STATE_STOPPED, 5000);
  roadie_test_run_for (100);

  fds_after = roadie_test_count_fds ();
  g_test_message ("%u crash/restart cycles; fds %u before, %u after", wait.target - 5, fds_before, fds_after);
  g_assert_cmpuint (fds_after, <=, fds_before);
  g_assert_cmpuint (roadie_test_count_zombies (), ==, 0);
  g_assert_cmpuint (roadie_test_count_tagged (fixture->tag), ==, 0);
  g_assert_cmpint (roadie_supervisor_get_state (fixture->supervisor), ==, ROADIE_SUPERVISOR_STATE_STOPPED);
}

static gboolean
flood_done (gpointer data)
{
  Fixture *fixture = data;

  return g_strcmp0 (fixture->last_flood_line, "flood line 000500000") == 0;
}

static void
test_log_rotation_flood (Fixture       *fixture,
                         gconstpointer  data)
{
  const gint64 max = 1024 * 1024;
  gint64 total = 0;

  g_settings_set_int64 (fixture->gsettings, "log-max-bytes", max);
  g_settings_set_int (fixture->gsettings, "log-backups", 3);
  /* a chatty server is not a sick one: checks go on during the flood */
  g_settings_set_int (fixture->gsettings, "health-check-interval", 250);
  g_settings_set_int (fixture->gsettings, "health-check-timeout-ms", 200);
  set_args (fixture, "--flood-stdout", "50000000", "--flood-stderr", NULL);
  start_ok (fixture);
  wait_state (fixture, ROADIE_SUPERVISOR_STATE_RUNNING, 5000);
  g_assert_true (roadie_test_wait_until (flood_done, fixture, 120000));

  for (guint i = 0; i <= 4; i++)
    {
      g_autofree char *path = i == 0 ? g_strdup (fixture->log_path)
                                     : g_strdup_printf ("%s.%u", fixture->log_path, i);
      struct stat st;

      if (i == 4)
        {
          g_assert_cmpint (stat (path, &st), !=, 0);
          break;
        }
      g_assert_cmpint (stat (path, &st), ==, 0);
      g_assert_cmpint (st.st_size, <=, max + 128);
      total += st.st_size;
    }
  g_test_message ("log total after a 50 MB flood: %" G_GINT64_FORMAT " bytes", total);
  g_assert_cmpint (total, <=, 4 * max + 128);
  g_assert_cmpint (total, >=, 3 * max);

  /* the newest lines are in the current file, and the server is still up */
  {
    g_autofree char *log = roadie_test_read_file (fixture->log_path, NULL);
    g_assert_nonnull (strstr (log, "[STDOUT] flood line 000500000 "));
  }
  g_assert_cmpint (roadie_supervisor_get_state (fixture->supervisor), ==, ROADIE_SUPERVISOR_STATE_RUNNING);
  g_assert_cmpuint (count_transitions (fixture, ROADIE_SUPERVISOR_STATE_UNHEALTHY), ==, 0);
  g_assert_cmpuint (count_transitions (fixture, ROADIE_SUPERVISOR_STATE_STARTING), ==, 1);
}

static void
test_log_unwritable (Fixture       *fixture,
                     gconstpointer  data)
{
  g_autofree char *file = g_build_filename (roadie_test_tmpdir (), "plain-file", NULL);
  g_autofree char *bad = g_build_filename (file, "audio-server.log", NULL);

  g_assert_true (g_file_set_contents (file, "", 0, NULL));
  g_settings_set_string (fixture->gsettings, "log-file", bad);
  start_ok (fixture);
  /* supervision goes on; the problem is shown */
  wait_state (fixture, ROADIE_SUPERVISOR_STATE_RUNNING, 5000);
  g_assert_nonnull (roadie_supervisor_get_last_error (fixture->supervisor));
  g_assert_nonnull (strstr (roadie_supervisor_get_last_error (fixture->supervisor), bad));
  g_assert_cmpint (roadie_supervisor_get_pid (fixture->supervisor), >, 0);
}

static void
add (const char *path,
     void (*func) (Fixture *, gconstpointer))
{
  g_test_add (path, Fixture, NULL, fixture_setup, func, fixture_teardown);
}

int
main (int argc, char *argv[])
{
  roadie_test_init_environment ();
  g_test_init (&argc, &argv, NULL);
  roadie_test_capture_log ();

  add ("/roadie/supervisor/start-stop", test_start_stop);
  add ("/roadie/supervisor/log-format", test_log_format);
  add ("/roadie/supervisor/crash-restart", test_crash_restart);
  add ("/roadie/supervisor/crash-signal", test_crash_signal);
  add ("/roadie/supervisor/crash-loop-fails", test_crash_loop_fails);
  add ("/roadie/supervisor/hang-unhealthy", test_hang_unhealthy);
  add ("/roadie/supervisor/ignore-sigterm", test_ignore_sigterm);
  add ("/roadie/supervisor/grandchild", test_grandchild);
  add ("/roadie/supervisor/bad-executable", test_bad_executable);
  add ("/roadie/supervisor/port-in-use", test_port_in_use);
  add ("/roadie/supervisor/engine-port-in-use", test_engine_port_in_use);
  add ("/roadie/supervisor/attached", test_attached);
  add ("/roadie/supervisor/manual-restart", test_manual_restart);
  add ("/roadie/supervisor/stable-uptime-resets", test_stable_uptime_resets);
  add ("/roadie/supervisor/backoff-grows", test_backoff_grows);
  add ("/roadie/supervisor/startup-timeout", test_startup_timeout);
  add ("/roadie/supervisor/many-cycles", test_many_cycles);
  add ("/roadie/supervisor/log-rotation-flood", test_log_rotation_flood);
  add ("/roadie/supervisor/log-unwritable", test_log_unwritable);

  return g_test_run ();
}
