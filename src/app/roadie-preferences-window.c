/* roadie-preferences-window.c: every Roadie setting, generated from the schema.
 *
 * No .ui template: apart from the token row, every row is made from the
 * schema at run time, and the layout below is data (key → page and group).
 */
#include "config.h"

#include <string.h>

#include <glib/gi18n.h>

#include "roadie-control-token.h"
#include "roadie-preferences-window.h"
#include "roadie-setting-row.h"
#include "roadie-ws-profile.h"

#define MAIN_SCHEMA_ID "io.github.roadie.Roadie"
#define TOKEN_MASK     "••••••••••••••••••••••••"

struct _RoadiePreferencesWindow
{
  AdwPreferencesWindow  parent_instance;

  RoadieSettings       *settings;
  RoadieControlApi     *control_api;
  GSettings            *profiles[ROADIE_WS_N_PROFILES];

  /* "schema-id key" → row; the rows belong to the widget tree. */
  GHashTable           *rows;
  AdwToast             *restart_toast;

  char                 *token_path;
  char                 *token;
  GtkWidget            *token_row;
  GtkWidget            *token_reveal;
};

G_DEFINE_FINAL_TYPE (RoadiePreferencesWindow, roadie_preferences_window, ADW_TYPE_PREFERENCES_WINDOW)

