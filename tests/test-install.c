/* test-install.c: Roadie as `meson install` lays it out, and the way it
 * reaches a server on the host from inside the Flatpak.
 *
 * The path lookups are checked as pure functions (build tree, installed
 * prefix, Flatpak's /app, a prefix that only looks like the build tree).
 * Then the build is installed into a DESTDIR and the installed
 * `roadie --headless` is run: it must supervise the installed roadie-engine
 * through the installed roadie-reaper, which /proc shows. Last, "host:"
 * executables go through a stand-in flatpak-spawn on PATH, which records
 * the argv it was given and runs the command, as the real one does on the
 * host.
 */
#include "config.h"

#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <libsoup/soup.h>

#include "roadie-paths.h"
#include "roadie-test-util.h"

/* ---- lookups, as pure functions ------------------------------------------ */

static void
test_paths_build_tree (void)
{
  g_autofree char *exe = g_build_filename (ROADIE_BUILD_ROOT, "src", "app", "roadie", NULL);
  g_autofree char *engine = roadie_paths_helper_for_executable (exe, ROADIE_HELPER_ENGINE);
  g_autofree char *reaper = roadie_paths_helper_for_executable (exe, ROADIE_HELPER_REAPER);
  g_autofree char *test_exe = g_build_filename (ROADIE_BUILD_ROOT, "tests", "test-install", NULL);
  g_autofree char *from_test = roadie_paths_helper_for_executable (test_exe, ROADIE_HELPER_REAPER);

  /* The built programs, whichever program of the build tree asks. */
  g_assert_cmpstr (engine, ==, roadie_test_engine ());
  g_assert_cmpstr (reaper, ==, roadie_test_reaper ());
  g_assert_cmpstr (from_test, ==, roadie_test_reaper ());
}

static void
check_installed_prefix (const char *prefix)
{
  g_autofree char *bindir = g_build_filename (prefix, ROADIE_BINDIR_REL, NULL);
  g_autofree char *exe = g_build_filename (bindir, "roadie", NULL);
  g_autofree char *engine = roadie_paths_helper_for_executable (exe, ROADIE_HELPER_ENGINE);
  g_autofree char *reaper = roadie_paths_helper_for_executable (exe, ROADIE_HELPER_REAPER);
  g_autofree char *want_engine = g_build_filename (bindir, "roadie-engine", NULL);
  g_autofree char *want_reaper = g_build_filename (prefix, ROADIE_LIBEXECDIR_REL, "roadie-reaper", NULL);

  g_assert_cmpstr (engine, ==, want_engine);
  g_assert_cmpstr (reaper, ==, want_reaper);
}

static void
test_paths_installed (void)
{
  /* This build's layout (meson's defaults: bin and libexec). */
  g_assert_cmpstr (ROADIE_BINDIR_REL, ==, "bin");
  g_assert_cmpstr (ROADIE_LIBEXECDIR_REL, ==, "libexec");

  /* Relative to wherever the prefix ended up, not to the configured one. */
  check_installed_prefix ("/usr");
  check_installed_prefix ("/opt/roadie");
  check_installed_prefix ("/tmp/destdir/usr/local");
  /* The Flatpak. */
  {
    g_autofree char *reaper = roadie_paths_helper_for_executable ("/app/bin/roadie", ROADIE_HELPER_REAPER);
    g_autofree char *engine = roadie_paths_helper_for_executable ("/app/bin/roadie", ROADIE_HELPER_ENGINE);

    g_assert_cmpstr (reaper, ==, "/app/libexec/roadie-reaper");
    g_assert_cmpstr (engine, ==, "/app/bin/roadie-engine");
  }
}

static void
test_paths_not_installed (void)
{
  g_autofree char *lookalike = g_strconcat (ROADIE_BUILD_ROOT, "-copy/bin/roadie", NULL);
  g_autofree char *reaper = NULL;
  g_autofree char *stray = roadie_paths_helper_for_executable ("/home/dj/Downloads/roadie", ROADIE_HELPER_REAPER);

  /* A folder whose name only starts like the build tree is not inside it. */
  reaper = roadie_paths_helper_for_executable (lookalike, ROADIE_HELPER_REAPER);
  g_assert_false (g_str_has_prefix (reaper, ROADIE_BUILD_ROOT "/"));
  g_assert_true (g_str_has_suffix (reaper, "-copy/libexec/roadie-reaper"));

  /* Not in a bindir: no prefix to go from, and no guess at /usr/libexec. */
  g_assert_null (stray);
}

