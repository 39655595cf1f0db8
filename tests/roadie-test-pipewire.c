/* roadie-test-pipewire.c: a private PipeWire, and roadie-engine's frames,
 * for the pipewire tests and the latency benchmark.
 */
#include "config.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>

#include "roadie-test-pipewire.h"
#include "roadie-test-util.h"

#define CONNECT_ATTEMPTS 100
#define STDERR_CHUNK     4096

static GPtrArray *daemons;   /* GSubprocess, WirePlumber after PipeWire */

/* --- processes --------------------------------------------------------------- */

static void
die_with_parent (gpointer user_data)
{
  prctl (PR_SET_PDEATHSIG, SIGKILL);
}

GSubprocess *
roadie_test_spawn_child (const char * const *argv,
                         GSubprocessFlags    flags)
{
  g_autoptr(GSubprocessLauncher) launcher = g_subprocess_launcher_new (flags);
  g_autoptr(GError) error = NULL;
  GSubprocess *process;

  g_subprocess_launcher_set_child_setup (launcher, die_with_parent, NULL, NULL);
  process = g_subprocess_launcher_spawnv (launcher, argv, &error);
  g_assert_no_error (error);

  return process;
}

void
roadie_test_kill_process (GSubprocess *process)
{
  if (process == NULL)
    return;
  g_subprocess_force_exit (process);
  g_subprocess_wait (process, NULL, NULL);
}

void
roadie_test_kill_and_unref (GSubprocess *process)
{
  roadie_test_kill_process (process);
  g_object_unref (process);
}

char *
roadie_test_run_tool (const char * const *args)
{
  g_autoptr(GPtrArray) argv = g_ptr_array_new ();
  g_autoptr(GSubprocess) process = NULL;
  g_autoptr(GError) error = NULL;
  char *out = NULL;

  g_ptr_array_add (argv, (gpointer) "timeout");
  g_ptr_array_add (argv, (gpointer) "10");
  for (guint i = 0; args[i] != NULL; i++)
    g_ptr_array_add (argv, (gpointer) args[i]);
  g_ptr_array_add (argv, NULL);

  process = roadie_test_spawn_child ((const char * const *) argv->pdata,
                                     G_SUBPROCESS_FLAGS_STDOUT_PIPE | G_SUBPROCESS_FLAGS_STDERR_SILENCE);
  g_subprocess_communicate_utf8 (process, NULL, NULL, &out, NULL, &error);
  g_assert_no_error (error);
  if (!g_subprocess_get_successful (process))
    g_clear_pointer (&out, g_free);

  return out;
}

/* --- the graph, through pw-dump ------------------------------------------------ */

JsonArray *
roadie_test_pipewire_dump (JsonParser *parser)
{
  g_autofree char *json = roadie_test_run_tool ((const char *[]) { "pw-dump", NULL });

  g_assert_nonnull (json);
  g_assert_true (json_parser_load_from_data (parser, json, -1, NULL));

  return json_node_get_array (json_parser_get_root (parser));
}

JsonObject *
roadie_test_pipewire_node_props (JsonObject *object)
{
  JsonObject *info;

  if (g_strcmp0 (json_object_get_string_member_with_default (object, "type", ""), "PipeWire:Interface:Node") != 0)
    return NULL;
  info = json_object_get_object_member (object, "info");
  if (info == NULL || !json_object_has_member (info, "props"))
    return NULL;
  return json_object_get_object_member (info, "props");
}

gint64
roadie_test_pipewire_find_node (const char *name)
{
  g_autoptr(JsonParser) parser = json_parser_new ();
  JsonArray *graph = roadie_test_pipewire_dump (parser);

  for (guint i = 0; i < json_array_get_length (graph); i++)
    {
      JsonObject *object = json_array_get_object_element (graph, i);
      JsonObject *props = roadie_test_pipewire_node_props (object);

      if (props != NULL && g_strcmp0 (json_object_get_string_member_with_default (props, "node.name", ""), name) == 0)
        return json_object_get_int_member (object, "id");
    }
  return 0;
}

static gboolean
node_exists (gpointer user_data)
{
  return roadie_test_pipewire_find_node (user_data) != 0;
}

static gboolean
wireplumber_ready (gpointer user_data)
{
  g_autofree char *status = roadie_test_run_tool ((const char *[]) { "wpctl", "status", NULL });

  return status != NULL && strstr (status, "WirePlumber") != NULL;
}

