/* test-settings.c: RoadieSettings (env overrides, ranges, change signals)
 * and the control API token. */
#include "config.h"

#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "roadie-control-token.h"
#include "roadie-error.h"
#include "roadie-settings.h"
#include "roadie-test-util.h"

static RoadieSettings *
settings_with_env (GSettings  *gsettings,
                   const char *first_assignment,
                   ...)
{
  g_autoptr(GStrvBuilder) builder = g_strv_builder_new ();
  g_auto(GStrv) envp = NULL;
  const char *assignment;
  va_list args;

  /* Unrelated variables are part of any real environment. */
  g_strv_builder_add (builder, "HOME=/home/dj");
  g_strv_builder_add (builder, "PATH=/usr/bin");

  va_start (args, first_assignment);
  for (assignment = first_assignment; assignment != NULL; assignment = va_arg (args, const char *))
    g_strv_builder_add (builder, assignment);
  va_end (args);

  envp = g_strv_builder_end (builder);
  roadie_test_clear_log ();
  /* Bad values are warned about on purpose. GTest resets this handler at
   * the start of every test case, so it is set here, inside the case. */
  roadie_test_allow_roadie_warnings ();
  return roadie_settings_new (gsettings, (const char * const *) envp);
}

static void
test_env_bindings (void)
{
  /* Issue 2 §2: every key and its variable. */
  static const char *expected[][2] = {
    { "executable-path", "AUDIO_SERVER_EXECUTABLE_PATH" },
    { "working-dir", "AUDIO_SERVER_WORKING_DIR" },
    { "arguments", "AUDIO_SERVER_ARGS" },
    { "http-url", "AUDIO_SERVER_HTTP_URL" },
    { "http-port", "AUDIO_SERVER_HTTP_PORT" },
    { "ws-url", "AUDIO_SERVER_WS_URL" },
    { "ws-port", "AUDIO_SERVER_WS_PORT" },
    { "auto-start", "AUDIO_SERVER_AUTO_START" },
    { "auto-restart", "AUDIO_SERVER_AUTO_RESTART" },
    { "startup-timeout-ms", "AUDIO_SERVER_STARTUP_TIMEOUT_MS" },
    { "health-check-interval", "AUDIO_SERVER_HEALTH_CHECK_INTERVAL" },
    { "health-check-timeout-ms", "AUDIO_SERVER_HEALTH_CHECK_TIMEOUT_MS" },
    { "health-failure-threshold", "AUDIO_SERVER_HEALTH_FAILURE_THRESHOLD" },
    { "max-restarts", "AUDIO_SERVER_MAX_RESTARTS" },
    { "restart-window-ms", "AUDIO_SERVER_RESTART_WINDOW_MS" },
    { "restart-delay-ms", "AUDIO_SERVER_RESTART_DELAY_MS" },
    { "restart-delay-multiplier", "AUDIO_SERVER_RESTART_DELAY_MULTIPLIER" },
    { "restart-delay-max-ms", "AUDIO_SERVER_RESTART_DELAY_MAX_MS" },
    { "restart-jitter", "AUDIO_SERVER_RESTART_JITTER" },
    { "stable-uptime-ms", "AUDIO_SERVER_STABLE_UPTIME_MS" },
    { "stop-timeout-ms", "AUDIO_SERVER_STOP_TIMEOUT_MS" },
    { "log-file", "AUDIO_SERVER_LOG_FILE" },
    { "log-max-bytes", "AUDIO_SERVER_LOG_MAX_BYTES" },
    { "log-backups", "AUDIO_SERVER_LOG_BACKUPS" },
    { "control-api-enabled", "ROADIE_CONTROL_API" },
    { "control-api-port", "ROADIE_CONTROL_PORT" },
  };
  g_autoptr(GSettings) gsettings = roadie_test_new_gsettings ();
  g_autoptr(GSettingsSchema) schema = NULL;
  const RoadieEnvBinding *bindings;
  guint n_bindings = 0;

  g_object_get (gsettings, "settings-schema", &schema, NULL);
  bindings = roadie_settings_get_env_bindings (&n_bindings);
  g_assert_cmpuint (n_bindings, ==, G_N_ELEMENTS (expected));

  for (guint i = 0; i < G_N_ELEMENTS (expected); i++)
    {
      gboolean found = FALSE;

      g_assert_true (g_settings_schema_has_key (schema, expected[i][0]));
      for (guint j = 0; j < n_bindings; j++)
        if (g_str_equal (bindings[j].key, expected[i][0]))
          {
            g_assert_cmpstr (bindings[j].env_name, ==, expected[i][1]);
            found = TRUE;
          }
      g_assert_true (found);
    }

  for (guint j = 0; j < n_bindings; j++)
    g_assert_true (g_settings_schema_has_key (schema, bindings[j].key));
}

