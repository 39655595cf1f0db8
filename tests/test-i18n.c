/* test-i18n.c: Roadie speaks German under a German locale.
 *
 * Runs the real RoadieApplication under a private Xvfb with LANGUAGE=de and
 * LC_ALL=de_DE.UTF-8, the text domain bound to the catalogs built in this
 * build tree (po/de/LC_MESSAGES/roadie.mo), and checks what a DJ sees:
 * strings set from C, strings from the .ui template, a message from
 * src/core, a plural form, a schema summary, and the merged desktop entry
 * and metainfo. Every expected string is written out here, so a catalog
 * that is missing, stale or not loaded fails the test.
 */
#include "config.h"

#include <locale.h>
#include <string.h>

#include <adwaita.h>
#include <glib/gi18n.h>

#include "roadie-application.h"
#include "roadie-test-util.h"
#include "roadie-window.h"

#define TEST_LOCALE "de_DE.UTF-8"

static RoadieApplication *app;
static GtkWidget *window;
static GSettings *settings;

static GtkWidget *
template_child (const char *name)
{
  GObject *child = gtk_widget_get_template_child (window, ROADIE_TYPE_WINDOW, name);

  g_assert_nonnull (child);
  return GTK_WIDGET (child);
}

static const char *
label_text (const char *name)
{
  return gtk_label_get_text (GTK_LABEL (template_child (name)));
}

static gboolean
window_is_mapped (gpointer user_data)
{
  return window != NULL && gtk_widget_get_mapped (window) && gtk_widget_get_width (window) > 0;
}

/* The catalog itself: loaded from the build tree, plural forms right. */
static void
test_i18n_catalog (void)
{
  const char *singular = "The audio server stopped unexpectedly %u time and Roadie started it again each time.";
  const char *plural = "The audio server stopped unexpectedly %u times and Roadie started it again each time.";

  g_assert_cmpstr (setlocale (LC_MESSAGES, NULL), ==, TEST_LOCALE);
  g_assert_cmpstr (_("Stopped"), ==, "Gestoppt");
  g_assert_cmpstr (_("_Preferences"), ==, "_Einstellungen");
  /* German has two forms, the second for every n but 1 (0 included). */
  g_assert_cmpstr (ngettext (singular, plural, 1), ==,
                   "Der Audio-Server wurde einmal unerwartet beendet und von Roadie wieder gestartet.");
  g_assert_cmpstr (ngettext (singular, plural, 3), ==,
                   "Der Audio-Server wurde %u-mal unerwartet beendet und von Roadie jedes Mal wieder gestartet.");
  g_assert_cmpstr (ngettext (singular, plural, 0), ==, ngettext (singular, plural, 3));
}

/* What the window shows: from C (state, button) and from the template. */
static void
test_i18n_window (void)
{
  GtkWidget *start_button = template_child ("start_button");
  g_autoptr(GtkSelectionModel) pages = NULL;
  g_autoptr(GString) titles = g_string_new (NULL);

  g_assert_true (gtk_widget_get_mapped (template_child ("state_label")));
  g_assert_cmpstr (label_text ("state_label"), ==, "Gestoppt");
  g_assert_cmpstr (label_text ("state_detail_label"), ==,
                   "Der Audio-Server läuft nicht. Mit „Starten“ wird er gestartet.");
  g_assert_true (gtk_widget_get_mapped (start_button));
  g_assert_cmpstr (gtk_button_get_label (GTK_BUTTON (start_button)), ==, "Starten");
  g_assert_cmpstr (gtk_widget_get_tooltip_text (start_button), ==, "Den Audio-Server starten");

  /* GtkBuilder translated the template with Roadie's text domain. */
  g_assert_cmpstr (adw_status_page_get_title (ADW_STATUS_PAGE (template_child ("failed_page"))), ==,
                   "Roadie hat aufgegeben");
  g_assert_cmpstr (adw_preferences_group_get_title (ADW_PREFERENCES_GROUP (template_child ("details_group"))), ==,
                   "Audio-Server");
  pages = adw_view_stack_get_pages (ADW_VIEW_STACK (template_child ("view_stack")));
  for (guint i = 0; i < g_list_model_get_n_items (G_LIST_MODEL (pages)); i++)
    {
      g_autoptr(AdwViewStackPage) page = g_list_model_get_item (G_LIST_MODEL (pages), i);

      g_string_append_printf (titles, "%s|", adw_view_stack_page_get_title (page));
    }
  g_test_message ("view switcher: %s", titles->str);
  g_assert_cmpstr (titles->str, ==, "Live|Verbindungen|Protokoll|");
}

/* A message made in src/core (the supervisor) reaches the window in German. */
static void
test_i18n_core_message (void)
{
  const char *missing = "/nonexistent/roadie-i18n-server";
  GtkWidget *error_row = template_child ("error_row");
  const char *title;

  roadie_test_allow_roadie_warnings ();

  g_settings_set_string (settings, "executable-path", missing);
  g_assert_true (gtk_widget_activate (template_child ("start_button")));
  roadie_test_run_for (300);
  g_assert_true (gtk_widget_get_visible (error_row));
  title = adw_preferences_row_get_title (ADW_PREFERENCES_ROW (error_row));
  g_test_message ("error row: %s", title);
  g_assert_true (g_str_has_prefix (title, "Der Audio-Server /nonexistent/roadie-i18n-server existiert nicht."));
  g_assert_cmpstr (gtk_button_get_label (GTK_BUTTON (template_child ("choose_button"))), ==, "_Auswählen …");
}

