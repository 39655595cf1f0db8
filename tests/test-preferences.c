/* test-preferences.c: the preferences window, generated from the schemas.
 *
 * Runs under a private Xvfb. Checks that every key of the main schema and
 * of the four connection profiles has exactly one row, that rows take their
 * limits from the schema and write through to GSettings, that an override
 * for this run shows and locks its row, that the LAN preset and Restore
 * Defaults write the seed's values, that a key the server only reads at
 * start offers a restart through app.restart, that a new token reaches the
 * running control API, and that a changed health-check interval reaches a
 * supervisor running the fake audio server. Saves screenshots.
 */
#include "config.h"

#include <string.h>

#include <adwaita.h>
#include <libsoup/soup.h>

#include "roadie-control-token.h"
#include "roadie-preferences-window.h"
#include "roadie-setting-row.h"
#include "roadie-supervisor.h"
#include "roadie-test-gtk.h"
#include "roadie-test-util.h"
#include "roadie-ws-profile.h"

#define MAIN_SCHEMA_ID "io.github.roadie.Roadie"

typedef struct
{
  GSettings               *gsettings;
  RoadieSettings          *settings;
  RoadiePreferencesWindow *window;
} Prefs;

static void
prefs_init (Prefs              *prefs,
            const char * const *environ,
            RoadieControlApi   *control_api)
{
  prefs->gsettings = roadie_test_new_gsettings ();
  prefs->settings = roadie_settings_new (prefs->gsettings, environ);
  prefs->window = roadie_preferences_window_new (NULL, prefs->settings, control_api);
  g_object_ref_sink (prefs->window);
}

static gboolean
pointer_cleared (gpointer data)
{
  return *(gpointer *) data == NULL;
}

static void
prefs_clear (Prefs *prefs)
{
  gpointer weak = prefs->window;

  g_object_add_weak_pointer (weak, &weak);
  gtk_window_destroy (GTK_WINDOW (prefs->window));
  g_object_unref (prefs->window);
  /* Nothing else may keep the window (and its rows' bindings) alive. */
  g_assert_true (roadie_test_wait_until (pointer_cleared, &weak, 5000));
  g_clear_object (&prefs->settings);
  g_clear_object (&prefs->gsettings);
}

/* ---- widget tree helpers ------------------------------------------------ */

typedef gboolean (*WidgetMatch) (GtkWidget *widget,
                                 gpointer   data);

static void
collect (GtkWidget   *widget,
         WidgetMatch  match,
         gpointer     data,
         GPtrArray   *found)
{
  if (match (widget, data))
    g_ptr_array_add (found, widget);
  for (GtkWidget *child = gtk_widget_get_first_child (widget);
       child != NULL;
       child = gtk_widget_get_next_sibling (child))
    collect (child, match, data, found);
}

static gboolean
is_setting_row (GtkWidget *widget,
                gpointer   data)
{
  return roadie_setting_row_get_key (widget) != NULL;
}

static gboolean
has_name (GtkWidget *widget,
          gpointer   data)
{
  return g_strcmp0 (gtk_widget_get_name (widget), data) == 0;
}

static gboolean
is_button (GtkWidget *widget,
           gpointer   data)
{
  return GTK_IS_BUTTON (widget);
}

static GtkWidget *
find_named (Prefs      *prefs,
            const char *name)
{
  g_autoptr(GPtrArray) found = g_ptr_array_new ();

  collect (GTK_WIDGET (prefs->window), has_name, (gpointer) name, found);
  g_assert_cmpuint (found->len, ==, 1);
  return found->pdata[0];
}

static GtkWidget *
row (Prefs      *prefs,
     const char *schema_id,
     const char *key)
{
  GtkWidget *found = roadie_preferences_window_find_row (prefs->window, schema_id, key);

  g_assert_nonnull (found);
  g_assert_cmpstr (roadie_setting_row_get_key (found), ==, key);
  return found;
}

static GtkSpinButton *
spin (Prefs      *prefs,
      const char *schema_id,
      const char *key)
{
  GtkWidget *editor = roadie_setting_row_get_editor (row (prefs, schema_id, key));

  g_assert_true (GTK_IS_SPIN_BUTTON (editor));
  return GTK_SPIN_BUTTON (editor);
}

static const char * const *
all_schema_ids (void)
{
  static const char *ids[ROADIE_WS_N_PROFILES + 2] = { MAIN_SCHEMA_ID };

  for (guint i = 0; i < ROADIE_WS_N_PROFILES; i++)
    ids[i + 1] = roadie_ws_profile_get_schema_id (i);
  return ids;
}

