/* test-spectrum-view.c: RoadieSpectrumView under a private Xvfb.
 *
 * The view is fed real frames from a real roadie-engine (the 124 BPM demo
 * groove) over WebSocket and rendered to pixels: bars in the accent colour,
 * the tempo, the beat pulse. Then the frames stop and the view must go idle
 * on its own and stop its tick callback. Synthetic frames check the
 * animation (attack, release, peak hold, pulse decay) and that 1 or 128
 * bands never draw outside the widget. Screenshots, light and dark, live
 * and idle, go to $ROADIE_TEST_BUILDDIR/screenshots/.
 */
#include "config.h"

#include <math.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>

#include <adwaita.h>

#include "roadie-live-frame.h"
#include "roadie-protocol.h"
#include "roadie-spectrum-view.h"
#include "roadie-test-gtk.h"
#include "roadie-test-util.h"
#include "roadie-ws-client.h"

#define START_TIMEOUT_MS 10000

/* --- windows and pixels ---------------------------------------------------- */

typedef struct
{
  GtkWidget *window;
  GtkWidget *view;
} Shown;

static gboolean
is_mapped (gpointer user_data)
{
  Shown *shown = user_data;

  return gtk_widget_get_mapped (shown->view) && gtk_widget_get_width (shown->view) > 0;
}

/* A window holding a fresh view with a margin around it, shown. */
static Shown
show_view (int width,
           int height)
{
  Shown shown;
  GtkWidget *box = gtk_box_new (GTK_ORIENTATION_VERTICAL, 0);

  shown.window = gtk_window_new ();
  shown.view = roadie_spectrum_view_new ();
  gtk_widget_set_margin_start (shown.view, 20);
  gtk_widget_set_margin_end (shown.view, 20);
  gtk_widget_set_margin_top (shown.view, 20);
  gtk_widget_set_margin_bottom (shown.view, 20);
  gtk_box_append (GTK_BOX (box), shown.view);
  gtk_window_set_child (GTK_WINDOW (shown.window), box);
  gtk_window_set_default_size (GTK_WINDOW (shown.window), width, height);
  gtk_window_present (GTK_WINDOW (shown.window));
  g_assert_true (roadie_test_wait_until (is_mapped, &shown, 10000));
  return shown;
}

static void
count_paint (GdkFrameClock *clock,
             guint         *paints)
{
  (*paints)++;
}

static gboolean
painted (gpointer user_data)
{
  return *(guint *) user_data > 0;
}

/* Waits until a frame with the current state has been painted. */
static void
wait_for_paint (GtkWidget *widget)
{
  GdkFrameClock *clock = gtk_widget_get_frame_clock (widget);
  guint paints = 0;
  gulong handler;

  handler = g_signal_connect (clock, "after-paint", G_CALLBACK (count_paint), &paints);
  gtk_widget_queue_draw (widget);
  g_assert_true (roadie_test_wait_until (painted, &paints, 5000));
  g_signal_handler_disconnect (clock, handler);
}

static GskRenderNode *
render_node (GtkWidget *widget)
{
  for (guint attempt = 0; attempt < 20; attempt++)
    {
      g_autoptr(GdkPaintable) paintable = gtk_widget_paintable_new (widget);
      GtkSnapshot *snapshot;
      GskRenderNode *node;

      wait_for_paint (widget);
      snapshot = gtk_snapshot_new ();
      gdk_paintable_snapshot (paintable, snapshot,
                              gtk_widget_get_width (widget), gtk_widget_get_height (widget));
      node = gtk_snapshot_free_to_node (snapshot);
      if (node != NULL)
        return node;
    }
  g_error ("the widget drew nothing in 20 frames");
}

typedef struct
{
  int     width;
  int     height;
  guchar *pixels;   /* B G R A, premultiplied (GDK_MEMORY_DEFAULT on little endian) */
} Pixels;

