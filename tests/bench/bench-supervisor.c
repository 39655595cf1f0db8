/* bench-supervisor.c: how fast the supervisor notices, restarts and stops.
 *
 * Three figures, each next to a peer measured in the same run:
 *  - crash detection: server SIGKILLed → supervisor state change, against a
 *    bare pidfd waiter on the same kind of process (the kernel's floor);
 *  - restart to ready, minus the configured delay and minus the server's own
 *    start time (exec to its "listening" line), i.e. Roadie's overhead;
 *  - stop latency of a cooperative server.
 * Prints a table and one JSON line; exits non-zero if a target is missed.
 */
#include "config.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "roadie-supervisor.h"
#include "roadie-test-util.h"

#define RESTART_DELAY_MS 20

typedef struct
{
  RoadieSupervisor *supervisor;
  gint64            state_changed_us;
  gint64            listening_us;
  RoadieSupervisorState want;
} Bench;

static int
compare_doubles (gconstpointer a,
                 gconstpointer b)
{
  double x = *(const double *) a, y = *(const double *) b;

  return x < y ? -1 : x > y;
}

static double
percentile (GArray *values,
            double  p)
{
  g_array_sort (values, compare_doubles);
  return g_array_index (values, double, MIN (values->len - 1, (guint) (p * values->len)));
}

static void
on_state (RoadieSupervisor *supervisor,
          GParamSpec       *pspec,
          Bench            *bench)
{
  if (roadie_supervisor_get_state (supervisor) == bench->want)
    bench->state_changed_us = g_get_monotonic_time ();
}

static void
on_line (RoadieSupervisor *supervisor,
         int               stream,
         const char       *line,
         Bench            *bench)
{
  if (g_str_has_prefix (line, "WebSocket server listening on port"))
    bench->listening_us = g_get_monotonic_time ();
}

static gboolean
state_is (gpointer data)
{
  Bench *bench = data;

  return roadie_supervisor_get_state (bench->supervisor) == bench->want;
}

static void
wait_for (Bench                 *bench,
          RoadieSupervisorState  state)
{
  bench->want = state;
  if (!roadie_test_wait_until (state_is, bench, 10000))
    g_error ("state %s not reached", roadie_supervisor_state_to_string (state));
}

/* The floor: a plain process, a pidfd and poll(), nothing else. */
static double
bare_pidfd_detection_us (guint16 port)
{
  g_autofree char *port_text = g_strdup_printf ("%u", port);
  g_autoptr(GError) error = NULL;
  g_autoptr(GSubprocess) server = NULL;
  g_autoptr(GDataInputStream) out = NULL;
  g_autofree char *line = NULL;
  struct pollfd pfd;
  gint64 t0, t1;
  int pidfd;
  GPid pid;

  server = g_subprocess_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE, &error,
                             roadie_test_fake_server (), "--port", port_text, NULL);
  g_assert_no_error (error);
  out = g_data_input_stream_new (g_subprocess_get_stdout_pipe (server));
  line = g_data_input_stream_read_line (out, NULL, NULL, NULL);
  g_assert_nonnull (line);
  pid = atoi (g_subprocess_get_identifier (server));
  pidfd = syscall (SYS_pidfd_open, pid, 0);
  g_assert_cmpint (pidfd, >=, 0);

  pfd = (struct pollfd) { .fd = pidfd, .events = POLLIN };
  t0 = g_get_monotonic_time ();
  kill (pid, SIGKILL);
  while (poll (&pfd, 1, -1) < 0 && errno == EINTR)
    ;
  t1 = g_get_monotonic_time ();
  close (pidfd);
  g_subprocess_wait (server, NULL, NULL);
  return t1 - t0;
}

