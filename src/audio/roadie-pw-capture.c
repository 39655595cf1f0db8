/* roadie-pw-capture.c: what is playing, captured from PipeWire.
 *
 * Why a pw_thread_loop and an eventfd rather than PipeWire's loop fd in a
 * GSource: the stream's process callback then runs on PipeWire's data
 * thread (PW_STREAM_FLAG_RT_PROCESS) with real-time priority, so a busy
 * main loop (a thousand browsers to broadcast to) never makes capture drop
 * samples; only the hand-over (the ring and the eventfd) crosses threads,
 * and the main loop sleeps when nothing is captured.
 *
 * Every PipeWire event other than process (state changes, core errors) runs
 * on the thread loop; they only set atomic flags and poke the same eventfd,
 * and the main loop does the rest: logging, tearing down, retrying.
 *
 * A named node is looked up in the registry before the stream is made, for
 * two reasons WirePlumber 0.4 gives: a capture stream aimed at a sink by
 * name only finds it with stream.capture.sink set (else the name matches
 * nothing), and a name that matches nothing falls back to the default
 * source, the microphone. So: a sink's monitor for a sink, the node itself
 * otherwise, node.dont-reconnect so WirePlumber never substitutes another
 * node, and a missing node is said plainly and looked for again.
 */
#include "config.h"

#include <errno.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <glib-unix.h>
/* SPA's inline headers trip our stricter warnings; they are not ours to fix. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wswitch-default"
#include <pipewire/pipewire.h>
#include <spa/param/audio/format-utils.h>
#pragma GCC diagnostic pop

#include "roadie-backoff.h"
#include "roadie-pw-capture.h"
#include "roadie-ring-buffer.h"

/* A second at 192 kHz: the main loop may stall a while without a drop. */
#define RING_CAPACITY    (192000)
#define DRAIN_BLOCK      4096
#define NO_DAEMON_MESSAGE "PipeWire is not running: no audio to analyse"
#define MONITOR_SUFFIX    ".monitor"

static const RoadieBackoffPolicy retry_policy = { 500, 2.0, 10000, 0.1 };

struct _RoadiePwCapture
{
  RoadiePwCaptureMode  mode;
  char                *target;
  RoadiePwCaptureFunc  func;
  gpointer             user_data;
  RoadiePwCaptureStatusFunc status_func;
  gpointer             status_data;

  RoadieRingBuffer    *ring;
  int                  wake_fd;
  guint                wake_id;
  guint                retry_id;
  guint                attempt;
  char                *said_no_audio;  /* the last failure told, NULL while capturing */
  float               *drain;

  struct pw_thread_loop *thread_loop;
  struct pw_context     *context;
  struct pw_core        *core;
  struct spa_hook        core_listener;
  struct pw_stream      *stream;
  struct spa_hook        stream_listener;
  struct pw_registry    *registry;
  struct spa_hook        registry_listener;

  /* The named node, looked up on the thread loop (and only read there). */
  char                *monitor_of;     /* "X" for a target "X.monitor" */
  int                  lookup_seq;
  const char          *found_name;     /* target or monitor_of, once seen */
  gboolean             found_sink;

  /* Written on PipeWire's threads, read on the main loop. */
  _Atomic guint        rate;
  _Atomic guint        channels;
  _Atomic gboolean     failed;
  _Atomic gboolean     streaming;
  _Atomic gboolean     daemon_lost;
  _Atomic guint32      node_id;
};

static void schedule_retry (RoadiePwCapture *self);

static void
tell (RoadiePwCapture *self,
      const char      *message)
{
  if (self->status_func != NULL)
    self->status_func (message, self->status_data);
  else
    g_message ("%s", message);
}

static void
wake_main_loop (RoadiePwCapture *self)
{
  guint64 one = 1;

  /* An eventfd write never blocks or allocates; if the counter were full
   * the main loop is awake anyway. */
  if (write (self->wake_fd, &one, sizeof one) < 0)
    return;
}

static void
on_process (void *data)
{
  RoadiePwCapture *self = data;
  struct pw_buffer *buffer = pw_stream_dequeue_buffer (self->stream);
  guint channels = atomic_load_explicit (&self->channels, memory_order_relaxed);

  if (buffer == NULL)
    return;

  if (channels > 0 && buffer->buffer->n_datas > 0)
    {
      struct spa_data *d = &buffer->buffer->datas[0];

      if (d->data != NULL && d->chunk != NULL)
        {
          guint32 offset = MIN (d->chunk->offset, d->maxsize);
          guint32 size = MIN (d->chunk->size, d->maxsize - offset);
          gsize n_frames = size / (sizeof (float) * channels);

          roadie_ring_buffer_write_mono_mix (self->ring,
                                             (const float *) ((const guint8 *) d->data + offset),
                                             n_frames, channels);
        }
    }

  pw_stream_queue_buffer (self->stream, buffer);
  wake_main_loop (self);
}

