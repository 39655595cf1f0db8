/* bench-latency.c: from a click played into the null sink to the frame
 * that reports it.
 *
 * A private PipeWire (as the pipewire tests start it) with one null sink,
 * the default; two roadie-engines capturing its monitor side by side, one
 * at the default 60 frames per second and one at 240, each with a
 * WebSocket client on its frame port. The bench itself plays the clicks
 * as a pw_stream into the sink: every CLICK_INTERVAL_S, a 5 ms burst at
 * 0.9 starting on the first sample of a buffer, so the click's play time
 * is the graph cycle's own clock (pw_time.now) plus the delay to the
 * device, both CLOCK_MONOTONIC like the frames' arrival times. For each
 * click the first frame whose peak jumps is its report. Each engine's
 * latency, p50/p99/max, in two graphs: the default quantum (no node asks
 * for less) and 256 samples (forced, as a low-latency player would ask),
 * with what the frame's own timestamp says of where the time goes:
 * click -> frame sent (capture, hop, waiting for the frame tick) and
 * frame sent -> received (WebSocket on loopback).
 * Exits non-zero if p50 at 60 fps misses the target in the default graph.
 */
#include "config.h"

#include <math.h>
#include <stdatomic.h>
#include <string.h>
#include <time.h>

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wswitch-default"
#include <pipewire/pipewire.h>
#include <spa/param/audio/format-utils.h>
#pragma GCC diagnostic pop

#include "roadie-test-pipewire.h"
#include "roadie-test-util.h"

#define SINK               "roadie-bench-sink"
#define RATE               48000
#define CHANNELS           2
#define N_CLICKS           64
#define CLICK_INTERVAL_S   0.5
#define CLICK_SAMPLES      (RATE / 200)
#define CLICK_LEVEL        0.9f
/* A frame whose peak is above this reports the click; silence is 0. */
#define CLICK_PEAK         0.3
#define TARGET_MS          30.0
#define LOW_QUANTUM        256

/* --- the clicks, played from PipeWire's data thread ---------------------------- */

typedef struct
{
  gint64 played_ns;   /* the graph's time for the click's first sample */
  gint64 handed_ns;   /* when process() handed it over */
  gint64 delay;       /* pw_time.delay, in samples */
  guint  quantum;     /* samples the graph asked for */
} Click;

typedef struct
{
  struct pw_thread_loop *loop;
  struct pw_stream      *stream;
  struct spa_hook        listener;
  guint64                since_click;  /* samples since the last click began */
  guint                  click_left;   /* samples of the current click still to play */
  Click                  clicks[N_CLICKS];
  _Atomic guint          n_clicks;
} Clicker;

