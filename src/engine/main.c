/* main.c: roadie-engine, the bundled default audio server.
 *
 *   roadie-engine [--port N] [--bind ADDR] [--version]
 *
 * Exit status: 0 after SIGTERM/SIGINT, 1 when the port cannot be opened,
 * 2 for bad options.
 */
#include "config.h"

#include <locale.h>
#include <stdio.h>

#include <glib-unix.h>

#include "roadie-engine-server.h"

#define DEFAULT_PORT 8080
#define DEFAULT_BIND "127.0.0.1"

typedef struct
{
  GMainLoop          *loop;
  RoadieEngineServer *server;
  guint               sigterm_id;
  guint               sigint_id;
  gboolean            quitting;
} Engine;

static void
shutdown_done (GObject      *object,
               GAsyncResult *result,
               gpointer      user_data)
{
  Engine *engine = user_data;

  roadie_engine_server_shutdown_finish (ROADIE_ENGINE_SERVER (object), result, NULL);
  g_main_loop_quit (engine->loop);
}

static gboolean
on_quit_signal (gpointer user_data)
{
  Engine *engine = user_data;

  /* A second signal while closing changes nothing; the grace period is
   * already short. */
  if (!engine->quitting)
    {
      engine->quitting = TRUE;
      roadie_engine_server_shutdown_async (engine->server, NULL, shutdown_done, engine);
    }

  return G_SOURCE_CONTINUE;
}

/* The host a client on this machine would type: localhost unless the
 * engine listens on one specific non-loopback address. */
static char *
dup_client_host (const char *bind)
{
  g_autoptr(GInetAddress) address = g_inet_address_new_from_string (bind);

  if (address == NULL || g_inet_address_get_is_loopback (address) || g_inet_address_get_is_any (address))
    return g_strdup ("localhost");
  if (g_inet_address_get_family (address) == G_SOCKET_FAMILY_IPV6)
    return g_strdup_printf ("[%s]", bind);
  return g_strdup (bind);
}

static void
print_usage_error (GOptionContext *context,
                   const char     *message)
{
  g_autofree char *help = g_option_context_get_help (context, TRUE, NULL);

  fprintf (stderr, "roadie-engine: %s\n\n%s", message, help);
}

int
main (int   argc,
      char *argv[])
{
  g_autoptr(GOptionContext) context = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GMainLoop) loop = NULL;
  g_autoptr(RoadieEngineServer) server = NULL;
  g_autofree char *bind = NULL;
  g_autofree char *client_host = NULL;
  gboolean version = FALSE;
  int port = DEFAULT_PORT;
  Engine engine = { 0 };
  const GOptionEntry entries[] = {
    { "port", 'p', 0, G_OPTION_ARG_INT, &port, "Port for WebSocket and HTTP (default 8080; 0 picks a free one)", "N" },
    { "bind", 'b', 0, G_OPTION_ARG_STRING, &bind, "Address to listen on (default 127.0.0.1, this machine only)", "ADDR" },
    { "version", 0, 0, G_OPTION_ARG_NONE, &version, "Print the version and exit", NULL },
    { NULL }
  };

  setlocale (LC_ALL, "");
  /* The supervisor reads our stdout through a pipe: each line must reach
   * it when printed, not when a block buffer fills. */
  setvbuf (stdout, NULL, _IOLBF, 0);

  context = g_option_context_new (NULL);
  g_option_context_set_summary (context, "The bundled Roadie audio server.");
  g_option_context_add_main_entries (context, entries, NULL);
  if (!g_option_context_parse (context, &argc, &argv, &error))
    {
      print_usage_error (context, error->message);
      return 2;
    }
  if (argc > 1)
    {
      g_autofree char *message = g_strdup_printf ("unexpected argument “%s”", argv[1]);

      print_usage_error (context, message);
      return 2;
    }
  if (port < 0 || port > G_MAXUINT16)
    {
      g_autofree char *message = g_strdup_printf ("--port %d is not a port number from 0 to 65535", port);

      print_usage_error (context, message);
      return 2;
    }

  if (bind != NULL)
    {
      g_autoptr(GInetAddress) address = g_inet_address_new_from_string (bind);

      if (address == NULL && g_ascii_strcasecmp (bind, "localhost") != 0)
        {
          g_autofree char *message = g_strdup_printf ("--bind “%s” is not an IP address (try 127.0.0.1 or 0.0.0.0)", bind);

          print_usage_error (context, message);
          return 2;
        }
    }

  if (version)
    {
      printf ("roadie-engine %s\n", PACKAGE_VERSION);
      return 0;
    }

  if (bind == NULL)
    bind = g_strdup (DEFAULT_BIND);

  server = roadie_engine_server_new ();

  /* Signals are caught before anyone can learn that we are listening, so a
   * SIGTERM sent right after the start-up line is never the default kill. */
  loop = g_main_loop_new (NULL, FALSE);
  engine.loop = loop;
  engine.server = server;
  engine.sigterm_id = g_unix_signal_add (SIGTERM, on_quit_signal, &engine);
  engine.sigint_id = g_unix_signal_add (SIGINT, on_quit_signal, &engine);

  if (!roadie_engine_server_listen (server, bind, port, &error))
    {
      fprintf (stderr, "roadie-engine: %s\n", error->message);
      g_clear_handle_id (&engine.sigterm_id, g_source_remove);
      g_clear_handle_id (&engine.sigint_id, g_source_remove);
      return 1;
    }

  /* The seed's start-up lines, verbatim bytes (not g_print, which would
   * transliterate the check mark in a non-UTF-8 locale). */
  printf ("WebSocket server listening on port %u\n", roadie_engine_server_get_port (server));
  client_host = dup_client_host (bind);
  printf ("✓ WebSocket server started on ws://%s:%u\n", client_host, roadie_engine_server_get_port (server));

  g_main_loop_run (loop);

  g_clear_handle_id (&engine.sigterm_id, g_source_remove);
  g_clear_handle_id (&engine.sigint_id, g_source_remove);

  return 0;
}
