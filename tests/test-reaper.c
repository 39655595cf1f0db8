/* test-reaper.c: drives roadie-reaper with the fake audio server and checks
 * in /proc that exit statuses pass through, signals are forwarded, output is
 * untouched and nothing of the server's tree outlives the reaper, not even a
 * grandchild in its own session or after the reaper's parent was SIGKILLed.
 * Also measures how much the reaper adds to crash-detection latency. */
#include "config.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <glib-unix.h>
#include <gio/gio.h>

#include "roadie-test-util.h"

#define WAIT_MS 10000
#define LATENCY_RUNS 50

/* Drains one pipe of the child asynchronously until end of file. */
typedef struct
{
  GInputStream *stream;
  GByteArray *data;
  gboolean eof;
} Capture;

/* One roadie-reaper (or a helper shell above it) and what it printed. */
typedef struct
{
  char *tag;
  GSubprocess *process;
  pid_t pid;
  pid_t server_pid;
  Capture out;
  Capture err;
  gboolean exited;
  gint64 spawned_at;
  gint64 exited_at;
} Run;

static void
capture_read_cb (GObject      *source,
                 GAsyncResult *result,
                 gpointer      user_data)
{
  Capture *capture = user_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) bytes = NULL;

  bytes = g_input_stream_read_bytes_finish (G_INPUT_STREAM (source), result, &error);
  g_assert_no_error (error);
  if (g_bytes_get_size (bytes) == 0)
    {
      capture->eof = TRUE;
      return;
    }
  g_byte_array_append (capture->data, g_bytes_get_data (bytes, NULL), g_bytes_get_size (bytes));
  g_input_stream_read_bytes_async (capture->stream, 65536, G_PRIORITY_DEFAULT, NULL,
                                   capture_read_cb, capture);
}

static void
capture_start (Capture      *capture,
               GInputStream *stream)
{
  capture->stream = g_object_ref (stream);
  capture->data = g_byte_array_new ();
  g_input_stream_read_bytes_async (stream, 65536, G_PRIORITY_DEFAULT, NULL,
                                   capture_read_cb, capture);
}

static gboolean
capture_has (const Capture *capture,
             const char    *needle)
{
  return capture->data->len > 0
         && g_strstr_len ((const char *) capture->data->data, capture->data->len, needle) != NULL;
}

/* The text of the capture as a string, for comparisons. */
static char *
capture_text (const Capture *capture)
{
  return capture->data->len > 0 ? g_strndup ((const char *) capture->data->data, capture->data->len) : g_strdup ("");
}

static void
run_clear (Run *run)
{
  g_clear_pointer (&run->tag, g_free);
  g_clear_object (&run->process);
  g_clear_object (&run->out.stream);
  g_clear_object (&run->err.stream);
  g_clear_pointer (&run->out.data, g_byte_array_unref);
  g_clear_pointer (&run->err.data, g_byte_array_unref);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (Run, run_clear)

static void
run_wait_cb (GObject      *source,
             GAsyncResult *result,
             gpointer      user_data)
{
  Run *run = user_data;
  g_autoptr(GError) error = NULL;

  g_subprocess_wait_finish (G_SUBPROCESS (source), result, &error);
  g_assert_no_error (error);
  run->exited = TRUE;
  run->exited_at = g_get_monotonic_time ();
}

/* Spawns argv with both pipes captured; with want_pid, the child's fd 3 is
 * the write end of a pipe whose first line becomes run->server_pid. */
static void
run_spawn (Run        *run,
           GPtrArray  *argv,
           gboolean    want_pid)
{
  g_autoptr(GSubprocessLauncher) launcher = NULL;
  g_autoptr(GError) error = NULL;
  int fds[2] = { -1, -1 };

  launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE | G_SUBPROCESS_FLAGS_STDERR_PIPE);
  if (want_pid)
    {
      g_assert_true (g_unix_open_pipe (fds, FD_CLOEXEC, &error));
      g_assert_no_error (error);
      g_subprocess_launcher_take_fd (launcher, fds[1], 3);
    }
  g_ptr_array_add (argv, NULL);
  run->spawned_at = g_get_monotonic_time ();
  run->process = g_subprocess_launcher_spawnv (launcher, (const char * const *) argv->pdata, &error);
  g_assert_no_error (error);
  /* NULL when GLib already reaped it (a usage error exits at once). */
  if (g_subprocess_get_identifier (run->process) != NULL)
    run->pid = (pid_t) g_ascii_strtoll (g_subprocess_get_identifier (run->process), NULL, 10);
  capture_start (&run->out, g_subprocess_get_stdout_pipe (run->process));
  capture_start (&run->err, g_subprocess_get_stderr_pipe (run->process));
  g_subprocess_wait_async (run->process, NULL, run_wait_cb, run);

  if (want_pid)
    {
      /* The launcher's copy of the write end is gone with the launcher. */
      struct pollfd pfd = { fds[0], POLLIN, 0 };
      char buf[32] = { 0 };
      ssize_t n;

      g_clear_object (&launcher);
      g_assert_cmpint (poll (&pfd, 1, WAIT_MS), ==, 1);
      n = read (fds[0], buf, sizeof buf - 1);
      g_assert_cmpint (n, >, 1);
      g_assert_cmpint (buf[n - 1], ==, '\n');
      run->server_pid = (pid_t) g_ascii_strtoll (buf, NULL, 10);
      g_assert_cmpint (run->server_pid, >, 1);
      /* The reaper closes it after writing: end of file next. */
      g_assert_cmpint (read (fds[0], buf, sizeof buf), ==, 0);
      close (fds[0]);
    }
}