static gint64
monotonic_ns (void)
{
  struct timespec ts;

  clock_gettime (CLOCK_MONOTONIC, &ts);
  return (gint64) ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void
on_clicker_process (void *data)
{
  Clicker *self = data;
  struct pw_buffer *buffer = pw_stream_dequeue_buffer (self->stream);
  struct spa_data *d;
  float *out;
  guint n_frames;
  guint n_clicks = atomic_load_explicit (&self->n_clicks, memory_order_relaxed);

  if (buffer == NULL)
    return;
  d = &buffer->buffer->datas[0];
  out = d->data;
  if (out == NULL)
    {
      pw_stream_queue_buffer (self->stream, buffer);
      return;
    }
  n_frames = d->maxsize / (sizeof (float) * CHANNELS);
  if (buffer->requested > 0)
    n_frames = MIN (n_frames, buffer->requested);
  memset (out, 0, n_frames * sizeof (float) * CHANNELS);

  /* A new click starts on this buffer's first sample, so its play time is
   * the cycle's. */
  if (self->click_left == 0 && self->since_click >= CLICK_INTERVAL_S * RATE && n_clicks < N_CLICKS)
    {
      struct pw_time time = { 0 };
      Click *click = &self->clicks[n_clicks];

      pw_stream_get_time_n (self->stream, &time, sizeof time);
      click->handed_ns = monotonic_ns ();
      click->delay = time.delay;
      click->quantum = n_frames;
      click->played_ns = time.now
                         + (time.rate.denom > 0 ? time.delay * SPA_NSEC_PER_SEC * time.rate.num / time.rate.denom : 0);
      self->click_left = CLICK_SAMPLES;
      self->since_click = 0;
      atomic_store_explicit (&self->n_clicks, n_clicks + 1, memory_order_release);
    }

  for (guint i = 0; i < n_frames && self->click_left > 0; i++, self->click_left--)
    {
      /* A 2 kHz tone burst: loud in every band the engine shows. */
      float v = CLICK_LEVEL * sinf (2.0f * (float) G_PI * 2000.0f * (CLICK_SAMPLES - self->click_left) / RATE);

      for (guint c = 0; c < CHANNELS; c++)
        out[i * CHANNELS + c] = v;
    }
  self->since_click += n_frames;

  d->chunk->offset = 0;
  d->chunk->stride = sizeof (float) * CHANNELS;
  d->chunk->size = n_frames * sizeof (float) * CHANNELS;
  pw_stream_queue_buffer (self->stream, buffer);
}

static const struct pw_stream_events clicker_events = {
  PW_VERSION_STREAM_EVENTS,
  .process = on_clicker_process,
};

static Clicker *
clicker_start (void)
{
  Clicker *self = g_new0 (Clicker, 1);
  guint8 pod_buffer[1024];
  struct spa_pod_builder builder = SPA_POD_BUILDER_INIT (pod_buffer, sizeof pod_buffer);
  struct spa_audio_info_raw format = {
    .format = SPA_AUDIO_FORMAT_F32, .rate = RATE, .channels = CHANNELS,
    .position = { SPA_AUDIO_CHANNEL_FL, SPA_AUDIO_CHANNEL_FR },
  };
  const struct spa_pod *params[1];

  self->since_click = (guint64) (CLICK_INTERVAL_S * RATE) / 2;
  self->loop = pw_thread_loop_new ("bench-clicks", NULL);
  self->stream = pw_stream_new_simple (pw_thread_loop_get_loop (self->loop), "Roadie bench clicks",
                                       pw_properties_new (PW_KEY_MEDIA_TYPE, "Audio",
                                                          PW_KEY_MEDIA_CATEGORY, "Playback",
                                                          PW_KEY_MEDIA_ROLE, "Music",
                                                          PW_KEY_NODE_NAME, "roadie-bench-clicks",
                                                          NULL),
                                       &clicker_events, self);
  g_assert_nonnull (self->stream);
  params[0] = spa_format_audio_raw_build (&builder, SPA_PARAM_EnumFormat, &format);
  g_assert_cmpint (pw_stream_connect (self->stream, PW_DIRECTION_OUTPUT, PW_ID_ANY,
                                      PW_STREAM_FLAG_AUTOCONNECT | PW_STREAM_FLAG_MAP_BUFFERS
                                      | PW_STREAM_FLAG_RT_PROCESS, params, 1), >=, 0);
  g_assert_cmpint (pw_thread_loop_start (self->loop), ==, 0);

  return self;
}

static void
clicker_free (Clicker *self)
{
  pw_thread_loop_stop (self->loop);
  pw_stream_destroy (self->stream);
  pw_thread_loop_destroy (self->loop);
  g_free (self);
}

static gboolean
clicks_done (gpointer user_data)
{
  Clicker *self = user_data;

  return atomic_load_explicit (&self->n_clicks, memory_order_acquire) >= N_CLICKS;
}

/* --- figures --------------------------------------------------------------------- */

static int
compare_doubles (gconstpointer a,
                 gconstpointer b)
{
  double x = *(const double *) a, y = *(const double *) b;

  return x < y ? -1 : x > y;
}

static double
percentile (GArray *values,
            double  p)
{
  if (values->len == 0)
    return NAN;
  g_array_sort (values, compare_doubles);
  return g_array_index (values, double, MIN (values->len - 1, (guint) (p * values->len)));
}

typedef struct
{
  double p50, p99, max, min;
  double sent_p50;      /* click -> frame sent (its ts) */
  double wire_p50;      /* frame sent -> received */
  guint  found;
} Latency;

/* Matches each click to the first loud frame after it. */
static Latency
measure (Clicker          *clicker,
         RoadieTestEngine *engine,
         guint             first_click,
         gint64            real_minus_monotonic_us)
{
  g_autoptr(GArray) total = g_array_new (FALSE, FALSE, sizeof (double));
  g_autoptr(GArray) sent = g_array_new (FALSE, FALSE, sizeof (double));
  g_autoptr(GArray) wire = g_array_new (FALSE, FALSE, sizeof (double));
  guint n_clicks = atomic_load (&clicker->n_clicks);
  Latency result = { 0 };
  guint j = 0;

  for (guint i = first_click; i < n_clicks; i++)
    {
      gint64 played_us = clicker->clicks[i].played_ns / 1000;
      gint64 next_us = i + 1 < n_clicks ? clicker->clicks[i + 1].played_ns / 1000 : G_MAXINT64;

      /* A frame cannot report a click before it is handed over. */
      while (j < engine->frames->len
             && g_array_index (engine->arrived_us, gint64, j) < clicker->clicks[i].handed_ns / 1000)
        j++;
      for (; j < engine->frames->len && g_array_index (engine->arrived_us, gint64, j) < next_us; j++)
        {
          JsonObject *frame = g_ptr_array_index (engine->frames, j);
          gint64 arrived_us = g_array_index (engine->arrived_us, gint64, j);
          double sent_us;
          double ms;

          if (json_object_has_member (frame, "audio") || json_object_get_double_member (frame, "peak") < CLICK_PEAK)
            continue;
          ms = (arrived_us - played_us) / 1000.0;
          sent_us = json_object_get_double_member (frame, "ts") * G_USEC_PER_SEC - real_minus_monotonic_us;
          g_array_append_val (total, ms);
          ms = (sent_us - played_us) / 1000.0;
          g_array_append_val (sent, ms);
          ms = (arrived_us - sent_us) / 1000.0;
          g_array_append_val (wire, ms);
          break;
        }
    }

  result.found = total->len;
  result.p50 = percentile (total, 0.5);
  result.p99 = percentile (total, 0.99);
  result.max = total->len > 0 ? g_array_index (total, double, total->len - 1) : NAN;
  result.min = total->len > 0 ? g_array_index (total, double, 0) : NAN;
  result.sent_p50 = percentile (sent, 0.5);
  result.wire_p50 = percentile (wire, 0.5);
  return result;
}

static void
set_forced_quantum (guint quantum)
{
  g_autofree char *value = g_strdup_printf ("%u", quantum);
  g_autofree char *out = roadie_test_run_tool ((const char *[]) { "pw-metadata", "-n", "settings", "0",
                                                                  "clock.force-quantum", value, NULL });

  g_assert_nonnull (out);
}

static char *
clock_settings (void)
{
  g_autofree char *out = roadie_test_run_tool ((const char *[]) { "pw-metadata", "-n", "settings", NULL });
  GString *summary = g_string_new (NULL);
  g_auto(GStrv) lines = g_strsplit (out != NULL ? out : "", "\n", -1);

  for (guint i = 0; lines[i] != NULL; i++)
    {
      const char *key = strstr (lines[i], "key:'clock.");
      const char *value = strstr (lines[i], "value:'");

      if (key == NULL || value == NULL)
        continue;
      key += strlen ("key:'");
      value += strlen ("value:'");
      g_string_append_printf (summary, "%s%.*s=%.*s", summary->len > 0 ? " " : "",
                              (int) strcspn (key, "'"), key, (int) strcspn (value, "'"), value);
    }
  return g_string_free (summary, FALSE);
}

typedef struct
{
  const char *name;
  guint       forced_quantum;   /* 0: the graph's default */
  Latency     at_60;
  Latency     at_240;
  guint       quantum_seen;
  gint64      delay_seen;
  double      handed_p50_ms;    /* cycle start -> process() ran */
} Phase;

static void
run_phase (Phase            *phase,
           RoadieTestEngine *at_60,
           RoadieTestEngine *at_240)
{
  g_autoptr(GArray) handed = g_array_new (FALSE, FALSE, sizeof (double));
  gint64 real_minus_monotonic_us = g_get_real_time () - g_get_monotonic_time ();
  Clicker *clicker;

  set_forced_quantum (phase->forced_quantum);
  /* Let the graph settle on its quantum before the first click. */
  roadie_test_run_for (500);
  clicker = clicker_start ();
  if (!roadie_test_wait_until (clicks_done, clicker, (guint) (N_CLICKS * CLICK_INTERVAL_S * 1000 + 10000)))
    g_error ("only %u of %d clicks were played in time", atomic_load (&clicker->n_clicks), N_CLICKS);
  /* The last click's frames. */
  roadie_test_run_for (400);

  /* The first two clicks warm up the graph and the engines' analyzers. */
  phase->at_60 = measure (clicker, at_60, 2, real_minus_monotonic_us);
  phase->at_240 = measure (clicker, at_240, 2, real_minus_monotonic_us);
  phase->quantum_seen = clicker->clicks[N_CLICKS - 1].quantum;
  phase->delay_seen = clicker->clicks[N_CLICKS - 1].delay;
  for (guint i = 2; i < N_CLICKS; i++)
    {
      double ms = (clicker->clicks[i].handed_ns - (clicker->clicks[i].played_ns
                                                   - clicker->clicks[i].delay * SPA_NSEC_PER_SEC / RATE)) / 1e6;

      g_array_append_val (handed, ms);
    }
  phase->handed_p50_ms = percentile (handed, 0.5);
  clicker_free (clicker);
}

static void
print_row (const char    *graph,
           guint          quantum,
           const char    *fps,
           const Latency *latency)
{
  g_print ("%-16s %7u %4s %6u/%-3d %8.1f %8.1f %8.1f %8.1f %10.1f %10.2f\n", graph, quantum, fps,
           latency->found, N_CLICKS - 2, latency->min, latency->p50, latency->p99, latency->max,
           latency->sent_p50, latency->wire_p50);
}

int
main (int   argc,
      char *argv[])
{
  g_autoptr(RoadieTestEngine) at_60 = NULL;
  g_autoptr(RoadieTestEngine) at_240 = NULL;
  g_autofree char *settings = NULL;
  Phase phases[] = {
    { "default quantum", 0 },
    { "forced 256", LOW_QUANTUM },
  };
  gboolean missed;

  roadie_test_init_environment ();
  g_test_init (&argc, &argv, NULL);
  pw_init (NULL, NULL);

  roadie_test_pipewire_start ();
  roadie_test_pipewire_create_null_node (SINK, "Audio/Sink");
  roadie_test_pipewire_set_default (SINK, ROADIE_TEST_DEFAULT_SINK);
  settings = clock_settings ();

  at_60 = roadie_test_engine_start ((const char *[]) { "--fps", "60", NULL });
  at_240 = roadie_test_engine_start ((const char *[]) { "--fps", "240", NULL });
  /* Both streams linked and analysing before the first click. */
  if (roadie_test_engine_wait_music (at_60, 0, -1.0, 10000) < 0
      || roadie_test_engine_wait_music (at_240, 0, -1.0, 10000) < 0)
    g_error ("the engines never captured the null sink");

  for (guint i = 0; i < G_N_ELEMENTS (phases); i++)
    run_phase (&phases[i], at_60, at_240);
  set_forced_quantum (0);

  g_print ("click played into the null sink -> first frame with its peak, ms "
           "(%d clicks every %.1f s; first 2 are warm-up)\n", N_CLICKS, CLICK_INTERVAL_S);
  g_print ("PipeWire settings: %s\n", settings);
  g_print ("%-16s %7s %4s %10s %8s %8s %8s %8s %10s %10s\n", "graph", "quantum", "fps", "found",
           "min", "p50", "p99", "max", "->sent p50", "wire p50");
  for (guint i = 0; i < G_N_ELEMENTS (phases); i++)
    {
      print_row (phases[i].name, phases[i].quantum_seen, "60", &phases[i].at_60);
      print_row (phases[i].name, phases[i].quantum_seen, "240", &phases[i].at_240);
    }
  for (guint i = 0; i < G_N_ELEMENTS (phases); i++)
    {
      g_print ("%s: quantum %u samples (%.1f ms), pw_time.delay %" G_GINT64_FORMAT " samples, "
               "clicker's process() %.2f ms after the cycle began (p50)\n",
               phases[i].name, phases[i].quantum_seen, phases[i].quantum_seen * 1000.0 / RATE,
               phases[i].delay_seen, phases[i].handed_p50_ms);
      /* The floor is the graph (and the hop): no frame can beat it. What
       * the 60 fps engine loses to the 240 fps one, hearing the same
       * clicks, is the wait for its frame tick. */
      g_print ("  parts: floor (min, 240 fps) %.1f ms = graph buffering + hop + hand-over; "
               "frame pacing at 60 fps +%.1f ms p50 (expected ~%.1f: half of 1/60 s - half of 1/240 s); "
               "WebSocket %.2f ms p50\n",
               phases[i].at_240.min, phases[i].at_60.p50 - phases[i].at_240.p50,
               (1000.0 / 60 - 1000.0 / 240) / 2, phases[i].at_60.wire_p50);
    }

  missed = !(phases[0].at_60.p50 < TARGET_MS) || phases[0].at_60.found < (N_CLICKS - 2) * 9 / 10;
  g_print ("summary: click->frame latency, default quantum %u: 60 fps p50 %.1f ms p99 %.1f ms max %.1f ms; "
           "240 fps p50 %.1f ms p99 %.1f ms; quantum %u: 60 fps p50 %.1f ms p99 %.1f ms; "
           "240 fps p50 %.1f ms p99 %.1f ms (target < %.0f ms: %s)\n",
           phases[0].quantum_seen, phases[0].at_60.p50, phases[0].at_60.p99, phases[0].at_60.max,
           phases[0].at_240.p50, phases[0].at_240.p99,
           phases[1].quantum_seen, phases[1].at_60.p50, phases[1].at_60.p99,
           phases[1].at_240.p50, phases[1].at_240.p99,
           TARGET_MS, missed ? "missed" : (phases[0].at_60.p99 < TARGET_MS ? "met at p99" : "met at p50 only"));

  g_clear_pointer (&at_60, roadie_test_engine_free);
  g_clear_pointer (&at_240, roadie_test_engine_free);
  pw_deinit ();

  return missed ? 1 : 0;
}
