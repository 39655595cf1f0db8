/* test-headless.c: `roadie --headless` as a black box.
 *
 * The real roadie binary, configured only through the seed's environment
 * variables, supervising the fake server; driven by signals and the control
 * API, checked through /proc and the log file.
 */
#include "config.h"

#include <netinet/in.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <libsoup/soup.h>
#include <json-glib/json-glib.h>

#include "roadie-test-util.h"

typedef struct
{
  GSubprocess *roadie;
  guint16      port;
  guint16      control_port;
  char        *tag;
  char        *log_path;
  SoupSession *session;
} Headless;

/* Should this test die half-way, Roadie goes with it (and takes its server). */
static void
die_with_test (gpointer user_data)
{
  prctl (PR_SET_PDEATHSIG, SIGKILL);
}

static void
headless_start (Headless   *h,
                const char *extra_args,
                const char *first_env,
                ...)
{
  g_autoptr(GSubprocessLauncher) launcher = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *args = NULL;
  g_autofree char *log_name = NULL;
  g_autofree char *port_text = NULL;
  g_autofree char *control_text = NULL;
  va_list ap;

  h->port = roadie_test_free_port ();
  h->control_port = roadie_test_free_port ();
  h->tag = roadie_test_new_tag ();
  log_name = g_strdup_printf ("%s.log", h->tag);
  h->log_path = g_build_filename (roadie_test_tmpdir (), log_name, NULL);
  h->session = soup_session_new ();
  soup_session_set_proxy_resolver (h->session, NULL);

  launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_SILENCE | G_SUBPROCESS_FLAGS_STDERR_PIPE);
  /* Roadie's own warnings are its output here, not test failures. */
  g_subprocess_launcher_unsetenv (launcher, "G_DEBUG");
  g_subprocess_launcher_setenv (launcher, "AUDIO_SERVER_EXECUTABLE_PATH", roadie_test_fake_server (), TRUE);
  args = g_strdup_printf ("--port %u --tag %s %s", h->port, h->tag, extra_args);
  g_subprocess_launcher_setenv (launcher, "AUDIO_SERVER_ARGS", args, TRUE);
  port_text = g_strdup_printf ("%u", h->port);
  g_subprocess_launcher_setenv (launcher, "AUDIO_SERVER_WS_PORT", port_text, TRUE);
  g_subprocess_launcher_setenv (launcher, "AUDIO_SERVER_LOG_FILE", h->log_path, TRUE);
  g_subprocess_launcher_setenv (launcher, "AUDIO_SERVER_STOP_TIMEOUT_MS", "1000", TRUE);
  control_text = g_strdup_printf ("%u", h->control_port);
  g_subprocess_launcher_setenv (launcher, "ROADIE_CONTROL_PORT", control_text, TRUE);
  g_subprocess_launcher_set_child_setup (launcher, die_with_test, NULL, NULL);
  va_start (ap, first_env);
  for (const char *name = first_env; name != NULL; name = va_arg (ap, const char *))
    g_subprocess_launcher_setenv (launcher, name, va_arg (ap, const char *), TRUE);
  va_end (ap);

  h->roadie = g_subprocess_launcher_spawn (launcher, &error, roadie_test_roadie (), "--headless", NULL);
  g_assert_no_error (error);
}

static void
headless_free (Headless *h)
{
  if (h->roadie != NULL && g_subprocess_get_identifier (h->roadie) != NULL)
    {
      g_subprocess_force_exit (h->roadie);
      g_subprocess_wait (h->roadie, NULL, NULL);
    }
  g_clear_object (&h->roadie);
  g_clear_object (&h->session);
  g_free (h->tag);
  g_free (h->log_path);
}

static JsonObject *
get_status (Headless  *h,
            JsonNode **node)
{
  g_autofree char *url = g_strdup_printf ("http://127.0.0.1:%u/api/audio-server/status", h->control_port);
  g_autoptr(SoupMessage) message = soup_message_new ("GET", url);
  g_autoptr(GBytes) body = NULL;

  body = soup_session_send_and_read (h->session, message, NULL, NULL);
  if (body == NULL || soup_message_get_status (message) != SOUP_STATUS_OK)
    return NULL;
  *node = json_from_string (g_bytes_get_data (body, NULL), NULL);
  return *node != NULL ? json_node_get_object (*node) : NULL;
}

