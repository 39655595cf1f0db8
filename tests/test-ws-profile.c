/* test-ws-profile.c: the seed's connection profiles, their schemas, binding
 * to RoadieWsClient, and the LAN/WAN presets. */
#include "config.h"

#define G_SETTINGS_ENABLE_BACKEND
#include <gio/gsettingsbackend.h>

#include "roadie-test-util.h"
#include "roadie-ws-profile.h"

/* The second seed's numbers, written out here independently of
 * roadie-ws-profile.c and the gschema, so that both are checked. */
typedef struct
{
  RoadieWsProfile profile;
  const char     *name;
  const char     *schema_id;
  guint           connect_timeout_ms;
  gboolean        auto_reconnect;
  guint           initial_backoff_ms;
  double          backoff_multiplier;
  guint           max_backoff_ms;
  double          jitter;
  guint           max_connect_attempts;
  guint           max_reconnect_attempts;   /* 0 = unlimited */
  guint           heartbeat_interval_ms;
  guint           heartbeat_miss_threshold;
  guint           ping_interval_ms;
  guint           pong_timeout_ms;
  guint           queue_size;
} SeedProfile;

static const SeedProfile seed[] = {
  /* DJ relay: 5 s, ×1.5, 30 s, ±10 %, 3 initial connects, unlimited after a
   * loss, dj_heartbeat every 2 s, dead after 3 missed acks. */
  { ROADIE_WS_PROFILE_DJ_RELAY, "dj-relay", "io.github.roadie.Roadie.Connection.DjRelay",
    10000, TRUE, 5000, 1.5, 30000, 0.1, 3, 0, 2000, 3, 0, 0, 500 },
  /* VJ server to Minecraft: 5 s, ×1.5, 60 s; VizClient heartbeat ping 10 s,
   * pong timeout 30 s; unlimited. */
  { ROADIE_WS_PROFILE_VISUALIZER, "visualizer", "io.github.roadie.Roadie.Connection.Visualizer",
    10000, TRUE, 5000, 1.5, 60000, 0.1, 0, 0, 0, 3, 10000, 30000, 500 },
  /* Admin panel: 2 s, ×1.5, 30 s, 10 attempts, ping 5 s, pong 20 s, queue 500. */
  { ROADIE_WS_PROFILE_ENGINE_LINK, "engine-link", "io.github.roadie.Roadie.Connection.EngineLink",
    10000, TRUE, 2000, 1.5, 30000, 0.1, 10, 10, 0, 3, 5000, 20000, 500 },
  /* VizClient: connect timeout 10 s, auto-reconnect off, 1 s, ×1.5, 30 s,
   * 10 attempts. */
  { ROADIE_WS_PROFILE_GENERIC, "generic", "io.github.roadie.Roadie.Connection.Generic",
    10000, FALSE, 1000, 1.5, 30000, 0.1, 10, 10, 0, 3, 10000, 30000, 500 },
};

static GSettings *
new_profile_settings (RoadieWsProfile profile)
{
  g_autoptr(GSettingsBackend) backend = g_memory_settings_backend_new ();
  GSettings *settings = roadie_ws_profile_settings_new (profile, backend);

  g_assert_nonnull (settings);
  return settings;
}

