/* test-engine-args.c: the engine-* settings as roadie-engine options.
 *
 * The mapping is pure, so these cases check it option by option: the
 * defaults, every string setting, the environment override of ws-port, and
 * that empty settings are left out rather than passed as empty values.
 */
#include "config.h"

#include "roadie-engine-args.h"
#include "roadie-test-util.h"

static char *
join_args (const char * const *environ,
           void              (*configure) (GSettings *gsettings))
{
  g_autoptr(GSettings) gsettings = roadie_test_new_gsettings ();
  g_autoptr(RoadieSettings) settings = NULL;
  g_auto(GStrv) args = NULL;

  if (configure != NULL)
    configure (gsettings);
  settings = roadie_settings_new (gsettings, environ);
  args = roadie_engine_args_from_settings (settings);

  return g_strjoinv (" ", args);
}

static void
test_defaults (void)
{
  g_autofree char *args = join_args (NULL, NULL);

  /* The seed's ports (8080 from ws-port, 8766, 9000) on this machine only;
   * no keys file, no relay, no visualizer. */
  g_assert_cmpstr (args, ==, "--port 8080 --browser-port 8766 --dj-port 9000 --bind 127.0.0.1");
}

static void
configure_everything (GSettings *gsettings)
{
  g_settings_set_int (gsettings, "ws-port", 8181);
  g_settings_set_int (gsettings, "engine-browser-port", 0);
  g_settings_set_int (gsettings, "engine-dj-port", 9001);
  g_settings_set_string (gsettings, "engine-bind", "0.0.0.0");
  g_settings_set_string (gsettings, "engine-dj-keys-file", "/etc/roadie/dj-keys");
  g_settings_set_string (gsettings, "engine-relay-to", "ws://vj.example.com:9000");
  g_settings_set_string (gsettings, "engine-dj-id", "dj_alice");
  g_settings_set_string (gsettings, "engine-dj-name", "DJ Alice");
  g_settings_set_string (gsettings, "engine-dj-key-file", "/home/alice/.config/roadie/dj-key");
  g_settings_set_string (gsettings, "engine-visualizer-url", "ws://localhost:8765");
}

static void
test_everything (void)
{
  g_autoptr(GSettings) gsettings = roadie_test_new_gsettings ();
  g_autoptr(RoadieSettings) settings = NULL;
  g_auto(GStrv) args = NULL;
  const char *expected[] = {
    "--port", "8181",
    "--browser-port", "0",
    "--dj-port", "9001",
    "--bind", "0.0.0.0",
    "--dj-keys", "/etc/roadie/dj-keys",
    "--relay-to", "ws://vj.example.com:9000",
    "--dj-id", "dj_alice",
    /* One argument with its space: argv, not a shell line. */
    "--dj-name", "DJ Alice",
    "--dj-key-file", "/home/alice/.config/roadie/dj-key",
    "--visualizer", "ws://localhost:8765",
    NULL
  };

  configure_everything (gsettings);
  settings = roadie_settings_new (gsettings, NULL);
  args = roadie_engine_args_from_settings (settings);

  g_assert_cmpstrv (args, expected);
}

static void
test_env_override (void)
{
  const char *environ[] = { "AUDIO_SERVER_WS_PORT=9123", NULL };
  g_autofree char *args = join_args (environ, NULL);

  /* The engine listens where Roadie will health-check it, whatever set it. */
  g_assert_true (g_str_has_prefix (args, "--port 9123 "));
}

static void
configure_empty_bind (GSettings *gsettings)
{
  g_settings_set_string (gsettings, "engine-bind", "");
  g_settings_set_string (gsettings, "engine-dj-id", "dj_alice");
}

static void
test_empty_left_out (void)
{
  g_autofree char *args = join_args (NULL, configure_empty_bind);

  /* An empty value would be a bad option to the engine; leaving it out
   * gives the engine's own default. */
  g_assert_cmpstr (args, ==, "--port 8080 --browser-port 8766 --dj-port 9000 --dj-id dj_alice");
}

int
main (int   argc,
      char *argv[])
{
  roadie_test_init_environment ();
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/roadie/engine-args/defaults", test_defaults);
  g_test_add_func ("/roadie/engine-args/everything", test_everything);
  g_test_add_func ("/roadie/engine-args/env-override", test_env_override);
  g_test_add_func ("/roadie/engine-args/empty-left-out", test_empty_left_out);

  return g_test_run ();
}
