/* roadie-settings.h: the stored settings plus the overrides of one run.
 *
 * RoadieSettings wraps the GSettings of io.github.roadie.Roadie and lays the
 * seed's environment variables (and command-line options) over it for this
 * run only; nothing overridden is ever written back. Values are validated
 * against the schema's own <range>, so the schema is the single source of
 * truth for what is accepted.
 */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

#define ROADIE_TYPE_SETTINGS (roadie_settings_get_type ())

G_DECLARE_FINAL_TYPE (RoadieSettings, roadie_settings, ROADIE, SETTINGS, GObject)

typedef struct
{
  const char *key;        /* GSettings key, e.g. "max-restarts" */
  const char *env_name;   /* e.g. "AUDIO_SERVER_MAX_RESTARTS" */
} RoadieEnvBinding;

/* environ may be NULL (no environment overrides), or g_get_environ(). */
RoadieSettings     *roadie_settings_new               (GSettings          *settings,
                                                       const char * const *environ);
GSettings          *roadie_settings_get_gsettings     (RoadieSettings     *self);

int                 roadie_settings_get_int           (RoadieSettings     *self,
                                                       const char         *key);
gint64              roadie_settings_get_int64         (RoadieSettings     *self,
                                                       const char         *key);
double              roadie_settings_get_double        (RoadieSettings     *self,
                                                       const char         *key);
gboolean            roadie_settings_get_boolean       (RoadieSettings     *self,
                                                       const char         *key);
char               *roadie_settings_get_string        (RoadieSettings     *self,
                                                       const char         *key);
char              **roadie_settings_get_strv          (RoadieSettings     *self,
                                                       const char         *key);
GVariant           *roadie_settings_get_value         (RoadieSettings     *self,
                                                       const char         *key);

/* An override for this run (command line). Validated like an env value. */
gboolean            roadie_settings_set_override      (RoadieSettings     *self,
                                                       const char         *key,
                                                       const char         *text,
                                                       const char         *source,
                                                       GError            **error);
/* The env variable or option that overrides key this run, or NULL. */
const char         *roadie_settings_get_override_source (RoadieSettings   *self,
                                                         const char       *key);
/* Human-readable problems found in the environment, e.g.
 * "AUDIO_SERVER_MAX_RESTARTS=abc is not a whole number from 0 to 1000; using the stored value 5" */
const char * const *roadie_settings_get_problems      (RoadieSettings     *self);

/* log-file with the empty default resolved to $XDG_STATE_HOME/roadie/audio-server.log */
char               *roadie_settings_dup_log_file      (RoadieSettings     *self);

const RoadieEnvBinding *roadie_settings_get_env_bindings (guint           *n_bindings);

G_END_DECLS
