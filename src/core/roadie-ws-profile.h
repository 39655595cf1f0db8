/* roadie-ws-profile.h: the seed's four connection profiles.
 *
 * Each profile is a relocatable GSettings schema with the seed's defaults
 * (io.github.roadie.Roadie.Connection.<Profile>), instantiated below
 * /io/github/roadie/Roadie/connections/<name>/, so every value is a
 * preference; its keys are named like RoadieWsClient's properties and are
 * bound to them one to one. The seed's LAN and WAN presets apply in one call.
 */
#pragma once

#include "roadie-ws-client.h"

G_BEGIN_DECLS

typedef enum
{
  ROADIE_WS_PROFILE_DJ_RELAY,      /* a remote DJ to a VJ server (:9000) */
  ROADIE_WS_PROFILE_VISUALIZER,    /* to a visualizer endpoint (:8765) */
  ROADIE_WS_PROFILE_ENGINE_LINK,   /* the window to the engine; browser/admin style */
  ROADIE_WS_PROFILE_GENERIC,       /* VizClient */
  ROADIE_WS_N_PROFILES
} RoadieWsProfile;

typedef enum
{
  ROADIE_WS_NETWORK_LAN,
  ROADIE_WS_NETWORK_WAN,
} RoadieWsNetwork;

/* "dj-relay", "visualizer", "engine-link", "generic" */
const char *roadie_ws_profile_get_name        (RoadieWsProfile  profile);
/* "io.github.roadie.Roadie.Connection.DjRelay", … */
const char *roadie_ws_profile_get_schema_id   (RoadieWsProfile  profile);
/* The profile's settings at its path, on backend (NULL = default backend). */
GSettings  *roadie_ws_profile_settings_new    (RoadieWsProfile  profile,
                                               GSettingsBackend *backend);
/* Sets the client's properties to the seed's defaults for profile (no GSettings). */
void        roadie_ws_profile_apply_defaults  (RoadieWsProfile  profile,
                                               RoadieWsClient  *client);
/* Binds every key of settings to the client property of the same name. */
void        roadie_ws_profile_bind            (GSettings       *settings,
                                               RoadieWsClient  *client);
/* Writes the seed's LAN or WAN values into the profile's settings. */
void        roadie_ws_profile_apply_network   (GSettings       *settings,
                                               RoadieWsProfile  profile,
                                               RoadieWsNetwork  network);
/* Resets every key of the profile to its default. */
void        roadie_ws_profile_restore_defaults (GSettings      *settings);

G_END_DECLS