/* roadie-reaper [--grace-ms G] [--pid-fd 3] -- fake-audio-server --tag TAG ARGS… */
static void
run_reaper (Run        *run,
            int         grace_ms,
            gboolean    want_pid,
            const char *first_arg,
            ...)
{
  g_autoptr(GPtrArray) argv = g_ptr_array_new_with_free_func (g_free);
  const char *arg;
  va_list args;

  run->tag = roadie_test_new_tag ();
  g_ptr_array_add (argv, g_strdup (roadie_test_reaper ()));
  if (grace_ms >= 0)
    {
      g_ptr_array_add (argv, g_strdup ("--grace-ms"));
      g_ptr_array_add (argv, g_strdup_printf ("%d", grace_ms));
    }
  if (want_pid)
    {
      g_ptr_array_add (argv, g_strdup ("--pid-fd"));
      g_ptr_array_add (argv, g_strdup ("3"));
    }
  g_ptr_array_add (argv, g_strdup ("--"));
  g_ptr_array_add (argv, g_strdup (roadie_test_fake_server ()));
  g_ptr_array_add (argv, g_strdup ("--tag"));
  g_ptr_array_add (argv, g_strdup (run->tag));
  va_start (args, first_arg);
  for (arg = first_arg; arg != NULL; arg = va_arg (args, const char *))
    g_ptr_array_add (argv, g_strdup (arg));
  va_end (args);
  run_spawn (run, argv, want_pid);
}

static gboolean
run_finished (gpointer user_data)
{
  Run *run = user_data;

  return run->exited && run->out.eof && run->err.eof;
}

static gboolean
tick (gpointer user_data)
{
  return G_SOURCE_CONTINUE;
}

/* wait_until, for conditions no main-loop event announces (/proc). */
static gboolean
wait_polling (RoadieTestCondition func,
              gpointer            user_data,
              guint               timeout_ms)
{
  guint id = g_timeout_add (5, tick, NULL);
  gboolean reached = roadie_test_wait_until (func, user_data, timeout_ms);

  g_source_remove (id);
  return reached;
}

static void
run_wait (Run *run)
{
  g_assert_true (roadie_test_wait_until (run_finished, run, WAIT_MS));
}

static gboolean
run_stdout_ready (gpointer user_data)
{
  Run *run = user_data;

  return capture_has (&run->out, "WebSocket server listening on port") || run->out.eof;
}

static void
run_wait_listening (Run *run)
{
  g_assert_true (roadie_test_wait_until (run_stdout_ready, run, WAIT_MS));
  g_assert_true (capture_has (&run->out, "WebSocket server listening on port"));
}

static gboolean
run_has_line_1 (gpointer user_data)
{
  Run *run = user_data;

  return capture_has (&run->out, "line 1\n");
}

static gboolean
tagged_gone (gpointer user_data)
{
  return roadie_test_count_tagged (user_data) == 0;
}

static gint64
run_elapsed_ms (const Run *run,
                gint64     since)
{
  return (run->exited_at - since) / 1000;
}

static void
assert_exited_with (Run *run,
                    int  code)
{
  g_assert_true (g_subprocess_get_if_exited (run->process));
  g_assert_cmpint (g_subprocess_get_exit_status (run->process), ==, code);
}