static void
pixels_free (Pixels *pixels)
{
  g_free (pixels->pixels);
  g_free (pixels);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (Pixels, pixels_free)

/* Renders widget as it looks in its window (the window's background
 * behind it) with the window's renderer; saves a PNG under screenshots/
 * when name is not NULL. */
static Pixels *
render_pixels (GtkWidget  *widget,
               const char *name)
{
  g_autoptr(GdkTexture) texture = roadie_test_render_widget (widget);
  Pixels *pixels = g_new0 (Pixels, 1);

  pixels->width = gtk_widget_get_width (widget);
  pixels->height = gtk_widget_get_height (widget);
  g_assert_cmpint (gdk_texture_get_width (texture), ==, pixels->width);
  pixels->pixels = g_malloc ((gsize) pixels->width * pixels->height * 4);
  gdk_texture_download (texture, pixels->pixels, (gsize) pixels->width * 4);

  if (name != NULL)
    {
      g_autofree char *dir = g_build_filename (g_getenv ("ROADIE_TEST_BUILDDIR"), "screenshots", NULL);
      g_autofree char *path = g_build_filename (dir, name, NULL);

      g_assert_cmpint (g_mkdir_with_parents (dir, 0755), ==, 0);
      g_assert_true (gdk_texture_save_to_png (texture, path));
      g_test_message ("screenshot: %s", path);
    }
  return pixels;
}

static const guchar *
pixel_at (const Pixels *pixels,
          int           x,
          int           y)
{
  return pixels->pixels + ((gsize) y * pixels->width + x) * 4;
}

/* Pixels of the bars' blue (Adwaita's accent, #3584e4 to #99c1f1): well
 * bluer than red, in light and dark styles alike. */
static guint
count_bar_pixels (const Pixels *pixels)
{
  guint count = 0;

  for (int y = 0; y < pixels->height; y++)
    for (int x = 0; x < pixels->width; x++)
      {
        const guchar *p = pixel_at (pixels, x, y);

        if (p[0] >= 150 && p[0] - p[2] >= 70 && p[0] > p[1])
          count++;
      }
  return count;
}

/* Pixels that differ clearly from the background (taken at the top left
 * corner) inside the rectangle: text, bars, markers. */
static guint
count_ink (const Pixels *pixels,
           int           x0,
           int           y0,
           int           x1,
           int           y1)
{
  const guchar *background = pixel_at (pixels, 1, 1);
  guint count = 0;

  for (int y = MAX (y0, 0); y < MIN (y1, pixels->height); y++)
    for (int x = MAX (x0, 0); x < MIN (x1, pixels->width); x++)
      {
        const guchar *p = pixel_at (pixels, x, y);

        if (ABS (p[0] - background[0]) + ABS (p[1] - background[1]) + ABS (p[2] - background[2]) > 90)
          count++;
      }
  return count;
}

static void
destroy_shown (Shown *shown)
{
  gtk_window_destroy (GTK_WINDOW (shown->window));
  roadie_test_run_for (50);
}

static void
set_dark (gboolean dark)
{
  adw_style_manager_set_color_scheme (adw_style_manager_get_default (),
                                      dark ? ADW_COLOR_SCHEME_FORCE_DARK : ADW_COLOR_SCHEME_FORCE_LIGHT);
  roadie_test_run_for (100);
}

/* --- synthetic frames ------------------------------------------------------- */

static void
fill_frame (RoadieLiveFrame *frame,
            guint            n_bands,
            float            level,
            guint64          seq)
{
  memset (frame, 0, sizeof *frame);
  frame->seq = seq;
  frame->n_bands = n_bands;
  for (guint i = 0; i < n_bands; i++)
    frame->bands[i] = level;
  frame->rms = level;
  frame->peak = level;
  frame->has_audio = TRUE;
}

typedef struct
{
  RoadieSpectrumView *view;
  RoadieLiveFrame     frame;
  guint               pushed;
} Feeder;

static gboolean
feed_one (gpointer user_data)
{
  Feeder *feeder = user_data;

  feeder->frame.seq++;
  feeder->frame.beat = feeder->frame.seq % 29 == 0;
  roadie_spectrum_view_push_frame (feeder->view, &feeder->frame);
  feeder->pushed++;
  return G_SOURCE_CONTINUE;
}

/* --- the real engine -------------------------------------------------------- */

typedef struct
{
  GSubprocess *process;
  GString     *out;
  gboolean     out_done;
  guint        port;
} Engine;

static void
die_with_parent (gpointer user_data)
{
  prctl (PR_SET_PDEATHSIG, SIGKILL);
}

static void
line_read (GObject      *object,
           GAsyncResult *result,
           gpointer      user_data)
{
  Engine *engine = user_data;
  g_autofree char *line = NULL;

  line = g_data_input_stream_read_line_finish_utf8 (G_DATA_INPUT_STREAM (object), result, NULL, NULL);
  if (line == NULL)
    {
      engine->out_done = TRUE;
      return;
    }
  g_string_append (engine->out, line);
  g_string_append_c (engine->out, '\n');
  g_data_input_stream_read_line_async (G_DATA_INPUT_STREAM (object), G_PRIORITY_DEFAULT, NULL,
                                       line_read, engine);
}

static gboolean
engine_listens (gpointer user_data)
{
  Engine *engine = user_data;
  g_autofree char *line = g_strdup_printf ("WebSocket server listening on port %u\n", engine->port);

  return strstr (engine->out->str, line) != NULL;
}

static Engine *
engine_start (void)
{
  g_autoptr(GSubprocessLauncher) launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE);
  g_autoptr(GDataInputStream) stdout_stream = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *port = NULL;
  Engine *engine = g_new0 (Engine, 1);

  engine->port = roadie_test_free_port ();
  engine->out = g_string_new (NULL);
  port = g_strdup_printf ("%u", engine->port);
  g_subprocess_launcher_set_child_setup (launcher, die_with_parent, NULL, NULL);
  engine->process = g_subprocess_launcher_spawn (launcher, &error, roadie_test_engine (),
                                                 "--input", "demo", "--port", port,
                                                 "--browser-port", "0", "--dj-port", "0", NULL);
  g_assert_no_error (error);
  stdout_stream = g_data_input_stream_new (g_subprocess_get_stdout_pipe (engine->process));
  g_data_input_stream_read_line_async (stdout_stream, G_PRIORITY_DEFAULT, NULL, line_read, engine);
  g_assert_true (roadie_test_wait_until (engine_listens, engine, START_TIMEOUT_MS));
  return engine;
}