static GSettingsSchema *
lookup_schema (const char *schema_id)
{
  GSettingsSchema *schema = g_settings_schema_source_lookup (g_settings_schema_source_get_default (),
                                                             schema_id, TRUE);

  g_assert_nonnull (schema);
  return schema;
}

static gboolean
window_mapped (gpointer data)
{
  return gtk_widget_get_mapped (data) && gtk_widget_get_width (data) > 0;
}

static void
present (Prefs *prefs)
{
  gtk_window_present (GTK_WINDOW (prefs->window));
  g_assert_true (roadie_test_wait_until (window_mapped, prefs->window, 10000));
  roadie_test_run_for (200);
}

/* ---- every key, one row -------------------------------------------------- */

static void
test_every_key_one_row (void)
{
  const char * const *schema_ids = all_schema_ids ();
  g_autoptr(GPtrArray) rows = g_ptr_array_new ();
  g_autoptr(GHashTable) seen = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  guint n_keys = 0;
  Prefs prefs = { 0 };

  prefs_init (&prefs, NULL, NULL);

  /* Every row in the tree is a key's row, and no key has two. */
  collect (GTK_WIDGET (prefs.window), is_setting_row, NULL, rows);
  for (guint i = 0; i < rows->len; i++)
    {
      GSettings *settings = roadie_setting_row_get_settings (rows->pdata[i]);
      g_autofree char *schema_id = NULL;
      char *id;

      g_object_get (settings, "schema-id", &schema_id, NULL);
      id = g_strconcat (schema_id, " ", roadie_setting_row_get_key (rows->pdata[i]), NULL);
      g_assert_false (g_hash_table_contains (seen, id));
      g_hash_table_add (seen, id);
    }

  for (guint s = 0; schema_ids[s] != NULL; s++)
    {
      g_autoptr(GSettingsSchema) schema = lookup_schema (schema_ids[s]);
      g_auto(GStrv) keys = g_settings_schema_list_keys (schema);

      for (guint k = 0; keys[k] != NULL; k++)
        {
          g_autofree char *id = g_strconcat (schema_ids[s], " ", keys[k], NULL);
          g_autoptr(GSettingsSchemaKey) schema_key = g_settings_schema_get_key (schema, keys[k]);
          GtkWidget *key_row = row (&prefs, schema_ids[s], keys[k]);

          g_assert_true (g_hash_table_contains (seen, id));
          g_assert_true (gtk_widget_get_root (key_row) == GTK_ROOT (prefs.window));
          /* Titled by the schema's summary (plus nothing: no override here). */
          g_assert_cmpstr (adw_preferences_row_get_title (ADW_PREFERENCES_ROW (key_row)), ==,
                           g_settings_schema_key_get_summary (schema_key));
          n_keys++;
        }
    }
  g_assert_cmpuint (rows->len, ==, n_keys);
  /* The main schema alone has over 40 keys, the profiles 14 each. */
  g_assert_cmpuint (n_keys, >=, 40 + 4 * 14);

  /* The row types follow the key types. */
  g_assert_true (ADW_IS_COMBO_ROW (row (&prefs, MAIN_SCHEMA_ID, "engine-capture")));
  g_assert_cmpuint (g_list_model_get_n_items (adw_combo_row_get_model (ADW_COMBO_ROW (row (&prefs, MAIN_SCHEMA_ID, "engine-capture")))),
                    ==, 4);
  g_assert_true (GTK_IS_SWITCH (roadie_setting_row_get_editor (row (&prefs, MAIN_SCHEMA_ID, "auto-restart"))));
  g_assert_true (ADW_IS_ENTRY_ROW (row (&prefs, MAIN_SCHEMA_ID, "executable-path")));
  g_assert_true (ADW_IS_ENTRY_ROW (row (&prefs, MAIN_SCHEMA_ID, "arguments")));
  /* Path keys get a chooser button. */
  {
    g_autoptr(GPtrArray) buttons = g_ptr_array_new ();
    const char *path_keys[] = { "executable-path", "working-dir", "log-file",
                                "engine-dj-keys-file", "engine-dj-key-file" };

    for (guint i = 0; i < G_N_ELEMENTS (path_keys); i++)
      {
        g_ptr_array_set_size (buttons, 0);
        collect (row (&prefs, MAIN_SCHEMA_ID, path_keys[i]), is_button, NULL, buttons);
        g_assert_cmpuint (buttons->len, >=, 1);
      }
  }

  prefs_clear (&prefs);
}

/* ---- numbers, switches, entries write through ----------------------------- */