static void
assert_signaled_with (Run *run,
                      int  signo)
{
  g_assert_true (g_subprocess_get_if_signaled (run->process));
  g_assert_cmpint (g_subprocess_get_term_sig (run->process), ==, signo);
  /* The reaper itself never leaves a core dump behind. */
  g_assert_false (WCOREDUMP (g_subprocess_get_status (run->process)));
}

/* Nothing of the tree is alive and nothing is left for us to reap. */
static void
assert_all_gone (const Run *run)
{
  g_assert_cmpuint (roadie_test_count_tagged (run->tag), ==, 0);
  g_assert_cmpuint (roadie_test_count_zombies (), ==, 0);
}

/* ppid, process group and session of pid from /proc/PID/stat. */
static gboolean
read_stat (pid_t  pid,
           pid_t *ppid,
           pid_t *pgrp,
           pid_t *session)
{
  g_autofree char *path = g_strdup_printf ("/proc/%d/stat", (int) pid);
  g_autofree char *stat = NULL;
  const char *p;
  char state;
  int fields[3];

  if (!g_file_get_contents (path, &stat, NULL, NULL) || (p = strrchr (stat, ')')) == NULL)
    return FALSE;
  if (sscanf (p + 1, " %c %d %d %d", &state, &fields[0], &fields[1], &fields[2]) != 4)
    return FALSE;
  *ppid = fields[0];
  *pgrp = fields[1];
  *session = fields[2];
  return TRUE;
}

static char *
read_cmdline (pid_t pid)
{
  g_autofree char *path = g_strdup_printf ("/proc/%d/cmdline", (int) pid);
  char *cmdline = NULL;
  gsize len = 0;

  if (!g_file_get_contents (path, &cmdline, &len, NULL))
    return NULL;
  for (gsize i = 0; i + 1 < len; i++)
    if (cmdline[i] == '\0')
      cmdline[i] = ' ';
  return cmdline;
}

static void
test_exit_code (void)
{
  static const struct { const char *code; int expected; } cases[] = {
    { "42", 42 }, { "0", 0 }, { "1", 1 },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_auto(Run) run = { 0 };

      run_reaper (&run, -1, FALSE, "--never-listen", "--crash-after", "0",
                  "--exit-code", cases[i].code, NULL);
      run_wait (&run);
      assert_exited_with (&run, cases[i].expected);
      g_assert_true (capture_has (&run.err, "crashing now"));
      assert_all_gone (&run);
    }
}

static void
test_signal (void)
{
  static const struct { const char *name; int signo; } cases[] = {
    { "KILL", SIGKILL }, { "SEGV", SIGSEGV }, { "ABRT", SIGABRT }, { "TERM", SIGTERM },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_auto(Run) run = { 0 };

      run_reaper (&run, -1, FALSE, "--never-listen", "--crash-after", "0",
                  "--crash-signal", cases[i].name, NULL);
      run_wait (&run);
      /* Not 128+N: the reaper dies of the very signal, as the server did. */
      assert_signaled_with (&run, cases[i].signo);
      assert_all_gone (&run);
    }
}

static void
test_exec_failure (void)
{
  g_autofree char *not_executable = g_build_filename (roadie_test_tmpdir (), "not-executable", NULL);
  const struct { const char *path; const char *reason; } cases[] = {
    { "/nonexistent/roadie-no-such-server", "No such file or directory" },
    { not_executable, "Permission denied" },
  };

  g_assert_true (g_file_set_contents (not_executable, "#!/bin/sh\n", -1, NULL));
  g_assert_cmpint (chmod (not_executable, 0644), ==, 0);

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(GPtrArray) argv = g_ptr_array_new_with_free_func (g_free);
      g_autofree char *expected = NULL;
      g_autofree char *err = NULL;
      g_auto(Run) run = { 0 };

      g_ptr_array_add (argv, g_strdup (roadie_test_reaper ()));
      g_ptr_array_add (argv, g_strdup ("--"));
      g_ptr_array_add (argv, g_strdup (cases[i].path));
      g_ptr_array_add (argv, g_strdup ("--port"));
      g_ptr_array_add (argv, g_strdup ("1"));
      run_spawn (&run, argv, FALSE);
      run_wait (&run);
      assert_exited_with (&run, 127);
      expected = g_strdup_printf ("roadie-reaper: cannot run %s: %s\n", cases[i].path, cases[i].reason);
      err = capture_text (&run.err);
      g_assert_cmpstr (err, ==, expected);
      g_assert_cmpuint (run.out.data->len, ==, 0);
    }
  g_assert_cmpuint (roadie_test_count_zombies (), ==, 0);
}

