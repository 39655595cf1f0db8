/* roadie-settings.c: the stored settings plus the overrides of one run.
 *
 * The GSettings schema is the single source of truth: the type of a key says
 * how an environment value is parsed and its <range> says what is accepted.
 * Overrides live in a hash table for this process only and are never written
 * back, so a booth machine started with AUDIO_SERVER_WS_PORT=9090 does not
 * silently change what the next plain launch uses.
 */
#include "config.h"

#include <errno.h>
#include <math.h>
#include <string.h>

#include "roadie-error.h"
#include "roadie-settings.h"

typedef struct
{
  GVariant *value;   /* of the key's own type */
  char     *source;  /* the env variable or option that set it */
} Override;

struct _RoadieSettings
{
  GObject          parent_instance;

  GSettings       *settings;
  GSettingsSchema *schema;
  gulong           changed_handler;

  GHashTable      *overrides;  /* key → Override */
  GPtrArray       *problems;   /* char *, always NULL-terminated */
};

G_DEFINE_FINAL_TYPE (RoadieSettings, roadie_settings, G_TYPE_OBJECT)

enum {
  PROP_0,
  PROP_GSETTINGS,
  N_PROPS
};

enum {
  CHANGED,
  N_SIGNALS
};

static GParamSpec *properties[N_PROPS];
static guint signals[N_SIGNALS];