enum {
  PROP_0,
  PROP_SETTINGS,
  PROP_CONTROL_API,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

/* ---- layout ------------------------------------------------------------- */

typedef enum
{
  PAGE_SERVER,
  PAGE_TIMING,
  PAGE_ENGINE,
  PAGE_CONTROL,
  PAGE_CONNECTIONS,
  N_PAGES
} Page;

static const struct
{
  const char *name;
  const char *title;
  const char *icon;
} pages[N_PAGES] = {
  { "server", N_("Audio Server"), "audio-speakers-symbolic" },
  { "timing", N_("Timing"), "preferences-system-time-symbolic" },
  { "engine", N_("Engine"), "audio-input-microphone-symbolic" },
  { "control", N_("Control API"), "network-server-symbolic" },
  { "connections", N_("Connections"), "network-workgroup-symbolic" },
};

typedef struct
{
  Page        page;
  const char *title;
  const char *description;
  const char *keys[8];
} GroupLayout;

static const GroupLayout main_groups[] = {
  { PAGE_SERVER, N_("Audio Server"), NULL,
    { "executable-path", "working-dir", "arguments", "auto-start", "auto-restart", "run-in-background" } },
  { PAGE_SERVER, N_("Ports and Addresses"), NULL,
    { "ws-port", "ws-url", "http-port", "http-url" } },
  { PAGE_SERVER, N_("Log"), N_("Where the audio server’s output goes, and how much of it is kept."),
    { "log-file", "log-max-bytes", "log-backups" } },
  { PAGE_TIMING, N_("Start and Stop"), N_("New values apply the next time the server starts or stops."),
    { "startup-timeout-ms", "stop-timeout-ms" } },
  { PAGE_TIMING, N_("Health Checks"), N_("New values apply from the next check, without a restart."),
    { "health-check-interval", "health-check-timeout-ms", "health-failure-threshold" } },
  { PAGE_TIMING, N_("Restarts"), N_("New values apply from the next crash."),
    { "restart-delay-ms", "restart-delay-multiplier", "restart-delay-max-ms", "restart-jitter",
      "max-restarts", "restart-window-ms", "stable-uptime-ms" } },
  { PAGE_ENGINE, N_("Audio"),
    N_("What the bundled roadie-engine analyses. Changes apply when the audio server restarts."),
    { "engine-capture", "engine-capture-node", "engine-fft-size", "engine-frame-rate" } },
  { PAGE_ENGINE, N_("Listeners"), N_("Where browsers and remote DJs reach the bundled roadie-engine."),
    { "engine-bind", "engine-browser-port", "engine-dj-port", "engine-dj-keys-file" } },
  { PAGE_ENGINE, N_("Relay and Visualizer"), N_("Links the bundled roadie-engine keeps to other servers."),
    { "engine-relay-to", "engine-dj-id", "engine-dj-name", "engine-dj-key-file", "engine-visualizer-url" } },
  { PAGE_CONTROL, N_("Control API"),
    N_("The HTTP API on 127.0.0.1 that other programs use to start, stop and restart the audio server. "
       "Changes here apply the next time Roadie starts."),
    { "control-api-enabled", "control-api-port" } },
};

/* The profile keys in reading order; a key not named here follows them. */
static const char * const profile_key_order[] = {
  "url", "connect-timeout-ms", "auto-reconnect",
  "initial-backoff-ms", "backoff-multiplier", "max-backoff-ms", "jitter",
  "max-connect-attempts", "max-reconnect-attempts",
  "heartbeat-interval-ms", "heartbeat-miss-threshold",
  "ping-interval-ms", "pong-timeout-ms", "queue-size",
  NULL
};

static const struct
{
  const char *title;
  const char *description;
  gboolean    has_presets;   /* the seed has LAN and WAN values for it */
} profile_texts[ROADIE_WS_N_PROFILES] = {
  [ROADIE_WS_PROFILE_DJ_RELAY] = { N_("DJ Relay"), N_("This engine’s link to a remote VJ server, as a DJ."), TRUE },
  [ROADIE_WS_PROFILE_VISUALIZER] = { N_("Visualizer Link"), N_("The link to a visualizer endpoint, e.g. port 8765."), TRUE },
  [ROADIE_WS_PROFILE_ENGINE_LINK] = { N_("Engine Link"), N_("The window’s link to the audio engine, for the live spectrum."), FALSE },
  [ROADIE_WS_PROFILE_GENERIC] = { N_("Generic Client"), N_("A plain client (the seed’s VizClient)."), TRUE },
};

/* Keys the running server only sees when it is started again. */
static gboolean
needs_server_restart (const char *key)
{
  static const char * const keys[] = { "executable-path", "working-dir", "arguments", "ws-port", NULL };

  return g_strv_contains (keys, key) || g_str_has_prefix (key, "engine-");
}

/* ---- rows --------------------------------------------------------------- */

static char *
row_id (const char *schema_id,
        const char *key)
{
  return g_strconcat (schema_id, " ", key, NULL);
}

static char *
dup_override_text (RoadiePreferencesWindow *self,
                   const char              *key)
{
  const char *source = roadie_settings_get_override_source (self->settings, key);
  g_autoptr(GVariant) value = NULL;
  g_autofree char *text = NULL;

  if (source == NULL)
    return NULL;

  value = roadie_settings_get_value (self->settings, key);
  if (g_variant_is_of_type (value, G_VARIANT_TYPE_STRING))
    text = g_variant_dup_string (value, NULL);
  else if (g_variant_is_of_type (value, G_VARIANT_TYPE_STRING_ARRAY))
    {
      g_autofree const char **words = g_variant_get_strv (value, NULL);

      text = g_strjoinv (" ", (char **) words);
    }
  else
    text = g_variant_print (value, FALSE);

  /* "--set" and the like name an option; the rest are variables. */
  if (g_str_has_prefix (source, "-"))
    return g_strdup_printf (_("Overridden for this run by %s %s=%s"), source, key, text);
  return g_strdup_printf (_("Overridden for this run by %s=%s"), source, text);
}

static void
add_row (RoadiePreferencesWindow *self,
         AdwPreferencesGroup     *group,
         GSettings               *settings,
         const char              *schema_id,
         const char              *key,
         gboolean                 main_schema)
{
  g_autofree char *override_text = main_schema ? dup_override_text (self, key) : NULL;
  GtkWidget *row = roadie_setting_row_new (settings, key, override_text);

  adw_preferences_group_add (group, row);
  g_hash_table_insert (self->rows, row_id (schema_id, key), row);
}

static AdwPreferencesGroup *
new_group (AdwPreferencesPage *page,
           const char         *title,
           const char         *description)
{
  GtkWidget *group = adw_preferences_group_new ();

  adw_preferences_group_set_title (ADW_PREFERENCES_GROUP (group), title);
  if (description != NULL)
    adw_preferences_group_set_description (ADW_PREFERENCES_GROUP (group), description);
  adw_preferences_page_add (page, ADW_PREFERENCES_GROUP (group));

  return ADW_PREFERENCES_GROUP (group);
}

static int
compare_strings (gconstpointer a,
                 gconstpointer b)
{
  return g_strcmp0 (*(const char * const *) a, *(const char * const *) b);
}

static void
build_main_pages (RoadiePreferencesWindow *self,
                  AdwPreferencesPage     **page_widgets)
{
  GSettings *gsettings = roadie_settings_get_gsettings (self->settings);
  g_autoptr(GSettingsSchema) schema = NULL;
  g_autoptr(GHashTable) placed = g_hash_table_new (g_str_hash, g_str_equal);
  g_autoptr(GPtrArray) others = g_ptr_array_new ();
  g_auto(GStrv) keys = NULL;

  g_object_get (gsettings, "settings-schema", &schema, NULL);

  for (guint i = 0; i < G_N_ELEMENTS (main_groups); i++)
    {
      const GroupLayout *layout = &main_groups[i];
      AdwPreferencesGroup *group = NULL;

      for (guint k = 0; k < G_N_ELEMENTS (layout->keys) && layout->keys[k] != NULL; k++)
        {
          if (!g_settings_schema_has_key (schema, layout->keys[k]))
            continue;
          if (group == NULL)
            group = new_group (page_widgets[layout->page], _(layout->title),
                               layout->description != NULL ? _(layout->description) : NULL);
          add_row (self, group, gsettings, MAIN_SCHEMA_ID, layout->keys[k], TRUE);
          g_hash_table_add (placed, (gpointer) layout->keys[k]);
        }
    }

  /* Whatever the table does not name still gets a row. */
  keys = g_settings_schema_list_keys (schema);
  for (guint i = 0; keys[i] != NULL; i++)
    if (!g_hash_table_contains (placed, keys[i]))
      g_ptr_array_add (others, keys[i]);
  if (others->len > 0)
    {
      AdwPreferencesGroup *group = new_group (page_widgets[PAGE_SERVER], _("Other"), NULL);

      g_ptr_array_sort (others, compare_strings);
      for (guint i = 0; i < others->len; i++)
        add_row (self, group, gsettings, MAIN_SCHEMA_ID, others->pdata[i], TRUE);
    }
}

/* ---- connection profiles ------------------------------------------------ */

static void
on_preset_clicked (GtkButton               *button,
                   RoadiePreferencesWindow *self)
{
  RoadieWsProfile profile = GPOINTER_TO_UINT (g_object_get_data (G_OBJECT (button), "roadie-profile"));
  const char *what = g_object_get_data (G_OBJECT (button), "roadie-preset");
  g_autoptr(AdwToast) toast = NULL;

  if (g_str_equal (what, "lan"))
    {
      roadie_ws_profile_apply_network (self->profiles[profile], profile, ROADIE_WS_NETWORK_LAN);
      toast = adw_toast_new_format (_("%s: LAN values set"), _(profile_texts[profile].title));
    }
  else if (g_str_equal (what, "wan"))
    {
      roadie_ws_profile_apply_network (self->profiles[profile], profile, ROADIE_WS_NETWORK_WAN);
      toast = adw_toast_new_format (_("%s: WAN values set"), _(profile_texts[profile].title));
    }
  else
    {
      roadie_ws_profile_restore_defaults (self->profiles[profile]);
      toast = adw_toast_new_format (_("%s: defaults restored"), _(profile_texts[profile].title));
    }
  adw_preferences_window_add_toast (ADW_PREFERENCES_WINDOW (self), g_steal_pointer (&toast));
}

static GtkWidget *
preset_button (RoadiePreferencesWindow *self,
               RoadieWsProfile          profile,
               const char              *what,
               const char              *label,
               const char              *tooltip)
{
  GtkWidget *button = gtk_button_new_with_mnemonic (label);
  g_autofree char *name = g_strdup_printf ("%s-%s", what, roadie_ws_profile_get_name (profile));

  gtk_widget_set_name (button, name);
  gtk_widget_set_tooltip_text (button, tooltip);
  gtk_widget_set_valign (button, GTK_ALIGN_CENTER);
  g_object_set_data (G_OBJECT (button), "roadie-profile", GUINT_TO_POINTER (profile));
  g_object_set_data (G_OBJECT (button), "roadie-preset", (gpointer) what);
  g_signal_connect_object (button, "clicked", G_CALLBACK (on_preset_clicked), self, 0);

  return button;
}

static void
build_connections_page (RoadiePreferencesWindow *self,
                        AdwPreferencesPage      *page)
{
  g_autoptr(GSettings) connections = g_settings_get_child (roadie_settings_get_gsettings (self->settings),
                                                           "connections");

  for (RoadieWsProfile profile = 0; profile < ROADIE_WS_N_PROFILES; profile++)
    {
      const char *schema_id = roadie_ws_profile_get_schema_id (profile);
      g_autoptr(GSettingsSchema) schema = NULL;
      g_autoptr(GPtrArray) rest = g_ptr_array_new ();
      g_auto(GStrv) keys = NULL;
      AdwPreferencesGroup *group;
      GtkWidget *buttons;

      /* A child of the main settings, so it shares their backend. */
      self->profiles[profile] = g_settings_get_child (connections, roadie_ws_profile_get_name (profile));
      group = new_group (page, _(profile_texts[profile].title), _(profile_texts[profile].description));

      buttons = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 6);
      if (profile_texts[profile].has_presets)
        {
          gtk_box_append (GTK_BOX (buttons),
                          preset_button (self, profile, "lan", _("_LAN"),
                                         _("Quick retries for a local network")));
          gtk_box_append (GTK_BOX (buttons),
                          preset_button (self, profile, "wan", _("_WAN"),
                                         _("Patient retries for the internet")));
        }
      gtk_box_append (GTK_BOX (buttons),
                      preset_button (self, profile, "defaults", _("_Restore Defaults"),
                                     _("Put every value of this link back to its default")));
      adw_preferences_group_set_header_suffix (group, buttons);

      g_object_get (self->profiles[profile], "settings-schema", &schema, NULL);
      for (guint k = 0; profile_key_order[k] != NULL; k++)
        if (g_settings_schema_has_key (schema, profile_key_order[k]))
          add_row (self, group, self->profiles[profile], schema_id, profile_key_order[k], FALSE);

      keys = g_settings_schema_list_keys (schema);
      for (guint i = 0; keys[i] != NULL; i++)
        if (!g_strv_contains (profile_key_order, keys[i]))
          g_ptr_array_add (rest, keys[i]);
      g_ptr_array_sort (rest, compare_strings);
      for (guint i = 0; i < rest->len; i++)
        add_row (self, group, self->profiles[profile], schema_id, rest->pdata[i], FALSE);
    }
}