static void
test_paths_find (void)
{
  g_autofree char *engine = roadie_paths_find_engine ();
  g_autofree char *reaper = roadie_paths_find_reaper ();
  g_autofree char *icons = roadie_paths_find_icon_dir ();
  g_autofree char *tray_icon = NULL;

  /* This test program runs in the build tree. */
  g_assert_cmpstr (engine, ==, roadie_test_engine ());
  g_assert_cmpstr (reaper, ==, roadie_test_reaper ());
  g_assert_nonnull (icons);
  tray_icon = g_build_filename (icons, "hicolor", "symbolic", "apps",
                                APP_ID "-running-symbolic.svg", NULL);
  g_assert_true (g_file_test (tray_icon, G_FILE_TEST_IS_REGULAR));
}

/* ---- flatpak-spawn argv --------------------------------------------------- */

static void
test_host_command (void)
{
  const char *args[] = { "--config", "/opt/mismo-dj/my set.json", NULL };
  g_auto(GStrv) argv = NULL;
  g_auto(GStrv) home_argv = NULL;
  g_autofree char *home_directory = g_strconcat ("--directory=", g_get_home_dir (), NULL);

  g_assert_true (roadie_paths_is_host_executable ("host:/opt/mismo-dj/bin/MismoDJ"));
  g_assert_false (roadie_paths_is_host_executable ("/opt/mismo-dj/bin/MismoDJ"));
  g_assert_false (roadie_paths_is_host_executable ("/opt/host:/MismoDJ"));
  g_assert_false (roadie_paths_is_host_executable (NULL));
  g_assert_cmpstr (roadie_paths_host_executable ("host:/opt/mismo-dj/bin/MismoDJ"), ==,
                   "/opt/mismo-dj/bin/MismoDJ");
  g_assert_null (roadie_paths_host_executable ("/opt/mismo-dj/bin/MismoDJ"));

  argv = roadie_paths_host_command ("/opt/mismo-dj/bin/MismoDJ", "/opt/mismo-dj", args);
  g_assert_cmpstrv (argv, ((const char * const[]) {
    "flatpak-spawn", "--host", "--watch-bus", "--directory=/opt/mismo-dj",
    "/opt/mismo-dj/bin/MismoDJ", "--config", "/opt/mismo-dj/my set.json", NULL }));

  /* No working folder: the home folder, the same path inside and out. */
  home_argv = roadie_paths_host_command ("/usr/bin/mixxx", "", NULL);
  g_assert_cmpstrv (home_argv, ((const char * const[]) {
    "flatpak-spawn", "--host", "--watch-bus", home_directory, "/usr/bin/mixxx", NULL }));
}

/* ---- running installed or host programs ----------------------------------- */

typedef struct
{
  GSubprocess *roadie;
  guint16      control_port;
  SoupSession *session;
} Running;

static void
die_with_test (gpointer user_data)
{
  prctl (PR_SET_PDEATHSIG, SIGKILL);
}

static JsonNode *
get_status (Running *r)
{
  g_autofree char *url = g_strdup_printf ("http://127.0.0.1:%u/api/audio-server/status", r->control_port);
  g_autoptr(SoupMessage) message = soup_message_new ("GET", url);
  g_autoptr(GBytes) body = soup_session_send_and_read (r->session, message, NULL, NULL);

  if (body == NULL || soup_message_get_status (message) != SOUP_STATUS_OK)
    return NULL;
  return json_from_string (g_bytes_get_data (body, NULL), NULL);
}

typedef struct
{
  Running    *running;
  const char *state;
  const char *error_part;
} StatusWait;

