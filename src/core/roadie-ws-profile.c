/* roadie-ws-profile.c: the seed's four connection profiles.
 *
 * The defaults live twice, in the Connection gschema (so every value is a
 * preference) and in the table below (so a client can be set up without
 * GSettings); test-ws-profile checks both against the seed's numbers.
 *
 * Mappings the seed leaves open:
 * - VizClient has one counter, "max attempts: total reconnection attempts";
 *   it limits both the first connection and reconnections (generic profile,
 *   and the WAN preset's 15).
 * - The visualizer link is the seed's VJ server to Minecraft channel, a
 *   VizClient: it takes the VizClient heartbeat (ping 10 s, pong timeout
 *   30 s) and the VizClient connect timeouts of the LAN/WAN presets. Its
 *   5 s "check interval" has no key: a closed socket is reported at once,
 *   and a silent one by the pong timeout.
 * - The engine link is always loopback: LAN and WAN leave it alone.
 */
#include "config.h"

#define G_SETTINGS_ENABLE_BACKEND
#include <gio/gsettingsbackend.h>

#include "roadie-ws-profile.h"

#define CONNECTIONS_PATH "/io/github/roadie/Roadie/connections/"

typedef struct
{
  const char *name;
  const char *schema_id;
  const char *url;
  guint       connect_timeout_ms;
  gboolean    auto_reconnect;
  guint       initial_backoff_ms;
  double      backoff_multiplier;
  guint       max_backoff_ms;
  double      jitter;
  guint       max_connect_attempts;
  guint       max_reconnect_attempts;
  guint       heartbeat_interval_ms;
  guint       heartbeat_miss_threshold;
  guint       ping_interval_ms;
  guint       pong_timeout_ms;
  guint       queue_size;
} ProfileDefaults;

static const ProfileDefaults profiles[ROADIE_WS_N_PROFILES] = {
  [ROADIE_WS_PROFILE_DJ_RELAY] = {
    .name = "dj-relay",
    .schema_id = "io.github.roadie.Roadie.Connection.DjRelay",
    .url = "ws://127.0.0.1:9000/",
    .connect_timeout_ms = 10000,
    .auto_reconnect = TRUE,
    .initial_backoff_ms = 5000,
    .backoff_multiplier = 1.5,
    .max_backoff_ms = 30000,
    .jitter = 0.1,
    .max_connect_attempts = 3,
    .max_reconnect_attempts = 0,
    .heartbeat_interval_ms = 2000,
    .heartbeat_miss_threshold = 3,
    .ping_interval_ms = 0,
    .pong_timeout_ms = 0,
    .queue_size = 500,
  },
  [ROADIE_WS_PROFILE_VISUALIZER] = {
    .name = "visualizer",
    .schema_id = "io.github.roadie.Roadie.Connection.Visualizer",
    .url = "ws://127.0.0.1:8765/",
    .connect_timeout_ms = 10000,
    .auto_reconnect = TRUE,
    .initial_backoff_ms = 5000,
    .backoff_multiplier = 1.5,
    .max_backoff_ms = 60000,
    .jitter = 0.1,
    .max_connect_attempts = 0,
    .max_reconnect_attempts = 0,
    .heartbeat_interval_ms = 0,
    .heartbeat_miss_threshold = 3,
    .ping_interval_ms = 10000,
    .pong_timeout_ms = 30000,
    .queue_size = 500,
  },
  [ROADIE_WS_PROFILE_ENGINE_LINK] = {
    .name = "engine-link",
    .schema_id = "io.github.roadie.Roadie.Connection.EngineLink",
    .url = "ws://127.0.0.1:8080/",
    .connect_timeout_ms = 10000,
    .auto_reconnect = TRUE,
    .initial_backoff_ms = 2000,
    .backoff_multiplier = 1.5,
    .max_backoff_ms = 30000,
    .jitter = 0.1,
    .max_connect_attempts = 10,
    .max_reconnect_attempts = 10,
    .heartbeat_interval_ms = 0,
    .heartbeat_miss_threshold = 3,
    .ping_interval_ms = 5000,
    .pong_timeout_ms = 20000,
    .queue_size = 500,
  },
  [ROADIE_WS_PROFILE_GENERIC] = {
    .name = "generic",
    .schema_id = "io.github.roadie.Roadie.Connection.Generic",
    .url = "ws://127.0.0.1:8765/",
    .connect_timeout_ms = 10000,
    .auto_reconnect = FALSE,
    .initial_backoff_ms = 1000,
    .backoff_multiplier = 1.5,
    .max_backoff_ms = 30000,
    .jitter = 0.1,
    .max_connect_attempts = 10,
    .max_reconnect_attempts = 10,
    .heartbeat_interval_ms = 0,
    .heartbeat_miss_threshold = 3,
    .ping_interval_ms = 10000,
    .pong_timeout_ms = 30000,
    .queue_size = 500,
  },
};

/* The seed's "Network Tuning" section. Every key a profile's presets touch
 * is reset before the chosen preset is written, so LAN after WAN gives the
 * same result as LAN alone. */
#define PRESET_DEFAULT G_MAXUINT   /* this preset keeps the default */

typedef struct
{
  const char *key;
  guint       lan;
  guint       wan;
} PresetValue;

static const PresetValue dj_relay_presets[] = {
  { "initial-backoff-ms", 2000, 10000 },
  { "heartbeat-interval-ms", 1000, 5000 },
  { "max-connect-attempts", 5, 3 },
};

/* VizClient: WAN's max_reconnect_attempts=15 goes to its one counter. */
static const PresetValue viz_client_presets[] = {
  { "connect-timeout-ms", 5000, 30000 },
  { "max-connect-attempts", PRESET_DEFAULT, 15 },
  { "max-reconnect-attempts", PRESET_DEFAULT, 15 },
};