/* ---- control API token -------------------------------------------------- */

static void
show_toast (RoadiePreferencesWindow *self,
            const char              *text)
{
  AdwToast *toast = adw_toast_new (text);

  adw_preferences_window_add_toast (ADW_PREFERENCES_WINDOW (self), toast);
}

static void
update_token_row (RoadiePreferencesWindow *self)
{
  gboolean reveal = gtk_toggle_button_get_active (GTK_TOGGLE_BUTTON (self->token_reveal));

  if (self->token == NULL)
    adw_action_row_set_subtitle (ADW_ACTION_ROW (self->token_row), _("No token could be read"));
  else
    adw_action_row_set_subtitle (ADW_ACTION_ROW (self->token_row), reveal ? self->token : TOKEN_MASK);
  gtk_widget_set_tooltip_text (self->token_reveal, reveal ? _("Hide the token") : _("Show the token"));
}

static void
set_token (RoadiePreferencesWindow *self,
           char                    *token)
{
  if (self->token != NULL)
    memset (self->token, 0, strlen (self->token));
  g_free (self->token);
  self->token = token;
  update_token_row (self);
}

static void
on_token_reveal_toggled (RoadiePreferencesWindow *self)
{
  update_token_row (self);
}

static void
on_token_copy_clicked (RoadiePreferencesWindow *self)
{
  if (self->token == NULL)
    return;
  gdk_clipboard_set_text (gtk_widget_get_clipboard (GTK_WIDGET (self)), self->token);
  show_toast (self, _("Token copied"));
}