static gboolean
engine_out_done (gpointer user_data)
{
  return ((Engine *) user_data)->out_done;
}

static void
engine_stop (Engine *engine)
{
  g_autoptr(GError) error = NULL;

  g_subprocess_send_signal (engine->process, SIGTERM);
  g_assert_true (g_subprocess_wait (engine->process, NULL, &error));
  g_assert_no_error (error);
  g_assert_true (roadie_test_wait_until (engine_out_done, engine, 5000));
  g_clear_object (&engine->process);
  g_string_free (engine->out, TRUE);
  g_free (engine);
}

typedef struct
{
  RoadieSpectrumView *view;
  guint               frames;
  guint               beats;
  guint               bad;
  RoadieLiveFrame     last;
} EngineFeed;

static void
on_message (RoadieWsClient *client,
            const char     *text,
            JsonObject     *object,
            EngineFeed     *feed)
{
  g_autoptr(RoadieMessage) message = NULL;
  g_autoptr(GError) error = NULL;
  RoadieLiveFrame frame;
  gushort code = 0;

  message = roadie_message_parse (text, strlen (text), 0, &code, &error);
  g_assert_no_error (error);
  if (message->type != ROADIE_MESSAGE_FRAME)
    return;
  if (!roadie_live_frame_from_json (&frame, message->object, &error))
    {
      feed->bad++;
      return;
    }
  feed->frames++;
  if (frame.beat)
    feed->beats++;
  feed->last = frame;
  roadie_spectrum_view_push_frame (feed->view, &frame);
}

static void
note_pulse (GdkFrameClock *clock,
            gpointer       user_data)
{
  double *pulses = user_data;   /* [max, min] */
  double pulse = roadie_spectrum_view_get_beat_pulse (g_object_get_data (G_OBJECT (clock), "view"));

  pulses[0] = MAX (pulses[0], pulse);
  pulses[1] = MIN (pulses[1], pulse);
}

static gboolean
shows_tempo (gpointer user_data)
{
  RoadieSpectrumView *view = user_data;

  return fabs (roadie_spectrum_view_get_displayed_bpm (view) - 124) <= 1
         && g_strcmp0 (roadie_spectrum_view_get_summary (view), "Spectrum, 124 BPM, steady") == 0;
}

static gboolean
is_idle (gpointer user_data)
{
  return roadie_spectrum_view_get_is_idle (user_data);
}

static gboolean
not_animating (gpointer user_data)
{
  return !roadie_spectrum_view_is_animating (user_data);
}

