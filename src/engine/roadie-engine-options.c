/* roadie-engine-options.c: roadie-engine's command line.
 *
 * GOption does the parsing; what it cannot check (port ranges, addresses,
 * URLs, the options that need each other) is checked here, with messages
 * that name the option and say what would be accepted.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gio/gio.h>

#include "roadie-engine-options.h"
#include "roadie-error.h"

/* A key is a line of text; anything longer is not a key file. */
#define SECRET_FILE_MAX 4096

#define MAX_TEST_FRAMES_FPS 240
#define MAX_FPS             240
#define MIN_FFT_SIZE        256
#define MAX_FFT_SIZE        8192
#define MAX_CLIENTS_LIMIT   100000

static void
wipe_string (char *secret)
{
  if (secret != NULL)
    explicit_bzero (secret, strlen (secret));
  g_free (secret);
}

RoadieEngineOptions *
roadie_engine_options_new (void)
{
  RoadieEngineOptions *options = g_new0 (RoadieEngineOptions, 1);

  options->port = ROADIE_ENGINE_DEFAULT_PORT;
  options->browser_port = ROADIE_ENGINE_DEFAULT_BROWSER_PORT;
  options->dj_port = ROADIE_ENGINE_DEFAULT_DJ_PORT;
  options->fps = ROADIE_ENGINE_DEFAULT_FPS;

  return options;
}

void
roadie_engine_options_free (RoadieEngineOptions *options)
{
  if (options == NULL)
    return;

  g_free (options->bind);
  g_free (options->dj_keys_path);
  g_free (options->relay_to);
  g_free (options->dj_id);
  g_free (options->dj_name);
  g_free (options->dj_key_path);
  wipe_string (options->dj_key);
  g_free (options->visualizer_url);
  g_free (options->input);
  g_free (options->source);
  g_free (options);
}

static gboolean
check_port (const char  *option,
            int          port,
            const char  *zero_means,
            GError     **error)
{
  if (port >= 0 && port <= G_MAXUINT16)
    return TRUE;
  g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
               "%s %d is not a port number from 0 to 65535 (0 %s)", option, port, zero_means);
  return FALSE;
}

static gboolean
check_ws_url (const char  *option,
              const char  *url,
              const char  *example,
              GError     **error)
{
  g_autoptr(GUri) uri = g_uri_parse (url, G_URI_FLAGS_NONE, NULL);

  if (uri != NULL
      && (g_strcmp0 (g_uri_get_scheme (uri), "ws") == 0 || g_strcmp0 (g_uri_get_scheme (uri), "wss") == 0)
      && g_uri_get_host (uri) != NULL && g_uri_get_host (uri)[0] != '\0')
    return TRUE;
  g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
               "%s “%s” is not a WebSocket address (try %s)", option, url, example);
  return FALSE;
}

static gboolean
check_options (RoadieEngineOptions  *options,
               GError              **error)
{
  if (!check_port ("--port", options->port, "picks a free one", error)
      || !check_port ("--browser-port", options->browser_port, "turns it off", error)
      || !check_port ("--dj-port", options->dj_port, "turns it off", error))
    return FALSE;

  if (options->bind != NULL)
    {
      g_autoptr(GInetAddress) address = g_inet_address_new_from_string (options->bind);

      if (address == NULL && g_ascii_strcasecmp (options->bind, "localhost") != 0)
        {
          g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                       "--bind “%s” is not an IP address (try 127.0.0.1 or 0.0.0.0)", options->bind);
          return FALSE;
        }
    }
  else
    {
      options->bind = g_strdup (ROADIE_ENGINE_DEFAULT_BIND);
    }

  if (options->relay_to != NULL)
    {
      if (!check_ws_url ("--relay-to", options->relay_to, "ws://vj-server.example.com:9000", error))
        return FALSE;
      if (options->dj_id == NULL || options->dj_id[0] == '\0')
        {
          g_set_error_literal (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                               "--relay-to needs --dj-id, the id the VJ server knows this DJ by");
          return FALSE;
        }
      if (options->dj_name == NULL || options->dj_name[0] == '\0')
        {
          g_free (options->dj_name);
          options->dj_name = g_strdup (options->dj_id);
        }
    }

  if (options->visualizer_url != NULL
      && !check_ws_url ("--visualizer", options->visualizer_url, "ws://localhost:8765", error))
    return FALSE;

  if (options->test_frames_fps < 0 || options->test_frames_fps > MAX_TEST_FRAMES_FPS)
    {
      g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                   "--test-frames %d is not a frame rate from 1 to %d (0 turns it off)",
                   options->test_frames_fps, MAX_TEST_FRAMES_FPS);
      return FALSE;
    }

  if (options->fps < 1 || options->fps > MAX_FPS)
    {
      g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                   "--fps %d is not a frame rate from 1 to %d", options->fps, MAX_FPS);
      return FALSE;
    }

  /* FFTW plans any size, but the band layout and the hop assume a power
   * of two, and a window beyond 8192 samples lags the beat by 1/6 s. */
  if (options->fft_size != 0
      && (options->fft_size < MIN_FFT_SIZE || options->fft_size > MAX_FFT_SIZE
          || (options->fft_size & (options->fft_size - 1)) != 0))
    {
      g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                   "--fft-size %d is not a power of two from %d to %d "
                   "(try 1024, 2048 or 4096; 0 picks the size for the capture rate)",
                   options->fft_size, MIN_FFT_SIZE, MAX_FFT_SIZE);
      return FALSE;
    }

  if (options->input != NULL && options->input[0] == '\0')
    {
      g_set_error_literal (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                           "--input needs an audio file (WAV, FLAC, OGG) or “demo”");
      return FALSE;
    }
  if (options->input != NULL && (options->source != NULL || options->input_device))
    {
      g_set_error_literal (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                           "--input plays a file or the demo; --source and --input-device choose what to capture: "
                           "pass one or the other");
      return FALSE;
    }
  if (options->source != NULL && options->input_device)
    {
      g_set_error_literal (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                           "--source names the node to capture; --input-device captures the default one: pass one");
      return FALSE;
    }
  if (options->analyze && (options->input == NULL || g_strcmp0 (options->input, "demo") == 0))
    {
      g_set_error_literal (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                           "--analyze needs --input FILE, an audio file to analyse (WAV, FLAC or OGG)");
      return FALSE;
    }

  if (options->max_clients < 0 || options->max_clients > MAX_CLIENTS_LIMIT)
    {
      g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                   "--max-clients %d is not a number from 1 to %d", options->max_clients, MAX_CLIENTS_LIMIT);
      return FALSE;
    }

  return TRUE;
}

