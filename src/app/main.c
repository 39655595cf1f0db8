/* main.c: Roadie's entry point.
 *
 * Sets up translations, then runs either the headless service (before any
 * GTK object exists, so it works without a display or D-Bus) or the
 * application with its window.
 */
#include "config.h"

#include <locale.h>
#include <string.h>

#include <glib/gi18n.h>

#include "roadie-application.h"
#include "roadie-headless.h"

static gboolean
wants_headless (int    argc,
                char **argv)
{
  for (int i = 1; i < argc; i++)
    {
      if (strcmp (argv[i], "--") == 0)
        break;
      if (strcmp (argv[i], "--headless") == 0)
        return TRUE;
    }
  return FALSE;
}

int
main (int   argc,
      char *argv[])
{
  g_autoptr(RoadieApplication) app = NULL;

  setlocale (LC_ALL, "");
  bindtextdomain (GETTEXT_PACKAGE, LOCALEDIR);
  bind_textdomain_codeset (GETTEXT_PACKAGE, "UTF-8");
  textdomain (GETTEXT_PACKAGE);
  g_set_application_name (_("Roadie"));

  if (wants_headless (argc, argv))
    return roadie_headless_run (argc, argv);

  app = roadie_application_new ();
  return g_application_run (G_APPLICATION (app), argc, argv);
}