static void
test_no_environment (void)
{
  g_autoptr(GSettings) gsettings = roadie_test_new_gsettings ();
  g_autoptr(RoadieSettings) settings = roadie_settings_new (gsettings, NULL);

  g_assert_true (roadie_settings_get_gsettings (settings) == gsettings);
  g_assert_cmpint (roadie_settings_get_int (settings, "ws-port"), ==, 8080);
  g_assert_cmpint (roadie_settings_get_int (settings, "max-restarts"), ==, 5);
  g_assert_null (roadie_settings_get_override_source (settings, "ws-port"));
  g_assert_nonnull (roadie_settings_get_problems (settings));
  g_assert_null (roadie_settings_get_problems (settings)[0]);
}

static void
test_parse_int (void)
{
  g_autoptr(GSettings) gsettings = roadie_test_new_gsettings ();
  g_autoptr(RoadieSettings) settings = NULL;

  settings = settings_with_env (gsettings,
                                "AUDIO_SERVER_WS_PORT=9090",
                                "AUDIO_SERVER_MAX_RESTARTS= 10 ",
                                "AUDIO_SERVER_RESTART_DELAY_MS=0",
                                "AUDIO_SERVER_LOG_MAX_BYTES=1073741824",
                                NULL);

  g_assert_null (roadie_settings_get_problems (settings)[0]);
  g_assert_cmpint (roadie_settings_get_int (settings, "ws-port"), ==, 9090);
  g_assert_cmpint (roadie_settings_get_int (settings, "max-restarts"), ==, 10);
  g_assert_cmpint (roadie_settings_get_int (settings, "restart-delay-ms"), ==, 0);
  g_assert_cmpint (roadie_settings_get_int64 (settings, "log-max-bytes"), ==, G_GINT64_CONSTANT (1073741824));
  g_assert_cmpstr (roadie_settings_get_override_source (settings, "ws-port"), ==, "AUDIO_SERVER_WS_PORT");
  g_assert_null (roadie_settings_get_override_source (settings, "http-port"));

  g_assert_cmpuint (roadie_test_count_logged ("M: AUDIO_SERVER_WS_PORT=9090 overrides ws-port for this run"), ==, 1);
  g_assert_cmpuint (roadie_test_count_logged ("M: AUDIO_SERVER_LOG_MAX_BYTES=1073741824 overrides log-max-bytes for this run"), ==, 1);
  g_assert_cmpuint (roadie_test_count_logged (NULL), ==, 4);

  /* The value of the run, through the generic getter too. */
  {
    g_autoptr(GVariant) value = roadie_settings_get_value (settings, "ws-port");
    g_assert_cmpint (g_variant_get_int32 (value), ==, 9090);
  }
}

static void
test_parse_double (void)
{
  g_autoptr(GSettings) gsettings = roadie_test_new_gsettings ();
  g_autoptr(RoadieSettings) settings = NULL;

  settings = settings_with_env (gsettings,
                                "AUDIO_SERVER_RESTART_DELAY_MULTIPLIER=2.5",
                                "AUDIO_SERVER_RESTART_JITTER=0.25",
                                NULL);
  g_assert_null (roadie_settings_get_problems (settings)[0]);
  g_assert_cmpfloat (roadie_settings_get_double (settings, "restart-delay-multiplier"), ==, 2.5);
  g_assert_cmpfloat (roadie_settings_get_double (settings, "restart-jitter"), ==, 0.25);
  g_clear_object (&settings);

  /* g_ascii_strtod: a decimal comma is not a number in any locale. */
  settings = settings_with_env (gsettings,
                                "AUDIO_SERVER_RESTART_DELAY_MULTIPLIER=1,5",
                                "AUDIO_SERVER_RESTART_JITTER=nan",
                                NULL);
  g_assert_cmpstr (roadie_settings_get_problems (settings)[0], ==,
                   "AUDIO_SERVER_RESTART_DELAY_MULTIPLIER=1,5 is not a number from 1.0 to 10.0; "
                   "using the stored value 1.5");
  g_assert_cmpstr (roadie_settings_get_problems (settings)[1], ==,
                   "AUDIO_SERVER_RESTART_JITTER=nan is not a number from 0.0 to 0.5; "
                   "using the stored value 0.1");
  g_assert_null (roadie_settings_get_problems (settings)[2]);
  g_assert_cmpfloat (roadie_settings_get_double (settings, "restart-delay-multiplier"), ==, 1.5);
  g_assert_cmpfloat (roadie_settings_get_double (settings, "restart-jitter"), ==, 0.1);
  g_clear_object (&settings);

  settings = settings_with_env (gsettings, "AUDIO_SERVER_RESTART_DELAY_MULTIPLIER=11", NULL);
  g_assert_cmpstr (roadie_settings_get_problems (settings)[0], ==,
                   "AUDIO_SERVER_RESTART_DELAY_MULTIPLIER=11 is out of range (1.0 to 10.0); "
                   "using the stored value 1.5");
  g_assert_null (roadie_settings_get_override_source (settings, "restart-delay-multiplier"));
}