gboolean
roadie_engine_options_parse (RoadieEngineOptions   *options,
                             int                   *argc,
                             char                ***argv,
                             char                 **help,
                             GError               **error)
{
  g_autoptr(GOptionContext) context = NULL;
  const GOptionEntry entries[] = {
    { "port", 'p', 0, G_OPTION_ARG_INT, &options->port,
      "Port for hello, frames and GET /health (default 8080; 0 picks a free one)", "N" },
    { "browser-port", 0, 0, G_OPTION_ARG_INT, &options->browser_port,
      "Port that broadcasts frames to browsers (default 8766; 0 turns it off)", "N" },
    { "dj-port", 0, 0, G_OPTION_ARG_INT, &options->dj_port,
      "Port that accepts remote DJs (default 9000; 0 turns it off)", "N" },
    { "bind", 'b', 0, G_OPTION_ARG_STRING, &options->bind,
      "Address to listen on (default 127.0.0.1, this machine only)", "ADDR" },
    { "dj-keys", 0, 0, G_OPTION_ARG_FILENAME, &options->dj_keys_path,
      "File of \"dj_id key\" lines remote DJs authenticate against (chmod 600)", "FILE" },
    { "relay-to", 0, 0, G_OPTION_ARG_STRING, &options->relay_to,
      "Relay this engine's frames to a remote VJ server as a DJ", "URL" },
    { "dj-id", 0, 0, G_OPTION_ARG_STRING, &options->dj_id,
      "DJ id for --relay-to", "ID" },
    { "dj-name", 0, 0, G_OPTION_ARG_STRING, &options->dj_name,
      "DJ name for --relay-to (default: the id)", "NAME" },
    { "dj-key-file", 0, 0, G_OPTION_ARG_FILENAME, &options->dj_key_path,
      "File whose first line is the DJ key for --relay-to (chmod 600); or set ROADIE_DJ_KEY", "FILE" },
    { "visualizer", 0, 0, G_OPTION_ARG_STRING, &options->visualizer_url,
      "Keep a link to a visualizer endpoint (e.g. ws://localhost:8765)", "URL" },
    { "test-frames", 0, 0, G_OPTION_ARG_INT, &options->test_frames_fps,
      "Test and demo source: broadcast synthetic frames at FPS (no audio is analysed)", "FPS" },
    { "input", 'i', 0, G_OPTION_ARG_FILENAME, &options->input,
      "Analyse an audio file (WAV, FLAC, OGG), played in real time, or \"demo\", a 124 BPM groove "
      "(default: capture what plays on the default output)", "FILE|demo" },
    { "source", 0, 0, G_OPTION_ARG_STRING, &options->source,
      "Capture this PipeWire node (node.name) instead of the default output", "NAME" },
    { "input-device", 0, 0, G_OPTION_ARG_NONE, &options->input_device,
      "Capture the default input device (microphone, line-in) instead of the default output", NULL },
    { "analyze", 0, 0, G_OPTION_ARG_NONE, &options->analyze,
      "With --input FILE: print each beat and a tempo summary as JSON lines, then exit", NULL },
    { "fps", 0, 0, G_OPTION_ARG_INT, &options->fps,
      "Analysis frames per second to the engine and browser ports (default 60)", "N" },
    { "fft-size", 0, 0, G_OPTION_ARG_INT, &options->fft_size,
      "Samples per analysis window, a power of two from 256 to 8192 (default 0: 2048 at 48 kHz)", "N" },
    { "max-clients", 0, 0, G_OPTION_ARG_INT, &options->max_clients,
      "Most clients per listener (default 256)", "N" },
    { "version", 0, 0, G_OPTION_ARG_NONE, &options->version,
      "Print the version and exit", NULL },
    { NULL }
  };

  context = g_option_context_new (NULL);
  g_option_context_set_summary (context, "The bundled Roadie audio server.");
  g_option_context_set_description (context,
                                    "The relay key is never an option: it would show in the process list.\n"
                                    "Put it in a file only you can read and pass --dj-key-file, or set ROADIE_DJ_KEY.\n");
  g_option_context_add_main_entries (context, entries, NULL);

  if (!g_option_context_parse (context, argc, argv, error))
    {
      /* After parsing, which names the program in the usage line. */
      if (help != NULL)
        *help = g_option_context_get_help (context, TRUE, NULL);
      return FALSE;
    }
  if (help != NULL)
    *help = g_option_context_get_help (context, TRUE, NULL);
  if (*argc > 1)
    {
      g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_FAILED,
                   "unexpected argument “%s”", (*argv)[1]);
      return FALSE;
    }
  if (options->version)
    return TRUE;

  return check_options (options, error);
}