static void
check_bounds (Prefs      *prefs,
              const char *schema_id)
{
  g_autoptr(GSettingsSchema) schema = lookup_schema (schema_id);
  g_auto(GStrv) keys = g_settings_schema_list_keys (schema);
  guint n_numbers = 0;

  for (guint k = 0; keys[k] != NULL; k++)
    {
      g_autoptr(GSettingsSchemaKey) schema_key = g_settings_schema_get_key (schema, keys[k]);
      g_autoptr(GVariant) range = g_settings_schema_key_get_range (schema_key);
      g_autoptr(GVariant) limits = NULL;
      const char *kind;
      double min, max;
      GtkAdjustment *adjustment;

      g_variant_get (range, "(&sv)", &kind, &limits);
      if (!g_str_equal (kind, "range"))
        continue;

      if (g_variant_is_of_type (limits, G_VARIANT_TYPE ("(ii)")))
        {
          int lo, hi;

          g_variant_get (limits, "(ii)", &lo, &hi);
          min = lo, max = hi;
        }
      else if (g_variant_is_of_type (limits, G_VARIANT_TYPE ("(uu)")))
        {
          guint lo, hi;

          g_variant_get (limits, "(uu)", &lo, &hi);
          min = lo, max = hi;
        }
      else if (g_variant_is_of_type (limits, G_VARIANT_TYPE ("(xx)")))
        {
          gint64 lo, hi;

          g_variant_get (limits, "(xx)", &lo, &hi);
          min = lo, max = hi;
        }
      else
        {
          g_variant_get (limits, "(dd)", &min, &max);
        }

      adjustment = gtk_spin_button_get_adjustment (spin (prefs, schema_id, keys[k]));
      g_assert_cmpfloat (gtk_adjustment_get_lower (adjustment), ==, min);
      g_assert_cmpfloat (gtk_adjustment_get_upper (adjustment), ==, max);
      n_numbers++;
    }
  g_assert_cmpuint (n_numbers, >, 0);
}

static void
assert_string_setting (GSettings  *settings,
                       const char *key,
                       const char *expected)
{
  g_autofree char *value = g_settings_get_string (settings, key);

  g_assert_cmpstr (value, ==, expected);
}

static void
test_rows_write_through (void)
{
  const char * const *schema_ids = all_schema_ids ();
  Prefs prefs = { 0 };
  GtkWidget *arguments;
  g_auto(GStrv) words = NULL;

  prefs_init (&prefs, NULL, NULL);

  for (guint s = 0; schema_ids[s] != NULL; s++)
    check_bounds (&prefs, schema_ids[s]);

  /* Spin buttons write the key at once … */
  gtk_spin_button_set_value (spin (&prefs, MAIN_SCHEMA_ID, "max-restarts"), 9);
  g_assert_cmpint (g_settings_get_int (prefs.gsettings, "max-restarts"), ==, 9);
  gtk_spin_button_set_value (spin (&prefs, MAIN_SCHEMA_ID, "restart-jitter"), 0.25);
  g_assert_cmpfloat_with_epsilon (g_settings_get_double (prefs.gsettings, "restart-jitter"), 0.25, 1e-9);
  gtk_spin_button_set_value (spin (&prefs, MAIN_SCHEMA_ID, "log-max-bytes"), 2097152);
  g_assert_cmpint (g_settings_get_int64 (prefs.gsettings, "log-max-bytes"), ==, 2097152);
  /* … and never past the schema's range. */
  gtk_spin_button_set_value (spin (&prefs, MAIN_SCHEMA_ID, "health-failure-threshold"), 5000);
  g_assert_cmpint (g_settings_get_int (prefs.gsettings, "health-failure-threshold"), ==, 100);
  /* The other way: a value set elsewhere shows. */
  g_settings_set_int (prefs.gsettings, "stop-timeout-ms", 7300);
  g_assert_cmpfloat (gtk_spin_button_get_value (spin (&prefs, MAIN_SCHEMA_ID, "stop-timeout-ms")), ==, 7300);
  /* ms keys step by 100. */
  {
    double step, page;

    gtk_spin_button_get_increments (spin (&prefs, MAIN_SCHEMA_ID, "stop-timeout-ms"), &step, &page);
    g_assert_cmpfloat (step, ==, 100);
  }

  gtk_switch_set_active (GTK_SWITCH (roadie_setting_row_get_editor (row (&prefs, MAIN_SCHEMA_ID, "auto-restart"))),
                         FALSE);
  g_assert_false (g_settings_get_boolean (prefs.gsettings, "auto-restart"));

  adw_combo_row_set_selected (ADW_COMBO_ROW (row (&prefs, MAIN_SCHEMA_ID, "engine-capture")), 3);
  assert_string_setting (prefs.gsettings, "engine-capture", "demo");
  g_settings_set_string (prefs.gsettings, "engine-capture", "input-device");
  g_assert_cmpuint (adw_combo_row_get_selected (ADW_COMBO_ROW (row (&prefs, MAIN_SCHEMA_ID, "engine-capture"))), ==, 1);

  /* Entries write on apply; a string list is typed shell-style. */
  gtk_editable_set_text (GTK_EDITABLE (row (&prefs, MAIN_SCHEMA_ID, "engine-bind")), "0.0.0.0");
  assert_string_setting (prefs.gsettings, "engine-bind", "127.0.0.1");
  g_signal_emit_by_name (row (&prefs, MAIN_SCHEMA_ID, "engine-bind"), "apply");
  assert_string_setting (prefs.gsettings, "engine-bind", "0.0.0.0");

  arguments = row (&prefs, MAIN_SCHEMA_ID, "arguments");
  gtk_editable_set_text (GTK_EDITABLE (arguments), "--port 9 --name 'DJ Alice'");
  g_signal_emit_by_name (arguments, "apply");
  words = g_settings_get_strv (prefs.gsettings, "arguments");
  g_assert_cmpstrv (words, ((const char *[]) { "--port", "9", "--name", "DJ Alice", NULL }));
  /* An unfinished quote is refused, the stored value stays. */
  gtk_editable_set_text (GTK_EDITABLE (arguments), "--name 'DJ");
  g_signal_emit_by_name (arguments, "apply");
  g_assert_true (gtk_widget_has_css_class (arguments, "error"));
  g_clear_pointer (&words, g_strfreev);
  words = g_settings_get_strv (prefs.gsettings, "arguments");
  g_assert_cmpuint (g_strv_length (words), ==, 4);
  /* Set elsewhere: the entry follows, quoted. */
  g_settings_set_strv (prefs.gsettings, "arguments", (const char *[]) { "--tag", "a b", NULL });
  g_assert_cmpstr (gtk_editable_get_text (GTK_EDITABLE (arguments)), ==, "--tag 'a b'");

  prefs_clear (&prefs);
}