void
roadie_test_pipewire_create_null_node (const char *name,
                                       const char *media_class)
{
  g_autofree char *props = g_strdup_printf ("{ factory.name=support.null-audio-sink node.name=%s "
                                            "node.description=%s media.class=%s object.linger=true "
                                            "audio.position=[FL FR] }", name, name, media_class);
  g_autofree char *out = roadie_test_run_tool ((const char *[]) { "pw-cli", "create-node", "adapter",
                                                                  props, NULL });

  g_assert_nonnull (out);
  if (!roadie_test_wait_until (node_exists, (gpointer) name, ROADIE_TEST_PIPEWIRE_READY_MS))
    g_error ("PipeWire node %s never appeared", name);
}

typedef struct
{
  const char *name;
  const char *which;
} DefaultWanted;

static gboolean
default_is_set (gpointer user_data)
{
  DefaultWanted *wanted = user_data;
  g_autofree char *id = g_strdup_printf ("%" G_GINT64_FORMAT, roadie_test_pipewire_find_node (wanted->name));
  g_autofree char *quoted = g_strdup_printf ("node.name = \"%s\"", wanted->name);
  g_autofree char *set = roadie_test_run_tool ((const char *[]) { "wpctl", "set-default", id, NULL });
  g_autofree char *current = roadie_test_run_tool ((const char *[]) { "wpctl", "inspect", wanted->which, NULL });

  /* WirePlumber may not know a node made a moment ago: ask again. */
  return current != NULL && strstr (current, quoted) != NULL;
}

void
roadie_test_pipewire_set_default (const char *name,
                                  const char *which)
{
  DefaultWanted wanted = { name, which };

  if (!roadie_test_wait_until (default_is_set, &wanted, ROADIE_TEST_PIPEWIRE_READY_MS))
    g_error ("wpctl set-default never made %s the default (%s)", name, which);
}

void
roadie_test_pipewire_start_daemons (void)
{
  g_ptr_array_add (daemons, roadie_test_spawn_child ((const char *[]) { "pipewire", NULL },
                                                     G_SUBPROCESS_FLAGS_STDOUT_SILENCE
                                                     | G_SUBPROCESS_FLAGS_STDERR_SILENCE));
  g_ptr_array_add (daemons, roadie_test_spawn_child ((const char *[]) { "wireplumber", NULL },
                                                     G_SUBPROCESS_FLAGS_STDOUT_SILENCE
                                                     | G_SUBPROCESS_FLAGS_STDERR_SILENCE));
  if (!roadie_test_wait_until (wireplumber_ready, NULL, ROADIE_TEST_PIPEWIRE_READY_MS))
    g_error ("the private PipeWire and WirePlumber did not come up in %d ms", ROADIE_TEST_PIPEWIRE_READY_MS);
}

void
roadie_test_pipewire_stop_daemons (void)
{
  /* WirePlumber before PipeWire, so it does not log a lost daemon. */
  for (guint i = daemons->len; i > 0; i--)
    roadie_test_kill_process (g_ptr_array_index (daemons, i - 1));
  g_ptr_array_set_size (daemons, 0);
}

static void
stop_daemons_at_exit (void)
{
  roadie_test_pipewire_stop_daemons ();
  g_clear_pointer (&daemons, g_ptr_array_unref);
}

void
roadie_test_pipewire_start (void)
{
  const char *runtime = g_getenv ("XDG_RUNTIME_DIR");

  g_assert_null (daemons);
  g_assert_nonnull (runtime);
  /* Everything in the test, and the engine, find the daemon here. */
  g_setenv ("PIPEWIRE_RUNTIME_DIR", runtime, TRUE);
  g_unsetenv ("PIPEWIRE_REMOTE");
  roadie_test_start_dbus ();

  daemons = g_ptr_array_new_with_free_func (g_object_unref);
  atexit (stop_daemons_at_exit);
  roadie_test_pipewire_start_daemons ();
}

/* --- roadie-engine and its frames ------------------------------------------------ */

/* Async callbacks hold this, not the engine: after roadie_test_engine_free
 * they find engine NULL and do nothing. */
typedef struct
{
  RoadieTestEngine *engine;
  gboolean          connect_done;
} EngineLink;

typedef struct
{
  RoadieTestEngine  parent;
  EngineLink       *link;
  GCancellable     *cancellable;
  GInputStream     *stderr_stream;
} EnginePrivate;