static void
test_engine_frames (void)
{
  Engine *engine;
  g_autoptr(RoadieWsClient) client = NULL;
  g_autofree char *url = NULL;
  g_autoptr(Pixels) live_light = NULL;
  g_autoptr(Pixels) live_dark = NULL;
  g_autoptr(Pixels) idle_pixels = NULL;
  g_autoptr(Pixels) fresh_pixels = NULL;
  EngineFeed feed = { 0 };
  double pulses[2] = { 0, 1 };
  Shown shown, fresh;
  GdkFrameClock *clock;
  gulong pulse_handler;
  gint64 stopped_us, idle_us, still_us;
  guint area;

  roadie_test_allow_roadie_warnings ();
  set_dark (FALSE);

  shown = show_view (760, 340);
  feed.view = ROADIE_SPECTRUM_VIEW (shown.view);
  g_assert_true (roadie_spectrum_view_get_is_idle (feed.view));
  g_assert_false (roadie_spectrum_view_is_animating (feed.view));

  engine = engine_start ();
  url = g_strdup_printf ("ws://127.0.0.1:%u/", engine->port);
  client = roadie_ws_client_new (url);
  g_signal_connect (client, "message", G_CALLBACK (on_message), &feed);
  roadie_ws_client_connect (client);

  clock = gtk_widget_get_frame_clock (shown.view);
  g_object_set_data (G_OBJECT (clock), "view", shown.view);
  pulse_handler = g_signal_connect (clock, "after-paint", G_CALLBACK (note_pulse), pulses);

  /* About two seconds of the groove, and the tempo once it is sure. */
  roadie_test_run_for (2000);
  g_assert_true (roadie_test_wait_until (shows_tempo, feed.view, 15000));
  /* Beats come once the tracker has locked: two seconds of them. */
  roadie_test_run_for (2000);
  g_test_message ("%u frames, %u beats, last: %.1f BPM, confidence %.2f",
                  feed.frames, feed.beats, feed.last.bpm, feed.last.confidence);
  g_assert_cmpuint (feed.bad, ==, 0);
  g_assert_cmpuint (feed.frames, >=, 60);
  g_assert_cmpuint (feed.beats, >=, 3);
  g_assert_false (roadie_spectrum_view_get_is_idle (feed.view));
  g_assert_true (roadie_spectrum_view_is_animating (feed.view));
  g_assert_cmpuint (roadie_spectrum_view_get_n_bands (feed.view), ==, feed.last.n_bands);
  /* Beats flashed the pulse, and it went out again between them. */
  g_assert_cmpfloat (pulses[0], >, 0.5);
  g_assert_cmpfloat (pulses[1], ==, 0);

  live_light = render_pixels (shown.view, "spectrum-live.png");
  set_dark (TRUE);
  live_dark = render_pixels (shown.view, "spectrum-live-dark.png");
  set_dark (FALSE);

  /* The same size, never fed: no bars at all. */
  fresh = show_view (760, 340);
  fresh_pixels = render_pixels (fresh.view, "spectrum-idle-fresh.png");
  area = live_light->width * live_light->height;
  g_test_message ("bar pixels: live %u (light), %u (dark), fresh idle view %u, of %u",
                  count_bar_pixels (live_light), count_bar_pixels (live_dark),
                  count_bar_pixels (fresh_pixels), area);
  g_assert_cmpuint (count_bar_pixels (live_light), >, area / 25);
  g_assert_cmpuint (count_bar_pixels (live_dark), >, area / 25);
  g_assert_cmpuint (count_bar_pixels (fresh_pixels), <, area / 1000);
  /* The tempo panel (the right third) has text in it. */
  g_assert_cmpuint (count_ink (live_light, live_light->width * 2 / 3, 0, live_light->width, live_light->height),
                    >, 500);
  g_assert_false (roadie_spectrum_view_is_animating (ROADIE_SPECTRUM_VIEW (fresh.view)));
  destroy_shown (&fresh);

  /* Stop feeding: idle on its own within a second and a half, then the
   * bars are down and the tick callback is gone. */
  g_signal_handlers_disconnect_by_func (client, on_message, &feed);
  stopped_us = g_get_monotonic_time ();
  g_assert_true (roadie_test_wait_until (is_idle, feed.view, 1500));
  idle_us = g_get_monotonic_time ();
  g_assert_cmpstr (roadie_spectrum_view_get_idle_title (feed.view), ==, "Waiting for frames");
  g_assert_true (roadie_test_wait_until (not_animating, feed.view, 3000));
  still_us = g_get_monotonic_time ();
  g_test_message ("idle %.0f ms after the last frame, at rest %.0f ms after that",
                  (idle_us - stopped_us) / 1e3, (still_us - idle_us) / 1e3);
  g_assert_cmpfloat (roadie_spectrum_view_get_displayed_bpm (feed.view), ==, 0);
  for (guint i = 0; i < feed.last.n_bands; i++)
    {
      g_assert_cmpfloat (roadie_spectrum_view_get_band_level (feed.view, i), ==, 0);
      g_assert_cmpfloat (roadie_spectrum_view_get_peak_level (feed.view, i), ==, 0);
    }
  idle_pixels = render_pixels (shown.view, "spectrum-idle-waiting.png");
  g_assert_cmpuint (count_bar_pixels (idle_pixels), <, area / 1000);
  /* The idle title, centred. */
  g_assert_cmpuint (count_ink (idle_pixels, 0, idle_pixels->height / 3,
                               idle_pixels->width, idle_pixels->height * 2 / 3), >, 200);
  /* Resting means resting: nothing ticks a while later either. */
  roadie_test_run_for (300);
  g_assert_false (roadie_spectrum_view_is_animating (feed.view));

  g_signal_handler_disconnect (clock, pulse_handler);
  g_object_set_data (G_OBJECT (clock), "view", NULL);
  roadie_ws_client_close (client);
  engine_stop (engine);
  destroy_shown (&shown);
}

