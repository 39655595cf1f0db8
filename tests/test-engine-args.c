/* test-engine-args.c: the engine-* settings as roadie-engine options.
 *
 * The mapping is pure, so these cases check it option by option: the
 * defaults, every string setting, the environment override of ws-port, and
 * that empty settings are left out rather than passed as empty values.
 */
#include "config.h"

#include <string.h>

#include "roadie-engine-args.h"
#include "roadie-engine-options.h"
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
  g_assert_cmpstr (args, ==, "--port 8080 --browser-port 8766 --dj-port 9000 --bind 127.0.0.1 --fps 60");
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
  g_settings_set_string (gsettings, "engine-capture", "node");
  g_settings_set_string (gsettings, "engine-capture-node", "alsa_input.usb-mixer");
  g_settings_set_int (gsettings, "engine-frame-rate", 30);
  g_settings_set_int (gsettings, "engine-fft-size", 4096);
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
    "--source", "alsa_input.usb-mixer",
    "--fps", "30",
    "--fft-size", "4096",
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
  g_assert_cmpstr (args, ==, "--port 8080 --browser-port 8766 --dj-port 9000 --dj-id dj_alice --fps 60");
}

typedef struct
{
  const char *capture;
  const char *node;
  const char *expected_tail;
} CaptureCase;

static void
test_capture (void)
{
  /* What the engine is told to listen to; playback is its default, and
   * "node" without a name falls back to it rather than to a bad option. */
  const CaptureCase cases[] = {
    { "playback", "", " --fps 60" },
    { "playback", "alsa_input.usb-mixer", " --fps 60" },
    { "input-device", "", " --input-device --fps 60" },
    { "node", "alsa_input.usb-mixer", " --source alsa_input.usb-mixer --fps 60" },
    { "node", "", " --fps 60" },
    { "demo", "", " --input demo --fps 60" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(GSettings) gsettings = roadie_test_new_gsettings ();
      g_autoptr(RoadieSettings) settings = NULL;
      g_auto(GStrv) args = NULL;
      g_autofree char *joined = NULL;
      g_autofree char *expected = g_strconcat ("--port 8080 --browser-port 8766 --dj-port 9000 --bind 127.0.0.1",
                                               cases[i].expected_tail, NULL);

      g_settings_set_string (gsettings, "engine-capture", cases[i].capture);
      g_settings_set_string (gsettings, "engine-capture-node", cases[i].node);
      settings = roadie_settings_new (gsettings, NULL);
      args = roadie_engine_args_from_settings (settings);
      joined = g_strjoinv (" ", args);
      g_assert_cmpstr (joined, ==, expected);
    }
}

static void
test_fft_size (void)
{
  /* 0 leaves the engine's default; anything else reaches the engine as a
   * power of two it accepts, never as a value it would refuse. */
  const struct { int setting; const char *option; } cases[] = {
    { 0, NULL }, { 1, "256" }, { 256, "256" }, { 1000, "1024" }, { 2048, "2048" }, { 8192, "8192" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(GSettings) gsettings = roadie_test_new_gsettings ();
      g_autoptr(RoadieSettings) settings = NULL;
      g_auto(GStrv) args = NULL;
      guint n;

      g_settings_set_int (gsettings, "engine-fft-size", cases[i].setting);
      settings = roadie_settings_new (gsettings, NULL);
      args = roadie_engine_args_from_settings (settings);
      n = g_strv_length (args);
      if (cases[i].option == NULL)
        {
          g_assert_false (g_strv_contains ((const char * const *) args, "--fft-size"));
        }
      else
        {
          g_assert_cmpstr (args[n - 2], ==, "--fft-size");
          g_assert_cmpstr (args[n - 1], ==, cases[i].option);
        }
    }
}

/* The engine's own parser, on the argv Roadie would give it. */
static RoadieEngineOptions *
parse_engine_args (char   **args,
                   GError **error)
{
  g_autoptr(RoadieEngineOptions) options = roadie_engine_options_new ();
  g_autoptr(GPtrArray) argv = g_ptr_array_new ();
  char **argv_data;
  int argc;

  g_ptr_array_add (argv, (char *) "roadie-engine");
  for (guint i = 0; args[i] != NULL; i++)
    g_ptr_array_add (argv, args[i]);
  g_ptr_array_add (argv, NULL);
  argc = argv->len - 1;
  argv_data = (char **) argv->pdata;
  if (!roadie_engine_options_parse (options, &argc, &argv_data, NULL, error))
    return NULL;
  return g_steal_pointer (&options);
}

static void
configure_audio (GSettings *gsettings)
{
  g_settings_set_string (gsettings, "engine-capture", "demo");
  g_settings_set_int (gsettings, "engine-frame-rate", 24);
  g_settings_set_int (gsettings, "engine-fft-size", 3000);
}

static void
test_engine_accepts (void)
{
  g_autoptr(GSettings) gsettings = roadie_test_new_gsettings ();
  g_autoptr(RoadieSettings) settings = NULL;
  g_autoptr(RoadieEngineOptions) options = NULL;
  g_autoptr(GError) error = NULL;
  g_auto(GStrv) args = NULL;

  /* Whatever the preferences allow, roadie-engine takes: a refused option
   * would make the supervisor crash-loop the engine. */
  configure_audio (gsettings);
  settings = roadie_settings_new (gsettings, NULL);
  args = roadie_engine_args_from_settings (settings);
  options = parse_engine_args (args, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (options->input, ==, "demo");
  g_assert_cmpint (options->fps, ==, 24);
  g_assert_cmpint (options->fft_size, ==, 4096);
}

static void
test_engine_refuses_fft_size (void)
{
  const char *refused[] = { "1000", "128", "16384" };

  for (guint i = 0; i < G_N_ELEMENTS (refused); i++)
    {
      g_autoptr(RoadieEngineOptions) options = NULL;
      g_autoptr(GError) error = NULL;
      char *args[] = { (char *) "--fft-size", (char *) refused[i], NULL };

      options = parse_engine_args (args, &error);
      g_assert_null (options);
      g_assert_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE);
      g_assert_nonnull (strstr (error->message, "power of two"));
      g_assert_nonnull (strstr (error->message, refused[i]));
    }

  {
    g_autoptr(RoadieEngineOptions) options = NULL;
    g_autoptr(GError) error = NULL;
    char *args[] = { (char *) "--fft-size", (char *) "0", NULL };

    options = parse_engine_args (args, &error);
    g_assert_no_error (error);
    g_assert_cmpint (options->fft_size, ==, 0);
  }
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
  g_test_add_func ("/roadie/engine-args/capture", test_capture);
  g_test_add_func ("/roadie/engine-args/fft-size", test_fft_size);
  g_test_add_func ("/roadie/engine-args/engine-accepts", test_engine_accepts);
  g_test_add_func ("/roadie/engine-args/engine-refuses-fft-size", test_engine_refuses_fft_size);

  return g_test_run ();
}