static void
test_parse_boolean (void)
{
  static const struct { const char *text; gboolean value; } cases[] = {
    { "true", TRUE }, { "TRUE", TRUE }, { "1", TRUE }, { "yes", TRUE }, { "Yes", TRUE }, { "on", TRUE }, { "ON", TRUE },
    { "false", FALSE }, { "False", FALSE }, { "0", FALSE }, { "no", FALSE }, { "NO", FALSE }, { "off", FALSE }, { "Off", FALSE },
  };
  g_autoptr(GSettings) gsettings = roadie_test_new_gsettings ();

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *assignment = g_strdup_printf ("AUDIO_SERVER_AUTO_RESTART=%s", cases[i].text);
      g_autoptr(RoadieSettings) settings = NULL;

      /* Stored the opposite way, so a parse that did nothing would fail. */
      g_settings_set_boolean (gsettings, "auto-restart", !cases[i].value);
      settings = settings_with_env (gsettings, assignment, NULL);
      g_assert_null (roadie_settings_get_problems (settings)[0]);
      g_assert_cmpint (roadie_settings_get_boolean (settings, "auto-restart"), ==, cases[i].value);
    }

  {
    g_autoptr(RoadieSettings) settings = NULL;

    g_settings_reset (gsettings, "auto-start");
    settings = settings_with_env (gsettings, "AUDIO_SERVER_AUTO_START=maybe", "ROADIE_CONTROL_API=2", NULL);
    g_assert_cmpstr (roadie_settings_get_problems (settings)[0], ==,
                     "AUDIO_SERVER_AUTO_START=maybe is not true or false; using the stored value true");
    g_assert_cmpstr (roadie_settings_get_problems (settings)[1], ==,
                     "ROADIE_CONTROL_API=2 is not true or false; using the stored value true");
    g_assert_true (roadie_settings_get_boolean (settings, "auto-start"));
  }
}

static void
test_parse_string (void)
{
  g_autoptr(GSettings) gsettings = roadie_test_new_gsettings ();
  g_autoptr(RoadieSettings) settings = NULL;
  g_autofree char *path = NULL;
  g_autofree char *dir = NULL;
  g_autofree char *url = NULL;

  g_settings_set_string (gsettings, "working-dir", "/srv/stored");
  settings = settings_with_env (gsettings,
                                "AUDIO_SERVER_EXECUTABLE_PATH=/opt/My Server/MismoDJ",
                                "AUDIO_SERVER_WORKING_DIR=",
                                "AUDIO_SERVER_WS_URL=ws://localhost:9090",
                                NULL);
  g_assert_null (roadie_settings_get_problems (settings)[0]);
  path = roadie_settings_get_string (settings, "executable-path");
  g_assert_cmpstr (path, ==, "/opt/My Server/MismoDJ");
  /* Set but empty is an override too: the server's own working folder. */
  dir = roadie_settings_get_string (settings, "working-dir");
  g_assert_cmpstr (dir, ==, "");
  g_assert_cmpstr (roadie_settings_get_override_source (settings, "working-dir"), ==, "AUDIO_SERVER_WORKING_DIR");
  url = roadie_settings_get_string (settings, "ws-url");
  g_assert_cmpstr (url, ==, "ws://localhost:9090");
}