/* --- animation -------------------------------------------------------------- */

/* The animation on its own clock: an unrealized view (its tick callback
 * never runs) stepped with roadie_spectrum_view_advance (), so the
 * figures below are exact whatever the machine's load. */
static void
test_animation (void)
{
  g_autoptr(RoadieSpectrumView) view = g_object_ref_sink (ROADIE_SPECTRUM_VIEW (roadie_spectrum_view_new ()));
  RoadieLiveFrame frame;
  gint64 t = 1000000000;
  gint64 hit;

  roadie_test_allow_roadie_warnings ();

#define STEP_TO(until) G_STMT_START { gint64 until_ = (until); while (t < until_) { t += 16667; roadie_spectrum_view_advance (view, t); } } G_STMT_END

  /* A fresh view: idle, nothing ticks. */
  g_assert_true (roadie_spectrum_view_get_is_idle (view));
  g_assert_false (roadie_spectrum_view_is_animating (view));

  /* Attack: a full band is up within three frames (50 ms). */
  fill_frame (&frame, 32, 1.0f, 1);
  roadie_spectrum_view_push_frame (view, &frame);
  g_assert_false (roadie_spectrum_view_get_is_idle (view));
  g_assert_true (roadie_spectrum_view_is_animating (view));
  roadie_spectrum_view_advance (view, t);
  g_test_message ("attack: %.2f after one frame", roadie_spectrum_view_get_band_level (view, 0));
  g_assert_cmpfloat (roadie_spectrum_view_get_band_level (view, 0), >, 0.6);
  STEP_TO (t + 50000);
  g_assert_cmpfloat (roadie_spectrum_view_get_band_level (view, 0), >, 0.95);
  hit = t;

  /* Release: slower. 50 ms later the bar is still well up. */
  fill_frame (&frame, 32, 0.0f, 2);
  roadie_spectrum_view_push_frame (view, &frame);
  STEP_TO (hit + 50000);
  g_test_message ("50 ms into the release: %.2f", roadie_spectrum_view_get_band_level (view, 0));
  g_assert_cmpfloat (roadie_spectrum_view_get_band_level (view, 0), >, 0.5);
  g_assert_cmpfloat (roadie_spectrum_view_get_band_level (view, 0), <, 0.9);

  /* The peak marker holds at the top for about a second while the bar
   * is down (frames keep coming), then falls within another second. */
  while (t < hit + 900000)
    {
      roadie_spectrum_view_push_frame (view, &frame);
      STEP_TO (t + 100000);
    }
  g_assert_cmpfloat (roadie_spectrum_view_get_band_level (view, 0), ==, 0);
  g_assert_cmpfloat (roadie_spectrum_view_get_peak_level (view, 0), >=, 0.95);
  while (t < hit + 2100000)
    {
      roadie_spectrum_view_push_frame (view, &frame);
      STEP_TO (t + 100000);
    }
  g_assert_cmpfloat (roadie_spectrum_view_get_peak_level (view, 0), ==, 0);
  g_assert_false (roadie_spectrum_view_get_is_idle (view));

  /* The beat pulse: on at the beat, out 150 ms later. */
  frame.beat = TRUE;
  frame.bpm = 128;
  frame.confidence = 0.9f;
  roadie_spectrum_view_push_frame (view, &frame);
  roadie_spectrum_view_advance (view, t += 16667);
  g_assert_cmpfloat (roadie_spectrum_view_get_beat_pulse (view), ==, 1);
  hit = t;
  frame.beat = FALSE;
  roadie_spectrum_view_push_frame (view, &frame);
  STEP_TO (hit + 50000);
  g_test_message ("pulse %.0f ms after a beat: %.2f", (t - hit) / 1e3, roadie_spectrum_view_get_beat_pulse (view));
  g_assert_cmpfloat (roadie_spectrum_view_get_beat_pulse (view), >, 0.3);
  g_assert_cmpfloat (roadie_spectrum_view_get_beat_pulse (view), <, 0.7);
  STEP_TO (hit + 150000);
  g_assert_cmpfloat (roadie_spectrum_view_get_beat_pulse (view), ==, 0);
  g_assert_cmpfloat (roadie_spectrum_view_get_displayed_bpm (view), ==, 128);

  /* Confidence settles within a second: "steady". A small wobble of the
   * estimate does not flicker the number; no tempo shows "—" (0). */
  while (t < hit + 1200000)
    {
      roadie_spectrum_view_push_frame (view, &frame);
      STEP_TO (t + 100000);
    }
  g_assert_cmpstr (roadie_spectrum_view_get_summary (view), ==, "Spectrum, 128 BPM, steady");
  frame.bpm = 128.4f;
  roadie_spectrum_view_push_frame (view, &frame);
  roadie_spectrum_view_advance (view, t += 16667);
  g_assert_cmpfloat (roadie_spectrum_view_get_displayed_bpm (view), ==, 128);
  frame.bpm = 0;
  roadie_spectrum_view_push_frame (view, &frame);
  roadie_spectrum_view_advance (view, t += 16667);
  g_assert_cmpfloat (roadie_spectrum_view_get_displayed_bpm (view), ==, 0);

  /* The accessible label follows, but changes at most once a second. */
  hit = t;
  roadie_spectrum_view_push_frame (view, &frame);
  STEP_TO (hit + 100000);
  g_assert_cmpstr (roadie_spectrum_view_get_summary (view), ==, "Spectrum, 128 BPM, steady");
  roadie_spectrum_view_push_frame (view, &frame);
  STEP_TO (hit + 1000000);
  roadie_spectrum_view_push_frame (view, &frame);
  STEP_TO (hit + 1100000);
  g_assert_cmpstr (roadie_spectrum_view_get_summary (view), ==, "Spectrum, finding the beat");

  /* No frame for a second: idle on its own, everything falls, and the
   * tick callback goes. */
  fill_frame (&frame, 32, 0.8f, 3);
  roadie_spectrum_view_push_frame (view, &frame);
  roadie_spectrum_view_advance (view, t += 16667);
  hit = t;
  STEP_TO (hit + 500000);
  /* Saying "live" while live is no frame: the time-out keeps running. */
  roadie_spectrum_view_set_idle (view, NULL, NULL);
  STEP_TO (hit + 980000);
  g_assert_false (roadie_spectrum_view_get_is_idle (view));
  g_assert_cmpfloat (roadie_spectrum_view_get_band_level (view, 5), >, 0.75);
  STEP_TO (hit + 1020000);
  g_assert_true (roadie_spectrum_view_get_is_idle (view));
  g_assert_cmpstr (roadie_spectrum_view_get_idle_title (view), ==, "Waiting for frames");
  hit = t;
  while (roadie_spectrum_view_is_animating (view) && t < hit + 3000000)
    roadie_spectrum_view_advance (view, t += 16667);
  g_test_message ("idle to rest: %.0f ms", (t - hit) / 1e3);
  g_assert_false (roadie_spectrum_view_is_animating (view));
  g_assert_cmpint (t - hit, <, 1500000);
  for (guint i = 0; i < 32; i++)
    {
      g_assert_cmpfloat (roadie_spectrum_view_get_band_level (view, i), ==, 0);
      g_assert_cmpfloat (roadie_spectrum_view_get_peak_level (view, i), ==, 0);
    }

  /* An engine that hears nothing: idle, saying so; more silent frames do
   * not wake the tick. */
  fill_frame (&frame, 32, 0.5f, 4);
  roadie_spectrum_view_push_frame (view, &frame);
  STEP_TO (t + 200000);
  g_assert_false (roadie_spectrum_view_get_is_idle (view));
  frame.has_audio = FALSE;
  roadie_spectrum_view_push_frame (view, &frame);
  g_assert_true (roadie_spectrum_view_get_is_idle (view));
  g_assert_cmpstr (roadie_spectrum_view_get_idle_title (view), ==, "No audio");
  hit = t;
  while (roadie_spectrum_view_is_animating (view) && t < hit + 3000000)
    roadie_spectrum_view_advance (view, t += 16667);
  g_assert_false (roadie_spectrum_view_is_animating (view));
  roadie_spectrum_view_push_frame (view, &frame);
  g_assert_false (roadie_spectrum_view_is_animating (view));
  g_assert_cmpstr (roadie_spectrum_view_get_idle_title (view), ==, "No audio");

#undef STEP_TO
}