static void
test_usage (void)
{
  const char *cases[][5] = {
    { NULL },
    { "--", NULL },
    { "--grace-ms", NULL },
    { "--grace-ms", "soon", "--", "true", NULL },
    { "--grace-ms", "-5", "--", "true", NULL },
    { "--pid-fd", "987", "--", "true", NULL },
    { "--frobnicate", "--", "true", NULL },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(GPtrArray) argv = g_ptr_array_new_with_free_func (g_free);
      g_autofree char *err = NULL;
      g_auto(Run) run = { 0 };

      g_ptr_array_add (argv, g_strdup (roadie_test_reaper ()));
      for (guint j = 0; cases[i][j] != NULL; j++)
        g_ptr_array_add (argv, g_strdup (cases[i][j]));
      run_spawn (&run, argv, FALSE);
      run_wait (&run);
      assert_exited_with (&run, 125);
      err = capture_text (&run.err);
      /* One line, saying who complains. */
      g_assert_true (g_str_has_prefix (err, "roadie-reaper: "));
      g_assert_true (g_str_has_suffix (err, "\n"));
      g_assert_true (strchr (err, '\n') == err + strlen (err) - 1);
    }
}

static void
test_pid_fd (void)
{
  g_autofree char *port = g_strdup_printf ("%u", roadie_test_free_port ());
  g_autofree char *cmdline = NULL;
  g_auto(Run) run = { 0 };
  pid_t ppid, pgrp, session, reaper_pgrp, reaper_ppid, reaper_session;

  run_reaper (&run, 5000, TRUE, "--port", port, NULL);
  run_wait_listening (&run);

  g_assert_cmpint (run.server_pid, !=, run.pid);
  cmdline = read_cmdline (run.server_pid);
  g_assert_nonnull (cmdline);
  g_assert_true (g_str_has_prefix (cmdline, roadie_test_fake_server ()));
  g_assert_nonnull (strstr (cmdline, run.tag));

  g_assert_true (read_stat (run.server_pid, &ppid, &pgrp, &session));
  g_assert_true (read_stat (run.pid, &reaper_ppid, &reaper_pgrp, &reaper_session));
  g_assert_cmpint (ppid, ==, run.pid);
  g_assert_cmpint (pgrp, ==, run.server_pid);
  g_assert_cmpint (reaper_pgrp, !=, run.server_pid);
  /* Its own group, not its own session: still the terminal's job. */
  g_assert_cmpint (session, ==, reaper_session);
  g_assert_cmpuint (roadie_test_count_tagged (run.tag), ==, 2);

  g_assert_cmpint (kill (run.pid, SIGTERM), ==, 0);
  run_wait (&run);
  assert_signaled_with (&run, SIGTERM);
  assert_all_gone (&run);
}

/* SIGTERM, SIGINT and SIGHUP all reach the server as SIGTERM, at once. */
static void
test_forward_sigterm (void)
{
  static const int signals[] = { SIGTERM, SIGINT, SIGHUP };

  for (guint i = 0; i < G_N_ELEMENTS (signals); i++)
    {
      g_autofree char *port = g_strdup_printf ("%u", roadie_test_free_port ());
      g_auto(Run) run = { 0 };
      gint64 sent;

      run_reaper (&run, 5000, FALSE, "--port", port, "--exit-on-sigterm", "7", NULL);
      run_wait_listening (&run);
      sent = g_get_monotonic_time ();
      g_assert_cmpint (kill (run.pid, signals[i]), ==, 0);
      run_wait (&run);
      /* 7 proves the server saw SIGTERM (and not SIGINT or SIGHUP). */
      assert_exited_with (&run, 7);
      g_assert_cmpint (run_elapsed_ms (&run, sent), <, 1000);
      assert_all_gone (&run);
    }

  /* A server with the default disposition dies of it, and so does the reaper. */
  {
    g_autofree char *port = g_strdup_printf ("%u", roadie_test_free_port ());
    g_auto(Run) run = { 0 };
    gint64 sent;

    run_reaper (&run, 5000, FALSE, "--port", port, NULL);
    run_wait_listening (&run);
    sent = g_get_monotonic_time ();
    g_assert_cmpint (kill (run.pid, SIGTERM), ==, 0);
    run_wait (&run);
    assert_signaled_with (&run, SIGTERM);
    g_assert_cmpint (run_elapsed_ms (&run, sent), <, 1000);
    assert_all_gone (&run);
  }
}