int
main (int argc, char *argv[])
{
  g_autoptr(GSettings) gsettings = NULL;
  g_autoptr(RoadieSettings) settings = NULL;
  g_autoptr(GArray) bare = g_array_new (FALSE, FALSE, sizeof (double));
  g_autoptr(GArray) detect = g_array_new (FALSE, FALSE, sizeof (double));
  g_autoptr(GArray) overhead = g_array_new (FALSE, FALSE, sizeof (double));
  g_autoptr(GArray) own_start = g_array_new (FALSE, FALSE, sizeof (double));
  g_autoptr(GArray) stops = g_array_new (FALSE, FALSE, sizeof (double));
  g_autofree char *port_text = NULL;
  Bench bench = { 0 };
  guint runs = 200;
  guint stop_runs = 50;
  guint16 port;
  double bare_p50, bare_p99, det_p50, det_p99, ovh_p50, ovh_p99, stop_p50, stop_p99;
  gboolean ok;

  roadie_test_init_environment ();
  g_test_init (&argc, &argv, NULL);
  if (g_getenv ("ROADIE_BENCH_RUNS") != NULL)
    runs = MAX (10, atoi (g_getenv ("ROADIE_BENCH_RUNS")));

  port = roadie_test_free_port ();
  port_text = g_strdup_printf ("%u", port);
  gsettings = roadie_test_new_gsettings ();
  g_settings_set_string (gsettings, "executable-path", roadie_test_fake_server ());
  g_settings_set_strv (gsettings, "arguments", (const char *[]) { "--port", port_text, NULL });
  g_settings_set_int (gsettings, "ws-port", port);
  g_settings_set_int (gsettings, "restart-delay-ms", RESTART_DELAY_MS);
  g_settings_set_double (gsettings, "restart-jitter", 0.0);
  g_settings_set_double (gsettings, "restart-delay-multiplier", 1.0);
  g_settings_set_int (gsettings, "max-restarts", 1000);
  g_settings_set_int (gsettings, "stop-timeout-ms", 2000);
  g_settings_set_string (gsettings, "log-file", "/dev/null");
  settings = roadie_settings_new (gsettings, NULL);
  bench.supervisor = roadie_supervisor_new (settings);
  g_signal_connect (bench.supervisor, "notify::state", G_CALLBACK (on_state), &bench);
  g_signal_connect (bench.supervisor, "output-line", G_CALLBACK (on_line), &bench);

  g_assert_true (roadie_supervisor_start (bench.supervisor, NULL));
  wait_for (&bench, ROADIE_SUPERVISOR_STATE_RUNNING);

  for (guint i = 0; i < runs; i++)
    {
      gint64 killed, detected, starting, ready;
      double value;

      /* interleave the peer so both see the same machine load */
      value = bare_pidfd_detection_us (roadie_test_free_port ());
      g_array_append_val (bare, value);

      bench.want = ROADIE_SUPERVISOR_STATE_BACKOFF;
      killed = g_get_monotonic_time ();
      kill (roadie_supervisor_get_pid (bench.supervisor), SIGKILL);
      wait_for (&bench, ROADIE_SUPERVISOR_STATE_BACKOFF);
      detected = bench.state_changed_us;
      value = detected - killed;
      g_array_append_val (detect, value);

      bench.want = ROADIE_SUPERVISOR_STATE_STARTING;
      wait_for (&bench, ROADIE_SUPERVISOR_STATE_STARTING);
      starting = bench.state_changed_us;
      wait_for (&bench, ROADIE_SUPERVISOR_STATE_RUNNING);
      ready = bench.state_changed_us;

      value = (bench.listening_us - starting) / 1000.0;
      g_array_append_val (own_start, value);
      value = (ready - detected) / 1000.0 - RESTART_DELAY_MS - (bench.listening_us - starting) / 1000.0;
      g_array_append_val (overhead, value);
    }

  for (guint i = 0; i < stop_runs; i++)
    {
      gint64 begin;
      double value;

      bench.want = ROADIE_SUPERVISOR_STATE_STOPPED;
      begin = g_get_monotonic_time ();
      g_assert_true (roadie_supervisor_stop (bench.supervisor, NULL));
      wait_for (&bench, ROADIE_SUPERVISOR_STATE_STOPPED);
      value = (bench.state_changed_us - begin) / 1000.0;
      g_array_append_val (stops, value);
      g_assert_true (roadie_supervisor_start (bench.supervisor, NULL));
      wait_for (&bench, ROADIE_SUPERVISOR_STATE_RUNNING);
    }
  roadie_supervisor_stop (bench.supervisor, NULL);
  wait_for (&bench, ROADIE_SUPERVISOR_STATE_STOPPED);

  bare_p50 = percentile (bare, 0.50);
  bare_p99 = percentile (bare, 0.99);
  det_p50 = percentile (detect, 0.50);
  det_p99 = percentile (detect, 0.99);
  ovh_p50 = percentile (overhead, 0.50);
  ovh_p99 = percentile (overhead, 0.99);
  stop_p50 = percentile (stops, 0.50);
  stop_p99 = percentile (stops, 0.99);

  g_print ("# %u runs\n", runs);
  g_print ("# crash detection, bare pidfd waiter: p50 %.0f µs  p99 %.0f µs\n", bare_p50, bare_p99);
  g_print ("# crash detection, supervisor:        p50 %.0f µs  p99 %.0f µs  (p99 ratio %.2f×)\n",
           det_p50, det_p99, det_p99 / bare_p99);
  g_print ("# server's own start (exec → listening): p50 %.1f ms  p99 %.1f ms\n",
           percentile (own_start, 0.5), percentile (own_start, 0.99));
  g_print ("# restart-to-ready overhead beyond delay and own start: p50 %.2f ms  p99 %.2f ms\n",
           ovh_p50, ovh_p99);
  g_print ("# stop of a cooperative server: p50 %.2f ms  p99 %.2f ms (%u runs)\n",
           stop_p50, stop_p99, stop_runs);
  g_print ("{\"runs\":%u,\"bare_p50_us\":%.0f,\"bare_p99_us\":%.0f,\"detect_p50_us\":%.0f,"
           "\"detect_p99_us\":%.0f,\"restart_overhead_p50_ms\":%.2f,\"restart_overhead_p99_ms\":%.2f,"
           "\"stop_p50_ms\":%.2f,\"stop_p99_ms\":%.2f}\n",
           runs, bare_p50, bare_p99, det_p50, det_p99, ovh_p50, ovh_p99, stop_p50, stop_p99);

  ok = det_p99 <= 3 * bare_p99 && det_p99 < 5000 && ovh_p99 < 50;
  g_print ("# targets (detection p99 ≤ 3× bare and < 5 ms; overhead p99 < 50 ms): %s\n",
           ok ? "met" : "MISSED");

  g_object_unref (bench.supervisor);
  return ok ? 0 : 1;
}