static void
assert_settings_match_seed (GSettings         *settings,
                            const SeedProfile *s)
{
  g_assert_cmpuint (g_settings_get_uint (settings, "connect-timeout-ms"), ==, s->connect_timeout_ms);
  g_assert_cmpint (g_settings_get_boolean (settings, "auto-reconnect"), ==, s->auto_reconnect);
  g_assert_cmpuint (g_settings_get_uint (settings, "initial-backoff-ms"), ==, s->initial_backoff_ms);
  g_assert_cmpfloat (g_settings_get_double (settings, "backoff-multiplier"), ==, s->backoff_multiplier);
  g_assert_cmpuint (g_settings_get_uint (settings, "max-backoff-ms"), ==, s->max_backoff_ms);
  g_assert_cmpfloat (g_settings_get_double (settings, "jitter"), ==, s->jitter);
  g_assert_cmpuint (g_settings_get_uint (settings, "max-connect-attempts"), ==, s->max_connect_attempts);
  g_assert_cmpuint (g_settings_get_uint (settings, "max-reconnect-attempts"), ==, s->max_reconnect_attempts);
  g_assert_cmpuint (g_settings_get_uint (settings, "heartbeat-interval-ms"), ==, s->heartbeat_interval_ms);
  g_assert_cmpuint (g_settings_get_uint (settings, "heartbeat-miss-threshold"), ==, s->heartbeat_miss_threshold);
  g_assert_cmpuint (g_settings_get_uint (settings, "ping-interval-ms"), ==, s->ping_interval_ms);
  g_assert_cmpuint (g_settings_get_uint (settings, "pong-timeout-ms"), ==, s->pong_timeout_ms);
  g_assert_cmpuint (g_settings_get_uint (settings, "queue-size"), ==, s->queue_size);
}

static void
assert_client_matches_seed (RoadieWsClient    *client,
                            const SeedProfile *s)
{
  guint connect_timeout, initial, max_backoff, connects, reconnects, hb, misses, ping, pong, queue;
  gboolean auto_reconnect;
  double multiplier, jitter;

  g_object_get (client,
                "connect-timeout-ms", &connect_timeout,
                "auto-reconnect", &auto_reconnect,
                "initial-backoff-ms", &initial,
                "backoff-multiplier", &multiplier,
                "max-backoff-ms", &max_backoff,
                "jitter", &jitter,
                "max-connect-attempts", &connects,
                "max-reconnect-attempts", &reconnects,
                "heartbeat-interval-ms", &hb,
                "heartbeat-miss-threshold", &misses,
                "ping-interval-ms", &ping,
                "pong-timeout-ms", &pong,
                "queue-size", &queue,
                NULL);
  g_assert_cmpuint (connect_timeout, ==, s->connect_timeout_ms);
  g_assert_cmpint (auto_reconnect, ==, s->auto_reconnect);
  g_assert_cmpuint (initial, ==, s->initial_backoff_ms);
  g_assert_cmpfloat (multiplier, ==, s->backoff_multiplier);
  g_assert_cmpuint (max_backoff, ==, s->max_backoff_ms);
  g_assert_cmpfloat (jitter, ==, s->jitter);
  g_assert_cmpuint (connects, ==, s->max_connect_attempts);
  g_assert_cmpuint (reconnects, ==, s->max_reconnect_attempts);
  g_assert_cmpuint (hb, ==, s->heartbeat_interval_ms);
  g_assert_cmpuint (misses, ==, s->heartbeat_miss_threshold);
  g_assert_cmpuint (ping, ==, s->ping_interval_ms);
  g_assert_cmpuint (pong, ==, s->pong_timeout_ms);
  g_assert_cmpuint (queue, ==, s->queue_size);
}

/* A client whose properties are all off the seed's values. */
static RoadieWsClient *
new_odd_client (void)
{
  return g_object_new (ROADIE_TYPE_WS_CLIENT,
                       "url", "ws://127.0.0.1:1/",
                       "connect-timeout-ms", 1,
                       "auto-reconnect", TRUE,
                       "initial-backoff-ms", 7,
                       "backoff-multiplier", 3.0,
                       "max-backoff-ms", 7,
                       "jitter", 0.7,
                       "max-connect-attempts", 77,
                       "max-reconnect-attempts", 77,
                       "heartbeat-interval-ms", 7,
                       "heartbeat-miss-threshold", 7,
                       "ping-interval-ms", 7,
                       "pong-timeout-ms", 7,
                       "queue-size", 7,
                       NULL);
}

static void
test_names (void)
{
  for (guint i = 0; i < G_N_ELEMENTS (seed); i++)
    {
      g_assert_cmpstr (roadie_ws_profile_get_name (seed[i].profile), ==, seed[i].name);
      g_assert_cmpstr (roadie_ws_profile_get_schema_id (seed[i].profile), ==, seed[i].schema_id);
    }
}