/* --- idle titles ---------------------------------------------------------- */

static gboolean
summary_is (gpointer user_data)
{
  gpointer *data = user_data;

  return g_strcmp0 (roadie_spectrum_view_get_summary (data[0]), data[1]) == 0;
}

static void
test_set_idle (void)
{
  Shown shown;
  RoadieSpectrumView *view;
  RoadieLiveFrame frame;
  g_autoptr(Pixels) light = NULL;
  g_autoptr(Pixels) dark = NULL;
  g_autoptr(Pixels) live = NULL;
  guint notifies = 0;
  gpointer data[2];

  roadie_test_allow_roadie_warnings ();
  set_dark (FALSE);
  shown = show_view (760, 340);
  view = ROADIE_SPECTRUM_VIEW (shown.view);
  g_signal_connect_swapped (view, "notify::is-idle", G_CALLBACK (g_atomic_int_inc), &notifies);

  /* A fresh view is idle, at rest, and says what it waits for. */
  g_assert_true (roadie_spectrum_view_get_is_idle (view));
  g_assert_cmpstr (roadie_spectrum_view_get_summary (view), ==, "Spectrum: Waiting for frames");

  roadie_spectrum_view_set_idle (view, "Audio server stopped", "Start it to see the spectrum");
  g_assert_true (roadie_spectrum_view_get_is_idle (view));
  g_assert_cmpuint (notifies, ==, 0);
  g_assert_cmpstr (roadie_spectrum_view_get_idle_title (view), ==, "Audio server stopped");
  g_assert_cmpstr (roadie_spectrum_view_get_idle_detail (view), ==, "Start it to see the spectrum");
  g_assert_true (roadie_test_wait_until (not_animating, view, 2000));
  light = render_pixels (shown.view, "spectrum-idle-stopped.png");
  set_dark (TRUE);
  dark = render_pixels (shown.view, "spectrum-idle-stopped-dark.png");
  set_dark (FALSE);
  /* Title and detail: ink in the middle band, no bars. */
  g_assert_cmpuint (count_ink (light, 0, light->height / 4, light->width, light->height * 3 / 4), >, 300);
  g_assert_cmpuint (count_ink (dark, 0, dark->height / 4, dark->width, dark->height * 3 / 4), >, 300);
  g_assert_cmpuint (count_bar_pixels (light), ==, 0);
  /* The accessible label follows, at most once a second. */
  data[0] = view;
  data[1] = (gpointer) "Spectrum: Audio server stopped";
  g_assert_true (roadie_test_wait_until (summary_is, data, 2500));

  /* A server that sends no analysis: its own words. */
  roadie_spectrum_view_set_idle (view, "No analysis from this server",
                                 "MismoDJ runs, but sends no spectrum or tempo");
  g_assert_cmpstr (roadie_spectrum_view_get_idle_title (view), ==, "No analysis from this server");
  roadie_test_run_for (400);
  g_clear_pointer (&light, pixels_free);
  light = render_pixels (shown.view, "spectrum-idle-no-analysis.png");

  /* A live frame ends the idle state. */
  fill_frame (&frame, 48, 0.6f, 1);
  frame.bpm = 124;
  frame.confidence = 0.9f;
  roadie_spectrum_view_push_frame (view, &frame);
  g_assert_false (roadie_spectrum_view_get_is_idle (view));
  g_assert_null (roadie_spectrum_view_get_idle_title (view));
  g_assert_cmpuint (notifies, ==, 1);
  g_assert_true (roadie_spectrum_view_is_animating (view));
  for (guint i = 0; i < 30; i++)
    {
      frame.seq++;
      roadie_spectrum_view_push_frame (view, &frame);
      roadie_test_run_for (16);
    }
  live = render_pixels (shown.view, "spectrum-live-flat.png");
  g_assert_cmpuint (count_bar_pixels (live), >, 1000);

  /* set_idle (NULL) from idle: live, and "Waiting" a second later if
   * no frame comes. */
  roadie_spectrum_view_set_idle (view, "Audio server stopped", NULL);
  g_assert_true (roadie_spectrum_view_get_is_idle (view));
  roadie_spectrum_view_set_idle (view, NULL, NULL);
  g_assert_false (roadie_spectrum_view_get_is_idle (view));
  g_assert_true (roadie_test_wait_until (is_idle, view, 1500));
  g_assert_cmpstr (roadie_spectrum_view_get_idle_title (view), ==, "Waiting for frames");

  destroy_shown (&shown);
}

