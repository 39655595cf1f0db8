/* roadie-engine-options.h: roadie-engine's command line.
 *
 * Parsed and checked apart from the engine object, so main() stays a few
 * lines and every refusal is a sentence a DJ can act on. The relay key is
 * never an option (it would show in ps): it comes from --dj-key-file or
 * the ROADIE_DJ_KEY environment variable, and is wiped when freed.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define ROADIE_ENGINE_DEFAULT_PORT         8080
#define ROADIE_ENGINE_DEFAULT_BROWSER_PORT 8766
#define ROADIE_ENGINE_DEFAULT_DJ_PORT      9000
#define ROADIE_ENGINE_DEFAULT_BIND         "127.0.0.1"
#define ROADIE_ENGINE_DJ_KEY_ENV           "ROADIE_DJ_KEY"
#define ROADIE_ENGINE_DEFAULT_FPS          60

typedef struct
{
  int       port;            /* hello, frames, GET /health; 0 = any free port */
  int       browser_port;    /* 0 = no browser listener */
  int       dj_port;         /* 0 = no DJ listener */
  char     *bind;
  char     *dj_keys_path;    /* NULL: every DJ is refused */
  char     *relay_to;        /* NULL: no relay */
  char     *dj_id;
  char     *dj_name;
  char     *dj_key_path;
  char     *dj_key;          /* secret, loaded by roadie_engine_options_load_secrets() */
  char     *visualizer_url;  /* NULL: no visualizer link */
  int       test_frames_fps; /* 0 = none */
  char     *input;           /* NULL = PipeWire capture; "demo" or an audio file */
  char     *source;          /* --source: a PipeWire node to capture instead of the default output */
  gboolean  input_device;    /* --input-device: capture the default microphone / line-in */
  gboolean  analyze;         /* --analyze: print beats of --input FILE and exit */
  int       fps;             /* analysis frames per second */
  int       fft_size;        /* --fft-size: samples per analysis window; 0 = the analyzer's default */
  int       max_clients;     /* per endpoint; 0 = the hub's default */
  gboolean  version;
} RoadieEngineOptions;

RoadieEngineOptions *roadie_engine_options_new   (void);
void                 roadie_engine_options_free  (RoadieEngineOptions  *options);
/* Parses argv; on a bad option, FALSE with error set and *help (if not
 * NULL) the usage text to print after it. */
gboolean             roadie_engine_options_parse (RoadieEngineOptions  *options,
                                                  int                  *argc,
                                                  char               ***argv,
                                                  char                **help,
                                                  GError              **error);
/* Reads the relay key from --dj-key-file or ROADIE_DJ_KEY (which is then
 * removed from the environment). A key file readable by others is refused. */
gboolean             roadie_engine_options_load_secrets (RoadieEngineOptions  *options,
                                                         GError              **error);
/* Reads the first line of a secret file; refuses one that group or others
 * can read. */
char                *roadie_engine_read_secret_file (const char  *path,
                                                     GError     **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (RoadieEngineOptions, roadie_engine_options_free)

G_END_DECLS