static gboolean
status_matches (gpointer data)
{
  StatusWait *wait = data;
  g_autoptr(JsonNode) node = get_status (wait->running);
  JsonObject *status;

  if (node == NULL)
    {
      g_usleep (50 * 1000);   /* a blocking client in a test program: fine */
      return FALSE;
    }
  status = json_node_get_object (node);
  if (wait->state != NULL
      && g_strcmp0 (json_object_get_string_member (status, "state"), wait->state) != 0)
    return FALSE;
  if (wait->error_part != NULL
      && (json_object_get_null_member (status, "lastError")
          || strstr (json_object_get_string_member (status, "lastError"), wait->error_part) == NULL))
    return FALSE;
  return TRUE;
}

static void
wait_for_status (Running    *r,
                 const char *state,
                 const char *error_part)
{
  StatusWait wait = { r, state, error_part };

  if (!roadie_test_wait_until (status_matches, &wait, 15000))
    {
      g_autoptr(JsonNode) node = get_status (r);
      g_autofree char *text = node != NULL ? json_to_string (node, TRUE) : g_strdup ("(no status)");

      g_error ("waited in vain for state %s, error containing “%s”; status:\n%s",
               state, error_part, text);
    }
}

/* Starts `roadie --headless` with `env` (NAME, VALUE, …, NULL) on top of a
 * private control port, log file and no extra engine listeners. */
static void
running_start (Running    *r,
               const char *roadie,
               const char *first_env,
               ...)
{
  g_autoptr(GSubprocessLauncher) launcher = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *control_text = NULL;
  g_autofree char *log_path = g_build_filename (roadie_test_tmpdir (), "install-server.log", NULL);
  va_list ap;

  r->control_port = roadie_test_free_port ();
  r->session = soup_session_new ();
  soup_session_set_proxy_resolver (r->session, NULL);

  launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_NONE);
  g_subprocess_launcher_unsetenv (launcher, "G_DEBUG");
  control_text = g_strdup_printf ("%u", r->control_port);
  g_subprocess_launcher_setenv (launcher, "ROADIE_CONTROL_PORT", control_text, TRUE);
  g_subprocess_launcher_setenv (launcher, "AUDIO_SERVER_LOG_FILE", log_path, TRUE);
  g_subprocess_launcher_setenv (launcher, "AUDIO_SERVER_STOP_TIMEOUT_MS", "1000", TRUE);
  g_subprocess_launcher_set_child_setup (launcher, die_with_test, NULL, NULL);
  va_start (ap, first_env);
  for (const char *name = first_env; name != NULL; name = va_arg (ap, const char *))
    g_subprocess_launcher_setenv (launcher, name, va_arg (ap, const char *), TRUE);
  va_end (ap);

  r->roadie = g_subprocess_launcher_spawn (launcher, &error, roadie, "--headless",
                                           "--set", "engine-browser-port=0",
                                           "--set", "engine-dj-port=0",
                                           NULL);
  g_assert_no_error (error);
}

/* SIGTERM, and Roadie must stop its server and exit 0. */
static void
running_stop (Running *r)
{
  g_subprocess_send_signal (r->roadie, SIGTERM);
  g_assert_true (g_subprocess_wait (r->roadie, NULL, NULL));
  g_assert_true (g_subprocess_get_if_exited (r->roadie));
  g_assert_cmpint (g_subprocess_get_exit_status (r->roadie), ==, 0);
  g_clear_object (&r->roadie);
  g_clear_object (&r->session);
}

static char *
proc_exe (GPid pid)
{
  g_autofree char *link = g_strdup_printf ("/proc/%d/exe", (int) pid);

  return g_file_read_link (link, NULL);
}

static GPid
proc_parent (GPid pid)
{
  g_autofree char *path = g_strdup_printf ("/proc/%d/status", (int) pid);
  g_autofree char *text = NULL;
  const char *ppid;

  if (!g_file_get_contents (path, &text, NULL, NULL))
    return 0;
  ppid = strstr (text, "\nPPid:");
  return ppid != NULL ? (GPid) g_ascii_strtoll (ppid + strlen ("\nPPid:"), NULL, 10) : 0;
}

static gboolean
process_gone (gpointer data)
{
  GPid pid = GPOINTER_TO_INT (data);
  g_autofree char *exe = proc_exe (pid);

  return exe == NULL;
}