static void
on_token_regenerate_clicked (RoadiePreferencesWindow *self)
{
  g_autoptr(GError) error = NULL;
  char *token = roadie_control_token_regenerate (self->token_path, &error);

  if (token == NULL)
    {
      g_autofree char *message = g_strdup_printf (_("No new token: %s"), error->message);

      show_toast (self, message);
      return;
    }
  /* The running API switches at once: the old token stops working. */
  if (self->control_api != NULL)
    roadie_control_api_set_token (self->control_api, token);
  set_token (self, token);
  show_toast (self, _("New token made; the old one no longer works"));
}

static GtkWidget *
token_button (const char *name,
              const char *icon,
              const char *tooltip,
              GType       type)
{
  GtkWidget *button = g_object_new (type, "icon-name", icon, "valign", GTK_ALIGN_CENTER, NULL);

  gtk_widget_set_name (button, name);
  gtk_widget_set_tooltip_text (button, tooltip);
  gtk_widget_add_css_class (button, "flat");

  return button;
}

static void
build_token_group (RoadiePreferencesWindow *self,
                   AdwPreferencesPage      *page)
{
  g_autofree char *description = NULL;
  g_autoptr(GError) error = NULL;
  AdwPreferencesGroup *group;
  GtkWidget *copy;
  GtkWidget *regenerate;

  self->token_path = roadie_control_token_default_path ();
  description = g_strdup_printf (_("Programs send this token to start, stop or restart the audio server "
                                   "(“Authorization: Bearer TOKEN”). It is kept in %s."), self->token_path);
  group = new_group (page, _("Access Token"), description);

  self->token_row = adw_action_row_new ();
  gtk_widget_set_name (self->token_row, "token-row");
  adw_preferences_row_set_title (ADW_PREFERENCES_ROW (self->token_row), _("Token"));

  self->token_reveal = token_button ("token-reveal", "view-reveal-symbolic", NULL, GTK_TYPE_TOGGLE_BUTTON);
  copy = token_button ("token-copy", "edit-copy-symbolic", _("Copy the token"), GTK_TYPE_BUTTON);
  regenerate = token_button ("token-regenerate", "view-refresh-symbolic",
                             _("Make a new token; the old one stops working"), GTK_TYPE_BUTTON);
  g_signal_connect_object (self->token_reveal, "toggled", G_CALLBACK (on_token_reveal_toggled),
                           self, G_CONNECT_SWAPPED);
  g_signal_connect_object (copy, "clicked", G_CALLBACK (on_token_copy_clicked), self, G_CONNECT_SWAPPED);
  g_signal_connect_object (regenerate, "clicked", G_CALLBACK (on_token_regenerate_clicked),
                           self, G_CONNECT_SWAPPED);
  adw_action_row_add_suffix (ADW_ACTION_ROW (self->token_row), self->token_reveal);
  adw_action_row_add_suffix (ADW_ACTION_ROW (self->token_row), copy);
  adw_action_row_add_suffix (ADW_ACTION_ROW (self->token_row), regenerate);
  adw_preferences_group_add (group, self->token_row);

  /* A few bytes in $XDG_RUNTIME_DIR (tmpfs): read here, once. */
  set_token (self, roadie_control_token_load_or_create (self->token_path, &error));
  if (error != NULL)
    adw_action_row_set_subtitle (ADW_ACTION_ROW (self->token_row), error->message);
}

