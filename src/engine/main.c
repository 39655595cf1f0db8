/* main.c: roadie-engine, the bundled default audio server.
 *
 *   roadie-engine [--port N] [--browser-port N] [--dj-port N] [--bind ADDR]
 *                 [--dj-keys FILE] [--relay-to URL --dj-id ID [--dj-name NAME]
 *                 [--dj-key-file FILE]] [--visualizer URL] [--test-frames FPS]
 *                 [--input FILE|demo | --source NAME | --input-device] [--fps N]
 *                 [--fft-size N]
 *                 [--max-clients N] [--version]
 *   roadie-engine --input FILE --analyze
 *
 * Exit status: 0 after SIGTERM/SIGINT (or a finished --analyze), 1 when a
 * listener cannot open or a keys file cannot be used, 2 for bad options
 * and for an audio file that cannot be read.
 */
#include "config.h"

#include <locale.h>
#include <stdio.h>
#include <sys/resource.h>

#include <glib-unix.h>

#include "roadie-analyze.h"
#include "roadie-audio-feed.h"
#include "roadie-engine.h"
#include "roadie-engine-options.h"

typedef struct
{
  GMainLoop    *loop;
  RoadieEngine *engine;
  gboolean      quitting;
} Run;

static void
shutdown_done (GObject      *object,
               GAsyncResult *result,
               gpointer      user_data)
{
  Run *run = user_data;

  roadie_engine_shutdown_finish (ROADIE_ENGINE (object), result, NULL);
  g_main_loop_quit (run->loop);
}

static gboolean
on_quit_signal (gpointer user_data)
{
  Run *run = user_data;

  /* A second signal while closing changes nothing; the grace period is
   * already short. */
  if (!run->quitting)
    {
      run->quitting = TRUE;
      roadie_engine_shutdown_async (run->engine, NULL, shutdown_done, run);
    }

  return G_SOURCE_CONTINUE;
}

/* A VJ server may hold a thousand browsers; the soft limit of 1024 open
 * files would turn the thousandth away. The hard limit is ours to use. */
static void
raise_file_limit (void)
{
  struct rlimit limit;

  if (getrlimit (RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur < limit.rlim_max)
    {
      limit.rlim_cur = limit.rlim_max;
      setrlimit (RLIMIT_NOFILE, &limit);
    }
}

int
main (int   argc,
      char *argv[])
{
  g_autoptr(RoadieEngineOptions) options = roadie_engine_options_new ();
  g_autoptr(RoadieEngine) engine = NULL;
  g_autoptr(RoadieAudioFeed) feed = NULL;
  g_autoptr(GMainLoop) loop = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *help = NULL;
  Run run = { 0 };
  guint sigterm_id;
  guint sigint_id;

  setlocale (LC_ALL, "");
  /* The supervisor reads our stdout through a pipe: each line must reach
   * it when printed, not when a block buffer fills. */
  setvbuf (stdout, NULL, _IOLBF, 0);

  if (!roadie_engine_options_parse (options, &argc, &argv, &help, &error))
    {
      fprintf (stderr, "roadie-engine: %s\n\n%s", error->message, help);
      return 2;
    }
  if (options->version)
    {
      printf ("roadie-engine %s\n", PACKAGE_VERSION);
      return 0;
    }
  if (options->analyze)
    {
      if (!roadie_analyze_file (options->input, stdout, &error))
        {
          fprintf (stderr, "roadie-engine: %s\n", error->message);
          return 2;
        }
      return 0;
    }
  if (!roadie_engine_options_load_secrets (options, &error))
    {
      fprintf (stderr, "roadie-engine: %s\n", error->message);
      return 1;
    }

  /* Test frames stand in for audio; otherwise a file, the demo or capture. */
  if (options->test_frames_fps == 0)
    {
      if (options->input != NULL)
        feed = roadie_audio_feed_new_input (options->input, &error);
      else if (options->source != NULL)
        feed = roadie_audio_feed_new_capture (ROADIE_PW_CAPTURE_NAMED_NODE, options->source);
      else
        feed = roadie_audio_feed_new_capture (options->input_device ? ROADIE_PW_CAPTURE_INPUT_DEVICE
                                                                    : ROADIE_PW_CAPTURE_SINK_MONITOR,
                                              NULL);
      if (feed == NULL)
        {
          fprintf (stderr, "roadie-engine: %s\n", error->message);
          return 2;
        }
    }

  raise_file_limit ();

  /* Signals are caught before anyone can learn that we are listening, so a
   * SIGTERM sent right after the start-up line is never the default kill. */
  loop = g_main_loop_new (NULL, FALSE);
  engine = roadie_engine_new ();
  if (feed != NULL)
    {
      roadie_audio_feed_set_fft_size (feed, options->fft_size);
      roadie_engine_set_audio_feed (engine, g_steal_pointer (&feed));
    }
  run.loop = loop;
  run.engine = engine;
  sigterm_id = g_unix_signal_add (SIGTERM, on_quit_signal, &run);
  sigint_id = g_unix_signal_add (SIGINT, on_quit_signal, &run);

  if (roadie_engine_start (engine, options, &error))
    g_main_loop_run (loop);
  else
    fprintf (stderr, "roadie-engine: %s\n", error->message);

  g_source_remove (sigterm_id);
  g_source_remove (sigint_id);

  return error == NULL ? 0 : 1;
}