static gboolean
is_running (gpointer data)
{
  Headless *h = data;
  g_autoptr(JsonNode) node = NULL;
  JsonObject *status = get_status (h, &node);

  if (status == NULL)
    {
      g_usleep (50 * 1000);   /* a blocking client in a test program: fine */
      return FALSE;
    }
  return g_strcmp0 (json_object_get_string_member (status, "state"), "running") == 0;
}

typedef struct
{
  const char *tag;
  guint       count;
} TagWait;

static gboolean
tagged_is (gpointer data)
{
  TagWait *wait = data;

  return roadie_test_count_tagged (wait->tag) == wait->count;
}

static char *
wait_exit_and_stderr (Headless *h)
{
  g_autoptr(GError) error = NULL;
  char *err = NULL;

  g_subprocess_communicate_utf8 (h->roadie, NULL, NULL, NULL, &err, &error);
  g_assert_no_error (error);
  if (!g_subprocess_get_if_exited (h->roadie) || g_subprocess_get_exit_status (h->roadie) != 0)
    g_printerr ("roadie's stderr:\n%s\n", err);   /* say why in the test log */
  return err;
}

static void
test_sigkill_leaves_nothing (void)
{
  Headless h = { 0 };
  TagWait wait;
  gint64 killed;

  headless_start (&h, "--fork-grandchild --ignore-sigterm", NULL);
  g_assert_true (roadie_test_wait_until (is_running, &h, 10000));
  /* the reaper, the server and the server's grandchild in its own session */
  wait = (TagWait) { h.tag, 3 };
  g_assert_true (roadie_test_wait_until (tagged_is, &wait, 5000));

  killed = g_get_monotonic_time ();
  g_subprocess_send_signal (h.roadie, SIGKILL);
  g_assert_true (g_subprocess_wait (h.roadie, NULL, NULL));
  g_assert_true (g_subprocess_get_if_signaled (h.roadie));

  /* Nothing may outlive Roadie: within stop-timeout (1 s) + 1 s. */
  wait.count = 0;
  while (!tagged_is (&wait) && g_get_monotonic_time () - killed < 2000 * 1000)
    g_usleep (10 * 1000);
  g_assert_true (tagged_is (&wait));
  g_test_message ("server tree gone %" G_GINT64_FORMAT " ms after Roadie was SIGKILLed",
                  (g_get_monotonic_time () - killed) / 1000);
  headless_free (&h);
}

static void
test_sigterm_graceful (void)
{
  Headless h = { 0 };
  g_autofree char *err = NULL;
  g_autofree char *log = NULL;
  gint64 begin, took_ms;
  TagWait wait;

  headless_start (&h, "", NULL);
  g_assert_true (roadie_test_wait_until (is_running, &h, 10000));

  begin = g_get_monotonic_time ();
  g_subprocess_send_signal (h.roadie, SIGTERM);
  err = wait_exit_and_stderr (&h);
  took_ms = (g_get_monotonic_time () - begin) / 1000;
  g_test_message ("roadie --headless stopped in %" G_GINT64_FORMAT " ms after SIGTERM", took_ms);
  g_assert_true (g_subprocess_get_if_exited (h.roadie));
  g_assert_cmpint (g_subprocess_get_exit_status (h.roadie), ==, 0);
  g_assert_cmpint (took_ms, <, 1000 + 1000);
  wait = (TagWait) { h.tag, 0 };
  g_assert_true (tagged_is (&wait));

  /* the seed's lines, through g_log */
  g_assert_nonnull (strstr (err, "Starting audio server: "));
  g_assert_nonnull (strstr (err, "Audio server ready"));
  g_assert_nonnull (strstr (err, "Stopping audio server..."));
  g_assert_nonnull (strstr (err, "Audio server stopped"));
  /* and the env overrides, said once as such */
  g_assert_nonnull (strstr (err, "AUDIO_SERVER_WS_PORT="));

  log = roadie_test_read_file (h.log_path, NULL);
  g_assert_nonnull (log);
  g_assert_true (g_str_has_prefix (log, "=== Audio Server Started: "));
  g_assert_true (g_str_has_suffix (log, "(code: null, signal: SIGTERM) ===\n\n"));
  headless_free (&h);
}