static void
run_quietly (const char * const *argv)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *out = NULL;
  g_autofree char *err = NULL;
  int status = 0;

  g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, &out, &err, &status, &error);
  g_assert_no_error (error);
  if (!g_spawn_check_wait_status (status, NULL))
    g_error ("%s failed:\n%s%s", argv[0], out, err);
}

static void
assert_installed (const char *path,
                  GFileTest   test)
{
  if (!g_file_test (path, test))
    g_error ("meson install did not install %s", path);
}

static void
test_destdir (void)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *destdir = g_dir_make_tmp ("roadie-install-XXXXXX", &error);
  g_autofree char *prefix = NULL;
  g_autofree char *bindir = NULL;
  g_autofree char *roadie = NULL;
  g_autofree char *engine = NULL;
  g_autofree char *reaper = NULL;
  g_autofree char *schemas = NULL;
  g_autofree char *service = NULL;
  g_autofree char *service_text = NULL;
  g_autofree char *want_exec = NULL;
  g_autofree char *datadir = NULL;
  g_autofree char *rm_destdir = NULL;
  g_autofree char *server_exe = NULL;
  g_autofree char *parent_exe = NULL;
  g_autofree char *roadie_exe = NULL;
  g_autoptr(JsonNode) node = NULL;
  JsonObject *status;
  g_autofree char *ws_port = g_strdup_printf ("%u", roadie_test_free_port ());
  GPid server, reaper_pid;
  Running r = { 0 };

  g_assert_no_error (error);
  /* Outside the build tree, or Roadie would rightly take itself for a
   * build-tree program. */
  g_assert_false (g_str_has_prefix (destdir, ROADIE_BUILD_ROOT "/"));

  run_quietly ((const char * const[]) { g_getenv ("ROADIE_MESON"), "install",
                                        "-C", ROADIE_BUILD_ROOT, "--destdir", destdir,
                                        "--no-rebuild", "--quiet", NULL });

  prefix = g_build_filename (destdir, ROADIE_PREFIX, NULL);
  bindir = g_build_filename (prefix, ROADIE_BINDIR_REL, NULL);
  datadir = g_build_filename (prefix, ROADIE_DATADIR_REL, NULL);
  roadie = g_build_filename (bindir, "roadie", NULL);
  engine = g_build_filename (bindir, "roadie-engine", NULL);
  reaper = g_build_filename (prefix, ROADIE_LIBEXECDIR_REL, "roadie-reaper", NULL);
  schemas = g_build_filename (datadir, "glib-2.0", "schemas", NULL);

  /* Programs in bindir and libexecdir, data in the standard places. */
  assert_installed (roadie, G_FILE_TEST_IS_EXECUTABLE);
  assert_installed (engine, G_FILE_TEST_IS_EXECUTABLE);
  assert_installed (reaper, G_FILE_TEST_IS_EXECUTABLE);
  {
    const char *data_files[] = {
      "applications/" APP_ID ".desktop",
      "metainfo/" APP_ID ".metainfo.xml",
      "dbus-1/services/" APP_ID ".service",
      "glib-2.0/schemas/" APP_ID ".gschema.xml",
      "glib-2.0/schemas/" APP_ID ".Connection.gschema.xml",
      "icons/hicolor/scalable/apps/" APP_ID ".svg",
      "icons/hicolor/symbolic/apps/" APP_ID "-symbolic.svg",
      "icons/hicolor/symbolic/apps/" APP_ID "-running-symbolic.svg",
      "icons/hicolor/symbolic/apps/" APP_ID "-starting-symbolic.svg",
      "icons/hicolor/symbolic/apps/" APP_ID "-attention-symbolic.svg",
      "icons/hicolor/symbolic/apps/" APP_ID "-stopped-symbolic.svg",
    };

    for (guint i = 0; i < G_N_ELEMENTS (data_files); i++)
      {
        g_autofree char *path = g_build_filename (datadir, data_files[i], NULL);

        assert_installed (path, G_FILE_TEST_IS_REGULAR);
      }
  }

  /* D-Bus activation runs the installed roadie as a service. */
  service = g_build_filename (datadir, "dbus-1", "services", APP_ID ".service", NULL);
  g_assert_true (g_file_get_contents (service, &service_text, NULL, NULL));
  g_assert_nonnull (strstr (service_text, "\nName=" APP_ID "\n"));
  want_exec = g_strdup_printf ("\nExec=%s/roadie --gapplication-service\n", ROADIE_BINDIR);
  g_assert_nonnull (strstr (service_text, want_exec));

  /* gnome.post_install skips DESTDIR installs; a package's postinst (or
   * the first real install) compiles them. */
  run_quietly ((const char * const[]) { "glib-compile-schemas", "--strict", schemas, NULL });

  /* The installed roadie, with nothing from the build tree in its
   * environment, must find the installed engine and reaper. */
  running_start (&r, roadie,
                 "GSETTINGS_SCHEMA_DIR", schemas,
                 "ROADIE_ENGINE_BIN", "/nonexistent",
                 "ROADIE_REAPER_BIN", "/nonexistent",
                 "AUDIO_SERVER_WS_PORT", ws_port,
                 "AUDIO_SERVER_ARGS", "--input demo",
                 NULL);
  wait_for_status (&r, "running", NULL);

  node = get_status (&r);
  status = json_node_get_object (node);
  g_assert_cmpstr (json_object_get_string_member (status, "executablePath"), ==, engine);
  server = (GPid) json_object_get_int_member (status, "pid");
  g_assert_cmpint (server, >, 0);

  /* The server is the installed engine, its parent the installed reaper,
   * whose parent is the installed roadie. */
  server_exe = proc_exe (server);
  g_assert_cmpstr (server_exe, ==, engine);
  reaper_pid = proc_parent (server);
  parent_exe = proc_exe (reaper_pid);
  g_assert_cmpstr (parent_exe, ==, reaper);
  g_assert_cmpint (proc_parent (reaper_pid), ==,
                   (GPid) g_ascii_strtoll (g_subprocess_get_identifier (r.roadie), NULL, 10));
  roadie_exe = proc_exe (proc_parent (reaper_pid));
  g_assert_cmpstr (roadie_exe, ==, roadie);

  running_stop (&r);
  g_assert_true (roadie_test_wait_until (process_gone, GINT_TO_POINTER (server), 2000));
  g_assert_true (roadie_test_wait_until (process_gone, GINT_TO_POINTER (reaper_pid), 2000));

  rm_destdir = g_strdup (destdir);
  run_quietly ((const char * const[]) { "rm", "-rf", rm_destdir, NULL });
}

