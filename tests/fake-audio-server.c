/* fake-audio-server.c: a real WebSocket server that misbehaves on request.
 *
 * Roadie's tests supervise it instead of a real audio server. It listens on
 * 127.0.0.1:PORT, greets every WebSocket client at "/" with a hello, and, as
 * its flags ask, crashes, hangs, ignores SIGTERM, starts slowly, never
 * listens, leaves a grandchild behind in its own session, or floods its
 * output. "Ready" below means: listening (or, with --never-listen, past the
 * slow start).
 */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <glib.h>
#include <libsoup/soup.h>

#define FLOOD_LINE_LENGTH 100

static int opt_port = -1;
static char *opt_tag;
static int opt_crash_after = -1;
static int opt_exit_code = 1;
static char *opt_crash_signal;
static int opt_hang_after = -1;
static gboolean opt_ignore_sigterm;
static int opt_slow_start;
static gboolean opt_never_listen;
static gboolean opt_fork_grandchild;
static gint64 opt_flood_stdout;
static gboolean opt_flood_stderr;
static int opt_exit_on_sigterm = -1;
static int opt_print_lines;

static const GOptionEntry option_entries[] = {
  { "port", 0, 0, G_OPTION_ARG_INT, &opt_port, "Listen on 127.0.0.1:PORT (required unless --never-listen)", "PORT" },
  { "tag", 0, 0, G_OPTION_ARG_STRING, &opt_tag, "Ignored: a marker for finding this process tree in /proc", "STRING" },
  { "crash-after", 0, 0, G_OPTION_ARG_INT, &opt_crash_after, "Crash MS after ready", "MS" },
  { "exit-code", 0, 0, G_OPTION_ARG_INT, &opt_exit_code, "Exit code of the crash (default 1)", "N" },
  { "crash-signal", 0, 0, G_OPTION_ARG_STRING, &opt_crash_signal, "Crash by this signal instead (SEGV, KILL, ABRT, ... or a number)", "SIG" },
  { "hang-after", 0, 0, G_OPTION_ARG_INT, &opt_hang_after, "Stop answering MS after ready", "MS" },
  { "ignore-sigterm", 0, 0, G_OPTION_ARG_NONE, &opt_ignore_sigterm, "Ignore SIGTERM", NULL },
  { "slow-start", 0, 0, G_OPTION_ARG_INT, &opt_slow_start, "Wait MS before listening", "MS" },
  { "never-listen", 0, 0, G_OPTION_ARG_NONE, &opt_never_listen, "Run without opening the port", NULL },
  { "fork-grandchild", 0, 0, G_OPTION_ARG_NONE, &opt_fork_grandchild, "When ready, leave a grandchild in its own session that ignores SIGTERM", NULL },
  { "flood-stdout", 0, 0, G_OPTION_ARG_INT64, &opt_flood_stdout, "When ready, write BYTES of lines to stdout, then keep running", "BYTES" },
  { "flood-stderr", 0, 0, G_OPTION_ARG_NONE, &opt_flood_stderr, "With --flood-stdout, copy every 100th line to stderr", NULL },
  { "exit-on-sigterm", 0, 0, G_OPTION_ARG_INT, &opt_exit_on_sigterm, "Exit with CODE on SIGTERM", "CODE" },
  { "print-lines", 0, 0, G_OPTION_ARG_INT, &opt_print_lines, "When ready, print N numbered lines on stdout and on stderr", "N" },
  { NULL }
};

static SoupServer *server;
static GList *connections;

/* Only _exit() here: the handler may interrupt anything, even a hang. */
static void
exit_on_sigterm (int signo)
{
  _exit (opt_exit_on_sigterm);
}

static int
parse_signal (const char *text)
{
  static const struct { const char *name; int signo; } names[] = {
    { "HUP", SIGHUP }, { "INT", SIGINT }, { "QUIT", SIGQUIT }, { "ILL", SIGILL },
    { "TRAP", SIGTRAP }, { "ABRT", SIGABRT }, { "BUS", SIGBUS }, { "FPE", SIGFPE },
    { "KILL", SIGKILL }, { "USR1", SIGUSR1 }, { "SEGV", SIGSEGV }, { "USR2", SIGUSR2 },
    { "PIPE", SIGPIPE }, { "ALRM", SIGALRM }, { "TERM", SIGTERM }, { "SYS", SIGSYS },
  };
  guint64 number;

  if (g_ascii_strncasecmp (text, "SIG", 3) == 0)
    text += 3;
  for (guint i = 0; i < G_N_ELEMENTS (names); i++)
    if (g_ascii_strcasecmp (text, names[i].name) == 0)
      return names[i].signo;
  if (g_ascii_string_to_unsigned (text, 10, 1, SIGRTMAX, &number, NULL))
    return (int) number;
  return -1;
}