static void
test_ignore_sigterm (void)
{
  const int grace_ms = 1000;
  g_autofree char *port = g_strdup_printf ("%u", roadie_test_free_port ());
  g_auto(Run) run = { 0 };
  gint64 sent, elapsed;

  run_reaper (&run, grace_ms, FALSE, "--port", port, "--ignore-sigterm", NULL);
  run_wait_listening (&run);
  sent = g_get_monotonic_time ();
  g_assert_cmpint (kill (run.pid, SIGTERM), ==, 0);
  run_wait (&run);
  elapsed = run_elapsed_ms (&run, sent);
  g_test_message ("ignore-sigterm: killed after %" G_GINT64_FORMAT " ms (grace %d ms)", elapsed, grace_ms);
  assert_signaled_with (&run, SIGKILL);
  g_assert_cmpint (elapsed, >=, grace_ms - 50);
  g_assert_cmpint (elapsed, <=, grace_ms + 1000);
  assert_all_gone (&run);
}

static gboolean
run_has_grandchild (gpointer user_data)
{
  Run *run = user_data;

  return capture_has (&run->out, "\n") && capture_has (&run->out, "grandchild ");
}

/* The grandchild the fake server announced, checked to be in its own
 * session and reparented to the reaper (it is a subreaper). */
static pid_t
run_wait_grandchild (Run *run)
{
  g_autofree char *out = NULL;
  const char *line;
  pid_t grandchild, ppid, pgrp, session;

  g_assert_true (roadie_test_wait_until (run_has_grandchild, run, WAIT_MS));
  out = capture_text (&run->out);
  line = strstr (out, "grandchild ");
  grandchild = (pid_t) g_ascii_strtoll (line + strlen ("grandchild "), NULL, 10);
  g_assert_cmpint (grandchild, >, 1);
  g_assert_true (read_stat (grandchild, &ppid, &pgrp, &session));
  g_assert_cmpint (session, ==, grandchild);
  g_assert_cmpint (pgrp, ==, grandchild);
  return grandchild;
}

static void
test_grandchild_after_exit (void)
{
  const int grace_ms = 500;
  g_auto(Run) run = { 0 };
  pid_t grandchild, ppid, pgrp, session;

  run_reaper (&run, grace_ms, TRUE, "--never-listen", "--fork-grandchild",
              "--crash-after", "300", "--exit-code", "3", NULL);
  grandchild = run_wait_grandchild (&run);
  g_assert_true (read_stat (grandchild, &ppid, &pgrp, &session));
  g_assert_cmpint (ppid, ==, run.pid);
  g_assert_cmpuint (roadie_test_count_tagged (run.tag), ==, 3);

  run_wait (&run);
  assert_exited_with (&run, 3);
  /* Crash at 300 ms, then the grandchild ignores SIGTERM for the grace. */
  g_assert_cmpint (run_elapsed_ms (&run, run.spawned_at), >=, 300 + grace_ms - 50);
  g_assert_cmpint (run_elapsed_ms (&run, run.spawned_at), <=, 300 + grace_ms + 1000);
  g_assert_cmpint (kill (grandchild, 0), ==, -1);
  assert_all_gone (&run);
}

static void
test_grandchild_after_sigterm (void)
{
  const int grace_ms = 500;
  g_autofree char *port = g_strdup_printf ("%u", roadie_test_free_port ());
  g_auto(Run) run = { 0 };
  pid_t grandchild;
  gint64 sent;

  run_reaper (&run, grace_ms, FALSE, "--port", port, "--fork-grandchild", NULL);
  run_wait_listening (&run);
  grandchild = run_wait_grandchild (&run);
  g_assert_cmpuint (roadie_test_count_tagged (run.tag), ==, 3);

  sent = g_get_monotonic_time ();
  g_assert_cmpint (kill (run.pid, SIGTERM), ==, 0);
  run_wait (&run);
  assert_signaled_with (&run, SIGTERM);
  g_assert_cmpint (run_elapsed_ms (&run, sent), <=, grace_ms + 1000);
  g_assert_cmpint (kill (grandchild, 0), ==, -1);
  assert_all_gone (&run);
}

/* The server exits and leaves ordinary processes behind: one in its group,
 * one in its own session, one under a subshell. They get SIGTERM at once
 * and die of it, long before the grace period ends. */
