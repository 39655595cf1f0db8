/* roadie-test-util.c: shared helpers for Roadie's test programs. */
#include "config.h"

#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#define G_SETTINGS_ENABLE_BACKEND
#include <gio/gsettingsbackend.h>
#include <glib-unix.h>

#include "roadie-test-util.h"

static char *test_tmpdir;

static gboolean
allow_roadie_warnings (const char     *log_domain,
                       GLogLevelFlags  log_level,
                       const char     *message,
                       gpointer        user_data)
{
  /* Crashes, refused ports and missing executables are what these tests
   * provoke; Roadie reports them as warnings, which must not abort. */
  if ((g_strcmp0 (log_domain, "Roadie") == 0 || g_strcmp0 (log_domain, "RoadieEngine") == 0)
      && !(log_level & (G_LOG_LEVEL_CRITICAL | G_LOG_LEVEL_ERROR)))
    return FALSE;
  return TRUE;
}

static void
remove_tmpdir (void)
{
  if (test_tmpdir != NULL)
    {
      g_autofree char *cmd = g_strdup_printf ("rm -rf '%s'", test_tmpdir);
      if (system (cmd) != 0)
        g_printerr ("could not remove %s\n", test_tmpdir);
    }
}

void
roadie_test_init_environment (void)
{
  static const char *dirs[][2] = {
    { "XDG_STATE_HOME", "state" },
    { "XDG_RUNTIME_DIR", "runtime" },
    { "XDG_CONFIG_HOME", "config" },
    { "XDG_CACHE_HOME", "cache" },
    { "XDG_DATA_HOME", "data" },
  };
  g_autoptr(GError) error = NULL;

  test_tmpdir = g_dir_make_tmp ("roadie-test-XXXXXX", &error);
  g_assert_no_error (error);
  for (guint i = 0; i < G_N_ELEMENTS (dirs); i++)
    {
      g_autofree char *path = g_build_filename (test_tmpdir, dirs[i][1], NULL);
      g_assert_cmpint (g_mkdir_with_parents (path, 0700), ==, 0);
      g_setenv (dirs[i][0], path, TRUE);
    }
  /* The seed's variables from the developer's shell must not leak in. */
  {
    g_auto(GStrv) env = g_get_environ ();
    for (guint i = 0; env[i] != NULL; i++)
      if (g_str_has_prefix (env[i], "AUDIO_SERVER_") || g_str_has_prefix (env[i], "ROADIE_CONTROL"))
        {
          g_autofree char *name = g_strndup (env[i], strcspn (env[i], "="));
          g_unsetenv (name);
        }
  }
  atexit (remove_tmpdir);
  roadie_test_allow_roadie_warnings ();
}

void
roadie_test_allow_roadie_warnings (void)
{
  g_test_log_set_fatal_handler (allow_roadie_warnings, NULL);
}

static GPtrArray *captured_log;

static void
capture_handler (const char     *log_domain,
                 GLogLevelFlags  log_level,
                 const char     *message,
                 gpointer        user_data)
{
  if (log_level & G_LOG_LEVEL_WARNING)
    g_ptr_array_add (captured_log, g_strconcat ("W: ", message, NULL));
  else if (log_level & G_LOG_LEVEL_MESSAGE)
    g_ptr_array_add (captured_log, g_strconcat ("M: ", message, NULL));
  else if (log_level & (G_LOG_LEVEL_CRITICAL | G_LOG_LEVEL_ERROR))
    {
      g_log_default_handler (log_domain, log_level, message, user_data);
      return;
    }
  else
    return;   /* info and debug: not part of what a DJ sees */
  g_test_message ("%s: %s", log_domain, message);
}

void
roadie_test_capture_log (void)
{
  if (captured_log == NULL)
    captured_log = g_ptr_array_new_with_free_func (g_free);
  g_log_set_handler ("Roadie", G_LOG_LEVEL_MASK | G_LOG_FLAG_FATAL | G_LOG_FLAG_RECURSION,
                     capture_handler, NULL);
}