static void
test_parse_arguments (void)
{
  g_autoptr(GSettings) gsettings = roadie_test_new_gsettings ();
  const char *stored[] = { "--stored", NULL };

  g_settings_set_strv (gsettings, "arguments", stored);

  {
    g_autoptr(RoadieSettings) settings = NULL;
    g_auto(GStrv) argv = NULL;
    const char *expected[] = { "--port", "9000", "--name", "Deck A", "x y", "a b", "", NULL };

    settings = settings_with_env (gsettings,
                                  "AUDIO_SERVER_ARGS=--port 9000 --name 'Deck A' \"x y\" a\\ b ''",
                                  NULL);
    g_assert_null (roadie_settings_get_problems (settings)[0]);
    argv = roadie_settings_get_strv (settings, "arguments");
    g_assert_cmpstrv (argv, expected);
  }

  {
    g_autoptr(RoadieSettings) settings = NULL;
    g_auto(GStrv) argv = NULL;

    /* Empty means no arguments, not "keep the stored ones". */
    settings = settings_with_env (gsettings, "AUDIO_SERVER_ARGS=", NULL);
    g_assert_null (roadie_settings_get_problems (settings)[0]);
    argv = roadie_settings_get_strv (settings, "arguments");
    g_assert_nonnull (argv);
    g_assert_cmpuint (g_strv_length (argv), ==, 0);
  }

  {
    g_autoptr(RoadieSettings) settings = NULL;
    g_auto(GStrv) argv = NULL;

    settings = settings_with_env (gsettings, "AUDIO_SERVER_ARGS=   ", NULL);
    argv = roadie_settings_get_strv (settings, "arguments");
    g_assert_cmpuint (g_strv_length (argv), ==, 0);
  }

  {
    g_autoptr(RoadieSettings) settings = NULL;
    g_auto(GStrv) argv = NULL;
    const char *problem;

    settings = settings_with_env (gsettings, "AUDIO_SERVER_ARGS=--name 'Deck A", NULL);
    problem = roadie_settings_get_problems (settings)[0];
    g_assert_cmpstr (problem, ==,
                     "AUDIO_SERVER_ARGS=--name 'Deck A has a quote or backslash that is not closed; "
                     "quote arguments like --name 'Deck A'; using the stored value ['--stored']");
    g_assert_null (roadie_settings_get_problems (settings)[1]);
    argv = roadie_settings_get_strv (settings, "arguments");
    g_assert_cmpstrv (argv, stored);
  }
}

static void
test_rejected_values (void)
{
  g_autoptr(GSettings) gsettings = roadie_test_new_gsettings ();
  g_autoptr(RoadieSettings) settings = NULL;
  const char *expected[] = {
    "AUDIO_SERVER_HTTP_PORT=70000 is out of range (1 to 65535); using the stored value 8080",
    "AUDIO_SERVER_WS_PORT=8080x is not a whole number from 1 to 65535; using the stored value 8080",
    "AUDIO_SERVER_STARTUP_TIMEOUT_MS=1e4 is not a whole number from 100 to 600000; using the stored value 10000",
    "AUDIO_SERVER_HEALTH_FAILURE_THRESHOLD=0 is out of range (1 to 100); using the stored value 2",
    "AUDIO_SERVER_MAX_RESTARTS=abc is not a whole number from 0 to 1000; using the stored value 7",
    "AUDIO_SERVER_RESTART_WINDOW_MS=99999999999999999999 is not a whole number from 1000 to 86400000; using the stored value 300000",
    "AUDIO_SERVER_STOP_TIMEOUT_MS= is not a whole number from 100 to 600000; using the stored value 5000",
    "AUDIO_SERVER_LOG_MAX_BYTES=1073741825 is out of range (4096 to 1073741824); using the stored value 10485760",
    "AUDIO_SERVER_LOG_BACKUPS=-1 is out of range (0 to 100); using the stored value 3",
    "ROADIE_CONTROL_PORT=4294967296 is out of range (1 to 65535); using the stored value 3000",
    NULL,
  };
  const char * const *problems;

  /* Problems come in the order of the bindings table, not of the environment.
   * A stored value that is not the default proves which one is used. */
  g_settings_set_int (gsettings, "max-restarts", 7);

  settings = settings_with_env (gsettings,
                                "AUDIO_SERVER_WS_PORT=8080x",
                                "AUDIO_SERVER_HTTP_PORT=70000",
                                "AUDIO_SERVER_STARTUP_TIMEOUT_MS=1e4",
                                "AUDIO_SERVER_HEALTH_FAILURE_THRESHOLD=0",
                                "AUDIO_SERVER_MAX_RESTARTS=abc",
                                "AUDIO_SERVER_RESTART_WINDOW_MS=99999999999999999999",
                                "AUDIO_SERVER_STOP_TIMEOUT_MS=",
                                "AUDIO_SERVER_LOG_MAX_BYTES=1073741825",
                                "AUDIO_SERVER_LOG_BACKUPS=-1",
                                "ROADIE_CONTROL_PORT=4294967296",
                                NULL);

  problems = roadie_settings_get_problems (settings);
  g_assert_cmpstrv (problems, expected);

  /* Each reported once, as a warning, and nothing claimed as an override. */
  for (guint i = 0; expected[i] != NULL; i++)
    {
      g_autofree char *entry = g_strconcat ("W: ", expected[i], NULL);
      g_assert_cmpuint (roadie_test_count_logged (entry), ==, 1);
    }
  g_assert_cmpuint (roadie_test_count_logged (NULL), ==, g_strv_length ((char **) expected));
  g_assert_true (roadie_settings_get_problems (settings) == problems);
  g_assert_cmpuint (roadie_test_count_logged (NULL), ==, g_strv_length ((char **) expected));

  g_assert_cmpint (roadie_settings_get_int (settings, "ws-port"), ==, 8080);
  g_assert_cmpint (roadie_settings_get_int (settings, "http-port"), ==, 8080);
  g_assert_cmpint (roadie_settings_get_int (settings, "health-failure-threshold"), ==, 2);
  g_assert_cmpint (roadie_settings_get_int (settings, "max-restarts"), ==, 7);
  g_assert_cmpint (roadie_settings_get_int64 (settings, "log-max-bytes"), ==, 10485760);
  g_assert_cmpint (roadie_settings_get_int (settings, "log-backups"), ==, 3);
  g_assert_null (roadie_settings_get_override_source (settings, "max-restarts"));
  g_assert_null (roadie_settings_get_override_source (settings, "ws-port"));
}