static void
test_defaults_in_settings (void)
{
  for (guint i = 0; i < G_N_ELEMENTS (seed); i++)
    {
      g_autoptr(GSettings) settings = new_profile_settings (seed[i].profile);
      g_autofree char *path = NULL;
      g_autofree char *schema_id = NULL;
      g_autofree char *url = NULL;

      g_test_message ("profile %s", seed[i].name);
      g_object_get (settings, "path", &path, "schema-id", &schema_id, NULL);
      g_assert_cmpstr (schema_id, ==, seed[i].schema_id);
      {
        g_autofree char *expected = g_strdup_printf ("/io/github/roadie/Roadie/connections/%s/", seed[i].name);
        g_assert_cmpstr (path, ==, expected);
      }
      assert_settings_match_seed (settings, &seed[i]);
      url = g_settings_get_string (settings, "url");
      g_assert_true (g_str_has_prefix (url, "ws://127.0.0.1:"));
    }
}

static void
test_defaults_applied (void)
{
  for (guint i = 0; i < G_N_ELEMENTS (seed); i++)
    {
      g_autoptr(RoadieWsClient) client = new_odd_client ();
      g_autoptr(GSettings) settings = new_profile_settings (seed[i].profile);
      g_autofree char *url = NULL;
      g_autofree char *settings_url = g_settings_get_string (settings, "url");

      g_test_message ("profile %s", seed[i].name);
      roadie_ws_profile_apply_defaults (seed[i].profile, client);
      assert_client_matches_seed (client, &seed[i]);
      g_object_get (client, "url", &url, NULL);
      g_assert_cmpstr (url, ==, settings_url);
    }
}

/* GLib reads summaries and descriptions from the XML next to the compiled
 * file, which the build tree does not have: compile the source file into a
 * folder of its own. */
static GSettingsSchemaSource *
source_schema_source (void)
{
  const char *srcdir = g_getenv ("ROADIE_TEST_SRCDIR");
  g_autofree char *xml = NULL;
  g_autofree char *dir = g_build_filename (roadie_test_tmpdir (), "schemas", NULL);
  g_autofree char *copy = g_build_filename (dir, "io.github.roadie.Roadie.Connection.gschema.xml", NULL);
  g_autofree char *contents = NULL;
  g_autoptr(GError) error = NULL;
  const char *argv[] = { "glib-compile-schemas", "--strict", dir, NULL };
  GSettingsSchemaSource *source;
  int status = -1;

  g_assert_nonnull (srcdir);
  xml = g_build_filename (srcdir, "..", "data", "io.github.roadie.Roadie.Connection.gschema.xml", NULL);
  g_assert_true (g_file_get_contents (xml, &contents, NULL, NULL));
  g_assert_cmpint (g_mkdir_with_parents (dir, 0700), ==, 0);
  g_assert_true (g_file_set_contents (copy, contents, -1, NULL));
  g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, NULL, NULL, &status, &error);
  g_assert_no_error (error);
  g_assert_true (g_spawn_check_wait_status (status, NULL));

  source = g_settings_schema_source_new_from_directory (dir, NULL, FALSE, &error);
  g_assert_no_error (error);
  return source;
}

/* Every key is a client property of the same name and type, documented,
 * and numeric keys have a range the property accepts. */