static void
test_leftovers_terminated (void)
{
  g_autoptr(GPtrArray) argv = g_ptr_array_new_with_free_func (g_free);
  /* A unique sleep length marks the leftovers in /proc. */
  g_autofree char *duration = g_strdup_printf ("1000.%u", g_random_int ());
  g_auto(Run) run = { 0 };

  g_ptr_array_add (argv, g_strdup (roadie_test_reaper ()));
  g_ptr_array_add (argv, g_strdup ("--grace-ms=5000"));
  g_ptr_array_add (argv, g_strdup ("--"));
  g_ptr_array_add (argv, g_strdup ("/bin/sh"));
  g_ptr_array_add (argv, g_strdup ("-c"));
  g_ptr_array_add (argv, g_strdup ("sleep $1 & setsid sleep $1 & (sleep $1; :) & sleep 0.2; exit 4"));
  g_ptr_array_add (argv, g_strdup ("sh"));
  g_ptr_array_add (argv, g_strdup (duration));
  run_spawn (&run, argv, FALSE);
  run_wait (&run);
  assert_exited_with (&run, 4);
  g_assert_cmpint (run_elapsed_ms (&run, run.spawned_at), <, 1200);
  g_assert_cmpuint (roadie_test_count_tagged (duration), ==, 0);
  g_assert_cmpuint (roadie_test_count_zombies (), ==, 0);
}

static gboolean
run_has_reaper_pid (gpointer user_data)
{
  Run *run = user_data;

  return capture_has (&run->out, "reaper ") && capture_has (&run->out, "grandchild ")
         && capture_has (&run->out, "WebSocket server listening on port");
}

/* The reaper runs under a shell; SIGKILL the shell and the reaper must end
 * the whole tree by itself: server ignoring SIGTERM, grandchild in its own
 * session ignoring SIGTERM. */
static void
test_parent_death (void)
{
  const int grace_ms = 500;
  g_autofree char *port = g_strdup_printf ("%u", roadie_test_free_port ());
  g_autoptr(GPtrArray) argv = g_ptr_array_new_with_free_func (g_free);
  g_autofree char *out = NULL;
  g_auto(Run) run = { 0 };
  pid_t reaper, ppid, pgrp, session;
  gint64 killed, gone;

  run.tag = roadie_test_new_tag ();
  g_ptr_array_add (argv, g_strdup ("/bin/sh"));
  g_ptr_array_add (argv, g_strdup ("-c"));
  g_ptr_array_add (argv, g_strdup ("\"$@\" & echo reaper $!; wait"));
  g_ptr_array_add (argv, g_strdup ("sh"));
  g_ptr_array_add (argv, g_strdup (roadie_test_reaper ()));
  g_ptr_array_add (argv, g_strdup_printf ("--grace-ms=%d", grace_ms));
  g_ptr_array_add (argv, g_strdup ("--"));
  g_ptr_array_add (argv, g_strdup (roadie_test_fake_server ()));
  g_ptr_array_add (argv, g_strdup_printf ("--tag=%s", run.tag));
  g_ptr_array_add (argv, g_strdup_printf ("--port=%s", port));
  g_ptr_array_add (argv, g_strdup ("--ignore-sigterm"));
  g_ptr_array_add (argv, g_strdup ("--fork-grandchild"));
  run_spawn (&run, argv, FALSE);

  g_assert_true (roadie_test_wait_until (run_has_reaper_pid, &run, WAIT_MS));
  out = capture_text (&run.out);
  reaper = (pid_t) g_ascii_strtoll (strstr (out, "reaper ") + strlen ("reaper "), NULL, 10);
  g_assert_true (read_stat (reaper, &ppid, &pgrp, &session));
  g_assert_cmpint (ppid, ==, run.pid);
  /* shell, reaper, server, grandchild */
  g_assert_cmpuint (roadie_test_count_tagged (run.tag), ==, 4);

  killed = g_get_monotonic_time ();
  g_assert_cmpint (kill (run.pid, SIGKILL), ==, 0);
  g_assert_true (wait_polling (tagged_gone, run.tag, grace_ms + 1000));
  gone = g_get_monotonic_time ();
  g_test_message ("parent death: tree gone %" G_GINT64_FORMAT " ms after SIGKILL (grace %d ms)",
                  (gone - killed) / 1000, grace_ms);
  /* The server ignores SIGTERM, so only the grace's SIGKILL ended it. */
  g_assert_cmpint ((gone - killed) / 1000, >=, grace_ms - 50);

  run_wait (&run);
  g_assert_true (g_subprocess_get_if_signaled (run.process));
  g_assert_cmpint (g_subprocess_get_term_sig (run.process), ==, SIGKILL);
  assert_all_gone (&run);
}

