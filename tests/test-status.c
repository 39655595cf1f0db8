/* test-status.c: the shape of GET /api/audio-server/status, field by field. */
#include "config.h"

#include "roadie-supervisor.h"
#include "roadie-test-util.h"

/* The seed's fields in the seed's order, then Roadie's own. */
static const char *expected_members[] = {
  "httpUrl", "httpPort", "wsPort", "executablePath", "isHealthy",
  "isProcessRunning", "isReady", "autoStart", "autoRestart", "pid",
  "restartCount", "maxRestarts", "healthMonitoring",
  "state", "uptimeMs", "lastExit", "nextRestartInMs", "restartWindowMs", "lastError",
};

static JsonNode *
status_for (const char * const *environ)
{
  g_autoptr(GSettings) gsettings = roadie_test_new_gsettings ();
  g_autoptr(RoadieSettings) settings = roadie_settings_new (gsettings, environ);
  g_autoptr(RoadieSupervisor) supervisor = roadie_supervisor_new (settings);

  return roadie_supervisor_build_status (supervisor);
}

static void
test_defaults (void)
{
  g_autoptr(JsonNode) node = status_for (NULL);
  JsonObject *status = json_node_get_object (node);
  g_autoptr(GList) members = json_object_get_members (status);
  guint i = 0;

  for (GList *l = members; l != NULL; l = l->next, i++)
    {
      g_assert_cmpuint (i, <, G_N_ELEMENTS (expected_members));
      g_assert_cmpstr (l->data, ==, expected_members[i]);
    }
  g_assert_cmpuint (i, ==, G_N_ELEMENTS (expected_members));

  /* The seed's defaults, and its choice of strings for the ports. */
  g_assert_cmpstr (json_object_get_string_member (status, "httpUrl"), ==, "http://127.0.0.1:8080");
  g_assert_cmpstr (json_object_get_string_member (status, "httpPort"), ==, "8080");
  g_assert_cmpstr (json_object_get_string_member (status, "wsPort"), ==, "8080");
  /* empty executable-path = the bundled engine, found in the build tree */
  g_assert_true (g_str_has_suffix (json_object_get_string_member (status, "executablePath"), "/roadie-engine"));
  g_assert_false (json_object_get_boolean_member (status, "isHealthy"));
  g_assert_false (json_object_get_boolean_member (status, "isProcessRunning"));
  g_assert_false (json_object_get_boolean_member (status, "isReady"));
  g_assert_true (json_object_get_boolean_member (status, "autoStart"));
  g_assert_true (json_object_get_boolean_member (status, "autoRestart"));
  g_assert_true (json_object_get_null_member (status, "pid"));
  g_assert_cmpint (json_object_get_int_member (status, "restartCount"), ==, 0);
  g_assert_cmpint (json_object_get_int_member (status, "maxRestarts"), ==, 5);
  g_assert_false (json_object_get_boolean_member (status, "healthMonitoring"));
  g_assert_cmpstr (json_object_get_string_member (status, "state"), ==, "stopped");
  g_assert_cmpint (json_object_get_int_member (status, "uptimeMs"), ==, 0);
  g_assert_true (json_object_get_null_member (status, "lastExit"));
  g_assert_true (json_object_get_null_member (status, "nextRestartInMs"));
  g_assert_cmpint (json_object_get_int_member (status, "restartWindowMs"), ==, 300000);
  g_assert_true (json_object_get_null_member (status, "lastError"));
}

static void
test_env_overrides (void)
{
  const char *environ[] = {
    "AUDIO_SERVER_WS_PORT=9123",
    "AUDIO_SERVER_HTTP_URL=http://127.0.0.1:9124",
    "AUDIO_SERVER_MAX_RESTARTS=7",
    "AUDIO_SERVER_AUTO_RESTART=false",
    "AUDIO_SERVER_EXECUTABLE_PATH=/opt/mismo/MismoDJ",
    NULL
  };
  g_autoptr(JsonNode) node = NULL;
  JsonObject *status;

  roadie_test_allow_roadie_warnings ();
  node = status_for (environ);
  status = json_node_get_object (node);
  g_assert_cmpstr (json_object_get_string_member (status, "wsPort"), ==, "9123");
  g_assert_cmpstr (json_object_get_string_member (status, "httpUrl"), ==, "http://127.0.0.1:9124");
  g_assert_cmpint (json_object_get_int_member (status, "maxRestarts"), ==, 7);
  g_assert_false (json_object_get_boolean_member (status, "autoRestart"));
  g_assert_cmpstr (json_object_get_string_member (status, "executablePath"), ==, "/opt/mismo/MismoDJ");
}

static void
test_state_names (void)
{
  static const char *names[] = {
    "stopped", "starting", "running", "unhealthy", "backoff", "failed", "stopping", "attached",
  };

  for (guint i = 0; i < G_N_ELEMENTS (names); i++)
    g_assert_cmpstr (roadie_supervisor_state_to_string (i), ==, names[i]);
}

int
main (int argc, char *argv[])
{
  roadie_test_init_environment ();
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/roadie/status/defaults", test_defaults);
  g_test_add_func ("/roadie/status/env-overrides", test_env_overrides);
  g_test_add_func ("/roadie/status/state-names", test_state_names);

  return g_test_run ();
}