static void
test_schema_keys (void)
{
  g_autoptr(GTypeClass) klass = g_type_class_ref (ROADIE_TYPE_WS_CLIENT);
  g_autoptr(GSettingsSchemaSource) source = source_schema_source ();

  for (guint i = 0; i < G_N_ELEMENTS (seed); i++)
    {
      g_autoptr(GSettingsSchema) schema = g_settings_schema_source_lookup (source, seed[i].schema_id, FALSE);
      g_auto(GStrv) keys = NULL;

      g_assert_nonnull (schema);
      g_assert_null (g_settings_schema_get_path (schema));   /* relocatable */
      keys = g_settings_schema_list_keys (schema);
      g_assert_cmpuint (g_strv_length (keys), ==, 14);
      for (guint k = 0; keys[k] != NULL; k++)
        {
          g_autoptr(GSettingsSchemaKey) key = g_settings_schema_get_key (schema, keys[k]);
          g_autoptr(GVariant) range = g_settings_schema_key_get_range (key);
          const GVariantType *type = g_settings_schema_key_get_value_type (key);
          GParamSpec *pspec = g_object_class_find_property (G_OBJECT_CLASS (klass), keys[k]);
          const char *range_type = NULL;

          g_assert_nonnull (pspec);
          g_assert_true (pspec->flags & G_PARAM_WRITABLE);
          g_assert_nonnull (g_settings_schema_key_get_summary (key));
          g_assert_nonnull (g_settings_schema_key_get_description (key));
          g_variant_get (range, "(&sv)", &range_type, NULL);

          if (g_variant_type_equal (type, G_VARIANT_TYPE_UINT32))
            {
              GParamSpecUInt *u = G_PARAM_SPEC_UINT (pspec);
              g_autoptr(GVariant) bounds = NULL;
              guint32 min, max;

              g_assert_cmpstr (range_type, ==, "range");
              g_variant_get (range, "(&sv)", NULL, &bounds);
              g_variant_get (bounds, "(uu)", &min, &max);
              g_assert_cmpuint (min, >=, u->minimum);
              g_assert_cmpuint (max, <=, u->maximum);
            }
          else if (g_variant_type_equal (type, G_VARIANT_TYPE_DOUBLE))
            {
              GParamSpecDouble *d = G_PARAM_SPEC_DOUBLE (pspec);
              g_autoptr(GVariant) bounds = NULL;
              double min, max;

              g_assert_cmpstr (range_type, ==, "range");
              g_variant_get (range, "(&sv)", NULL, &bounds);
              g_variant_get (bounds, "(dd)", &min, &max);
              g_assert_cmpfloat (min, >=, d->minimum);
              g_assert_cmpfloat (max, <=, d->maximum);
            }
          else if (g_variant_type_equal (type, G_VARIANT_TYPE_BOOLEAN))
            g_assert_true (G_IS_PARAM_SPEC_BOOLEAN (pspec));
          else if (g_variant_type_equal (type, G_VARIANT_TYPE_STRING))
            g_assert_true (G_IS_PARAM_SPEC_STRING (pspec));
          else
            g_assert_not_reached ();
        }
    }
}

static void
test_bind (void)
{
  g_autoptr(GSettings) settings = new_profile_settings (ROADIE_WS_PROFILE_DJ_RELAY);
  g_autoptr(RoadieWsClient) client = new_odd_client ();
  g_autofree char *url = NULL;
  guint value = 0;

  /* Binding applies every stored value at once... */
  roadie_ws_profile_bind (settings, client);
  assert_client_matches_seed (client, &seed[0]);
  g_object_get (client, "url", &url, NULL);
  g_assert_cmpstr (url, ==, "ws://127.0.0.1:9000/");

  /* ...and every later change. */
  g_settings_set_uint (settings, "heartbeat-interval-ms", 1234);
  g_settings_set_double (settings, "jitter", 0.25);
  g_settings_set_boolean (settings, "auto-reconnect", FALSE);
  g_settings_set_string (settings, "url", "ws://vj.example:9000/");
  g_object_get (client, "heartbeat-interval-ms", &value, NULL);
  g_assert_cmpuint (value, ==, 1234);
  {
    double jitter;
    gboolean auto_reconnect;

    g_clear_pointer (&url, g_free);
    g_object_get (client, "jitter", &jitter, "auto-reconnect", &auto_reconnect, "url", &url, NULL);
    g_assert_cmpfloat (jitter, ==, 0.25);
    g_assert_false (auto_reconnect);
    g_assert_cmpstr (url, ==, "ws://vj.example:9000/");
  }

  /* One way: the client does not rewrite the preferences. */
  g_object_set (client, "queue-size", 42, NULL);
  g_assert_cmpuint (g_settings_get_uint (settings, "queue-size"), ==, 500);
}