static void
test_bad_env_value (void)
{
  Headless h = { 0 };
  g_autoptr(JsonNode) node = NULL;
  g_autofree char *err = NULL;
  JsonObject *status;

  headless_start (&h, "", "AUDIO_SERVER_MAX_RESTARTS", "lots", NULL);
  g_assert_true (roadie_test_wait_until (is_running, &h, 10000));
  status = get_status (&h, &node);
  /* the stored value is used */
  g_assert_cmpint (json_object_get_int_member (status, "maxRestarts"), ==, 5);

  g_subprocess_send_signal (h.roadie, SIGTERM);
  err = wait_exit_and_stderr (&h);
  /* reported by name, with the accepted range */
  g_assert_nonnull (strstr (err, "AUDIO_SERVER_MAX_RESTARTS=lots"));
  g_assert_nonnull (strstr (err, "1000"));
  headless_free (&h);
}

static void
test_control_port_busy (void)
{
  Headless h = { 0 };
  g_autofree char *err = NULL;
  struct sockaddr_in addr = { 0 };
  guint16 busy = roadie_test_free_port ();
  g_autofree char *busy_text = g_strdup_printf ("%u", busy);
  int fd = socket (AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  TagWait wait;

  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl (INADDR_LOOPBACK);
  addr.sin_port = htons (busy);
  g_assert_cmpint (bind (fd, (struct sockaddr *) &addr, sizeof addr), ==, 0);
  g_assert_cmpint (listen (fd, 1), ==, 0);

  headless_start (&h, "", "ROADIE_CONTROL_PORT", busy_text, NULL);
  /* Roadie runs without the API, and the server still starts. */
  wait = (TagWait) { h.tag, 2 };
  g_assert_true (roadie_test_wait_until (tagged_is, &wait, 10000));
  g_subprocess_send_signal (h.roadie, SIGTERM);
  err = wait_exit_and_stderr (&h);
  g_assert_cmpint (g_subprocess_get_exit_status (h.roadie), ==, 0);
  g_assert_nonnull (strstr (err, busy_text));
  g_assert_nonnull (strstr (err, "control API"));
  close (fd);
  headless_free (&h);
}

static void
test_stop_through_api (void)
{
  Headless h = { 0 };
  g_autofree char *token_path = g_build_filename (g_get_user_runtime_dir (), "roadie", "control-token", NULL);
  g_autofree char *token = NULL;
  g_autofree char *url = NULL;
  g_autofree char *bearer = NULL;
  g_autoptr(SoupMessage) message = NULL;
  g_autoptr(GBytes) body = NULL;
  TagWait wait;

  headless_start (&h, "", NULL);
  g_assert_true (roadie_test_wait_until (is_running, &h, 10000));
  token = roadie_test_read_file (token_path, NULL);
  g_assert_nonnull (token);
  g_strchomp (token);

  url = g_strdup_printf ("http://127.0.0.1:%u/api/audio-server/stop", h.control_port);
  message = soup_message_new ("POST", url);
  bearer = g_strdup_printf ("Bearer %s", token);
  soup_message_headers_replace (soup_message_get_request_headers (message), "Authorization", bearer);
  body = soup_session_send_and_read (h.session, message, NULL, NULL);
  g_assert_cmpuint (soup_message_get_status (message), ==, SOUP_STATUS_OK);

  wait = (TagWait) { h.tag, 0 };
  g_assert_true (roadie_test_wait_until (tagged_is, &wait, 3000));
  /* Roadie itself keeps running: stop is not quit */
  g_assert_nonnull (g_subprocess_get_identifier (h.roadie));
  g_subprocess_send_signal (h.roadie, SIGTERM);
  g_free (wait_exit_and_stderr (&h));
  g_assert_cmpint (g_subprocess_get_exit_status (h.roadie), ==, 0);
  headless_free (&h);
}

int
main (int argc, char *argv[])
{
  roadie_test_init_environment ();
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/roadie/headless/sigkill-leaves-nothing", test_sigkill_leaves_nothing);
  g_test_add_func ("/roadie/headless/sigterm-graceful", test_sigterm_graceful);
  g_test_add_func ("/roadie/headless/bad-env-value", test_bad_env_value);
  g_test_add_func ("/roadie/headless/control-port-busy", test_control_port_busy);
  g_test_add_func ("/roadie/headless/stop-through-api", test_stop_through_api);

  return g_test_run ();
}