static void
test_overrides_not_stored (void)
{
  g_autoptr(GSettings) gsettings = roadie_test_new_gsettings ();
  g_autoptr(RoadieSettings) settings = NULL;
  guint n_bindings = 0;
  const RoadieEnvBinding *bindings = roadie_settings_get_env_bindings (&n_bindings);

  settings = settings_with_env (gsettings,
                                "AUDIO_SERVER_WS_PORT=9090",
                                "AUDIO_SERVER_AUTO_START=false",
                                "AUDIO_SERVER_EXECUTABLE_PATH=/opt/mismo/MismoDJ",
                                "AUDIO_SERVER_ARGS=--fast",
                                "AUDIO_SERVER_RESTART_JITTER=0.2",
                                "AUDIO_SERVER_LOG_MAX_BYTES=65536",
                                NULL);
  g_assert_null (roadie_settings_get_problems (settings)[0]);
  g_assert_cmpint (roadie_settings_get_int (settings, "ws-port"), ==, 9090);
  g_assert_false (roadie_settings_get_boolean (settings, "auto-start"));

  /* GSettings still holds the defaults, and nothing was written at all. */
  g_assert_cmpint (g_settings_get_int (gsettings, "ws-port"), ==, 8080);
  g_assert_true (g_settings_get_boolean (gsettings, "auto-start"));
  g_assert_cmpfloat (g_settings_get_double (gsettings, "restart-jitter"), ==, 0.1);
  g_assert_cmpint (g_settings_get_int64 (gsettings, "log-max-bytes"), ==, 10485760);
  for (guint i = 0; i < n_bindings; i++)
    {
      g_autoptr(GVariant) user_value = g_settings_get_user_value (gsettings, bindings[i].key);
      g_assert_null (user_value);
    }

  /* A second instance without the environment sees the stored values. */
  {
    g_autoptr(RoadieSettings) plain = roadie_settings_new (gsettings, NULL);
    g_assert_cmpint (roadie_settings_get_int (plain, "ws-port"), ==, 8080);
  }
}

typedef struct
{
  guint  count;
  char  *last_key;
} ChangeRecord;

static void
on_changed (RoadieSettings *settings,
            const char     *key,
            ChangeRecord   *record)
{
  record->count++;
  g_free (record->last_key);
  record->last_key = g_strdup (key);
}

static gboolean
record_has_count (gpointer user_data)
{
  return ((ChangeRecord *) user_data)->count > 0;
}

static void
test_changed_signal (void)
{
  g_autoptr(GSettings) gsettings = roadie_test_new_gsettings ();
  g_autoptr(RoadieSettings) settings = NULL;
  ChangeRecord ws_port = { 0 };
  ChangeRecord max_restarts = { 0 };
  ChangeRecord any = { 0 };

  settings = settings_with_env (gsettings, "AUDIO_SERVER_MAX_RESTARTS=9", NULL);
  g_signal_connect (settings, "changed::ws-port", G_CALLBACK (on_changed), &ws_port);
  g_signal_connect (settings, "changed::max-restarts", G_CALLBACK (on_changed), &max_restarts);
  g_signal_connect (settings, "changed", G_CALLBACK (on_changed), &any);

  g_settings_set_int (gsettings, "ws-port", 9000);
  g_assert_true (roadie_test_wait_until (record_has_count, &ws_port, 2000));
  g_assert_cmpuint (ws_port.count, ==, 1);
  g_assert_cmpstr (ws_port.last_key, ==, "ws-port");
  g_assert_cmpint (roadie_settings_get_int (settings, "ws-port"), ==, 9000);

  /* Overridden for this run: the stored change is not this run's value. */
  g_settings_set_int (gsettings, "max-restarts", 3);
  roadie_test_run_for (100);
  g_assert_cmpuint (max_restarts.count, ==, 0);
  g_assert_cmpuint (any.count, ==, 1);
  g_assert_cmpint (roadie_settings_get_int (settings, "max-restarts"), ==, 9);
  g_assert_cmpint (g_settings_get_int (gsettings, "max-restarts"), ==, 3);

  g_free (ws_port.last_key);
  g_free (max_restarts.last_key);
  g_free (any.last_key);
}