/* Parent death with a cooperative server: over as soon as it exits. */
static void
test_parent_death_prompt (void)
{
  g_autoptr(GPtrArray) argv = g_ptr_array_new_with_free_func (g_free);
  g_auto(Run) run = { 0 };
  gint64 killed;

  run.tag = roadie_test_new_tag ();
  g_ptr_array_add (argv, g_strdup ("/bin/sh"));
  g_ptr_array_add (argv, g_strdup ("-c"));
  g_ptr_array_add (argv, g_strdup ("\"$@\" & wait"));
  g_ptr_array_add (argv, g_strdup ("sh"));
  g_ptr_array_add (argv, g_strdup (roadie_test_reaper ()));
  g_ptr_array_add (argv, g_strdup ("--"));
  g_ptr_array_add (argv, g_strdup (roadie_test_fake_server ()));
  g_ptr_array_add (argv, g_strdup_printf ("--tag=%s", run.tag));
  g_ptr_array_add (argv, g_strdup ("--never-listen"));
  g_ptr_array_add (argv, g_strdup ("--print-lines=1"));
  run_spawn (&run, argv, FALSE);

  g_assert_true (roadie_test_wait_until (run_has_line_1, &run, WAIT_MS));
  g_assert_cmpuint (roadie_test_count_tagged (run.tag), ==, 3);
  killed = g_get_monotonic_time ();
  g_assert_cmpint (kill (run.pid, SIGKILL), ==, 0);
  /* The default grace is 5 s: far shorter proves SIGTERM did it. */
  g_assert_true (wait_polling (tagged_gone, run.tag, 1000));
  g_test_message ("parent death, cooperative server: gone after %" G_GINT64_FORMAT " ms",
                  (g_get_monotonic_time () - killed) / 1000);
  run_wait (&run);
  assert_all_gone (&run);
}

static void
test_passthrough_lines (void)
{
  const int n_lines = 500;
  g_autoptr(GString) expected_out = g_string_new (NULL);
  g_autoptr(GString) expected_err = g_string_new (NULL);
  g_autofree char *count = g_strdup_printf ("%d", n_lines);
  g_autofree char *out = NULL;
  g_autofree char *err = NULL;
  g_auto(Run) run = { 0 };

  for (int k = 1; k <= n_lines; k++)
    {
      g_string_append_printf (expected_out, "line %d\n", k);
      g_string_append_printf (expected_err, "err %d\n", k);
    }
  g_string_append (expected_err, "crashing now\n");

  run_reaper (&run, -1, FALSE, "--never-listen", "--print-lines", count,
              "--crash-after", "100", "--exit-code", "0", NULL);
  run_wait (&run);
  assert_exited_with (&run, 0);
  out = capture_text (&run.out);
  err = capture_text (&run.err);
  g_assert_cmpstr (out, ==, expected_out->str);
  g_assert_cmpstr (err, ==, expected_err->str);
  assert_all_gone (&run);
}

static gboolean
run_has_bytes (gpointer user_data)
{
  Run *run = user_data;

  return run->out.data->len >= 1000000 || run->out.eof;
}

/* A megabyte of numbered lines arrives exactly, every 100th also on stderr. */
static void
test_passthrough_flood (void)
{
  const gsize size = 1000000;
  g_autoptr(GString) expected_out = g_string_sized_new (size);
  g_autoptr(GString) expected_err = g_string_new (NULL);
  g_auto(Run) run = { 0 };
  guint line = 0;

  while (expected_out->len < size)
    {
      char text[101];
      int len = g_snprintf (text, sizeof text, "flood line %09u ", ++line);

      memset (text + len, 'x', 100 - len);
      len = MIN (100, size - expected_out->len);
      text[len - 1] = '\n';
      g_string_append_len (expected_out, text, len);
      if (line % 100 == 0)
        g_string_append_len (expected_err, text, len);
    }

  run_reaper (&run, -1, FALSE, "--never-listen", "--flood-stdout", "1000000", "--flood-stderr", NULL);
  g_assert_true (roadie_test_wait_until (run_has_bytes, &run, WAIT_MS));
  g_assert_cmpint (kill (run.pid, SIGTERM), ==, 0);
  run_wait (&run);
  assert_signaled_with (&run, SIGTERM);
  g_assert_cmpuint (run.out.data->len, ==, size);
  g_assert_true (memcmp (run.out.data->data, expected_out->str, size) == 0);
  g_assert_cmpuint (run.err.data->len, ==, expected_err->len);
  g_assert_true (memcmp (run.err.data->data, expected_err->str, expected_err->len) == 0);
  assert_all_gone (&run);
}

static int
pidfd_open (pid_t pid)
{
  return (int) syscall (SYS_pidfd_open, pid, 0);
}