/* ---- overrides ---------------------------------------------------------- */

static void
test_override_shown (void)
{
  const char *environ[] = { "AUDIO_SERVER_MAX_RESTARTS=7", "AUDIO_SERVER_EXECUTABLE_PATH=/opt/mismo/MismoDJ", NULL };
  Prefs prefs = { 0 };
  GtkWidget *masked;
  GtkWidget *path;
  GtkWidget *free_row;

  prefs_init (&prefs, environ, NULL);

  masked = row (&prefs, MAIN_SCHEMA_ID, "max-restarts");
  g_assert_cmpstr (adw_action_row_get_subtitle (ADW_ACTION_ROW (masked)), ==,
                   "Overridden for this run by AUDIO_SERVER_MAX_RESTARTS=7");
  g_assert_false (gtk_widget_get_sensitive (masked));
  /* The stored value is still what the row shows and edits later. */
  g_assert_cmpfloat (gtk_spin_button_get_value (spin (&prefs, MAIN_SCHEMA_ID, "max-restarts")), ==, 5);

  path = row (&prefs, MAIN_SCHEMA_ID, "executable-path");
  g_assert_nonnull (strstr (adw_preferences_row_get_title (ADW_PREFERENCES_ROW (path)),
                            "Overridden for this run by AUDIO_SERVER_EXECUTABLE_PATH=/opt/mismo/MismoDJ"));
  g_assert_false (gtk_widget_get_sensitive (path));

  free_row = row (&prefs, MAIN_SCHEMA_ID, "restart-window-ms");
  g_assert_true (gtk_widget_get_sensitive (free_row));
  g_assert_null (roadie_setting_row_get_override (free_row));
  g_assert_null (strstr (adw_action_row_get_subtitle (ADW_ACTION_ROW (free_row)), "Overridden"));

  prefs_clear (&prefs);
}

/* ---- LAN / WAN presets and restore defaults ------------------------------- */

static GSettings *
row_settings (Prefs          *prefs,
              RoadieWsProfile profile,
              const char     *key)
{
  return roadie_setting_row_get_settings (row (prefs, roadie_ws_profile_get_schema_id (profile), key));
}

static double
profile_spin_value (Prefs          *prefs,
                    RoadieWsProfile profile,
                    const char     *key)
{
  return gtk_spin_button_get_value (spin (prefs, roadie_ws_profile_get_schema_id (profile), key));
}