static void
crash (void)
{
  g_printerr ("crashing now\n");
  fflush (stdout);
  fflush (stderr);

  if (opt_crash_signal != NULL)
    {
      int signo = parse_signal (opt_crash_signal);
      sigset_t set;

      /* Not earlier: undumpable processes hide /proc/PID/cwd and friends
       * from the tests. */
      prctl (PR_SET_DUMPABLE, 0);
      signal (signo, SIG_DFL);
      sigemptyset (&set);
      sigaddset (&set, signo);
      pthread_sigmask (SIG_UNBLOCK, &set, NULL);
      raise (signo);
      /* Only reached for signals whose default is to be ignored. */
    }
  _exit (opt_exit_code);
}

static gboolean
crash_cb (gpointer user_data)
{
  crash ();
  return G_SOURCE_REMOVE;
}

static gboolean
hang_cb (gpointer user_data)
{
  /* Block the main loop for good: the socket stays open, nothing answers. */
  for (;;)
    pause ();
  return G_SOURCE_REMOVE;
}

static void
connection_closed (SoupWebsocketConnection *connection,
                   gpointer                 user_data)
{
  connections = g_list_remove (connections, connection);
  g_object_unref (connection);
}

static void
websocket_cb (SoupServer              *soup_server,
              SoupServerMessage       *msg,
              const char              *path,
              SoupWebsocketConnection *connection,
              gpointer                 user_data)
{
  connections = g_list_prepend (connections, g_object_ref (connection));
  g_signal_connect (connection, "closed", G_CALLBACK (connection_closed), NULL);
  soup_websocket_connection_send_text (connection, "{\"type\":\"hello\",\"server\":\"fake-audio-server\"}");
}

/* Writes a small decimal number with write(2) only: safe after fork(). */
static void
write_pid_line (int         fd,
                const char *prefix,
                pid_t       pid)
{
  char buf[64];
  char digits[24];
  size_t len = strlen (prefix), n = 0;

  memcpy (buf, prefix, len);
  do
    digits[n++] = '0' + pid % 10;
  while ((pid /= 10) > 0);
  while (n > 0)
    buf[len++] = digits[--n];
  buf[len++] = '\n';
  if (write (fd, buf, len) < 0)
    _exit (1);
}

/* Double fork: the grandchild is orphaned at once, so it reparents to the
 * nearest subreaper (roadie-reaper) or init, the way a daemon leaves. It
 * reports its pid only once it is in its own session and ignores SIGTERM,
 * so whoever reads "grandchild PID" may rely on both. */
static void
fork_grandchild (void)
{
  int fds[2];
  pid_t child;
  pid_t grandchild = 0;

  if (pipe (fds) < 0)
    g_error ("pipe: %s", g_strerror (errno));
  child = fork ();
  if (child < 0)
    g_error ("fork: %s", g_strerror (errno));
  if (child == 0)
    {
      /* Only async-signal-safe calls from here on: the parent has threads. */
      if (fork () == 0)
        {
          int max_fd = (int) sysconf (_SC_OPEN_MAX);

          setsid ();
          signal (SIGTERM, SIG_IGN);
          write_pid_line (fds[1], "", getpid ());
          /* Keep stdio (as a careless daemon does), drop the listening
           * socket so the port is free once the server is gone. */
          for (int fd = 3; fd < max_fd && fd < 65536; fd++)
            close (fd);
          for (;;)
            pause ();
        }
      _exit (0);
    }

  close (fds[1]);
  {
    char buf[32] = { 0 };
    ssize_t n;

    while ((n = read (fds[0], buf, sizeof buf - 1)) < 0 && errno == EINTR)
      ;
    if (n > 0)
      grandchild = (pid_t) strtol (buf, NULL, 10);
  }
  close (fds[0]);
  while (waitpid (child, NULL, 0) < 0 && errno == EINTR)
    ;
  if (grandchild <= 0)
    g_error ("could not fork a grandchild");
  g_print ("grandchild %d\n", (int) grandchild);
}

static void
write_all (int         fd,
           const char *data,
           gsize       len)
{
  while (len > 0)
    {
      ssize_t n = write (fd, data, len);

      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        return;
      data += n;
      len -= n;
    }
}

/* Exactly opt_flood_stdout bytes of numbered lines, written in chunks of
 * whole lines no larger than PIPE_BUF so other output interleaves only
 * between lines. A thread, so the server keeps answering meanwhile. */