static void
on_param_changed (void                 *data,
                  uint32_t              id,
                  const struct spa_pod *param)
{
  RoadiePwCapture *self = data;
  struct spa_audio_info_raw info = { 0 };

  if (param == NULL || id != SPA_PARAM_Format)
    return;
  if (spa_format_audio_raw_parse (param, &info) < 0 || info.format != SPA_AUDIO_FORMAT_F32)
    return;

  atomic_store (&self->channels, info.channels);
  atomic_store (&self->rate, info.rate);
}

static void
on_state_changed (void                 *data,
                  enum pw_stream_state  old,
                  enum pw_stream_state  state,
                  const char           *error)
{
  RoadiePwCapture *self = data;

  atomic_store (&self->streaming, state == PW_STREAM_STATE_STREAMING);
  if (state >= PW_STREAM_STATE_PAUSED)
    atomic_store (&self->node_id, pw_stream_get_node_id (self->stream));
  if (state == PW_STREAM_STATE_ERROR || state == PW_STREAM_STATE_UNCONNECTED)
    atomic_store (&self->failed, TRUE);
  /* Streaming is news too: the main loop says capture is back. */
  wake_main_loop (self);
}

static const struct pw_stream_events stream_events = {
  PW_VERSION_STREAM_EVENTS,
  .state_changed = on_state_changed,
  .param_changed = on_param_changed,
  .process = on_process,
};

static void
on_core_error (void       *data,
               uint32_t    id,
               int         seq,
               int         res,
               const char *message)
{
  RoadiePwCapture *self = data;

  /* -EPIPE on the core: the daemon went away. */
  if (id == PW_ID_CORE)
    {
      atomic_store (&self->daemon_lost, TRUE);
      atomic_store (&self->failed, TRUE);
      wake_main_loop (self);
    }
}

static gboolean connect_stream (RoadiePwCapture *self);

/* The registry has told every node it had at lookup time. */
static void
on_core_done (void     *data,
              uint32_t  id,
              int       seq)
{
  RoadiePwCapture *self = data;

  if (id != PW_ID_CORE || self->registry == NULL || seq != self->lookup_seq || self->stream != NULL)
    return;

  if (self->found_name == NULL || !connect_stream (self))
    {
      atomic_store (&self->failed, TRUE);
      wake_main_loop (self);
    }
}

static const struct pw_core_events core_events = {
  PW_VERSION_CORE_EVENTS,
  .done = on_core_done,
  .error = on_core_error,
};

static void
on_registry_global (void                  *data,
                    uint32_t               id,
                    uint32_t               permissions,
                    const char            *type,
                    uint32_t               version,
                    const struct spa_dict *props)
{
  RoadiePwCapture *self = data;
  const char *name;
  const char *media_class;
  gboolean is_sink;

  if (props == NULL || strcmp (type, PW_TYPE_INTERFACE_Node) != 0)
    return;
  name = spa_dict_lookup (props, PW_KEY_NODE_NAME);
  media_class = spa_dict_lookup (props, PW_KEY_MEDIA_CLASS);
  is_sink = media_class != NULL && g_str_has_suffix (media_class, "/Sink");

  if (g_strcmp0 (name, self->target) == 0)
    {
      self->found_name = self->target;
      self->found_sink = is_sink;
    }
  else if (self->found_name == NULL && is_sink && g_strcmp0 (name, self->monitor_of) == 0)
    {
      self->found_name = self->monitor_of;
      self->found_sink = TRUE;
    }
}

static const struct pw_registry_events registry_events = {
  PW_VERSION_REGISTRY_EVENTS,
  .global = on_registry_global,
};

static void
disconnect (RoadiePwCapture *self)
{
  if (self->thread_loop != NULL)
    pw_thread_loop_stop (self->thread_loop);
  if (self->stream != NULL)
    {
      spa_hook_remove (&self->stream_listener);
      pw_stream_destroy (self->stream);
      self->stream = NULL;
    }
  if (self->registry != NULL)
    {
      spa_hook_remove (&self->registry_listener);
      pw_proxy_destroy ((struct pw_proxy *) self->registry);
      self->registry = NULL;
    }
  if (self->core != NULL)
    {
      spa_hook_remove (&self->core_listener);
      pw_core_disconnect (self->core);
      self->core = NULL;
    }
  g_clear_pointer (&self->context, pw_context_destroy);
  g_clear_pointer (&self->thread_loop, pw_thread_loop_destroy);
  atomic_store (&self->streaming, FALSE);
  atomic_store (&self->failed, FALSE);
  atomic_store (&self->daemon_lost, FALSE);
  atomic_store (&self->node_id, SPA_ID_INVALID);
  self->found_name = NULL;
  self->found_sink = FALSE;
}