static void
test_presets (void)
{
  Prefs prefs = { 0 };
  GSettings *relay;
  GSettings *generic;
  g_autoptr(GPtrArray) found = g_ptr_array_new ();

  prefs_init (&prefs, NULL, NULL);
  relay = row_settings (&prefs, ROADIE_WS_PROFILE_DJ_RELAY, "initial-backoff-ms");
  generic = row_settings (&prefs, ROADIE_WS_PROFILE_GENERIC, "connect-timeout-ms");

  /* The profile rows edit the profile below the main settings. */
  {
    g_autofree char *path = NULL;

    g_object_get (relay, "path", &path, NULL);
    g_assert_cmpstr (path, ==, "/io/github/roadie/Roadie/connections/dj-relay/");
  }

  /* The seed's LAN values: DJ relay reconnects after 2 s, heartbeats every
   * second, 5 attempts; VizClient connects within 5 s and reconnects. */
  g_signal_emit_by_name (find_named (&prefs, "lan-dj-relay"), "clicked");
  g_assert_cmpuint (g_settings_get_uint (relay, "initial-backoff-ms"), ==, 2000);
  g_assert_cmpuint (g_settings_get_uint (relay, "heartbeat-interval-ms"), ==, 1000);
  g_assert_cmpuint (g_settings_get_uint (relay, "max-connect-attempts"), ==, 5);
  g_assert_cmpfloat (profile_spin_value (&prefs, ROADIE_WS_PROFILE_DJ_RELAY, "initial-backoff-ms"), ==, 2000);
  g_assert_cmpfloat (profile_spin_value (&prefs, ROADIE_WS_PROFILE_DJ_RELAY, "heartbeat-interval-ms"), ==, 1000);

  g_signal_emit_by_name (find_named (&prefs, "lan-generic"), "clicked");
  g_assert_cmpuint (g_settings_get_uint (generic, "connect-timeout-ms"), ==, 5000);
  g_assert_true (g_settings_get_boolean (generic, "auto-reconnect"));
  g_assert_true (gtk_switch_get_active (GTK_SWITCH (roadie_setting_row_get_editor (
    row (&prefs, roadie_ws_profile_get_schema_id (ROADIE_WS_PROFILE_GENERIC), "auto-reconnect")))));

  /* WAN: patient. */
  g_signal_emit_by_name (find_named (&prefs, "wan-dj-relay"), "clicked");
  g_assert_cmpuint (g_settings_get_uint (relay, "initial-backoff-ms"), ==, 10000);
  g_assert_cmpuint (g_settings_get_uint (relay, "heartbeat-interval-ms"), ==, 5000);

  /* Restore Defaults: the seed's defaults, for that profile only. */
  gtk_spin_button_set_value (spin (&prefs, roadie_ws_profile_get_schema_id (ROADIE_WS_PROFILE_DJ_RELAY), "queue-size"), 42);
  g_assert_cmpuint (g_settings_get_uint (relay, "queue-size"), ==, 42);
  g_signal_emit_by_name (find_named (&prefs, "defaults-dj-relay"), "clicked");
  g_assert_cmpuint (g_settings_get_uint (relay, "initial-backoff-ms"), ==, 5000);
  g_assert_cmpuint (g_settings_get_uint (relay, "heartbeat-interval-ms"), ==, 2000);
  g_assert_cmpuint (g_settings_get_uint (relay, "max-connect-attempts"), ==, 3);
  g_assert_cmpuint (g_settings_get_uint (relay, "queue-size"), ==, 500);
  g_assert_cmpfloat (profile_spin_value (&prefs, ROADIE_WS_PROFILE_DJ_RELAY, "queue-size"), ==, 500);
  g_assert_cmpuint (g_settings_get_uint (generic, "connect-timeout-ms"), ==, 5000);

  g_signal_emit_by_name (find_named (&prefs, "defaults-generic"), "clicked");
  g_assert_cmpuint (g_settings_get_uint (generic, "connect-timeout-ms"), ==, 10000);
  g_assert_false (g_settings_get_boolean (generic, "auto-reconnect"));

  /* The seed has no presets for the engine link: no buttons that do nothing. */
  collect (GTK_WIDGET (prefs.window), has_name, (gpointer) "lan-engine-link", found);
  g_assert_cmpuint (found->len, ==, 0);

  prefs_clear (&prefs);
}

/* ---- restart offer ------------------------------------------------------ */

static void
on_restart_activated (GSimpleAction *action,
                      GVariant      *parameter,
                      gpointer       user_data)
{
  (*(guint *) user_data)++;
}

typedef struct
{
  GtkWidget  *root;
  const char *label;
  GtkWidget  *button;
} ButtonSearch;