/* Every supervisor key of issue 2 §2 with the seed's variable names. */
static const RoadieEnvBinding env_bindings[] = {
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

static void
override_free (gpointer data)
{
  Override *override = data;

  g_clear_pointer (&override->value, g_variant_unref);
  g_clear_pointer (&override->source, g_free);
  g_free (override);
}

/* The schema's <range> of a numeric key, or the limits of its type when the
 * key has none. Both out-parameters stay NULL for unbounded doubles. */
static void
key_get_bounds (GSettingsSchemaKey  *schema_key,
                GVariant           **min,
                GVariant           **max)
{
  g_autoptr(GVariant) range = g_settings_schema_key_get_range (schema_key);
  g_autoptr(GVariant) detail = NULL;
  const GVariantType *type = g_settings_schema_key_get_value_type (schema_key);
  const char *kind = NULL;

  *min = *max = NULL;
  g_variant_get (range, "(&sv)", &kind, &detail);
  if (g_str_equal (kind, "range"))
    {
      *min = g_variant_get_child_value (detail, 0);
      *max = g_variant_get_child_value (detail, 1);
    }
  else if (g_variant_type_equal (type, G_VARIANT_TYPE_INT32))
    {
      *min = g_variant_ref_sink (g_variant_new_int32 (G_MININT32));
      *max = g_variant_ref_sink (g_variant_new_int32 (G_MAXINT32));
    }
  else if (g_variant_type_equal (type, G_VARIANT_TYPE_INT64))
    {
      *min = g_variant_ref_sink (g_variant_new_int64 (G_MININT64));
      *max = g_variant_ref_sink (g_variant_new_int64 (G_MAXINT64));
    }
}

/* As a DJ would type it: 5, 1.5 (not 1.5000000000000000), true, ['-v']. */
static char *
format_value (GVariant *value)
{
  if (g_variant_is_of_type (value, G_VARIANT_TYPE_DOUBLE))
    {
      char buffer[G_ASCII_DTOSTR_BUF_SIZE];

      g_ascii_formatd (buffer, sizeof buffer, "%.15g", g_variant_get_double (value));
      if (strpbrk (buffer, ".eEni") == NULL)
        return g_strconcat (buffer, ".0", NULL);
      return g_strdup (buffer);
    }
  return g_variant_print (value, FALSE);
}

/* "0 to 1000", or NULL when the key has no bounds. */
static char *
describe_bounds (GSettingsSchemaKey *schema_key)
{
  g_autoptr(GVariant) min = NULL;
  g_autoptr(GVariant) max = NULL;
  g_autofree char *min_text = NULL;
  g_autofree char *max_text = NULL;

  key_get_bounds (schema_key, &min, &max);
  if (min == NULL || max == NULL)
    return NULL;
  min_text = format_value (min);
  max_text = format_value (max);
  return g_strdup_printf ("%s to %s", min_text, max_text);
}

static gboolean
parse_boolean (const char *text,
               gboolean   *out)
{
  static const char * const yes[] = { "true", "1", "yes", "on" };
  static const char * const no[] = { "false", "0", "no", "off" };

  for (guint i = 0; i < G_N_ELEMENTS (yes); i++)
    {
      if (g_ascii_strcasecmp (text, yes[i]) == 0)
        {
          *out = TRUE;
          return TRUE;
        }
      if (g_ascii_strcasecmp (text, no[i]) == 0)
        {
          *out = FALSE;
          return TRUE;
        }
    }
  return FALSE;
}

static gboolean
is_blank (const char *text)
{
  for (; *text != '\0'; text++)
    if (!g_ascii_isspace (*text))
      return FALSE;
  return TRUE;
}

/* Parses text as a value of the key's type within the schema's range.
 * Returns a floating-free (sunk) GVariant, or NULL with *reason set to the
 * end of a sentence that starts with "NAME=text", e.g. "is out of range (1 to 100)". */
static GVariant *
parse_value (GSettingsSchemaKey  *schema_key,
             const char          *text,
             char               **reason)
{
  const GVariantType *type = g_settings_schema_key_get_value_type (schema_key);
  g_autofree char *trimmed = g_strstrip (g_strdup (text));
  g_autofree char *bounds = describe_bounds (schema_key);
  g_autoptr(GVariant) value = NULL;

  if (g_variant_type_equal (type, G_VARIANT_TYPE_INT32) ||
      g_variant_type_equal (type, G_VARIANT_TYPE_INT64))
    {
      gboolean is_int32 = g_variant_type_equal (type, G_VARIANT_TYPE_INT32);
      gint64 number = 0;

      /* Whole string, base 10, no overflow: "8080x" and "1e3" are refused. */
      if (!g_ascii_string_to_signed (trimmed, 10, G_MININT64, G_MAXINT64, &number, NULL))
        {
          *reason = g_strdup_printf ("is not a whole number from %s", bounds);
          return NULL;
        }
      if (is_int32 && (number < G_MININT32 || number > G_MAXINT32))
        {
          *reason = g_strdup_printf ("is out of range (%s)", bounds);
          return NULL;
        }
      value = g_variant_ref_sink (is_int32 ? g_variant_new_int32 ((gint32) number)
                                           : g_variant_new_int64 (number));
    }
  else if (g_variant_type_equal (type, G_VARIANT_TYPE_DOUBLE))
    {
      char *end = NULL;
      double number;

      errno = 0;
      number = g_ascii_strtod (trimmed, &end);
      if (end == trimmed || *end != '\0' || errno == ERANGE || !isfinite (number))
        {
          if (bounds != NULL)
            *reason = g_strdup_printf ("is not a number from %s", bounds);
          else
            *reason = g_strdup ("is not a number");
          return NULL;
        }
      value = g_variant_ref_sink (g_variant_new_double (number));
    }
  else if (g_variant_type_equal (type, G_VARIANT_TYPE_BOOLEAN))
    {
      gboolean flag = FALSE;

      if (!parse_boolean (trimmed, &flag))
        {
          *reason = g_strdup ("is not true or false");
          return NULL;
        }
      value = g_variant_ref_sink (g_variant_new_boolean (flag));
    }
  else if (g_variant_type_equal (type, G_VARIANT_TYPE_STRING))
    {
      /* Paths and URLs as given: leading spaces may be meant. */
      value = g_variant_ref_sink (g_variant_new_string (text));
    }
  else if (g_variant_type_equal (type, G_VARIANT_TYPE_STRING_ARRAY))
    {
      g_auto(GStrv) argv = NULL;
      g_autoptr(GError) error = NULL;

      /* g_shell_parse_argv refuses an empty string; here it means "no arguments". */
      if (is_blank (text))
        argv = g_new0 (char *, 1);
      else if (!g_shell_parse_argv (text, NULL, &argv, &error))
        {
          /* GLib's own text repeats the whole value; say what to fix instead. */
          if (g_error_matches (error, G_SHELL_ERROR, G_SHELL_ERROR_BAD_QUOTING))
            *reason = g_strdup ("has a quote or backslash that is not closed; "
                                "quote arguments like --name 'Deck A'");
          else
            *reason = g_strdup_printf ("is not valid shell quoting (%s)", error->message);
          return NULL;
        }
      value = g_variant_ref_sink (g_variant_new_strv ((const char * const *) argv, -1));
    }
  else
    {
      g_autofree char *type_string = g_variant_type_dup_string (type);

      *reason = g_strdup_printf ("cannot be set this way (the setting has type %s)", type_string);
      return NULL;
    }

  if (!g_settings_schema_key_range_check (schema_key, value))
    {
      if (bounds != NULL)
        *reason = g_strdup_printf ("is out of range (%s)", bounds);
      else
        *reason = g_strdup ("is not one of the accepted values");
      return NULL;
    }

  return g_steal_pointer (&value);
}

/* How the DJ wrote it: "AUDIO_SERVER_WS_PORT=9090" for a variable,
 * "--set ws-port=9090" for a command-line option. */
static char *
describe_assignment (const char *key,
                     const char *text,
                     const char *source)
{
  if (source[0] == '-')
    return g_strdup_printf ("%s %s=%s", source, key, text);
  return g_strdup_printf ("%s=%s", source, text);
}

/* Validates text and, if good, makes it the value of key for this run.
 * source names where it came from, e.g. "AUDIO_SERVER_WS_PORT". */
static gboolean
try_override (RoadieSettings  *self,
              const char      *key,
              const char      *text,
              const char      *source,
              char           **reason)
{
  g_autoptr(GSettingsSchemaKey) schema_key = g_settings_schema_get_key (self->schema, key);
  g_autoptr(GVariant) old_value = NULL;
  g_autoptr(GVariant) new_value = NULL;
  Override *override;

  new_value = parse_value (schema_key, text, reason);
  if (new_value == NULL)
    return FALSE;

  old_value = roadie_settings_get_value (self, key);

  override = g_new0 (Override, 1);
  override->value = g_variant_ref (new_value);
  override->source = g_strdup (source);
  g_hash_table_replace (self->overrides, g_strdup (key), override);

  {
    g_autofree char *assignment = describe_assignment (key, text, source);
    g_message ("%s overrides %s for this run", assignment, key);
  }

  if (!g_variant_equal (old_value, new_value))
    g_signal_emit (self, signals[CHANGED], g_quark_from_string (key), key);

  return TRUE;
}

static char *
print_stored_value (RoadieSettings *self,
                    const char     *key)
{
  g_autoptr(GVariant) stored = g_settings_get_value (self->settings, key);

  return format_value (stored);
}

static void
apply_environment (RoadieSettings     *self,
                   const char * const *envp)
{
  if (envp == NULL)
    return;

  for (guint i = 0; i < G_N_ELEMENTS (env_bindings); i++)
    {
      const RoadieEnvBinding *binding = &env_bindings[i];
      const char *text = g_environ_getenv ((char **) envp, binding->env_name);
      g_autofree char *reason = NULL;

      if (text == NULL)
        continue;

      if (!g_settings_schema_has_key (self->schema, binding->key))
        {
          g_critical ("%s is bound to %s, which the schema %s does not have",
                      binding->env_name, binding->key, APP_ID);
          continue;
        }

      if (!try_override (self, binding->key, text, binding->env_name, &reason))
        {
          g_autofree char *stored = print_stored_value (self, binding->key);
          char *problem = g_strdup_printf ("%s=%s %s; using the stored value %s",
                                           binding->env_name, text, reason, stored);

          g_ptr_array_insert (self->problems, self->problems->len - 1, problem);
          g_warning ("%s", problem);
        }
    }
}

static void
on_gsettings_changed (GSettings      *settings,
                      const char     *key,
                      RoadieSettings *self)
{
  /* An overridden key keeps its value for this run, whatever is stored. */
  if (g_hash_table_contains (self->overrides, key))
    return;

  g_signal_emit (self, signals[CHANGED], g_quark_from_string (key), key);
}

static void
roadie_settings_constructed (GObject *object)
{
  RoadieSettings *self = ROADIE_SETTINGS (object);

  G_OBJECT_CLASS (roadie_settings_parent_class)->constructed (object);

  if (self->settings == NULL)
    self->settings = g_settings_new (APP_ID);
  g_object_get (self->settings, "settings-schema", &self->schema, NULL);
  self->changed_handler = g_signal_connect (self->settings, "changed",
                                            G_CALLBACK (on_gsettings_changed), self);
}

static void
roadie_settings_dispose (GObject *object)
{
  RoadieSettings *self = ROADIE_SETTINGS (object);

  if (self->settings != NULL)
    g_clear_signal_handler (&self->changed_handler, self->settings);
  g_clear_object (&self->settings);

  G_OBJECT_CLASS (roadie_settings_parent_class)->dispose (object);
}

static void
roadie_settings_finalize (GObject *object)
{
  RoadieSettings *self = ROADIE_SETTINGS (object);

  g_clear_pointer (&self->schema, g_settings_schema_unref);
  g_clear_pointer (&self->overrides, g_hash_table_unref);
  g_clear_pointer (&self->problems, g_ptr_array_unref);

  G_OBJECT_CLASS (roadie_settings_parent_class)->finalize (object);
}

static void
roadie_settings_get_property (GObject    *object,
                              guint       prop_id,
                              GValue     *value,
                              GParamSpec *pspec)
{
  RoadieSettings *self = ROADIE_SETTINGS (object);

  switch (prop_id)
    {
    case PROP_GSETTINGS:
      g_value_set_object (value, self->settings);
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
roadie_settings_set_property (GObject      *object,
                              guint         prop_id,
                              const GValue *value,
                              GParamSpec   *pspec)
{
  RoadieSettings *self = ROADIE_SETTINGS (object);

  switch (prop_id)
    {
    case PROP_GSETTINGS:
      self->settings = g_value_dup_object (value);
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
roadie_settings_class_init (RoadieSettingsClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->constructed = roadie_settings_constructed;
  object_class->dispose = roadie_settings_dispose;
  object_class->finalize = roadie_settings_finalize;
  object_class->get_property = roadie_settings_get_property;
  object_class->set_property = roadie_settings_set_property;

  /* NULL means g_settings_new (APP_ID). */
  properties[PROP_GSETTINGS] =
    g_param_spec_object ("gsettings", NULL, NULL,
                         G_TYPE_SETTINGS,
                         (G_PARAM_READWRITE |
                          G_PARAM_CONSTRUCT_ONLY |
                          G_PARAM_STATIC_STRINGS |
                          G_PARAM_EXPLICIT_NOTIFY));

  g_object_class_install_properties (object_class, N_PROPS, properties);

  /**
   * RoadieSettings::changed:
   * @key: the key whose value for this run changed
   *
   * Emitted with @key as detail when a stored value changes and is not
   * overridden, or when an override changes the value. Read the new value
   * with the getters.
   */
  signals[CHANGED] =
    g_signal_new ("changed",
                  G_TYPE_FROM_CLASS (klass),
                  G_SIGNAL_RUN_LAST | G_SIGNAL_DETAILED,
                  0,
                  NULL, NULL,
                  NULL,
                  G_TYPE_NONE, 1, G_TYPE_STRING);
}

static void
roadie_settings_init (RoadieSettings *self)
{
  self->overrides = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, override_free);
  self->problems = g_ptr_array_new_with_free_func (g_free);
  g_ptr_array_add (self->problems, NULL);
}

RoadieSettings *
roadie_settings_new (GSettings          *settings,
                     const char * const *envp)
{
  RoadieSettings *self;

  g_return_val_if_fail (settings == NULL || G_IS_SETTINGS (settings), NULL);

  self = g_object_new (ROADIE_TYPE_SETTINGS, "gsettings", settings, NULL);
  apply_environment (self, envp);
  return self;
}

GSettings *
roadie_settings_get_gsettings (RoadieSettings *self)
{
  g_return_val_if_fail (ROADIE_IS_SETTINGS (self), NULL);

  return self->settings;
}

GVariant *
roadie_settings_get_value (RoadieSettings *self,
                           const char     *key)
{
  Override *override;

  g_return_val_if_fail (ROADIE_IS_SETTINGS (self), NULL);
  g_return_val_if_fail (key != NULL, NULL);

  override = g_hash_table_lookup (self->overrides, key);
  if (override != NULL)
    return g_variant_ref (override->value);
  return g_settings_get_value (self->settings, key);
}

int
roadie_settings_get_int (RoadieSettings *self,
                         const char     *key)
{
  g_autoptr(GVariant) value = roadie_settings_get_value (self, key);

  g_return_val_if_fail (value != NULL && g_variant_is_of_type (value, G_VARIANT_TYPE_INT32), 0);
  return g_variant_get_int32 (value);
}

gint64
roadie_settings_get_int64 (RoadieSettings *self,
                           const char     *key)
{
  g_autoptr(GVariant) value = roadie_settings_get_value (self, key);

  g_return_val_if_fail (value != NULL && g_variant_is_of_type (value, G_VARIANT_TYPE_INT64), 0);
  return g_variant_get_int64 (value);
}

double
roadie_settings_get_double (RoadieSettings *self,
                            const char     *key)
{
  g_autoptr(GVariant) value = roadie_settings_get_value (self, key);

  g_return_val_if_fail (value != NULL && g_variant_is_of_type (value, G_VARIANT_TYPE_DOUBLE), 0.0);
  return g_variant_get_double (value);
}

gboolean
roadie_settings_get_boolean (RoadieSettings *self,
                             const char     *key)
{
  g_autoptr(GVariant) value = roadie_settings_get_value (self, key);

  g_return_val_if_fail (value != NULL && g_variant_is_of_type (value, G_VARIANT_TYPE_BOOLEAN), FALSE);
  return g_variant_get_boolean (value);
}

char *
roadie_settings_get_string (RoadieSettings *self,
                            const char     *key)
{
  g_autoptr(GVariant) value = roadie_settings_get_value (self, key);

  g_return_val_if_fail (value != NULL && g_variant_is_of_type (value, G_VARIANT_TYPE_STRING), NULL);
  return g_variant_dup_string (value, NULL);
}

char **
roadie_settings_get_strv (RoadieSettings *self,
                          const char     *key)
{
  g_autoptr(GVariant) value = roadie_settings_get_value (self, key);

  g_return_val_if_fail (value != NULL && g_variant_is_of_type (value, G_VARIANT_TYPE_STRING_ARRAY), NULL);
  return g_variant_dup_strv (value, NULL);
}

/* source is the option, e.g. "--set": messages then read
 * "--set ws-port=9090 overrides ws-port for this run". */
gboolean
roadie_settings_set_override (RoadieSettings  *self,
                              const char      *key,
                              const char      *text,
                              const char      *source,
                              GError         **error)
{
  g_autofree char *reason = NULL;

  g_return_val_if_fail (ROADIE_IS_SETTINGS (self), FALSE);
  g_return_val_if_fail (key != NULL, FALSE);
  g_return_val_if_fail (text != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (source == NULL)
    source = key;

  if (!g_settings_schema_has_key (self->schema, key))
    {
      g_set_error (error, ROADIE_ERROR, ROADIE_ERROR_INVALID_SETTING,
                   "There is no setting called “%s”; "
                   "`gsettings list-keys %s` lists them",
                   key, APP_ID);
      return FALSE;
    }

  if (!try_override (self, key, text, source, &reason))
    {
      g_autofree char *assignment = describe_assignment (key, text, source);

      g_set_error (error, ROADIE_ERROR, ROADIE_ERROR_INVALID_SETTING,
                   "%s %s", assignment, reason);
      return FALSE;
    }

  return TRUE;
}

const char *
roadie_settings_get_override_source (RoadieSettings *self,
                                     const char     *key)
{
  Override *override;

  g_return_val_if_fail (ROADIE_IS_SETTINGS (self), NULL);
  g_return_val_if_fail (key != NULL, NULL);

  override = g_hash_table_lookup (self->overrides, key);
  return override != NULL ? override->source : NULL;
}

const char * const *
roadie_settings_get_problems (RoadieSettings *self)
{
  g_return_val_if_fail (ROADIE_IS_SETTINGS (self), NULL);

  return (const char * const *) self->problems->pdata;
}

char *
roadie_settings_dup_log_file (RoadieSettings *self)
{
  g_autofree char *path = NULL;

  g_return_val_if_fail (ROADIE_IS_SETTINGS (self), NULL);

  path = roadie_settings_get_string (self, "log-file");
  if (path == NULL || path[0] == '\0')
    return g_build_filename (g_get_user_state_dir (), "roadie", "audio-server.log", NULL);

  /* A DJ typing ~/logs/audio.log into Preferences means their home. */
  if (path[0] == '~' && (path[1] == '/' || path[1] == '\0'))
    return g_build_filename (g_get_home_dir (), path + 1, NULL);

  return g_steal_pointer (&path);
}

const RoadieEnvBinding *
roadie_settings_get_env_bindings (guint *n_bindings)
{
  if (n_bindings != NULL)
    *n_bindings = G_N_ELEMENTS (env_bindings);
  return env_bindings;
}
