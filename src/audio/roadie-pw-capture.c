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
 */
#include "config.h"

#include <errno.h>
#include <stdatomic.h>
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
  gboolean             said_no_daemon;
  float               *drain;

  struct pw_thread_loop *thread_loop;
  struct pw_context     *context;
  struct pw_core        *core;
  struct spa_hook        core_listener;
  struct pw_stream      *stream;
  struct spa_hook        stream_listener;

  /* Written on PipeWire's threads, read on the main loop. */
  _Atomic guint        rate;
  _Atomic guint        channels;
  _Atomic gboolean     failed;
  _Atomic gboolean     streaming;
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
    {
      atomic_store (&self->failed, TRUE);
      wake_main_loop (self);
    }
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
      atomic_store (&self->failed, TRUE);
      wake_main_loop (self);
    }
}

static const struct pw_core_events core_events = {
  PW_VERSION_CORE_EVENTS,
  .error = on_core_error,
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
  atomic_store (&self->node_id, SPA_ID_INVALID);
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
      pw_properties_set (props, PW_KEY_TARGET_OBJECT, self->target);
      break;
    case ROADIE_PW_CAPTURE_INPUT_DEVICE:
    default:
      break;
    }

  return props;
}

static gboolean
try_connect (RoadiePwCapture *self)
{
  guint8 pod_buffer[1024];
  struct spa_pod_builder builder = SPA_POD_BUILDER_INIT (pod_buffer, sizeof pod_buffer);
  struct spa_audio_info_raw wanted = { .format = SPA_AUDIO_FORMAT_F32 };
  const struct spa_pod *params[1];

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

  self->stream = pw_stream_new (self->core, "Roadie analysis", stream_properties (self));
  if (self->stream == NULL)
    return FALSE;
  pw_stream_add_listener (self->stream, &self->stream_listener, &stream_events, self);

  /* Only the sample format is fixed: rate and channels stay the graph's,
   * so nothing is resampled on the way in. */
  params[0] = spa_format_audio_raw_build (&builder, SPA_PARAM_EnumFormat, &wanted);
  if (pw_stream_connect (self->stream, PW_DIRECTION_INPUT, PW_ID_ANY,
                         PW_STREAM_FLAG_AUTOCONNECT | PW_STREAM_FLAG_MAP_BUFFERS | PW_STREAM_FLAG_RT_PROCESS,
                         params, 1) < 0)
    return FALSE;

  return pw_thread_loop_start (self->thread_loop) == 0;
}

static gboolean
on_retry (gpointer user_data)
{
  RoadiePwCapture *self = user_data;

  self->retry_id = 0;
  self->attempt++;
  if (try_connect (self))
    {
      if (self->said_no_daemon)
        tell (self, "PipeWire is back: capturing again");
      self->said_no_daemon = FALSE;
      return G_SOURCE_REMOVE;
    }

  disconnect (self);
  if (!self->said_no_daemon)
    {
      tell (self, NO_DAEMON_MESSAGE);
      self->said_no_daemon = TRUE;
    }
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
    self->attempt = 0;

  if (atomic_load (&self->failed))
    {
      /* A daemon that went away or a stream that failed: start over. */
      disconnect (self);
      if (!self->said_no_daemon)
        {
          tell (self, NO_DAEMON_MESSAGE);
          self->said_no_daemon = TRUE;
        }
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
  self->func = func;
  self->user_data = user_data;
  self->ring = roadie_ring_buffer_new (RING_CAPACITY);
  self->drain = g_new (float, DRAIN_BLOCK);
  self->wake_fd = eventfd (0, EFD_CLOEXEC | EFD_NONBLOCK);
  atomic_init (&self->rate, 0);
  atomic_init (&self->channels, 0);
  atomic_init (&self->failed, FALSE);
  atomic_init (&self->streaming, FALSE);
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