static void
test_set_override (void)
{
  g_autoptr(GSettings) gsettings = roadie_test_new_gsettings ();
  g_autoptr(RoadieSettings) settings = NULL;
  g_autoptr(GError) error = NULL;
  ChangeRecord record = { 0 };

  settings = settings_with_env (gsettings, "AUDIO_SERVER_WS_PORT=9090", NULL);
  g_signal_connect (settings, "changed::ws-port", G_CALLBACK (on_changed), &record);

  /* The command line wins over the environment. */
  g_assert_true (roadie_settings_set_override (settings, "ws-port", "9191", "--set", &error));
  g_assert_no_error (error);
  g_assert_cmpint (roadie_settings_get_int (settings, "ws-port"), ==, 9191);
  g_assert_cmpstr (roadie_settings_get_override_source (settings, "ws-port"), ==, "--set");
  g_assert_cmpuint (record.count, ==, 1);
  g_assert_cmpuint (roadie_test_count_logged ("M: --set ws-port=9191 overrides ws-port for this run"), ==, 1);
  g_assert_cmpint (g_settings_get_int (gsettings, "ws-port"), ==, 8080);

  g_assert_true (roadie_settings_set_override (settings, "auto-restart", "off", "--set", &error));
  g_assert_false (roadie_settings_get_boolean (settings, "auto-restart"));

  g_assert_false (roadie_settings_set_override (settings, "max-restarts", "abc", "--set", &error));
  g_assert_error (error, ROADIE_ERROR, ROADIE_ERROR_INVALID_SETTING);
  g_assert_cmpstr (error->message, ==, "--set max-restarts=abc is not a whole number from 0 to 1000");
  g_assert_null (roadie_settings_get_override_source (settings, "max-restarts"));
  g_assert_cmpint (roadie_settings_get_int (settings, "max-restarts"), ==, 5);
  g_clear_error (&error);

  g_assert_false (roadie_settings_set_override (settings, "ws-port", "0", "--set", &error));
  g_assert_error (error, ROADIE_ERROR, ROADIE_ERROR_INVALID_SETTING);
  g_assert_cmpstr (error->message, ==, "--set ws-port=0 is out of range (1 to 65535)");
  g_assert_cmpint (roadie_settings_get_int (settings, "ws-port"), ==, 9191);
  g_clear_error (&error);

  g_assert_false (roadie_settings_set_override (settings, "no-such-key", "1", "--set", &error));
  g_assert_error (error, ROADIE_ERROR, ROADIE_ERROR_INVALID_SETTING);
  g_assert_nonnull (strstr (error->message, "no-such-key"));

  g_free (record.last_key);
}

static void
test_log_file (void)
{
  g_autoptr(GSettings) gsettings = roadie_test_new_gsettings ();
  g_autofree char *expected = g_build_filename (g_getenv ("XDG_STATE_HOME"), "roadie", "audio-server.log", NULL);

  /* roadie_test_init_environment set XDG_STATE_HOME to a private folder. */
  g_assert_true (g_str_has_prefix (expected, roadie_test_tmpdir ()));

  {
    g_autoptr(RoadieSettings) settings = roadie_settings_new (gsettings, NULL);
    g_autofree char *path = roadie_settings_dup_log_file (settings);
    g_assert_cmpstr (path, ==, expected);
  }

  {
    g_autoptr(RoadieSettings) settings = settings_with_env (gsettings, "AUDIO_SERVER_LOG_FILE=/var/tmp/booth.log", NULL);
    g_autofree char *path = roadie_settings_dup_log_file (settings);
    g_assert_cmpstr (path, ==, "/var/tmp/booth.log");
  }

  {
    g_autoptr(RoadieSettings) settings = NULL;
    g_autofree char *path = NULL;
    g_autofree char *home_path = g_build_filename (g_get_home_dir (), "logs", "audio.log", NULL);

    g_settings_set_string (gsettings, "log-file", "~/logs/audio.log");
    settings = roadie_settings_new (gsettings, NULL);
    path = roadie_settings_dup_log_file (settings);
    g_assert_cmpstr (path, ==, home_path);
  }
}

/* --- control token --- */

static char *
token_test_path (const char *name)
{
  return g_build_filename (roadie_test_tmpdir (), "tokens", name, "control-token", NULL);
}