static gint64
wait_pidfd (int fd)
{
  struct pollfd pfd = { fd, POLLIN, 0 };

  g_assert_cmpint (poll (&pfd, 1, WAIT_MS), ==, 1);
  return g_get_monotonic_time ();
}

static int
compare_gint64 (gconstpointer a,
                gconstpointer b)
{
  gint64 x = *(const gint64 *) a, y = *(const gint64 *) b;

  return (x > y) - (x < y);
}

static void
report_percentiles (const char *what,
                    GArray     *samples)
{
  gint64 *v;
  guint n = samples->len;

  g_array_sort (samples, compare_gint64);
  v = (gint64 *) samples->data;
  g_test_message ("%s over %u runs: median %" G_GINT64_FORMAT " us, p99 %" G_GINT64_FORMAT
                  " us, max %" G_GINT64_FORMAT " us",
                  what, n, v[n / 2], v[(n * 99 + 99) / 100 - 1], v[n - 1]);
}

static gint64
median (GArray *sorted)
{
  return g_array_index (sorted, gint64, sorted->len / 2);
}

/* Server SIGKILLed → exit seen through a pidfd, as Roadie would see it.
 * Interleaved runs watch either the server itself (the kernel's floor, as if
 * there were no reaper) or the reaper; one observer per run, so the test's
 * own wake-up is in both and cancels out of the difference. */
static void
test_latency (void)
{
  g_autoptr(GArray) floor_us = g_array_new (FALSE, FALSE, sizeof (gint64));
  g_autoptr(GArray) reaper_us = g_array_new (FALSE, FALSE, sizeof (gint64));

  for (guint i = 0; i < 2 * LATENCY_RUNS; i++)
    {
      gboolean watch_reaper = i % 2 == 1;
      g_auto(Run) run = { 0 };
      gint64 killed, gone;
      int fd;

      run_reaper (&run, -1, TRUE, "--never-listen", "--print-lines", "1", NULL);
      g_assert_true (roadie_test_wait_until (run_has_line_1, &run, WAIT_MS));
      fd = pidfd_open (watch_reaper ? run.pid : run.server_pid);
      g_assert_cmpint (fd, >=, 0);

      killed = g_get_monotonic_time ();
      g_assert_cmpint (kill (run.server_pid, SIGKILL), ==, 0);
      gone = wait_pidfd (fd) - killed;
      close (fd);
      g_array_append_val (watch_reaper ? reaper_us : floor_us, gone);

      run_wait (&run);
      assert_signaled_with (&run, SIGKILL);
      assert_all_gone (&run);
    }

  report_percentiles ("SIGKILL -> server exit seen (bare pidfd, the floor)", floor_us);
  report_percentiles ("SIGKILL -> reaper exit seen", reaper_us);
  g_test_message ("added by the reaper (difference of medians): %" G_GINT64_FORMAT " us",
                  median (reaper_us) - median (floor_us));
  /* Generous, for loaded and sanitized builds: this catches a reaper that
   * polls or sleeps, the benchmark gives the real figures. */
  g_assert_cmpint (median (reaper_us) - median (floor_us), <, 5000);
}

int
main (int    argc,
      char **argv)
{
  roadie_test_init_environment ();
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/roadie/reaper/exit-code", test_exit_code);
  g_test_add_func ("/roadie/reaper/signal", test_signal);
  g_test_add_func ("/roadie/reaper/exec-failure", test_exec_failure);
  g_test_add_func ("/roadie/reaper/usage", test_usage);
  g_test_add_func ("/roadie/reaper/pid-fd", test_pid_fd);
  g_test_add_func ("/roadie/reaper/forward-sigterm", test_forward_sigterm);
  g_test_add_func ("/roadie/reaper/ignore-sigterm", test_ignore_sigterm);
  g_test_add_func ("/roadie/reaper/grandchild-after-exit", test_grandchild_after_exit);
  g_test_add_func ("/roadie/reaper/grandchild-after-sigterm", test_grandchild_after_sigterm);
  g_test_add_func ("/roadie/reaper/leftovers-terminated", test_leftovers_terminated);
  g_test_add_func ("/roadie/reaper/parent-death", test_parent_death);
  g_test_add_func ("/roadie/reaper/parent-death-prompt", test_parent_death_prompt);
  g_test_add_func ("/roadie/reaper/passthrough-lines", test_passthrough_lines);
  g_test_add_func ("/roadie/reaper/passthrough-flood", test_passthrough_flood);
  g_test_add_func ("/roadie/reaper/latency", test_latency);

  return g_test_run ();
}