static gboolean
has_label (GtkWidget *widget,
           gpointer   data)
{
  return GTK_IS_BUTTON (widget)
         && g_strcmp0 (gtk_button_get_label (GTK_BUTTON (widget)), data) == 0
         && gtk_widget_get_mapped (widget);
}

static gboolean
button_shown (gpointer data)
{
  ButtonSearch *search = data;
  g_autoptr(GPtrArray) found = g_ptr_array_new ();

  collect (search->root, has_label, (gpointer) search->label, found);
  search->button = found->len > 0 ? found->pdata[0] : NULL;
  return search->button != NULL;
}

static void
test_restart_offer (void)
{
  g_autoptr(GSimpleActionGroup) app_actions = g_simple_action_group_new ();
  g_autoptr(GSimpleAction) restart = g_simple_action_new ("restart", NULL);
  ButtonSearch search = { 0 };
  guint restarts = 0;
  Prefs prefs = { 0 };

  prefs_init (&prefs, NULL, NULL);
  g_signal_connect (restart, "activate", G_CALLBACK (on_restart_activated), &restarts);
  g_action_map_add_action (G_ACTION_MAP (app_actions), G_ACTION (restart));
  gtk_widget_insert_action_group (GTK_WIDGET (prefs.window), "app", G_ACTION_GROUP (app_actions));
  present (&prefs);
  search.root = GTK_WIDGET (prefs.window);
  search.label = "_Restart";

  /* A timing applies at the next timer: nothing to restart for. */
  gtk_spin_button_set_value (spin (&prefs, MAIN_SCHEMA_ID, "health-check-interval"), 5000);
  roadie_test_run_for (300);
  g_assert_false (button_shown (&search));

  /* The engine reads its frame rate at start: offer the restart. */
  gtk_spin_button_set_value (spin (&prefs, MAIN_SCHEMA_ID, "engine-frame-rate"), 30);
  g_assert_true (roadie_test_wait_until (button_shown, &search, 5000));
  roadie_test_run_for (600);
  g_free (roadie_test_save_screenshot (GTK_WIDGET (prefs.window), "screenshots/preferences-restart.png"));
  g_signal_emit_by_name (search.button, "clicked");
  roadie_test_run_for (100);
  g_assert_cmpuint (restarts, ==, 1);

  prefs_clear (&prefs);
}

/* ---- token -------------------------------------------------------------- */

typedef struct
{
  guint status;
  gboolean done;
} HttpResult;

static void
on_http_done (GObject      *source,
              GAsyncResult *result,
              gpointer      user_data)
{
  HttpResult *http = user_data;
  g_autoptr(GBytes) body = soup_session_send_and_read_finish (SOUP_SESSION (source), result, NULL);

  http->status = soup_message_get_status (soup_session_get_async_result_message (SOUP_SESSION (source), result));
  http->done = TRUE;
}

static gboolean
http_done (gpointer data)
{
  return ((HttpResult *) data)->done;
}

/* POST /api/audio-server/stop with token: 403 for a wrong token. */
static guint
post_with_token (guint       port,
                 const char *token)
{
  g_autoptr(SoupSession) session = soup_session_new ();
  g_autofree char *url = g_strdup_printf ("http://127.0.0.1:%u/api/audio-server/stop", port);
  g_autofree char *bearer = g_strdup_printf ("Bearer %s", token);
  g_autoptr(SoupMessage) message = soup_message_new ("POST", url);
  HttpResult http = { 0 };

  soup_message_headers_replace (soup_message_get_request_headers (message), "Authorization", bearer);
  soup_session_send_and_read_async (session, message, G_PRIORITY_DEFAULT, NULL, on_http_done, &http);
  g_assert_true (roadie_test_wait_until (http_done, &http, 10000));
  return http.status;
}