char *
roadie_engine_read_secret_file (const char  *path,
                                GError     **error)
{
  char buffer[SECRET_FILE_MAX + 1];
  struct stat info;
  gssize length;
  char *end;
  char *secret;
  int fd;

  fd = open (path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
  if (fd < 0)
    {
      int saved_errno = errno;

      g_set_error (error, ROADIE_ERROR, ROADIE_ERROR_INVALID_SETTING,
                   "Cannot read the DJ key file %s: %s", path, g_strerror (saved_errno));
      return NULL;
    }
  if (fstat (fd, &info) != 0 || !S_ISREG (info.st_mode))
    {
      close (fd);
      g_set_error (error, ROADIE_ERROR, ROADIE_ERROR_INVALID_SETTING,
                   "The DJ key file %s is not a regular file", path);
      return NULL;
    }
  /* Checked on the open file, so it cannot be swapped in between. */
  if ((info.st_mode & (S_IRWXG | S_IRWXO)) != 0)
    {
      close (fd);
      g_set_error (error, ROADIE_ERROR, ROADIE_ERROR_INVALID_SETTING,
                   "The DJ key file %s can be read by other users and holds a secret: run chmod 600 %s",
                   path, path);
      return NULL;
    }

  length = read (fd, buffer, SECRET_FILE_MAX);
  close (fd);
  if (length < 0)
    {
      g_set_error (error, ROADIE_ERROR, ROADIE_ERROR_INVALID_SETTING,
                   "Cannot read the DJ key file %s", path);
      return NULL;
    }
  buffer[length] = '\0';
  end = strpbrk (buffer, "\r\n");
  if (end != NULL)
    *end = '\0';
  g_strstrip (buffer);
  if (buffer[0] == '\0')
    {
      explicit_bzero (buffer, sizeof buffer);
      g_set_error (error, ROADIE_ERROR, ROADIE_ERROR_INVALID_SETTING,
                   "The DJ key file %s is empty; put the key on its first line", path);
      return NULL;
    }

  secret = g_strdup (buffer);
  explicit_bzero (buffer, sizeof buffer);

  return secret;
}

gboolean
roadie_engine_options_load_secrets (RoadieEngineOptions  *options,
                                    GError              **error)
{
  const char *from_env = g_getenv (ROADIE_ENGINE_DJ_KEY_ENV);
  char *key = NULL;

  if (options->relay_to != NULL)
    {
      if (options->dj_key_path != NULL)
        key = roadie_engine_read_secret_file (options->dj_key_path, error);
      else if (from_env != NULL && from_env[0] != '\0')
        key = g_strdup (from_env);
      else
        g_set_error_literal (error, ROADIE_ERROR, ROADIE_ERROR_INVALID_SETTING,
                             "--relay-to needs the DJ key: put it in a file only you can read (chmod 600) "
                             "and pass --dj-key-file FILE, or set ROADIE_DJ_KEY");
    }

  /* Nothing this process starts later needs to inherit the key. */
  g_unsetenv (ROADIE_ENGINE_DJ_KEY_ENV);

  if (options->relay_to == NULL)
    return TRUE;
  if (key == NULL)
    return FALSE;

  wipe_string (options->dj_key);
  options->dj_key = key;

  return TRUE;
}