static gpointer
flood_thread (gpointer user_data)
{
  g_autoptr(GString) chunk = g_string_sized_new (4096);
  gint64 remaining = opt_flood_stdout;
  guint64 line_number = 0;

  while (remaining > 0)
    {
      char line[FLOOD_LINE_LENGTH + 1];
      int len;

      line_number++;
      len = g_snprintf (line, sizeof line, "flood line %09" G_GUINT64_FORMAT " ", line_number);
      memset (line + len, 'x', FLOOD_LINE_LENGTH - len);
      len = MIN (FLOOD_LINE_LENGTH, remaining);
      line[len - 1] = '\n';
      remaining -= len;

      if (chunk->len + len > 4000)
        {
          write_all (STDOUT_FILENO, chunk->str, chunk->len);
          g_string_truncate (chunk, 0);
        }
      g_string_append_len (chunk, line, len);
      if (opt_flood_stderr && line_number % 100 == 0)
        write_all (STDERR_FILENO, line, len);
    }
  write_all (STDOUT_FILENO, chunk->str, chunk->len);
  return NULL;
}

static void
print_lines (void)
{
  for (int k = 1; k <= opt_print_lines; k++)
    {
      g_print ("line %d\n", k);
      g_printerr ("err %d\n", k);
    }
}

static gboolean
become_ready (gpointer user_data)
{
  if (!opt_never_listen)
    {
      g_autoptr(GError) error = NULL;

      server = soup_server_new (NULL, NULL);
      soup_server_add_websocket_handler (server, "/", NULL, NULL, websocket_cb, NULL, NULL);
      if (!soup_server_listen_local (server, opt_port, SOUP_SERVER_LISTEN_IPV4_ONLY, &error))
        {
          g_printerr ("fake-audio-server: cannot listen on port %d: %s\n", opt_port, error->message);
          exit (3);
        }
      g_print ("WebSocket server listening on port %d\n", opt_port);
    }

  if (opt_print_lines > 0)
    print_lines ();
  if (opt_fork_grandchild)
    fork_grandchild ();
  if (opt_flood_stdout > 0)
    g_thread_unref (g_thread_new ("flood", flood_thread, NULL));
  if (opt_crash_after >= 0)
    g_timeout_add (opt_crash_after, crash_cb, NULL);
  if (opt_hang_after >= 0)
    g_timeout_add (opt_hang_after, hang_cb, NULL);
  return G_SOURCE_REMOVE;
}

static void G_GNUC_NORETURN
usage_error (GOptionContext *context,
             const char     *message)
{
  g_autofree char *help = g_option_context_get_help (context, TRUE, NULL);

  g_printerr ("fake-audio-server: %s\n\n%s", message, help);
  exit (2);
}

int
main (int    argc,
      char **argv)
{
  g_autoptr(GOptionContext) context = g_option_context_new ("- a misbehaving WebSocket server for Roadie's tests");
  g_autoptr(GError) error = NULL;
  g_autoptr(GMainLoop) loop = NULL;
  struct rlimit no_core = { 0, 0 };

  /* Lines must reach a pipe as soon as they are printed. */
  setvbuf (stdout, NULL, _IOLBF, 0);
  setvbuf (stderr, NULL, _IONBF, 0);

  g_option_context_add_main_entries (context, option_entries, NULL);
  if (!g_option_context_parse (context, &argc, &argv, &error))
    usage_error (context, error->message);
  if (argc > 1)
    usage_error (context, "unexpected arguments");
  if (!opt_never_listen && (opt_port <= 0 || opt_port > 65535))
    usage_error (context, "--port is required (1-65535) unless --never-listen");
  if (opt_crash_signal != NULL && parse_signal (opt_crash_signal) < 0)
    usage_error (context, "--crash-signal wants a signal name or number");
  if (opt_flood_stdout < 0 || opt_print_lines < 0 || opt_slow_start < 0)
    usage_error (context, "sizes and times must not be negative");

  /* Crashes are what this program is for: no core files. */
  setrlimit (RLIMIT_CORE, &no_core);

  if (opt_ignore_sigterm)
    signal (SIGTERM, SIG_IGN);
  else if (opt_exit_on_sigterm >= 0)
    {
      struct sigaction action = { 0 };

      action.sa_handler = exit_on_sigterm;
      sigemptyset (&action.sa_mask);
      sigaction (SIGTERM, &action, NULL);
    }

  loop = g_main_loop_new (NULL, FALSE);
  if (opt_slow_start > 0)
    g_timeout_add (opt_slow_start, become_ready, NULL);
  else
    g_idle_add (become_ready, NULL);
  g_main_loop_run (loop);
  return 0;
}