/* The installed roadie-engine runs on its own, headless, and serves /health. */
static void
test_destdir_engine_alone (void)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *destdir = g_dir_make_tmp ("roadie-install-XXXXXX", &error);
  g_autofree char *engine = NULL;
  g_autofree char *port_text = NULL;
  g_autofree char *url = NULL;
  g_autoptr(GSubprocessLauncher) launcher = NULL;
  g_autoptr(GSubprocess) process = NULL;
  g_autoptr(SoupSession) session = soup_session_new ();
  g_autoptr(GBytes) body = NULL;
  g_autoptr(JsonNode) node = NULL;
  guint16 port = roadie_test_free_port ();
  gint64 deadline;

  g_assert_no_error (error);
  run_quietly ((const char * const[]) { g_getenv ("ROADIE_MESON"), "install",
                                        "-C", ROADIE_BUILD_ROOT, "--destdir", destdir,
                                        "--no-rebuild", "--quiet", NULL });
  engine = g_build_filename (destdir, ROADIE_BINDIR, "roadie-engine", NULL);

  launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_SILENCE | G_SUBPROCESS_FLAGS_STDERR_SILENCE);
  g_subprocess_launcher_set_child_setup (launcher, die_with_test, NULL, NULL);
  port_text = g_strdup_printf ("%u", port);
  process = g_subprocess_launcher_spawn (launcher, &error, engine, "--port", port_text,
                                         "--browser-port", "0", "--dj-port", "0",
                                         "--input", "demo", NULL);
  g_assert_no_error (error);

  soup_session_set_proxy_resolver (session, NULL);
  url = g_strdup_printf ("http://127.0.0.1:%u/health", port);
  deadline = g_get_monotonic_time () + 10 * G_USEC_PER_SEC;
  while (body == NULL && g_get_monotonic_time () < deadline)
    {
      g_autoptr(SoupMessage) message = soup_message_new ("GET", url);
      g_autoptr(GBytes) reply = soup_session_send_and_read (session, message, NULL, NULL);

      if (reply != NULL && soup_message_get_status (message) == SOUP_STATUS_OK)
        body = g_steal_pointer (&reply);
      else
        g_usleep (50 * 1000);
    }
  g_assert_nonnull (body);
  node = json_from_string (g_bytes_get_data (body, NULL), &error);
  g_assert_no_error (error);
  g_assert_true (json_object_has_member (json_node_get_object (node), "current_browsers"));

  g_subprocess_send_signal (process, SIGTERM);
  g_assert_true (g_subprocess_wait (process, NULL, NULL));
  run_quietly ((const char * const[]) { "rm", "-rf", destdir, NULL });
}