/* ---- restart offer ------------------------------------------------------ */

static void
on_restart_toast_dismissed (AdwToast                *toast,
                            RoadiePreferencesWindow *self)
{
  if (self->restart_toast == toast)
    g_clear_object (&self->restart_toast);
}

static void
on_main_settings_changed (GSettings               *settings,
                          const char              *key,
                          RoadiePreferencesWindow *self)
{
  if (!needs_server_restart (key) || self->restart_toast != NULL)
    return;

  self->restart_toast = adw_toast_new (_("Restart the audio server to apply"));
  adw_toast_set_button_label (self->restart_toast, _("_Restart"));
  adw_toast_set_action_name (self->restart_toast, "app.restart");
  adw_toast_set_timeout (self->restart_toast, 0);
  g_signal_connect_object (self->restart_toast, "dismissed", G_CALLBACK (on_restart_toast_dismissed), self, 0);
  adw_preferences_window_add_toast (ADW_PREFERENCES_WINDOW (self), g_object_ref (self->restart_toast));
}

/* ---- object ------------------------------------------------------------- */

static void
roadie_preferences_window_constructed (GObject *object)
{
  RoadiePreferencesWindow *self = ROADIE_PREFERENCES_WINDOW (object);
  AdwPreferencesPage *page_widgets[N_PAGES];

  G_OBJECT_CLASS (roadie_preferences_window_parent_class)->constructed (object);

  g_return_if_fail (self->settings != NULL);

  gtk_window_set_title (GTK_WINDOW (self), _("Preferences"));
  gtk_window_set_default_size (GTK_WINDOW (self), 760, 720);
  adw_preferences_window_set_search_enabled (ADW_PREFERENCES_WINDOW (self), TRUE);

  for (Page p = 0; p < N_PAGES; p++)
    {
      page_widgets[p] = ADW_PREFERENCES_PAGE (adw_preferences_page_new ());
      adw_preferences_page_set_name (page_widgets[p], pages[p].name);
      adw_preferences_page_set_title (page_widgets[p], _(pages[p].title));
      adw_preferences_page_set_icon_name (page_widgets[p], pages[p].icon);
    }

  build_main_pages (self, page_widgets);
  build_token_group (self, page_widgets[PAGE_CONTROL]);
  build_connections_page (self, page_widgets[PAGE_CONNECTIONS]);

  for (Page p = 0; p < N_PAGES; p++)
    adw_preferences_window_add (ADW_PREFERENCES_WINDOW (self), page_widgets[p]);

  g_signal_connect_object (roadie_settings_get_gsettings (self->settings), "changed",
                           G_CALLBACK (on_main_settings_changed), self, 0);
}