static void
assert_token_file (const char *path,
                   const char *token)
{
  g_autofree char *contents = NULL;
  g_autofree char *expected = g_strconcat (token, "\n", NULL);
  g_autofree char *folder = g_path_get_dirname (path);
  struct stat st;

  g_assert_cmpuint (strlen (token), ==, 64);
  for (guint i = 0; i < 64; i++)
    g_assert_true (g_ascii_isxdigit (token[i]));

  contents = roadie_test_read_file (path, NULL);
  g_assert_cmpstr (contents, ==, expected);

  g_assert_cmpint (lstat (path, &st), ==, 0);
  g_assert_true (S_ISREG (st.st_mode));
  g_assert_cmpint (st.st_mode & 07777, ==, 0600);
  g_assert_cmpint (st.st_uid, ==, geteuid ());

  g_assert_cmpint (lstat (folder, &st), ==, 0);
  g_assert_true (S_ISDIR (st.st_mode));
  g_assert_cmpint (st.st_mode & 07777, ==, 0700);
}

static void
test_token_create_and_reuse (void)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *expected_path = g_build_filename (g_getenv ("XDG_RUNTIME_DIR"), "roadie", "control-token", NULL);
  g_autofree char *path = roadie_control_token_default_path ();
  g_autofree char *token = NULL;
  g_autofree char *again = NULL;

  g_assert_cmpstr (path, ==, expected_path);

  token = roadie_control_token_load_or_create (NULL, &error);
  g_assert_no_error (error);
  assert_token_file (path, token);

  again = roadie_control_token_load_or_create (NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (again, ==, token);
}

static void
test_token_folder_tightened (void)
{
  g_autofree char *path = token_test_path ("loose-folder");
  g_autofree char *folder = g_path_get_dirname (path);
  g_autoptr(GError) error = NULL;
  g_autofree char *token = NULL;

  g_assert_cmpint (g_mkdir_with_parents (folder, 0755), ==, 0);
  g_assert_cmpint (chmod (folder, 0755), ==, 0);

  token = roadie_control_token_load_or_create (path, &error);
  g_assert_no_error (error);
  assert_token_file (path, token);
}

static void
test_token_shared_folder_refused (void)
{
  g_autofree char *path = token_test_path ("shared");
  g_autofree char *folder = g_path_get_dirname (path);
  g_autoptr(GError) error = NULL;
  g_autofree char *token = NULL;
  struct stat st;

  /* Like /tmp: tightening it would lock other users out. */
  g_assert_cmpint (g_mkdir_with_parents (folder, 0700), ==, 0);
  g_assert_cmpint (chmod (folder, 01777), ==, 0);

  token = roadie_control_token_load_or_create (path, &error);
  g_assert_error (error, ROADIE_ERROR, ROADIE_ERROR_TOKEN);
  g_assert_null (token);
  g_assert_nonnull (strstr (error->message, path));
  g_assert_cmpint (stat (folder, &st), ==, 0);
  g_assert_cmpint (st.st_mode & 07777, ==, 01777);
  g_assert_false (g_file_test (path, G_FILE_TEST_EXISTS));
}

