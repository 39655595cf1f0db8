/* roadie-test-pipewire.h: a private PipeWire, and roadie-engine's frames,
 * for the pipewire tests and the latency benchmark.
 *
 * The daemons (pipewire, wireplumber) run under a private D-Bus with
 * PIPEWIRE_RUNTIME_DIR = the test's private XDG_RUNTIME_DIR, so they run
 * the same as root in CI and beside a desktop session. Every process
 * started here dies with the test (PDEATHSIG) and is killed at exit.
 */
#pragma once

#include <gio/gio.h>
#include <json-glib/json-glib.h>
#include <libsoup/soup.h>

G_BEGIN_DECLS

#define ROADIE_TEST_PIPEWIRE_READY_MS 10000
#define ROADIE_TEST_DEFAULT_SINK      "@DEFAULT_AUDIO_SINK@"
#define ROADIE_TEST_DEFAULT_SOURCE    "@DEFAULT_AUDIO_SOURCE@"

/* A child that dies with this process. */
GSubprocess *roadie_test_spawn_child      (const char * const *argv,
                                           GSubprocessFlags    flags);
void         roadie_test_kill_process     (GSubprocess        *process);
/* For g_clear_pointer: ends the process and drops the reference. */
void         roadie_test_kill_and_unref   (GSubprocess        *process);
/* Runs a command to completion (bounded by timeout(1)); its stdout, or
 * NULL when it failed. */
char        *roadie_test_run_tool         (const char * const *args);

/* Private D-Bus, pipewire and wireplumber, stopped at exit. Call once, after
 * roadie_test_init_environment(). Makes no nodes: see create_null_node. */
void         roadie_test_pipewire_start          (void);
/* Stop and start the daemons again (nodes made before are gone). */
void         roadie_test_pipewire_stop_daemons   (void);
void         roadie_test_pipewire_start_daemons  (void);

/* pw-dump's graph; the array lives as long as parser. */
JsonArray   *roadie_test_pipewire_dump           (JsonParser         *parser);
/* A node's info.props in pw-dump, NULL for other objects. */
JsonObject  *roadie_test_pipewire_node_props     (JsonObject         *object);
/* The id of the node whose node.name is name, 0 when there is none. */
gint64       roadie_test_pipewire_find_node      (const char         *name);
/* A support.null-audio-sink (stereo) of media_class, e.g. "Audio/Sink" or
 * "Audio/Source/Virtual"; returns once it is in the graph. */
void         roadie_test_pipewire_create_null_node (const char       *name,
                                                    const char       *media_class);
/* wpctl set-default, repeated until `which` (ROADIE_TEST_DEFAULT_SINK or
 * _SOURCE) names the node. */
void         roadie_test_pipewire_set_default    (const char         *name,
                                                  const char         *which);

/* roadie-engine with its ports on 127.0.0.1, and a WebSocket client on its
 * frame port that keeps every frame with its arrival time. */
typedef struct
{
  GSubprocess             *process;
  gboolean                 exited;
  SoupSession             *session;
  SoupWebsocketConnection *connection;
  GPtrArray               *frames;      /* JsonObject of each "frame" */
  GArray                  *arrived_us;  /* gint64, g_get_monotonic_time() */
  GString                 *stderr_text; /* everything it wrote on stderr */
} RoadieTestEngine;

/* extra_args (NULL-terminated, may be NULL): e.g. --source NAME, --fps N.
 * Returns once the client is connected. */
RoadieTestEngine *roadie_test_engine_start   (const char * const *extra_args);
/* Kills the engine (if still running) and frees everything. */
void              roadie_test_engine_free    (RoadieTestEngine   *engine);
/* SIGTERM, then waits up to timeout_ms for it to exit; whether it did. */
gboolean          roadie_test_engine_stop    (RoadieTestEngine   *engine,
                                              guint               timeout_ms);
/* Index of the first frame at or after from with audio (no "audio" member)
 * and rms above min_rms; -1 when there is none yet. */
int               roadie_test_engine_find_music (RoadieTestEngine *engine,
                                                 guint             from,
                                                 double            min_rms);
/* Waits up to timeout_ms for such a frame; its index, or -1. */
int               roadie_test_engine_wait_music (RoadieTestEngine *engine,
                                                 guint             from,
                                                 double            min_rms,
                                                 guint             timeout_ms);
/* Waits up to timeout_ms for stderr to contain text. */
gboolean          roadie_test_engine_wait_stderr (RoadieTestEngine *engine,
                                                  const char       *text,
                                                  guint             timeout_ms);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (RoadieTestEngine, roadie_test_engine_free)

G_END_DECLS
