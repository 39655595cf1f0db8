/* roadie-pw-capture.h: what is playing, captured from PipeWire.
 *
 * A pw_stream capturing F32 at the graph rate: by default from the default
 * sink's monitor (stream.capture.sink, no fixed target, so WirePlumber
 * moves it when the DJ switches outputs), or from a named node, or from the
 * default input device when asked. The stream runs on a pw_thread_loop;
 * its real-time process callback only mixes to mono into a lock-free ring
 * and pokes an eventfd, and the GLib main loop, woken by that eventfd,
 * drains the ring and hands the samples to the caller. No daemon or a
 * failed stream: a log line, retries with backoff, never an abort.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef enum
{
  ROADIE_PW_CAPTURE_SINK_MONITOR,  /* the default output's monitor */
  ROADIE_PW_CAPTURE_NAMED_NODE,    /* the node.name given: a sink's monitor
                                    * for a sink (or "SINK.monitor"), else
                                    * the node; never another one */
  ROADIE_PW_CAPTURE_INPUT_DEVICE,  /* the default microphone / line-in */
} RoadiePwCaptureMode;

typedef struct _RoadiePwCapture RoadiePwCapture;

/* Called on the main loop with mono samples at sample_rate. */
typedef void (*RoadiePwCaptureFunc) (const float *mono,
                                     gsize        n_samples,
                                     guint        sample_rate,
                                     gpointer     user_data);

/* Called on the main loop with a sentence for the DJ when capture stops
 * or comes back; without one, the sentence goes to g_message. */
typedef void (*RoadiePwCaptureStatusFunc) (const char *message,
                                           gpointer    user_data);

RoadiePwCapture *roadie_pw_capture_new           (RoadiePwCaptureMode  mode,
                                                  const char          *target,
                                                  RoadiePwCaptureFunc  func,
                                                  gpointer             user_data);
void             roadie_pw_capture_free          (RoadiePwCapture     *self);
void             roadie_pw_capture_set_status_func (RoadiePwCapture           *self,
                                                    RoadiePwCaptureStatusFunc  func,
                                                    gpointer                   user_data);
/* Connects now and keeps reconnecting until freed. */
void             roadie_pw_capture_start         (RoadiePwCapture     *self);
/* Whether the stream is connected and streaming. */
gboolean         roadie_pw_capture_is_streaming  (RoadiePwCapture     *self);
/* The negotiated rate, 0 before the format is known. */
guint            roadie_pw_capture_get_sample_rate (RoadiePwCapture   *self);
/* The PipeWire node id of our stream, SPA_ID_INVALID when not connected. */
guint32          roadie_pw_capture_get_node_id   (RoadiePwCapture     *self);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (RoadiePwCapture, roadie_pw_capture_free)

G_END_DECLS