static void
test_token_replaced_when_untrusted (void)
{
  g_autofree char *path = token_test_path ("untrusted");
  g_autoptr(GError) error = NULL;
  g_autofree char *first = NULL;
  g_autofree char *second = NULL;
  g_autofree char *third = NULL;

  first = roadie_control_token_load_or_create (path, &error);
  g_assert_no_error (error);

  /* Readable by others: someone may have read it, so it is not reused. */
  g_assert_cmpint (chmod (path, 0644), ==, 0);
  second = roadie_control_token_load_or_create (path, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (second, !=, first);
  assert_token_file (path, second);

  /* Garbled, though 0600. */
  g_assert_true (g_file_set_contents_full (path, "not a token\n", -1, G_FILE_SET_CONTENTS_NONE, 0600, &error));
  g_assert_no_error (error);
  third = roadie_control_token_load_or_create (path, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (third, !=, second);
  assert_token_file (path, third);
}

static void
test_token_symlink_not_followed (void)
{
  g_autofree char *path = token_test_path ("symlink");
  g_autofree char *folder = g_path_get_dirname (path);
  g_autofree char *target = g_build_filename (roadie_test_tmpdir (), "planted-token", NULL);
  const char *planted = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\n";
  g_autoptr(GError) error = NULL;
  g_autofree char *token = NULL;
  g_autofree char *target_after = NULL;

  g_assert_cmpint (g_mkdir_with_parents (folder, 0700), ==, 0);
  g_assert_true (g_file_set_contents_full (target, planted, -1, G_FILE_SET_CONTENTS_NONE, 0600, &error));
  g_assert_cmpint (symlink (target, path), ==, 0);

  token = roadie_control_token_load_or_create (path, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (token, !=, "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef");
  assert_token_file (path, token);

  target_after = roadie_test_read_file (target, NULL);
  g_assert_cmpstr (target_after, ==, planted);
}

static void
test_token_regenerate (void)
{
  g_autofree char *path = token_test_path ("regenerate");
  g_autofree char *folder = g_path_get_dirname (path);
  g_autoptr(GError) error = NULL;
  g_autofree char *first = NULL;
  g_autofree char *second = NULL;
  g_autofree char *loaded = NULL;
  g_autoptr(GDir) dir = NULL;
  guint n_files = 0;

  first = roadie_control_token_load_or_create (path, &error);
  g_assert_no_error (error);
  second = roadie_control_token_regenerate (path, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (second, !=, first);
  assert_token_file (path, second);

  loaded = roadie_control_token_load_or_create (path, &error);
  g_assert_cmpstr (loaded, ==, second);

  /* No temporary file left beside it. */
  dir = g_dir_open (folder, 0, &error);
  g_assert_no_error (error);
  while (g_dir_read_name (dir) != NULL)
    n_files++;
  g_assert_cmpuint (n_files, ==, 1);
}

static void
test_constant_time_equal (void)
{
  const char *token = "4f1c0a9e7b3d52a6c8e0f1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6";

  g_assert_true (roadie_constant_time_equal (token, token));
  g_assert_true (roadie_constant_time_equal (token, "4f1c0a9e7b3d52a6c8e0f1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6"));
  g_assert_true (roadie_constant_time_equal ("", ""));
  g_assert_false (roadie_constant_time_equal (token, "5f1c0a9e7b3d52a6c8e0f1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6"));
  g_assert_false (roadie_constant_time_equal (token, "4f1c0a9e7b3d52a6c8e0f1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e7"));
  g_assert_false (roadie_constant_time_equal (token, "4f1c0a9e7b3d52a6c8e0f1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e"));
  g_assert_false (roadie_constant_time_equal (token, "4f1c0a9e7b3d52a6c8e0f1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e66"));
  g_assert_false (roadie_constant_time_equal (token, ""));
  g_assert_false (roadie_constant_time_equal ("", token));
  g_assert_false (roadie_constant_time_equal ("abc", "abd"));
  g_assert_false (roadie_constant_time_equal ("abc", "ab"));
  g_assert_false (roadie_constant_time_equal ("ab", "abc"));
  g_assert_false (roadie_constant_time_equal (token, NULL));
  g_assert_false (roadie_constant_time_equal (NULL, token));
  g_assert_false (roadie_constant_time_equal (NULL, NULL));
}

int
main (int   argc,
      char *argv[])
{
  roadie_test_init_environment ();
  g_test_init (&argc, &argv, NULL);

  roadie_test_capture_log ();

  g_test_add_func ("/roadie/settings/env-bindings", test_env_bindings);
  g_test_add_func ("/roadie/settings/no-environment", test_no_environment);
  g_test_add_func ("/roadie/settings/parse-int", test_parse_int);
  g_test_add_func ("/roadie/settings/parse-double", test_parse_double);
  g_test_add_func ("/roadie/settings/parse-boolean", test_parse_boolean);
  g_test_add_func ("/roadie/settings/parse-string", test_parse_string);
  g_test_add_func ("/roadie/settings/parse-arguments", test_parse_arguments);
  g_test_add_func ("/roadie/settings/rejected-values", test_rejected_values);
  g_test_add_func ("/roadie/settings/overrides-not-stored", test_overrides_not_stored);
  g_test_add_func ("/roadie/settings/changed-signal", test_changed_signal);
  g_test_add_func ("/roadie/settings/set-override", test_set_override);
  g_test_add_func ("/roadie/settings/log-file", test_log_file);

  g_test_add_func ("/roadie/control-token/create-and-reuse", test_token_create_and_reuse);
  g_test_add_func ("/roadie/control-token/folder-tightened", test_token_folder_tightened);
  g_test_add_func ("/roadie/control-token/shared-folder-refused", test_token_shared_folder_refused);
  g_test_add_func ("/roadie/control-token/replaced-when-untrusted", test_token_replaced_when_untrusted);
  g_test_add_func ("/roadie/control-token/symlink-not-followed", test_token_symlink_not_followed);
  g_test_add_func ("/roadie/control-token/regenerate", test_token_regenerate);
  g_test_add_func ("/roadie/control-token/constant-time-equal", test_constant_time_equal);

  return g_test_run ();
}