static void
link_unref (EngineLink *link)
{
  g_atomic_rc_box_release (link);
}

static void
on_frame_message (SoupWebsocketConnection *connection,
                  SoupWebsocketDataType    type,
                  GBytes                  *message,
                  gpointer                 user_data)
{
  RoadieTestEngine *engine = user_data;
  g_autoptr(JsonParser) parser = json_parser_new ();
  gint64 now = g_get_monotonic_time ();
  JsonObject *object;

  g_assert_true (json_parser_load_from_data (parser, g_bytes_get_data (message, NULL),
                                             g_bytes_get_size (message), NULL));
  object = json_node_get_object (json_parser_get_root (parser));
  if (g_strcmp0 (json_object_get_string_member (object, "type"), "frame") != 0)
    return;
  g_ptr_array_add (engine->frames, json_object_ref (object));
  g_array_append_val (engine->arrived_us, now);
}

static void
on_connected (GObject      *object,
              GAsyncResult *result,
              gpointer      user_data)
{
  EngineLink *link = user_data;
  SoupWebsocketConnection *connection = soup_session_websocket_connect_finish (SOUP_SESSION (object),
                                                                               result, NULL);

  if (link->engine != NULL)
    {
      link->engine->connection = connection;
      link->connect_done = TRUE;
      if (connection != NULL)
        g_signal_connect (connection, "message", G_CALLBACK (on_frame_message), link->engine);
    }
  else
    g_clear_object (&connection);
  link_unref (link);
}

static gboolean
connect_finished (gpointer user_data)
{
  return ((EngineLink *) user_data)->connect_done;
}

static void
on_engine_exited (GObject      *object,
                  GAsyncResult *result,
                  gpointer      user_data)
{
  EngineLink *link = user_data;

  g_subprocess_wait_finish (G_SUBPROCESS (object), result, NULL);
  if (link->engine != NULL)
    link->engine->exited = TRUE;
  link_unref (link);
}

static void read_stderr (EnginePrivate *priv);

static void
on_stderr_read (GObject      *object,
                GAsyncResult *result,
                gpointer      user_data)
{
  EngineLink *link = user_data;
  g_autoptr(GBytes) bytes = g_input_stream_read_bytes_finish (G_INPUT_STREAM (object), result, NULL);
  RoadieTestEngine *engine = link->engine;

  if (engine != NULL && bytes != NULL && g_bytes_get_size (bytes) > 0)
    {
      gsize size;
      const char *text = g_bytes_get_data (bytes, &size);

      g_string_append_len (engine->stderr_text, text, size);
      /* Still in the test's log, as if inherited. */
      fwrite (text, 1, size, stderr);
      read_stderr ((EnginePrivate *) engine);
    }
  link_unref (link);
}

static void
read_stderr (EnginePrivate *priv)
{
  g_input_stream_read_bytes_async (priv->stderr_stream, STDERR_CHUNK, G_PRIORITY_DEFAULT, priv->cancellable,
                                   on_stderr_read, g_atomic_rc_box_acquire (priv->link));
}