static void
test_token (void)
{
  g_autoptr(GSettings) gsettings = roadie_test_new_gsettings ();
  g_autoptr(RoadieSettings) settings = roadie_settings_new (gsettings, NULL);
  g_autoptr(RoadieSupervisor) supervisor = roadie_supervisor_new (settings);
  g_autoptr(RoadieControlApi) api = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *old_token = roadie_control_token_load_or_create (NULL, &error);
  g_autofree char *new_token = NULL;
  g_autofree char *path = roadie_control_token_default_path ();
  GtkWidget *token_row;
  Prefs prefs = { 0 };
  guint port;

  roadie_test_allow_roadie_warnings ();
  g_assert_no_error (error);
  api = roadie_control_api_new (supervisor, old_token);
  g_assert_true (roadie_control_api_listen (api, 0, &error));
  port = roadie_control_api_get_port (api);
  /* A stopped server: the right token gets past authentication (not 401/403). */
  g_assert_cmpuint (post_with_token (port, old_token), !=, 403);

  prefs_init (&prefs, NULL, api);
  token_row = find_named (&prefs, "token-row");
  /* Masked until revealed. */
  g_assert_null (strstr (adw_action_row_get_subtitle (ADW_ACTION_ROW (token_row)), old_token));
  gtk_toggle_button_set_active (GTK_TOGGLE_BUTTON (find_named (&prefs, "token-reveal")), TRUE);
  g_assert_cmpstr (adw_action_row_get_subtitle (ADW_ACTION_ROW (token_row)), ==, old_token);

  g_signal_emit_by_name (find_named (&prefs, "token-regenerate"), "clicked");
  new_token = roadie_test_read_file (path, NULL);
  g_assert_nonnull (new_token);
  g_strstrip (new_token);
  g_assert_cmpstr (new_token, !=, old_token);
  g_assert_cmpstr (adw_action_row_get_subtitle (ADW_ACTION_ROW (token_row)), ==, new_token);

  /* The running API took the new token and refuses the old one. */
  g_assert_cmpuint (post_with_token (port, old_token), ==, 403);
  g_assert_cmpuint (post_with_token (port, new_token), !=, 403);

  /* Copy puts it on the clipboard. */
  g_signal_emit_by_name (find_named (&prefs, "token-copy"), "clicked");
  {
    GdkClipboard *clipboard = gtk_widget_get_clipboard (GTK_WIDGET (prefs.window));
    GdkContentProvider *content = gdk_clipboard_get_content (clipboard);
    GValue value = G_VALUE_INIT;

    g_assert_nonnull (content);
    g_value_init (&value, G_TYPE_STRING);
    g_assert_true (gdk_content_provider_get_value (content, &value, NULL));
    g_assert_cmpstr (g_value_get_string (&value), ==, new_token);
    g_value_unset (&value);
  }

  prefs_clear (&prefs);
  roadie_control_api_shutdown (api);
}

/* ---- a change reaches the supervisor ------------------------------------ */

typedef struct
{
  RoadieSupervisor     *supervisor;
  RoadieSupervisorState state;
} StateWait;

static gboolean
in_state (gpointer data)
{
  StateWait *wait = data;

  return roadie_supervisor_get_state (wait->supervisor) == wait->state;
}

static gboolean
unhealthy (gpointer data)
{
  return !roadie_supervisor_get_is_healthy (data);
}

static void
on_stopped (GObject      *source,
            GAsyncResult *result,
            gpointer      user_data)
{
  g_assert_true (roadie_supervisor_stop_finish (ROADIE_SUPERVISOR (source), result, NULL));
  *(gboolean *) user_data = TRUE;
}

static gboolean
flag_set (gpointer data)
{
  return *(gboolean *) data;
}

static gboolean
no_tagged (gpointer data)
{
  return roadie_test_count_tagged (data) == 0;
}