/* A stand-in for flatpak-spawn: writes its arguments, one a line, to
 * $ROADIE_TEST_SPAWN_RECORD, then runs the command after its options the
 * way the real one starts it on the host (in --directory). */
static char *
write_fake_flatpak_spawn (void)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *dir = g_build_filename (roadie_test_tmpdir (), "fake-flatpak-bin", NULL);
  g_autofree char *path = g_build_filename (dir, "flatpak-spawn", NULL);
  const char *script =
    "#!/bin/sh\n"
    "printf '%s\\n' \"$@\" > \"$ROADIE_TEST_SPAWN_RECORD\"\n"
    "dir=.\n"
    "while [ $# -gt 0 ]; do\n"
    "  case \"$1\" in\n"
    "    --directory=*) dir=${1#--directory=}; shift ;;\n"
    "    -*) shift ;;\n"
    "    *) break ;;\n"
    "  esac\n"
    "done\n"
    "cd \"$dir\" || exit 1\n"
    "exec \"$@\"\n";

  g_assert_cmpint (g_mkdir_with_parents (dir, 0700), ==, 0);
  g_file_set_contents (path, script, -1, &error);
  g_assert_no_error (error);
  g_assert_cmpint (g_chmod (path, 0755), ==, 0);
  return g_steal_pointer (&dir);
}

static void
test_host_executable (void)
{
  g_autofree char *fake_bin = write_fake_flatpak_spawn ();
  g_autofree char *record = g_build_filename (roadie_test_tmpdir (), "flatpak-spawn-args", NULL);
  g_autofree char *host_path = g_strconcat (ROADIE_HOST_PREFIX, roadie_test_fake_server (), NULL);
  g_autofree char *workdir = g_build_filename (roadie_test_tmpdir (), "host-workdir", NULL);
  g_autofree char *port_text = g_strdup_printf ("%u", roadie_test_free_port ());
  g_autofree char *tag = roadie_test_new_tag ();
  g_autofree char *args = NULL;
  g_autofree char *recorded = NULL;
  g_autofree char *want = NULL;
  g_autofree char *server_cwd = NULL;
  g_autofree char *cwd_link = NULL;
  g_autoptr(JsonNode) node = NULL;
  JsonObject *status;
  GPid server;
  Running r = { 0 };

  g_assert_cmpint (g_mkdir_with_parents (workdir, 0700), ==, 0);
  args = g_strdup_printf ("--port %s --tag %s", port_text, tag);
  /* Only the stand-in on PATH: Roadie runs everything else by full path. */
  running_start (&r, roadie_test_roadie (),
                 "PATH", fake_bin,
                 "ROADIE_TEST_SPAWN_RECORD", record,
                 "AUDIO_SERVER_EXECUTABLE_PATH", host_path,
                 "AUDIO_SERVER_WORKING_DIR", workdir,
                 "AUDIO_SERVER_ARGS", args,
                 "AUDIO_SERVER_WS_PORT", port_text,
                 NULL);
  wait_for_status (&r, "running", NULL);

  node = get_status (&r);
  status = json_node_get_object (node);
  g_assert_cmpstr (json_object_get_string_member (status, "executablePath"), ==, host_path);
  server = (GPid) json_object_get_int_member (status, "pid");
  cwd_link = g_strdup_printf ("/proc/%d/cwd", (int) server);
  server_cwd = g_file_read_link (cwd_link, NULL);
  g_assert_cmpstr (server_cwd, ==, workdir);

  /* flatpak-spawn got the host path with the server's own arguments. */
  g_assert_true (g_file_get_contents (record, &recorded, NULL, NULL));
  want = g_strdup_printf ("--host\n--watch-bus\n--directory=%s\n%s\n--port\n%s\n--tag\n%s\n",
                          workdir, roadie_test_fake_server (), port_text, tag);
  g_assert_cmpstr (recorded, ==, want);

  /* Stopping reaches the program through flatpak-spawn: nothing is left. */
  running_stop (&r);
  g_assert_cmpuint (roadie_test_count_tagged (tag), ==, 0);
}