RoadieTestEngine *
roadie_test_engine_start (const char * const *extra_args)
{
  EnginePrivate *priv = g_new0 (EnginePrivate, 1);
  RoadieTestEngine *engine = &priv->parent;
  guint16 port = roadie_test_free_port ();
  g_autofree char *port_text = g_strdup_printf ("%u", port);
  g_autofree char *url = g_strdup_printf ("ws://127.0.0.1:%u/", port);
  g_autoptr(GPtrArray) argv = g_ptr_array_new ();

  for (const char * const *arg = (const char *[]) { roadie_test_engine (), "--port", port_text,
                                                    "--browser-port", "0", "--dj-port", "0", NULL };
       *arg != NULL; arg++)
    g_ptr_array_add (argv, (gpointer) *arg);
  for (guint i = 0; extra_args != NULL && extra_args[i] != NULL; i++)
    g_ptr_array_add (argv, (gpointer) extra_args[i]);
  g_ptr_array_add (argv, NULL);

  priv->link = g_atomic_rc_box_new0 (EngineLink);
  priv->link->engine = engine;
  priv->cancellable = g_cancellable_new ();
  engine->frames = g_ptr_array_new_with_free_func ((GDestroyNotify) json_object_unref);
  engine->arrived_us = g_array_new (FALSE, FALSE, sizeof (gint64));
  engine->stderr_text = g_string_new (NULL);

  engine->process = roadie_test_spawn_child ((const char * const *) argv->pdata,
                                             G_SUBPROCESS_FLAGS_STDOUT_SILENCE | G_SUBPROCESS_FLAGS_STDERR_PIPE);
  g_subprocess_wait_async (engine->process, priv->cancellable, on_engine_exited,
                           g_atomic_rc_box_acquire (priv->link));
  priv->stderr_stream = g_object_ref (g_subprocess_get_stderr_pipe (engine->process));
  read_stderr (priv);

  engine->session = soup_session_new ();
  for (guint attempt = 0; attempt < CONNECT_ATTEMPTS && engine->connection == NULL && !engine->exited; attempt++)
    {
      g_autoptr(SoupMessage) message = soup_message_new ("GET", url);

      priv->link->connect_done = FALSE;
      soup_session_websocket_connect_async (engine->session, message, NULL, NULL, G_PRIORITY_DEFAULT,
                                            priv->cancellable, on_connected,
                                            g_atomic_rc_box_acquire (priv->link));
      g_assert_true (roadie_test_wait_until (connect_finished, priv->link, 5000));
      if (engine->connection == NULL)
        roadie_test_run_for (50);
    }
  g_assert_nonnull (engine->connection);

  return engine;
}

static gboolean
engine_exited (gpointer user_data)
{
  return ((RoadieTestEngine *) user_data)->exited;
}

gboolean
roadie_test_engine_stop (RoadieTestEngine *engine,
                         guint             timeout_ms)
{
  if (!engine->exited)
    g_subprocess_send_signal (engine->process, SIGTERM);
  return roadie_test_wait_until (engine_exited, engine, timeout_ms);
}

void
roadie_test_engine_free (RoadieTestEngine *engine)
{
  EnginePrivate *priv = (EnginePrivate *) engine;

  if (engine == NULL)
    return;

  priv->link->engine = NULL;
  g_cancellable_cancel (priv->cancellable);
  if (engine->connection != NULL)
    {
      g_signal_handlers_disconnect_by_data (engine->connection, engine);
      g_clear_object (&engine->connection);
    }
  g_clear_object (&engine->session);
  g_clear_pointer (&engine->process, roadie_test_kill_and_unref);
  /* The cancelled callbacks run now, and drop their references. */
  roadie_test_run_for (10);
  g_clear_object (&priv->stderr_stream);
  g_clear_object (&priv->cancellable);
  link_unref (priv->link);
  g_ptr_array_unref (engine->frames);
  g_array_unref (engine->arrived_us);
  g_string_free (engine->stderr_text, TRUE);
  g_free (priv);
}

int
roadie_test_engine_find_music (RoadieTestEngine *engine,
                               guint             from,
                               double            min_rms)
{
  for (guint i = from; i < engine->frames->len; i++)
    {
      JsonObject *frame = g_ptr_array_index (engine->frames, i);

      if (!json_object_has_member (frame, "audio") && json_object_get_double_member (frame, "rms") > min_rms)
        return (int) i;
    }
  return -1;
}

typedef struct
{
  RoadieTestEngine *engine;
  guint             from;
  double            min_rms;
} MusicWanted;

static gboolean
has_music (gpointer user_data)
{
  MusicWanted *wanted = user_data;

  return roadie_test_engine_find_music (wanted->engine, wanted->from, wanted->min_rms) >= 0;
}

int
roadie_test_engine_wait_music (RoadieTestEngine *engine,
                               guint             from,
                               double            min_rms,
                               guint             timeout_ms)
{
  MusicWanted wanted = { engine, from, min_rms };

  roadie_test_wait_until (has_music, &wanted, timeout_ms);
  return roadie_test_engine_find_music (engine, from, min_rms);
}

typedef struct
{
  RoadieTestEngine *engine;
  const char       *text;
} StderrWanted;

static gboolean
stderr_has (gpointer user_data)
{
  StderrWanted *wanted = user_data;

  return strstr (wanted->engine->stderr_text->str, wanted->text) != NULL;
}

gboolean
roadie_test_engine_wait_stderr (RoadieTestEngine *engine,
                                const char       *text,
                                guint             timeout_ms)
{
  StderrWanted wanted = { engine, text };

  return roadie_test_wait_until (stderr_has, &wanted, timeout_ms);
}