static void
test_reaches_supervisor (void)
{
  g_autoptr(RoadieSupervisor) supervisor = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *tag = roadie_test_new_tag ();
  g_autofree char *port_text = NULL;
  g_autofree char *log_name = g_strdup_printf ("%s.log", tag);
  g_autofree char *log_path = g_build_filename (roadie_test_tmpdir (), log_name, NULL);
  guint16 port = roadie_test_free_port ();
  GtkSpinButton *interval;
  StateWait running;
  gboolean stopped = FALSE;
  gint64 running_at;
  Prefs prefs = { 0 };

  roadie_test_allow_roadie_warnings ();
  prefs_init (&prefs, NULL, NULL);
  port_text = g_strdup_printf ("%u", port);
  g_settings_set_string (prefs.gsettings, "executable-path", roadie_test_fake_server ());
  g_settings_set_int (prefs.gsettings, "ws-port", port);
  g_settings_set_string (prefs.gsettings, "log-file", log_path);
  g_settings_set_boolean (prefs.gsettings, "auto-start", FALSE);
  g_settings_set_int (prefs.gsettings, "stop-timeout-ms", 1000);
  g_settings_set_int (prefs.gsettings, "health-check-timeout-ms", 500);
  /* Failures are counted, never acted on: is-healthy is what we watch. */
  g_settings_set_int (prefs.gsettings, "health-failure-threshold", 100);
  /* The server stops answering 4 s after it is ready. */
  g_settings_set_strv (prefs.gsettings, "arguments",
                       (const char *[]) { "--port", port_text, "--tag", tag, "--hang-after", "4000", NULL });
  interval = spin (&prefs, MAIN_SCHEMA_ID, "health-check-interval");
  gtk_spin_button_set_value (interval, 1000);

  supervisor = roadie_supervisor_new (prefs.settings);
  running = (StateWait) { supervisor, ROADIE_SUPERVISOR_STATE_RUNNING };
  g_assert_true (roadie_supervisor_start (supervisor, &error));
  g_assert_no_error (error);
  g_assert_true (roadie_test_wait_until (in_state, &running, 20000));
  running_at = g_get_monotonic_time ();

  /* An hour between checks, from the check after the one already due (at
   * 1 s, while the server still answers). With 1 s the hang at 4 s would
   * be seen by 5.5 s; with the new interval nothing looks until 1 h. */
  gtk_spin_button_set_value (interval, 3600000);
  g_assert_cmpint (g_settings_get_int (prefs.gsettings, "health-check-interval"), ==, 3600000);
  roadie_test_run_for (9000 - (g_get_monotonic_time () - running_at) / 1000);
  g_assert_true (roadie_supervisor_get_is_healthy (supervisor));
  g_assert_cmpint (roadie_supervisor_get_state (supervisor), ==, ROADIE_SUPERVISOR_STATE_RUNNING);

  /* And the other way: 500 ms from the window, a fresh server (the check
   * interval is read when the timer is armed, at readiness); its hang is
   * seen within a second or two of happening. */
  gtk_spin_button_set_value (interval, 500);
  g_assert_true (roadie_supervisor_restart (supervisor, &error));
  g_assert_no_error (error);
  g_assert_cmpint (roadie_supervisor_get_state (supervisor), !=, ROADIE_SUPERVISOR_STATE_RUNNING);
  g_assert_true (roadie_test_wait_until (in_state, &running, 20000));
  running_at = g_get_monotonic_time ();
  g_assert_true (roadie_test_wait_until (unhealthy, supervisor, 15000));
  /* Not before the hang: the probes themselves were fine. */
  g_assert_cmpint ((g_get_monotonic_time () - running_at) / 1000, >=, 3000);

  roadie_supervisor_stop_async (supervisor, NULL, on_stopped, &stopped);
  g_assert_true (roadie_test_wait_until (flag_set, &stopped, 10000));
  g_assert_true (roadie_test_wait_until (no_tagged, tag, 5000));
  prefs_clear (&prefs);
}

/* ---- screenshots -------------------------------------------------------- */

static void
show_page (Prefs      *prefs,
           const char *name)
{
  adw_preferences_window_set_visible_page_name (ADW_PREFERENCES_WINDOW (prefs->window), name);
  /* Let the view switcher catch up with the page. */
  roadie_test_run_for (500);
}

static void
test_screenshots (void)
{
  const char *environ[] = { "AUDIO_SERVER_MAX_RESTARTS=7", NULL };
  Prefs prefs = { 0 };

  prefs_init (&prefs, environ, NULL);
  gtk_window_set_default_size (GTK_WINDOW (prefs.window), 820, 900);
  present (&prefs);
  g_free (roadie_test_save_screenshot (GTK_WIDGET (prefs.window), "screenshots/preferences.png"));
  show_page (&prefs, "timing");
  g_free (roadie_test_save_screenshot (GTK_WIDGET (prefs.window), "screenshots/preferences-timing.png"));
  show_page (&prefs, "engine");
  g_free (roadie_test_save_screenshot (GTK_WIDGET (prefs.window), "screenshots/preferences-engine.png"));
  show_page (&prefs, "control");
  g_free (roadie_test_save_screenshot (GTK_WIDGET (prefs.window), "screenshots/preferences-control.png"));
  show_page (&prefs, "connections");
  g_free (roadie_test_save_screenshot (GTK_WIDGET (prefs.window), "screenshots/preferences-connections.png"));
  prefs_clear (&prefs);
}

int
main (int   argc,
      char *argv[])
{
  roadie_test_init_environment ();
  roadie_test_start_xvfb ();
  g_test_init (&argc, &argv, NULL);
  adw_init ();

  g_test_add_func ("/roadie/preferences/every-key-one-row", test_every_key_one_row);
  g_test_add_func ("/roadie/preferences/rows-write-through", test_rows_write_through);
  g_test_add_func ("/roadie/preferences/override-shown", test_override_shown);
  g_test_add_func ("/roadie/preferences/presets", test_presets);
  g_test_add_func ("/roadie/preferences/restart-offer", test_restart_offer);
  g_test_add_func ("/roadie/preferences/token", test_token);
  g_test_add_func ("/roadie/preferences/reaches-supervisor", test_reaches_supervisor);
  g_test_add_func ("/roadie/preferences/screenshots", test_screenshots);

  roadie_test_capture_log ();

  return g_test_run ();
}