/* --- bounds --------------------------------------------------------------- */

static void
assert_drawn_inside (GtkWidget  *widget,
                     const char *what)
{
  g_autoptr(GskRenderNode) node = render_node (widget);
  graphene_rect_t bounds;

  gsk_render_node_get_bounds (node, &bounds);
  g_test_message ("%s: drawn at %.1f,%.1f %.1f×%.1f in %d×%d", what,
                  bounds.origin.x, bounds.origin.y, bounds.size.width, bounds.size.height,
                  gtk_widget_get_width (widget), gtk_widget_get_height (widget));
  g_assert_cmpfloat (bounds.origin.x, >=, 0);
  g_assert_cmpfloat (bounds.origin.y, >=, 0);
  g_assert_cmpfloat (bounds.origin.x + bounds.size.width, <=, gtk_widget_get_width (widget));
  g_assert_cmpfloat (bounds.origin.y + bounds.size.height, <=, gtk_widget_get_height (widget));
}

static void
check_band_count (guint       n_bands,
                  int         width,
                  int         height,
                  const char *screenshot)
{
  Shown shown = show_view (width, height);
  Feeder feeder = { ROADIE_SPECTRUM_VIEW (shown.view) };
  g_autoptr(Pixels) window = NULL;
  g_autofree char *what = g_strdup_printf ("%u bands", n_bands);
  guint feed_id;
  int view_x, view_y;
  graphene_point_t origin;

  fill_frame (&feeder.frame, n_bands, 1.0f, 0);
  feeder.frame.bpm = 174.9f;   /* the widest the number gets */
  feeder.frame.confidence = 1;
  feed_id = g_timeout_add (16, feed_one, &feeder);
  roadie_test_run_for (400);

  g_assert_cmpuint (roadie_spectrum_view_get_n_bands (feeder.view), ==, n_bands);
  g_assert_cmpfloat (roadie_spectrum_view_get_band_level (feeder.view, n_bands - 1), >, 0.95);
  g_assert_cmpfloat (roadie_spectrum_view_get_displayed_bpm (feeder.view), ==, 175);
  assert_drawn_inside (shown.view, what);

  /* And in pixels: the 20 px margin around the view stays background. */
  window = render_pixels (shown.window, screenshot);
  g_assert_true (gtk_widget_compute_point (shown.view, shown.window, &GRAPHENE_POINT_INIT (0, 0), &origin));
  view_x = (int) origin.x;
  view_y = (int) origin.y;
  g_assert_cmpuint (count_ink (window, view_x - 18, view_y - 18, view_x + gtk_widget_get_width (shown.view) + 18, view_y - 1), ==, 0);
  g_assert_cmpuint (count_ink (window, view_x - 18, view_y + gtk_widget_get_height (shown.view) + 1,
                               view_x + gtk_widget_get_width (shown.view) + 18,
                               view_y + gtk_widget_get_height (shown.view) + 18), ==, 0);
  g_assert_cmpuint (count_ink (window, view_x + gtk_widget_get_width (shown.view) + 1, view_y,
                               view_x + gtk_widget_get_width (shown.view) + 18,
                               view_y + gtk_widget_get_height (shown.view)), ==, 0);
  g_assert_cmpuint (count_bar_pixels (window), >, 100);

  g_source_remove (feed_id);
  destroy_shown (&shown);
}