/* The schema's summaries go through the same catalog (gettext-domain). */
static void
test_i18n_schema (void)
{
  GSettingsSchemaSource *source = g_settings_schema_source_get_default ();
  g_autoptr(GSettingsSchema) schema = g_settings_schema_source_lookup (source, APP_ID, TRUE);
  g_autoptr(GSettingsSchemaKey) key = NULL;

  g_assert_nonnull (schema);
  key = g_settings_schema_get_key (schema, "auto-start");
  g_assert_cmpstr (g_settings_schema_key_get_summary (key), ==, "Mit Roadie starten");
}

/* The desktop entry and the metainfo were merged with the German catalog. */
static void
test_i18n_data_files (void)
{
  const char *datadir = g_getenv ("ROADIE_TEST_DATA_BUILDDIR");
  g_autofree char *desktop_path = g_build_filename (datadir, APP_ID ".desktop", NULL);
  g_autofree char *metainfo_path = g_build_filename (datadir, APP_ID ".metainfo.xml", NULL);
  g_autofree char *metainfo = NULL;
  g_autofree char *comment = NULL;
  g_autofree char *generic_name = NULL;
  g_autoptr(GKeyFile) desktop = g_key_file_new ();
  g_autoptr(GError) error = NULL;

  g_assert_nonnull (datadir);
  g_key_file_load_from_file (desktop, desktop_path, G_KEY_FILE_NONE, &error);
  g_assert_no_error (error);
  /* meson 1.0's merge_file() does not depend on the .po files: a build tree
   * that merged the entry before de.po existed keeps the English one. */
  if (!g_key_file_has_key (desktop, G_KEY_FILE_DESKTOP_GROUP, "Comment[de]", NULL))
    g_error ("%s has no German: it was merged before po/de.po existed. "
             "Delete it and the metainfo beside it, and build again.", desktop_path);
  generic_name = g_key_file_get_locale_string (desktop, G_KEY_FILE_DESKTOP_GROUP, "GenericName", "de", &error);
  g_assert_no_error (error);
  g_assert_cmpstr (generic_name, ==, "Audio-Server-Überwachung");
  comment = g_key_file_get_locale_string (desktop, G_KEY_FILE_DESKTOP_GROUP, "Comment", "de", &error);
  g_assert_no_error (error);
  g_assert_cmpstr (comment, ==, "Den Audio-Server am Laufen halten und sehen, was er hört");

  metainfo = roadie_test_read_file (metainfo_path, NULL);
  g_assert_nonnull (metainfo);
  g_assert_nonnull (strstr (metainfo, "<summary xml:lang=\"de\">Den Audio-Server am Laufen halten und sehen, was er hört</summary>"));
}

int
main (int   argc,
      char *argv[])
{
  const char *localedir = g_getenv ("ROADIE_TEST_LOCALEDIR");
  g_autofree char *catalog = NULL;
  g_autoptr(GError) error = NULL;
  int status;

  /* Before anything reads the locale: GTK calls setlocale() again in
   * gtk_init(), with the same environment. */
  g_setenv ("LANGUAGE", "de", TRUE);
  g_setenv ("LC_ALL", TEST_LOCALE, TRUE);
  g_setenv ("LANG", TEST_LOCALE, TRUE);
  if (setlocale (LC_ALL, "") == NULL)
    g_error ("the locale %s is not installed, so this test cannot show the window in German. "
             "build-aux/deps.sh test generates it; by hand (Debian, as root): "
             "sed -i 's/^# *de_DE.UTF-8/de_DE.UTF-8/' /etc/locale.gen && locale-gen",
             TEST_LOCALE);

  if (localedir == NULL)
    g_error ("ROADIE_TEST_LOCALEDIR is not set: run this test through meson test");
  catalog = g_build_filename (localedir, "de", "LC_MESSAGES", GETTEXT_PACKAGE ".mo", NULL);
  if (!g_file_test (catalog, G_FILE_TEST_IS_REGULAR))
    g_error ("%s was not built (the roadie-de.mo target of po/meson.build)", catalog);
  bindtextdomain (GETTEXT_PACKAGE, localedir);
  bind_textdomain_codeset (GETTEXT_PACKAGE, "UTF-8");
  textdomain (GETTEXT_PACKAGE);

  roadie_test_init_environment ();
  roadie_test_start_xvfb ();
  roadie_test_start_dbus ();

  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/roadie/i18n/catalog", test_i18n_catalog);
  g_test_add_func ("/roadie/i18n/window", test_i18n_window);
  g_test_add_func ("/roadie/i18n/core-message", test_i18n_core_message);
  g_test_add_func ("/roadie/i18n/schema", test_i18n_schema);
  g_test_add_func ("/roadie/i18n/data-files", test_i18n_data_files);

  roadie_test_capture_log ();

  /* The memory backend is one per process: the application sees these. */
  settings = g_settings_new (APP_ID);
  g_settings_set_boolean (settings, "auto-start", FALSE);
  g_settings_set_int (settings, "control-api-port", roadie_test_free_port ());

  app = roadie_application_new ();
  g_application_register (G_APPLICATION (app), NULL, &error);
  g_assert_no_error (error);
  g_application_activate (G_APPLICATION (app));
  window = GTK_WIDGET (gtk_application_get_active_window (GTK_APPLICATION (app)));
  g_assert_true (ROADIE_IS_WINDOW (window));
  g_assert_true (roadie_test_wait_until (window_is_mapped, NULL, 10000));

  status = g_test_run ();

  g_clear_object (&app);
  g_clear_object (&settings);

  return status;
}