gboolean
roadie_test_was_logged (const char *text)
{
  for (guint i = 0; captured_log != NULL && i < captured_log->len; i++)
    if (strstr (g_ptr_array_index (captured_log, i), text) != NULL)
      return TRUE;
  return FALSE;
}

guint
roadie_test_count_logged (const char *entry)
{
  guint count = 0;

  if (captured_log == NULL)
    return 0;
  if (entry == NULL)
    return captured_log->len;
  for (guint i = 0; i < captured_log->len; i++)
    if (g_str_equal (g_ptr_array_index (captured_log, i), entry))
      count++;
  return count;
}

void
roadie_test_clear_log (void)
{
  if (captured_log != NULL)
    g_ptr_array_set_size (captured_log, 0);
}

const char *
roadie_test_tmpdir (void)
{
  return test_tmpdir;
}

guint16
roadie_test_free_port (void)
{
  struct sockaddr_in addr = { 0 };
  socklen_t len = sizeof addr;
  int fd;

  fd = socket (AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  g_assert_cmpint (fd, >=, 0);
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl (INADDR_LOOPBACK);
  addr.sin_port = 0;
  g_assert_cmpint (bind (fd, (struct sockaddr *) &addr, sizeof addr), ==, 0);
  g_assert_cmpint (getsockname (fd, (struct sockaddr *) &addr, &len), ==, 0);
  close (fd);
  return ntohs (addr.sin_port);
}

typedef struct
{
  gboolean  done;
  GError   *error;
} ConnectResult;

static void
tcp_connected (GObject      *object,
               GAsyncResult *result,
               gpointer      user_data)
{
  ConnectResult *connect = user_data;
  g_autoptr(GSocketConnection) connection = NULL;

  connection = g_socket_client_connect_to_host_finish (G_SOCKET_CLIENT (object), result, &connect->error);
  connect->done = TRUE;
}

static gboolean
tcp_connect_done (gpointer user_data)
{
  return ((ConnectResult *) user_data)->done;
}

GError *
roadie_test_try_tcp_connect (const char *host,
                             guint16     port)
{
  g_autoptr(GSocketClient) client = g_socket_client_new ();
  ConnectResult result = { 0 };

  g_socket_client_set_timeout (client, 5);
  g_socket_client_connect_to_host_async (client, host, port, NULL, tcp_connected, &result);
  g_assert_true (roadie_test_wait_until (tcp_connect_done, &result, 10000));
  return result.error;
}

static gboolean
timeout_reached (gpointer user_data)
{
  gboolean *reached = user_data;

  *reached = TRUE;
  return G_SOURCE_REMOVE;
}

static gboolean
tick (gpointer user_data)
{
  return G_SOURCE_CONTINUE;
}

gboolean
roadie_test_wait_until (RoadieTestCondition func,
                        gpointer            user_data,
                        guint               timeout_ms)
{
  gboolean reached = FALSE;
  gboolean result;
  guint id;
  guint ticker;

  id = g_timeout_add (timeout_ms, timeout_reached, &reached);
  /* Conditions on /proc or files change without any main-loop event:
   * look again every 10 ms. */
  ticker = g_timeout_add (10, tick, NULL);
  while (!(result = func (user_data)) && !reached)
    g_main_context_iteration (NULL, TRUE);
  g_source_remove (ticker);
  if (!reached)
    g_source_remove (id);
  return result;
}

void
roadie_test_run_for (guint ms)
{
  gboolean reached = FALSE;

  g_timeout_add (ms, timeout_reached, &reached);
  while (!reached)
    g_main_context_iteration (NULL, TRUE);
}

static char *
read_proc (const char *pid,
           const char *file,
           gsize      *len)
{
  g_autofree char *path = g_build_filename ("/proc", pid, file, NULL);
  char *contents = NULL;

  if (!g_file_get_contents (path, &contents, len, NULL))
    return NULL;
  return contents;
}

/* The state letter from /proc/PID/stat, after the parenthesised name. */
static char
proc_state (const char *pid,
            long       *ppid)
{
  g_autofree char *stat = read_proc (pid, "stat", NULL);
  const char *p;

  if (stat == NULL || (p = strrchr (stat, ')')) == NULL || p[1] == '\0')
    return '?';
  if (ppid != NULL)
    *ppid = strtol (p + 4, NULL, 10);
  return p[2];
}

guint
roadie_test_count_tagged (const char *tag)
{
  g_autoptr(GDir) dir = g_dir_open ("/proc", 0, NULL);
  const char *name;
  guint count = 0;

  while ((name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *cmdline = NULL;
      gsize len = 0;

      if (!g_ascii_isdigit (name[0]))
        continue;
      cmdline = read_proc (name, "cmdline", &len);
      if (cmdline == NULL || len == 0)
        continue;
      for (gsize i = 0; i + 1 < len; i++)
        if (cmdline[i] == '\0')
          cmdline[i] = ' ';
      if (strstr (cmdline, tag) != NULL && proc_state (name, NULL) != 'Z')
        count++;
    }
  return count;
}

guint
roadie_test_count_zombies (void)
{
  g_autoptr(GDir) dir = g_dir_open ("/proc", 0, NULL);
  const char *name;
  long self = getpid ();
  guint count = 0;

  while ((name = g_dir_read_name (dir)) != NULL)
    {
      long ppid = 0;

      if (g_ascii_isdigit (name[0]) && proc_state (name, &ppid) == 'Z' && ppid == self)
        count++;
    }
  return count;
}

guint
roadie_test_count_fds (void)
{
  g_autoptr(GDir) dir = g_dir_open ("/proc/self/fd", 0, NULL);
  guint count = 0;

  while (g_dir_read_name (dir) != NULL)
    count++;
  return count - 1; /* the GDir's own */
}

char *
roadie_test_new_tag (void)
{
  static guint serial;

  return g_strdup_printf ("roadie-test-%d-%u-%u", (int) getpid (), ++serial, g_random_int ());
}

static const char *
required_env (const char *name)
{
  const char *value = g_getenv (name);

  if (value == NULL)
    g_error ("%s is not set: run the tests through `meson test`", name);
  return value;
}

const char *
roadie_test_fake_server (void)
{
  return required_env ("ROADIE_FAKE_AUDIO_SERVER");
}

const char *
roadie_test_engine (void)
{
  return required_env ("ROADIE_ENGINE_BIN");
}

const char *
roadie_test_reaper (void)
{
  return required_env ("ROADIE_REAPER_BIN");
}

const char *
roadie_test_roadie (void)
{
  return required_env ("ROADIE_BIN");
}

GSettings *
roadie_test_new_gsettings (void)
{
  g_autoptr(GSettingsBackend) backend = g_memory_settings_backend_new ();

  return g_settings_new_with_backend (APP_ID, backend);
}

char *
roadie_test_read_file (const char *path,
                       gsize      *length)
{
  char *contents = NULL;

  if (!g_file_get_contents (path, &contents, length, NULL))
    return NULL;
  return contents;
}

/* Private X server and D-Bus session for GUI tests. */

static GPid xvfb_pid;
static GPid dbus_pid;
static char *xvfb_display;
static char *dbus_address;

static void
stop_private_servers (void)
{
  GPid *pids[] = { &dbus_pid, &xvfb_pid };

  for (guint i = 0; i < G_N_ELEMENTS (pids); i++)
    if (*pids[i] > 0)
      {
        kill (*pids[i], SIGTERM);
        waitpid (*pids[i], NULL, 0);
        *pids[i] = 0;
      }
}

static void
die_with_test (gpointer user_data)
{
  /* Runs in the child: a crashed or killed test leaves no server behind. */
  prctl (PR_SET_PDEATHSIG, SIGTERM);
}

/* Spawns argv with the write end of a pipe as fd 3 (where both Xvfb
 * -displayfd and dbus-daemon --print-address write) and returns the first
 * line written there. */
static char *
spawn_and_read_fd3 (const char * const *argv,
                    GPid               *pid)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GString) line = g_string_new (NULL);
  gint64 deadline = g_get_monotonic_time () + 20 * G_USEC_PER_SEC;
  int fds[2];
  int target_fd = 3;

  if (!g_unix_open_pipe (fds, FD_CLOEXEC, &error))
    g_error ("pipe: %s", error->message);

  if (!g_spawn_async_with_pipes_and_fds (NULL, argv, NULL,
                                         G_SPAWN_SEARCH_PATH |
                                         G_SPAWN_DO_NOT_REAP_CHILD |
                                         G_SPAWN_STDOUT_TO_DEV_NULL |
                                         G_SPAWN_STDERR_TO_DEV_NULL,
                                         die_with_test, NULL,
                                         -1, -1, -1,
                                         &fds[1], &target_fd, 1,
                                         pid, NULL, NULL, NULL,
                                         &error))
    g_error ("could not run %s: %s", argv[0], error->message);
  close (fds[1]);

  while (line->len == 0 || line->str[line->len - 1] != '\n')
    {
      struct pollfd pfd = { .fd = fds[0], .events = POLLIN };
      gint64 left_ms = (deadline - g_get_monotonic_time ()) / 1000;
      char buf[256];
      ssize_t n;

      if (left_ms <= 0 || poll (&pfd, 1, (int) left_ms) <= 0)
        g_error ("%s did not report its address within 20 s", argv[0]);
      n = read (fds[0], buf, sizeof buf);
      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        g_error ("%s exited before reporting its address", argv[0]);
      g_string_append_len (line, buf, n);
    }
  close (fds[0]);

  g_strchomp (line->str);
  return g_string_free (g_steal_pointer (&line), FALSE);
}

