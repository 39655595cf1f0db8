/* roadie-headless.c: `roadie --headless`, Roadie without a window.
 *
 * What a booth machine without a desktop runs, and what the black-box tests
 * drive: options, the settings, one RoadieService and a GMainLoop.
 */
#include "config.h"

#include <signal.h>
#include <string.h>

#include <glib/gi18n.h>
#include <glib-unix.h>

#include "roadie-headless.h"
#include "roadie-service.h"

typedef struct
{
  GMainLoop     *loop;
  RoadieService *service;
  int            exit_status;
  gboolean       stopping;
} Headless;

static void
shutdown_cb (GObject      *object,
             GAsyncResult *result,
             gpointer      user_data)
{
  Headless *headless = user_data;
  g_autoptr(GError) error = NULL;

  if (!roadie_service_shutdown_finish (ROADIE_SERVICE (object), result, &error))
    {
      g_warning ("%s", error->message);
      headless->exit_status = 1;
    }
  g_main_loop_quit (headless->loop);
}

static gboolean
quit_signal_cb (gpointer user_data)
{
  Headless *headless = user_data;

  /* A second signal while stopping changes nothing: the stop is already
   * bounded by stop-timeout-ms. The source stays, so that signal does not
   * fall back to its default action and kill Roadie halfway. */
  if (!headless->stopping)
    {
      headless->stopping = TRUE;
      roadie_service_shutdown_async (headless->service, NULL, shutdown_cb, headless);
    }
  return G_SOURCE_CONTINUE;
}

/* The GSettings of Roadie, or NULL with a message when the schema is not
 * installed (running from a build tree without `meson devenv`). */
static GSettings *
open_settings (void)
{
  GSettingsSchemaSource *source = g_settings_schema_source_get_default ();
  g_autoptr(GSettingsSchema) schema = NULL;

  if (source != NULL)
    schema = g_settings_schema_source_lookup (source, APP_ID, TRUE);
  if (schema == NULL)
    {
      g_printerr (_("The settings schema %s is not installed. Install Roadie, "
                    "or run it through “meson devenv” from the build folder.\n"),
                  APP_ID);
      return NULL;
    }
  return g_settings_new_full (schema, NULL, NULL);
}

/* Applies each --set KEY=VALUE for this run only. */
static gboolean
apply_overrides (RoadieSettings  *settings,
                 char           **assignments)
{
  for (guint i = 0; assignments != NULL && assignments[i] != NULL; i++)
    {
      g_autoptr(GError) error = NULL;
      g_autofree char *key = NULL;
      const char *equals = strchr (assignments[i], '=');

      if (equals == NULL || equals == assignments[i])
        {
          g_printerr (_("--set needs KEY=VALUE, not “%s”\n"), assignments[i]);
          return FALSE;
        }
      key = g_strndup (assignments[i], equals - assignments[i]);
      if (!roadie_settings_set_override (settings, key, equals + 1, "--set", &error))
        {
          g_printerr ("%s\n", error->message);
          return FALSE;
        }
    }
  return TRUE;
}

int
roadie_headless_run (int    argc,
                     char **argv)
{
  g_autoptr(GOptionContext) context = NULL;
  g_autoptr(GSettings) gsettings = NULL;
  g_autoptr(GError) error = NULL;
  g_auto(GStrv) assignments = NULL;
  g_autoptr(RoadieService) service = NULL;
  g_autoptr(GMainLoop) loop = NULL;
  gboolean headless_flag = FALSE;
  gboolean version = FALSE;
  Headless headless = { 0 };
  guint sigterm_id;
  guint sigint_id;
  const GOptionEntry entries[] = {
    { "headless", 0, 0, G_OPTION_ARG_NONE, &headless_flag,
      N_("Run without a window until SIGTERM or SIGINT"), NULL },
    { "set", 0, 0, G_OPTION_ARG_STRING_ARRAY, &assignments,
      N_("Override a setting for this run only (repeatable)"), N_("KEY=VALUE") },
    { "version", 0, 0, G_OPTION_ARG_NONE, &version,
      N_("Show the version and exit"), NULL },
    { NULL }
  };

  context = g_option_context_new (NULL);
  g_option_context_set_summary (context, _("Keeps a DJ’s audio server running."));
  g_option_context_add_main_entries (context, entries, GETTEXT_PACKAGE);
  if (!g_option_context_parse (context, &argc, &argv, &error))
    {
      g_printerr ("%s\n", error->message);
      return 2;
    }

  if (version)
    {
      g_print ("roadie %s\n", PACKAGE_VERSION);
      return 0;
    }

  gsettings = open_settings ();
  if (gsettings == NULL)
    return 1;

  /* RoadieSettings logs the environment's problems itself. */
  service = roadie_service_new (gsettings);
  if (!apply_overrides (roadie_service_get_settings (service), assignments))
    return 2;

  loop = g_main_loop_new (NULL, FALSE);
  headless.loop = loop;
  headless.service = service;

  sigterm_id = g_unix_signal_add (SIGTERM, quit_signal_cb, &headless);
  sigint_id = g_unix_signal_add (SIGINT, quit_signal_cb, &headless);

  roadie_service_startup (service);
  g_main_loop_run (loop);

  g_clear_handle_id (&sigterm_id, g_source_remove);
  g_clear_handle_id (&sigint_id, g_source_remove);

  return headless.exit_status;
}