static const PresetValue visualizer_presets[] = {
  { "connect-timeout-ms", 5000, 30000 },
};

const char *
roadie_ws_profile_get_name (RoadieWsProfile profile)
{
  g_return_val_if_fail (profile < ROADIE_WS_N_PROFILES, NULL);

  return profiles[profile].name;
}

const char *
roadie_ws_profile_get_schema_id (RoadieWsProfile profile)
{
  g_return_val_if_fail (profile < ROADIE_WS_N_PROFILES, NULL);

  return profiles[profile].schema_id;
}

GSettings *
roadie_ws_profile_settings_new (RoadieWsProfile   profile,
                                GSettingsBackend *backend)
{
  GSettingsSchemaSource *source = g_settings_schema_source_get_default ();
  g_autoptr(GSettingsSchema) schema = NULL;
  g_autofree char *path = NULL;

  g_return_val_if_fail (profile < ROADIE_WS_N_PROFILES, NULL);
  g_return_val_if_fail (backend == NULL || G_IS_SETTINGS_BACKEND (backend), NULL);

  if (source != NULL)
    schema = g_settings_schema_source_lookup (source, profiles[profile].schema_id, TRUE);
  if (schema == NULL)
    {
      g_critical ("Settings schema %s is not installed", profiles[profile].schema_id);
      return NULL;
    }
  path = g_strconcat (CONNECTIONS_PATH, profiles[profile].name, "/", NULL);
  return g_settings_new_full (schema, backend, path);
}

void
roadie_ws_profile_apply_defaults (RoadieWsProfile  profile,
                                  RoadieWsClient  *client)
{
  const ProfileDefaults *p;

  g_return_if_fail (profile < ROADIE_WS_N_PROFILES);
  g_return_if_fail (ROADIE_IS_WS_CLIENT (client));

  p = &profiles[profile];
  g_object_set (client,
                "url", p->url,
                "connect-timeout-ms", p->connect_timeout_ms,
                "auto-reconnect", p->auto_reconnect,
                "initial-backoff-ms", p->initial_backoff_ms,
                "backoff-multiplier", p->backoff_multiplier,
                "max-backoff-ms", p->max_backoff_ms,
                "jitter", p->jitter,
                "max-connect-attempts", p->max_connect_attempts,
                "max-reconnect-attempts", p->max_reconnect_attempts,
                "heartbeat-interval-ms", p->heartbeat_interval_ms,
                "heartbeat-miss-threshold", p->heartbeat_miss_threshold,
                "ping-interval-ms", p->ping_interval_ms,
                "pong-timeout-ms", p->pong_timeout_ms,
                "queue-size", p->queue_size,
                NULL);
}

static GSettingsSchema *
settings_schema (GSettings *settings)
{
  GSettingsSchema *schema = NULL;

  g_object_get (settings, "settings-schema", &schema, NULL);
  return schema;
}

void
roadie_ws_profile_bind (GSettings      *settings,
                        RoadieWsClient *client)
{
  g_autoptr(GSettingsSchema) schema = NULL;
  g_auto(GStrv) keys = NULL;

  g_return_if_fail (G_IS_SETTINGS (settings));
  g_return_if_fail (ROADIE_IS_WS_CLIENT (client));

  schema = settings_schema (settings);
  keys = g_settings_schema_list_keys (schema);
  /* One way: preferences drive the client, the client never rewrites them. */
  for (guint i = 0; keys[i] != NULL; i++)
    g_settings_bind (settings, keys[i], client, keys[i], G_SETTINGS_BIND_GET);
}

static void
apply_presets (GSettings         *settings,
               const PresetValue *values,
               gsize              n_values,
               RoadieWsNetwork    network)
{
  for (gsize i = 0; i < n_values; i++)
    {
      guint value = network == ROADIE_WS_NETWORK_LAN ? values[i].lan : values[i].wan;

      g_settings_reset (settings, values[i].key);
      if (value != PRESET_DEFAULT)
        g_settings_set_uint (settings, values[i].key, value);
    }
}

void
roadie_ws_profile_apply_network (GSettings       *settings,
                                 RoadieWsProfile  profile,
                                 RoadieWsNetwork  network)
{
  g_return_if_fail (G_IS_SETTINGS (settings));
  g_return_if_fail (profile < ROADIE_WS_N_PROFILES);
  g_return_if_fail (network == ROADIE_WS_NETWORK_LAN || network == ROADIE_WS_NETWORK_WAN);

  switch (profile)
    {
    case ROADIE_WS_PROFILE_DJ_RELAY:
      apply_presets (settings, dj_relay_presets, G_N_ELEMENTS (dj_relay_presets), network);
      break;

    case ROADIE_WS_PROFILE_GENERIC:
      apply_presets (settings, viz_client_presets, G_N_ELEMENTS (viz_client_presets), network);
      /* Both presets turn VizClient's opt-in reconnection on. */
      g_settings_set_boolean (settings, "auto-reconnect", TRUE);
      break;

    case ROADIE_WS_PROFILE_VISUALIZER:
      apply_presets (settings, visualizer_presets, G_N_ELEMENTS (visualizer_presets), network);
      break;

    case ROADIE_WS_PROFILE_ENGINE_LINK:
    case ROADIE_WS_N_PROFILES:
    default:
      break;
    }
}

void
roadie_ws_profile_restore_defaults (GSettings *settings)
{
  g_autoptr(GSettingsSchema) schema = NULL;
  g_auto(GStrv) keys = NULL;

  g_return_if_fail (G_IS_SETTINGS (settings));

  schema = settings_schema (settings);
  keys = g_settings_schema_list_keys (schema);
  for (guint i = 0; keys[i] != NULL; i++)
    g_settings_reset (settings, keys[i]);
}