static struct pw_properties *
stream_properties (RoadiePwCapture *self)
{
  struct pw_properties *props = pw_properties_new (PW_KEY_MEDIA_TYPE, "Audio",
                                                   PW_KEY_MEDIA_CATEGORY, "Capture",
                                                   PW_KEY_MEDIA_ROLE, "Music",
                                                   PW_KEY_APP_NAME, "Roadie",
                                                   PW_KEY_NODE_NAME, "roadie-engine",
                                                   PW_KEY_NODE_DESCRIPTION, "Roadie analysis",
                                                   NULL);

  switch (self->mode)
    {
    case ROADIE_PW_CAPTURE_SINK_MONITOR:
      /* No target: WirePlumber follows the default sink for us. */
      pw_properties_set (props, PW_KEY_STREAM_CAPTURE_SINK, "true");
      break;
    case ROADIE_PW_CAPTURE_NAMED_NODE:
      pw_properties_set (props, PW_KEY_TARGET_OBJECT, self->found_name);
      if (self->found_sink)
        pw_properties_set (props, PW_KEY_STREAM_CAPTURE_SINK, "true");
      /* That node or none: never the default one instead. */
      pw_properties_set (props, PW_KEY_NODE_DONT_RECONNECT, "true");
      break;
    case ROADIE_PW_CAPTURE_INPUT_DEVICE:
    default:
      break;
    }

  return props;
}

/* On the main loop before the thread loop runs, or on the thread loop. */
static gboolean
connect_stream (RoadiePwCapture *self)
{
  guint8 pod_buffer[1024];
  struct spa_pod_builder builder = SPA_POD_BUILDER_INIT (pod_buffer, sizeof pod_buffer);
  struct spa_audio_info_raw wanted = { .format = SPA_AUDIO_FORMAT_F32 };
  const struct spa_pod *params[1];

  self->stream = pw_stream_new (self->core, "Roadie analysis", stream_properties (self));
  if (self->stream == NULL)
    return FALSE;
  pw_stream_add_listener (self->stream, &self->stream_listener, &stream_events, self);

  /* Only the sample format is fixed: rate and channels stay the graph's,
   * so nothing is resampled on the way in. */
  params[0] = spa_format_audio_raw_build (&builder, SPA_PARAM_EnumFormat, &wanted);
  return pw_stream_connect (self->stream, PW_DIRECTION_INPUT, PW_ID_ANY,
                            PW_STREAM_FLAG_AUTOCONNECT | PW_STREAM_FLAG_MAP_BUFFERS | PW_STREAM_FLAG_RT_PROCESS,
                            params, 1) >= 0;
}

static gboolean
try_connect (RoadiePwCapture *self)
{
  self->thread_loop = pw_thread_loop_new ("roadie-capture", NULL);
  if (self->thread_loop == NULL)
    return FALSE;
  self->context = pw_context_new (pw_thread_loop_get_loop (self->thread_loop), NULL, 0);
  if (self->context == NULL)
    return FALSE;
  self->core = pw_context_connect (self->context, NULL, 0);
  if (self->core == NULL)
    return FALSE;
  pw_core_add_listener (self->core, &self->core_listener, &core_events, self);

  if (self->mode == ROADIE_PW_CAPTURE_NAMED_NODE)
    {
      /* The stream is made in on_core_done, once the node is known. */
      self->registry = pw_core_get_registry (self->core, PW_VERSION_REGISTRY, 0);
      if (self->registry == NULL)
        return FALSE;
      pw_registry_add_listener (self->registry, &self->registry_listener, &registry_events, self);
      self->lookup_seq = pw_core_sync (self->core, PW_ID_CORE, 0);
    }
  else if (!connect_stream (self))
    return FALSE;

  return pw_thread_loop_start (self->thread_loop) == 0;
}

/* Says why there is no audio, once for each new reason. */
static void
say_no_audio (RoadiePwCapture *self,
              gboolean         no_such_node)
{
  g_autofree char *message = NULL;

  if (no_such_node)
    message = g_strdup_printf ("PipeWire has no node named \"%s\" to capture "
                               "(pw-dump or wpctl status lists them): no audio to analyse",
                               self->target);
  else
    message = g_strdup (NO_DAEMON_MESSAGE);

  if (g_strcmp0 (message, self->said_no_audio) == 0)
    return;
  tell (self, message);
  g_free (self->said_no_audio);
  self->said_no_audio = g_steal_pointer (&message);
}

static void
say_capturing_again (RoadiePwCapture *self)
{
  g_autofree char *message = NULL;

  if (self->said_no_audio == NULL)
    return;
  if (self->mode == ROADIE_PW_CAPTURE_NAMED_NODE)
    message = g_strdup_printf ("Capturing PipeWire node \"%s\" now", self->target);
  else
    message = g_strdup ("PipeWire is back: capturing again");
  tell (self, message);
  g_clear_pointer (&self->said_no_audio, g_free);
}