static void
roadie_preferences_window_dispose (GObject *object)
{
  RoadiePreferencesWindow *self = ROADIE_PREFERENCES_WINDOW (object);

  g_clear_pointer (&self->rows, g_hash_table_unref);
  g_clear_object (&self->restart_toast);
  g_clear_object (&self->control_api);

  G_OBJECT_CLASS (roadie_preferences_window_parent_class)->dispose (object);
}

static void
roadie_preferences_window_finalize (GObject *object)
{
  RoadiePreferencesWindow *self = ROADIE_PREFERENCES_WINDOW (object);

  for (guint i = 0; i < ROADIE_WS_N_PROFILES; i++)
    g_clear_object (&self->profiles[i]);
  g_clear_object (&self->settings);
  if (self->token != NULL)
    memset (self->token, 0, strlen (self->token));
  g_clear_pointer (&self->token, g_free);
  g_clear_pointer (&self->token_path, g_free);

  G_OBJECT_CLASS (roadie_preferences_window_parent_class)->finalize (object);
}

static void
roadie_preferences_window_get_property (GObject    *object,
                                        guint       prop_id,
                                        GValue     *value,
                                        GParamSpec *pspec)
{
  RoadiePreferencesWindow *self = ROADIE_PREFERENCES_WINDOW (object);

  switch (prop_id)
    {
    case PROP_SETTINGS:
      g_value_set_object (value, self->settings);
      break;

    case PROP_CONTROL_API:
      g_value_set_object (value, self->control_api);
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
roadie_preferences_window_set_property (GObject      *object,
                                        guint         prop_id,
                                        const GValue *value,
                                        GParamSpec   *pspec)
{
  RoadiePreferencesWindow *self = ROADIE_PREFERENCES_WINDOW (object);

  switch (prop_id)
    {
    case PROP_SETTINGS:
      self->settings = g_value_dup_object (value);
      break;

    case PROP_CONTROL_API:
      self->control_api = g_value_dup_object (value);
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
roadie_preferences_window_class_init (RoadiePreferencesWindowClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->constructed = roadie_preferences_window_constructed;
  object_class->dispose = roadie_preferences_window_dispose;
  object_class->finalize = roadie_preferences_window_finalize;
  object_class->get_property = roadie_preferences_window_get_property;
  object_class->set_property = roadie_preferences_window_set_property;

  properties[PROP_SETTINGS] =
    g_param_spec_object ("settings", NULL, NULL,
                         ROADIE_TYPE_SETTINGS,
                         (G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY));

  properties[PROP_CONTROL_API] =
    g_param_spec_object ("control-api", NULL, NULL,
                         ROADIE_TYPE_CONTROL_API,
                         (G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY));

  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
roadie_preferences_window_init (RoadiePreferencesWindow *self)
{
  self->rows = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
}

RoadiePreferencesWindow *
roadie_preferences_window_new (GtkWindow        *parent,
                               RoadieSettings   *settings,
                               RoadieControlApi *control_api)
{
  g_return_val_if_fail (parent == NULL || GTK_IS_WINDOW (parent), NULL);
  g_return_val_if_fail (ROADIE_IS_SETTINGS (settings), NULL);
  g_return_val_if_fail (control_api == NULL || ROADIE_IS_CONTROL_API (control_api), NULL);

  return g_object_new (ROADIE_TYPE_PREFERENCES_WINDOW,
                       "settings", settings,
                       "control-api", control_api,
                       /* app.restart is found through the application. */
                       "application", parent != NULL ? gtk_window_get_application (parent) : NULL,
                       "transient-for", parent,
                       "destroy-with-parent", TRUE,
                       NULL);
}

GtkWidget *
roadie_preferences_window_find_row (RoadiePreferencesWindow *self,
                                    const char              *schema_id,
                                    const char              *key)
{
  g_autofree char *id = NULL;

  g_return_val_if_fail (ROADIE_IS_PREFERENCES_WINDOW (self), NULL);
  g_return_val_if_fail (schema_id != NULL && key != NULL, NULL);

  if (self->rows == NULL)
    return NULL;
  id = row_id (schema_id, key);
  return g_hash_table_lookup (self->rows, id);
}