static void
register_cleanup (void)
{
  static gboolean registered;

  if (!registered)
    atexit (stop_private_servers);
  registered = TRUE;
}

const char *
roadie_test_start_xvfb (void)
{
  const char *argv[] = {
    "Xvfb", "-displayfd", "3", "-nolisten", "tcp", "-screen", "0", "1280x900x24", NULL
  };
  g_autofree char *number = NULL;

  g_assert (xvfb_pid == 0);
  register_cleanup ();
  number = spawn_and_read_fd3 (argv, &xvfb_pid);
  xvfb_display = g_strconcat (":", number, NULL);
  g_setenv ("DISPLAY", xvfb_display, TRUE);
  g_unsetenv ("WAYLAND_DISPLAY");
  return xvfb_display;
}

const char *
roadie_test_start_dbus (void)
{
  const char *argv[] = {
    "dbus-daemon", "--session", "--nofork", "--nopidfile", "--print-address=3", NULL
  };

  g_assert (dbus_pid == 0);
  register_cleanup ();
  dbus_address = spawn_and_read_fd3 (argv, &dbus_pid);
  g_setenv ("DBUS_SESSION_BUS_ADDRESS", dbus_address, TRUE);
  return dbus_address;
}

const char *
roadie_test_python_with_websockets (char **why)
{
  static char *found;
  static char *problem;
  const char *candidates[] = { g_getenv ("ROADIE_TEST_PYTHON"), "/usr/bin/python3", "python3" };

  if (found == NULL && problem == NULL)
    {
      /* Debian's python3-websockets lives in /usr/lib/python3/dist-packages,
       * which a python3 from pyenv or a venv earlier in PATH does not see. */
      for (guint i = 0; i < G_N_ELEMENTS (candidates) && found == NULL; i++)
        {
          const char *argv[] = { candidates[i], "-c", "import websockets", NULL };
          int status = -1;

          if (candidates[i] == NULL)
            continue;
          if (g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_SEARCH_PATH | G_SPAWN_STDOUT_TO_DEV_NULL
                            | G_SPAWN_STDERR_TO_DEV_NULL, NULL, NULL, NULL, NULL, &status, NULL)
              && g_spawn_check_wait_status (status, NULL))
            found = g_strdup (candidates[i]);
        }
      if (found == NULL)
        problem = g_strdup ("no python3 here can import websockets: install the Debian package "
                            "python3-websockets (build-aux/deps.sh build test does), or point "
                            "ROADIE_TEST_PYTHON at a python3 that has it");
    }
  if (why != NULL)
    *why = g_strdup (problem);
  return found;
}