static void
test_bounds (void)
{
  roadie_test_allow_roadie_warnings ();
  set_dark (TRUE);

  /* The smallest the view gets, and a large one. */
  check_band_count (128, 360, 200, "spectrum-128-bands-small.png");
  check_band_count (1, 360, 200, "spectrum-1-band-small.png");
  check_band_count (128, 1200, 700, NULL);
  check_band_count (1, 1200, 700, NULL);
  set_dark (FALSE);
}

/* The parser, not the view, refuses more bands than it can draw. */
static void
test_band_count_parsing (void)
{
  g_autoptr(GString) json = g_string_new ("{\"type\":\"frame\",\"seq\":1,\"bands\":[");
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(GError) error = NULL;
  RoadieLiveFrame frame;

  for (guint i = 0; i <= ROADIE_LIVE_FRAME_MAX_BANDS; i++)
    g_string_append_printf (json, "%s0.5", i > 0 ? "," : "");
  g_string_append (json, "]}");
  g_assert_true (json_parser_load_from_data (parser, json->str, -1, NULL));
  g_assert_false (roadie_live_frame_from_json (&frame, json_node_get_object (json_parser_get_root (parser)),
                                               &error));
  g_assert_nonnull (error);
  g_test_message ("%u bands: %s", ROADIE_LIVE_FRAME_MAX_BANDS + 1, error->message);
}

int
main (int   argc,
      char *argv[])
{
  roadie_test_init_environment ();
  roadie_test_start_xvfb ();

  g_test_init (&argc, &argv, NULL);
  adw_init ();

  g_test_add_func ("/roadie/spectrum-view/engine-frames", test_engine_frames);
  g_test_add_func ("/roadie/spectrum-view/animation", test_animation);
  g_test_add_func ("/roadie/spectrum-view/set-idle", test_set_idle);
  g_test_add_func ("/roadie/spectrum-view/bounds", test_bounds);
  g_test_add_func ("/roadie/spectrum-view/band-count-parsing", test_band_count_parsing);

  return g_test_run ();
}