static void
test_network_presets (void)
{
  g_autoptr(GSettings) dj = new_profile_settings (ROADIE_WS_PROFILE_DJ_RELAY);
  g_autoptr(GSettings) generic = new_profile_settings (ROADIE_WS_PROFILE_GENERIC);
  g_autoptr(GSettings) viz = new_profile_settings (ROADIE_WS_PROFILE_VISUALIZER);
  g_autoptr(GSettings) engine = new_profile_settings (ROADIE_WS_PROFILE_ENGINE_LINK);
  g_autoptr(RoadieWsClient) client = new_odd_client ();
  guint initial, heartbeat, connects;

  roadie_ws_profile_bind (dj, client);

  /* DJ relay, LAN: reconnect_interval=2.0, heartbeat_interval=1.0,
   * max_connect_attempts=5; in one call, straight into a bound client. */
  roadie_ws_profile_apply_network (dj, ROADIE_WS_PROFILE_DJ_RELAY, ROADIE_WS_NETWORK_LAN);
  g_object_get (client, "initial-backoff-ms", &initial, "heartbeat-interval-ms", &heartbeat,
                "max-connect-attempts", &connects, NULL);
  g_assert_cmpuint (initial, ==, 2000);
  g_assert_cmpuint (heartbeat, ==, 1000);
  g_assert_cmpuint (connects, ==, 5);

  /* WAN: 10.0, 5.0, 3. */
  roadie_ws_profile_apply_network (dj, ROADIE_WS_PROFILE_DJ_RELAY, ROADIE_WS_NETWORK_WAN);
  g_assert_cmpuint (g_settings_get_uint (dj, "initial-backoff-ms"), ==, 10000);
  g_assert_cmpuint (g_settings_get_uint (dj, "heartbeat-interval-ms"), ==, 5000);
  g_assert_cmpuint (g_settings_get_uint (dj, "max-connect-attempts"), ==, 3);
  g_object_get (client, "initial-backoff-ms", &initial, NULL);
  g_assert_cmpuint (initial, ==, 10000);
  /* The rest of the profile is untouched. */
  g_assert_cmpuint (g_settings_get_uint (dj, "max-backoff-ms"), ==, 30000);
  g_assert_cmpuint (g_settings_get_uint (dj, "heartbeat-miss-threshold"), ==, 3);

  /* VizClient, WAN: connect_timeout=30.0, auto_reconnect=True,
   * max_reconnect_attempts=15. */
  roadie_ws_profile_apply_network (generic, ROADIE_WS_PROFILE_GENERIC, ROADIE_WS_NETWORK_WAN);
  g_assert_cmpuint (g_settings_get_uint (generic, "connect-timeout-ms"), ==, 30000);
  g_assert_true (g_settings_get_boolean (generic, "auto-reconnect"));
  g_assert_cmpuint (g_settings_get_uint (generic, "max-reconnect-attempts"), ==, 15);
  g_assert_cmpuint (g_settings_get_uint (generic, "max-connect-attempts"), ==, 15);

  /* LAN after WAN is LAN: connect_timeout=5.0, auto_reconnect=True, the
   * attempts back to the default 10. */
  roadie_ws_profile_apply_network (generic, ROADIE_WS_PROFILE_GENERIC, ROADIE_WS_NETWORK_LAN);
  g_assert_cmpuint (g_settings_get_uint (generic, "connect-timeout-ms"), ==, 5000);
  g_assert_true (g_settings_get_boolean (generic, "auto-reconnect"));
  g_assert_cmpuint (g_settings_get_uint (generic, "max-reconnect-attempts"), ==, 10);
  g_assert_cmpuint (g_settings_get_uint (generic, "max-connect-attempts"), ==, 10);

  /* The visualizer link is a VizClient in the seed: its connect timeouts. */
  roadie_ws_profile_apply_network (viz, ROADIE_WS_PROFILE_VISUALIZER, ROADIE_WS_NETWORK_WAN);
  g_assert_cmpuint (g_settings_get_uint (viz, "connect-timeout-ms"), ==, 30000);
  roadie_ws_profile_apply_network (viz, ROADIE_WS_PROFILE_VISUALIZER, ROADIE_WS_NETWORK_LAN);
  g_assert_cmpuint (g_settings_get_uint (viz, "connect-timeout-ms"), ==, 5000);
  assert_settings_match_seed (viz, &(SeedProfile) { .connect_timeout_ms = 5000, .auto_reconnect = TRUE,
                                                    .initial_backoff_ms = 5000, .backoff_multiplier = 1.5,
                                                    .max_backoff_ms = 60000, .jitter = 0.1,
                                                    .heartbeat_miss_threshold = 3,
                                                    .ping_interval_ms = 10000, .pong_timeout_ms = 30000,
                                                    .queue_size = 500 });

  /* The engine link is loopback: nothing to tune. */
  roadie_ws_profile_apply_network (engine, ROADIE_WS_PROFILE_ENGINE_LINK, ROADIE_WS_NETWORK_WAN);
  assert_settings_match_seed (engine, &seed[2]);
}