/* The sandbox cannot see a host path: the pre-flight checks must not call
 * it missing, only insist on what they can know. */
static void
test_host_executable_preflight (void)
{
  g_autofree char *fake_bin = write_fake_flatpak_spawn ();
  g_autofree char *empty_bin = g_build_filename (roadie_test_tmpdir (), "empty-bin", NULL);
  g_autofree char *record = g_build_filename (roadie_test_tmpdir (), "flatpak-spawn-args-2", NULL);
  g_autofree char *ws_port = g_strdup_printf ("%u", roadie_test_free_port ());
  gint64 deadline;
  Running r = { 0 };

  /* Not visible here, but passed on: flatpak-spawn is asked to run it. */
  running_start (&r, roadie_test_roadie (),
                 "PATH", fake_bin,
                 "ROADIE_TEST_SPAWN_RECORD", record,
                 "AUDIO_SERVER_EXECUTABLE_PATH", "host:/only/on/the/host/MismoDJ",
                 "AUDIO_SERVER_WORKING_DIR", "/only/on/the/host",
                 "AUDIO_SERVER_WS_PORT", ws_port,
                 "AUDIO_SERVER_MAX_RESTARTS", "0",
                 NULL);
  deadline = g_get_monotonic_time () + 10 * G_USEC_PER_SEC;
  while (!g_file_test (record, G_FILE_TEST_EXISTS) && g_get_monotonic_time () < deadline)
    roadie_test_run_for (20);
  g_assert_true (g_file_test (record, G_FILE_TEST_EXISTS));
  {
    g_autoptr(JsonNode) node = get_status (&r);
    const char *error = json_object_get_null_member (json_node_get_object (node), "lastError")
                        ? "" : json_object_get_string_member (json_node_get_object (node), "lastError");

    g_assert_null (strstr (error, "does not exist"));
  }
  running_stop (&r);

  /* A relative host path, and no flatpak-spawn: said plainly, nothing run. */
  g_assert_cmpint (g_mkdir_with_parents (empty_bin, 0700), ==, 0);
  running_start (&r, roadie_test_roadie (),
                 "PATH", fake_bin,
                 "AUDIO_SERVER_EXECUTABLE_PATH", "host:MismoDJ",
                 NULL);
  wait_for_status (&r, "stopped", "needs a full path");
  running_stop (&r);

  running_start (&r, roadie_test_roadie (),
                 "PATH", empty_bin,
                 "AUDIO_SERVER_EXECUTABLE_PATH", "host:/opt/mismo-dj/bin/MismoDJ",
                 NULL);
  wait_for_status (&r, "stopped", "only the Roadie Flatpak can run");
  running_stop (&r);
}

int
main (int argc, char *argv[])
{
  roadie_test_init_environment ();
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/roadie/install/paths/build-tree", test_paths_build_tree);
  g_test_add_func ("/roadie/install/paths/installed", test_paths_installed);
  g_test_add_func ("/roadie/install/paths/not-installed", test_paths_not_installed);
  g_test_add_func ("/roadie/install/paths/find", test_paths_find);
  g_test_add_func ("/roadie/install/host/command", test_host_command);
  g_test_add_func ("/roadie/install/host/supervised", test_host_executable);
  g_test_add_func ("/roadie/install/host/preflight", test_host_executable_preflight);
  g_test_add_func ("/roadie/install/destdir/headless", test_destdir);
  g_test_add_func ("/roadie/install/destdir/engine-alone", test_destdir_engine_alone);

  return g_test_run ();
}