static gboolean
on_retry (gpointer user_data)
{
  RoadiePwCapture *self = user_data;

  self->retry_id = 0;
  self->attempt++;
  if (try_connect (self))
    return G_SOURCE_REMOVE;

  disconnect (self);
  say_no_audio (self, FALSE);
  schedule_retry (self);

  return G_SOURCE_REMOVE;
}

static void
schedule_retry (RoadiePwCapture *self)
{
  guint delay = roadie_backoff_delay_ms (&retry_policy, MAX (self->attempt, 1),
                                         roadie_random_default (NULL));

  g_clear_handle_id (&self->retry_id, g_source_remove);
  self->retry_id = g_timeout_add (delay, on_retry, self);
}

static gboolean
on_wake (int          fd,
         GIOCondition condition,
         gpointer     user_data)
{
  RoadiePwCapture *self = user_data;
  guint64 count;
  gsize n;

  if (read (fd, &count, sizeof count) < 0 && errno != EAGAIN)
    return G_SOURCE_CONTINUE;

  while ((n = roadie_ring_buffer_read (self->ring, self->drain, DRAIN_BLOCK)) > 0)
    self->func (self->drain, n, atomic_load (&self->rate), self->user_data);

  if (atomic_load (&self->streaming))
    {
      self->attempt = 0;
      say_capturing_again (self);
    }

  if (atomic_load (&self->failed))
    {
      /* A daemon that went away, or a stream that failed: with the
       * daemon there, a named node that is missing (or went away, and
       * WirePlumber ended our stream rather than move it). Start over. */
      gboolean no_such_node = self->mode == ROADIE_PW_CAPTURE_NAMED_NODE
                              && !atomic_load (&self->daemon_lost);

      disconnect (self);
      say_no_audio (self, no_such_node);
      schedule_retry (self);
    }

  return G_SOURCE_CONTINUE;
}

RoadiePwCapture *
roadie_pw_capture_new (RoadiePwCaptureMode  mode,
                       const char          *target,
                       RoadiePwCaptureFunc  func,
                       gpointer             user_data)
{
  RoadiePwCapture *self = g_new0 (RoadiePwCapture, 1);

  g_return_val_if_fail (func != NULL, NULL);
  g_return_val_if_fail (mode != ROADIE_PW_CAPTURE_NAMED_NODE || target != NULL, NULL);

  pw_init (NULL, NULL);

  self->mode = mode;
  self->target = g_strdup (target);
  if (target != NULL && g_str_has_suffix (target, MONITOR_SUFFIX))
    self->monitor_of = g_strndup (target, strlen (target) - strlen (MONITOR_SUFFIX));
  self->func = func;
  self->user_data = user_data;
  self->ring = roadie_ring_buffer_new (RING_CAPACITY);
  self->drain = g_new (float, DRAIN_BLOCK);
  self->wake_fd = eventfd (0, EFD_CLOEXEC | EFD_NONBLOCK);
  atomic_init (&self->rate, 0);
  atomic_init (&self->channels, 0);
  atomic_init (&self->failed, FALSE);
  atomic_init (&self->streaming, FALSE);
  atomic_init (&self->daemon_lost, FALSE);
  atomic_init (&self->node_id, SPA_ID_INVALID);
  self->wake_id = g_unix_fd_add (self->wake_fd, G_IO_IN, on_wake, self);

  return self;
}

void
roadie_pw_capture_set_status_func (RoadiePwCapture           *self,
                                   RoadiePwCaptureStatusFunc  func,
                                   gpointer                   user_data)
{
  self->status_func = func;
  self->status_data = user_data;
}

void
roadie_pw_capture_start (RoadiePwCapture *self)
{
  if (self->thread_loop != NULL || self->retry_id != 0)
    return;

  self->attempt = 0;
  on_retry (self);
}

void
roadie_pw_capture_free (RoadiePwCapture *self)
{
  if (self == NULL)
    return;

  disconnect (self);
  g_clear_handle_id (&self->retry_id, g_source_remove);
  g_clear_handle_id (&self->wake_id, g_source_remove);
  if (self->wake_fd >= 0)
    close (self->wake_fd);
  roadie_ring_buffer_free (self->ring);
  g_free (self->drain);
  g_free (self->target);
  g_free (self->monitor_of);
  g_free (self->said_no_audio);
  g_free (self);
}

gboolean
roadie_pw_capture_is_streaming (RoadiePwCapture *self)
{
  return atomic_load (&self->streaming);
}

guint
roadie_pw_capture_get_sample_rate (RoadiePwCapture *self)
{
  return atomic_load (&self->rate);
}

guint32
roadie_pw_capture_get_node_id (RoadiePwCapture *self)
{
  return atomic_load (&self->node_id);
}