static void
test_restore_defaults (void)
{
  for (guint i = 0; i < G_N_ELEMENTS (seed); i++)
    {
      g_autoptr(GSettings) settings = new_profile_settings (seed[i].profile);
      g_autoptr(RoadieWsClient) client = new_odd_client ();
      g_autoptr(GSettingsSchema) schema = NULL;
      g_auto(GStrv) keys = NULL;

      roadie_ws_profile_bind (settings, client);
      roadie_ws_profile_apply_network (settings, seed[i].profile, ROADIE_WS_NETWORK_WAN);
      g_settings_set_uint (settings, "queue-size", 9);
      g_settings_set_uint (settings, "max-backoff-ms", 1000);
      g_settings_set_string (settings, "url", "ws://elsewhere:1/");

      roadie_ws_profile_restore_defaults (settings);

      assert_settings_match_seed (settings, &seed[i]);
      assert_client_matches_seed (client, &seed[i]);
      g_object_get (settings, "settings-schema", &schema, NULL);
      keys = g_settings_schema_list_keys (schema);
      for (guint k = 0; keys[k] != NULL; k++)
        {
          g_autoptr(GVariant) user = g_settings_get_user_value (settings, keys[k]);
          g_assert_null (user);
        }
    }
}

/* The profiles are children of the main schema, at the paths
 * roadie_ws_profile_settings_new uses, so one tree holds every setting. */
static void
test_children_of_main_schema (void)
{
  g_autoptr(GSettings) main_settings = roadie_test_new_gsettings ();
  g_autoptr(GSettings) connections = g_settings_get_child (main_settings, "connections");

  for (guint p = 0; p < ROADIE_WS_N_PROFILES; p++)
    {
      g_autoptr(GSettings) child = g_settings_get_child (connections, roadie_ws_profile_get_name (p));
      g_autoptr(GSettings) direct = roadie_ws_profile_settings_new (p, NULL);
      g_autoptr(GSettingsSchema) schema = NULL;
      g_autofree char *child_path = NULL;
      g_autofree char *direct_path = NULL;

      g_object_get (child, "settings-schema", &schema, "path", &child_path, NULL);
      g_object_get (direct, "path", &direct_path, NULL);
      g_assert_cmpstr (g_settings_schema_get_id (schema), ==, roadie_ws_profile_get_schema_id (p));
      g_assert_cmpstr (child_path, ==, direct_path);
    }
}

int
main (int argc, char *argv[])
{
  roadie_test_init_environment ();
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/roadie/ws-profile/names", test_names);
  g_test_add_func ("/roadie/ws-profile/defaults-in-settings", test_defaults_in_settings);
  g_test_add_func ("/roadie/ws-profile/defaults-applied", test_defaults_applied);
  g_test_add_func ("/roadie/ws-profile/schema-keys", test_schema_keys);
  g_test_add_func ("/roadie/ws-profile/bind", test_bind);
  g_test_add_func ("/roadie/ws-profile/network-presets", test_network_presets);
  g_test_add_func ("/roadie/ws-profile/restore-defaults", test_restore_defaults);
  g_test_add_func ("/roadie/ws-profile/children-of-main-schema", test_children_of_main_schema);

  return g_test_run ();
}
