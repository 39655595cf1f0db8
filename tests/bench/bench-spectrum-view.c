/* bench-spectrum-view.c: what the live spectrum view costs.
 *
 * Under a private Xvfb, with the renderer the tests use (GSK_RENDERER from
 * the environment, cairo in `meson test`). Three figures:
 *  - start-up: from process start (and from the first frame pushed) to the
 *    first painted frame that shows bars, next to the first paint of the
 *    same window while idle;
 *  - CPU: a 760×340 window with the view fed synthetic frames at 60 fps for
 *    10 s (getrusage user+sys over wall time, % of one core; target < 5 %),
 *    against the same window with the view idle for 10 s; Xvfb's own CPU
 *    beside each, read from /proc; and the floor: a drawing area of the
 *    same size filled with one colour and redrawn every frame;
 *  - memory: 216 000 frames (an hour at 60 fps) pushed as fast as possible,
 *    every 60th rendered to a texture; RSS after 10 000 and after 216 000
 *    frames (target: flat, within 2 MiB).
 * Prints the figures; exits non-zero if a target is missed.
 */
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <adwaita.h>

#include "roadie-spectrum-view.h"
#include "roadie-test-util.h"

#define CPU_TARGET_PERCENT 5.0
#define RSS_GROWTH_TARGET_KIB 2048
#define PHASE_S 10
#define FRAMES_PER_HOUR 216000
#define N_BANDS 32

static double
process_start_s (void)
{
  g_autofree char *stat = roadie_test_read_file ("/proc/self/stat", NULL);
  const char *after_comm = strrchr (stat, ')');
  unsigned long long start_ticks = 0;
  char **fields;

  g_assert_nonnull (after_comm);
  fields = g_strsplit (after_comm + 2, " ", 0);
  /* Field 22 of stat; after "comm)" the third field is number 3. */
  start_ticks = g_ascii_strtoull (fields[22 - 3], NULL, 10);
  g_strfreev (fields);
  return (double) start_ticks / sysconf (_SC_CLK_TCK);
}

static double
boottime_s (void)
{
  struct timespec ts;

  clock_gettime (CLOCK_BOOTTIME, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

static double
cpu_s (void)
{
  struct rusage usage;

  getrusage (RUSAGE_SELF, &usage);
  return usage.ru_utime.tv_sec + usage.ru_utime.tv_usec / 1e6
         + usage.ru_stime.tv_sec + usage.ru_stime.tv_usec / 1e6;
}

static long
rss_kib (void)
{
  g_autofree char *statm = roadie_test_read_file ("/proc/self/statm", NULL);
  long pages = 0, resident = 0;

  g_assert_true (sscanf (statm, "%ld %ld", &pages, &resident) == 2);
  return resident * (sysconf (_SC_PAGESIZE) / 1024);
}

/* Our Xvfb child's CPU time (utime + stime), or -1 when not found. */
static double
xvfb_cpu_s (void)
{
  g_autoptr(GDir) proc = g_dir_open ("/proc", 0, NULL);
  const char *name;

  while (proc != NULL && (name = g_dir_read_name (proc)) != NULL)
    {
      g_autofree char *path = NULL;
      g_autofree char *stat = NULL;
      g_auto(GStrv) fields = NULL;
      const char *after_comm;

      if (!g_ascii_isdigit (name[0]))
        continue;
      path = g_strdup_printf ("/proc/%s/stat", name);
      stat = roadie_test_read_file (path, NULL);
      if (stat == NULL || strstr (stat, "(Xvfb)") == NULL || (after_comm = strrchr (stat, ')')) == NULL)
        continue;
      fields = g_strsplit (after_comm + 2, " ", 0);
      if (g_strv_length (fields) < 20 || g_ascii_strtoll (fields[4 - 3], NULL, 10) != getpid ())
        continue;
      return (g_ascii_strtoull (fields[14 - 3], NULL, 10) + g_ascii_strtoull (fields[15 - 3], NULL, 10))
             / (double) sysconf (_SC_CLK_TCK);
    }
  return -1;
}

/* --- synthetic frames -------------------------------------------------------- */

/* A spectrum that moves like music: a kick on every beat at 124 BPM, a
 * slow sweep through the mids, some noise. */
static void
make_frame (RoadieLiveFrame *frame,
            guint64          seq)
{
  double t = seq / 60.0;
  double beats = t * 124 / 60.0;
  double phase = beats - floor (beats);
  double previous = (seq > 0) ? (seq - 1) / 60.0 * 124 / 60.0 : -1;

  memset (frame, 0, sizeof *frame);
  frame->seq = seq;
  frame->ts = t;
  frame->n_bands = N_BANDS;
  for (guint i = 0; i < N_BANDS; i++)
    {
      double x = (double) i / N_BANDS;
      double kick = exp (-phase * 6) * exp (-x * 8);
      double sweep = 0.35 * exp (-pow ((x - 0.5 - 0.3 * sin (t * 0.7)) * 5, 2));
      double noise = g_random_double_range (0, 0.08);

      frame->bands[i] = CLAMP (0.25 + 0.6 * kick + sweep + noise - 0.2 * x, 0, 1);
    }
  frame->rms = 0.3f;
  frame->peak = 0.7f;
  frame->beat = floor (beats) != floor (previous);
  frame->bpm = 124;
  frame->confidence = 0.85f;
  frame->phase = phase;
  frame->has_audio = TRUE;
}

typedef struct
{
  RoadieSpectrumView *view;
  guint64             seq;
  gint64              started_us;
} Feeder;

/* Called about 60 times a second, as a WebSocket would wake the app for
 * each frame; pushes the frames due by now, so the rate is 60 fps on
 * average whatever the timer's jitter. */
static gboolean
feed (gpointer user_data)
{
  Feeder *feeder = user_data;
  guint64 due = (guint64) ((g_get_monotonic_time () - feeder->started_us) * 60 / G_USEC_PER_SEC) + 1;

  while (feeder->seq < due)
    {
      RoadieLiveFrame frame;

      make_frame (&frame, feeder->seq++);
      roadie_spectrum_view_push_frame (feeder->view, &frame);
    }
  return G_SOURCE_CONTINUE;
}

/* --- window ------------------------------------------------------------------ */

typedef struct
{
  GtkWidget          *window;
  RoadieSpectrumView *view;
  guint               paints;
  double              first_paint_s;      /* boottime */
  double              first_live_paint_s; /* boottime */
} Bench;

static void
after_paint (GdkFrameClock *clock,
             Bench         *bench)
{
  double now = boottime_s ();

  bench->paints++;
  if (bench->first_paint_s == 0)
    bench->first_paint_s = now;
  if (bench->first_live_paint_s == 0 && roadie_spectrum_view_get_band_level (bench->view, 0) > 0)
    bench->first_live_paint_s = now;
}

static gboolean
first_paint_done (gpointer user_data)
{
  return ((Bench *) user_data)->first_paint_s != 0;
}

static gboolean
first_live_paint_done (gpointer user_data)
{
  return ((Bench *) user_data)->first_live_paint_s != 0;
}

static gboolean
view_realized (gpointer user_data)
{
  return gtk_widget_get_realized (GTK_WIDGET (((Bench *) user_data)->view));
}

/* The floor: the cheapest animated widget of the same size, a drawing
 * area that fills itself with one colour and is redrawn every frame. */
static void
fill_area (GtkDrawingArea *area,
           cairo_t        *cr,
           int             width,
           int             height,
           gpointer        user_data)
{
  cairo_set_source_rgb (cr, 0.2, 0.5, 0.9);
  cairo_paint (cr);
}

static gboolean
redraw_every_frame (GtkWidget     *widget,
                    GdkFrameClock *clock,
                    gpointer       user_data)
{
  gtk_widget_queue_draw (widget);
  return G_SOURCE_CONTINUE;
}

static void
measure_floor (void)
{
  GtkWidget *window = gtk_window_new ();
  GtkWidget *area = gtk_drawing_area_new ();
  gint64 start_us;
  double cpu_start, xvfb_start, wall, xvfb_end;

  gtk_drawing_area_set_draw_func (GTK_DRAWING_AREA (area), fill_area, NULL, NULL);
  gtk_widget_add_tick_callback (area, redraw_every_frame, NULL, NULL);
  gtk_window_set_child (GTK_WINDOW (window), area);
  gtk_window_set_default_size (GTK_WINDOW (window), 760, 340);
  gtk_window_present (GTK_WINDOW (window));
  roadie_test_run_for (1000);

  start_us = g_get_monotonic_time ();
  cpu_start = cpu_s ();
  xvfb_start = xvfb_cpu_s ();
  roadie_test_run_for (PHASE_S * 1000);
  wall = (g_get_monotonic_time () - start_us) / 1e6;
  xvfb_end = xvfb_cpu_s ();
  g_print ("%-28s %8.2f %% %10.2f %%\n", "peer: solid fill every frame",
           100 * (cpu_s () - cpu_start) / wall,
           xvfb_start >= 0 ? 100 * (xvfb_end - xvfb_start) / wall : -1);
  gtk_window_destroy (GTK_WINDOW (window));
  roadie_test_run_for (200);
}

static void
measure_phase (Bench      *bench,
               const char *what,
               gboolean    live,
               double     *percent,
               double     *xvfb_percent,
               double     *fps)
{
  Feeder feeder = { bench->view, 0, g_get_monotonic_time () };
  guint feed_id = 0;
  gint64 start_us;
  double cpu_start, xvfb_start, wall;
  guint paints_start;

  if (live)
    {
      feed_id = g_timeout_add (1000 / 60, feed, &feeder);
      roadie_test_run_for (1000);   /* past the fade-in */
    }
  else
    {
      roadie_spectrum_view_set_idle (bench->view, "Audio server stopped", "Start it to see the spectrum");
      roadie_test_run_for (1500);   /* the bars have fallen */
    }

  start_us = g_get_monotonic_time ();
  cpu_start = cpu_s ();
  xvfb_start = xvfb_cpu_s ();
  paints_start = bench->paints;
  roadie_test_run_for (PHASE_S * 1000);
  wall = (g_get_monotonic_time () - start_us) / 1e6;
  *percent = 100 * (cpu_s () - cpu_start) / wall;
  *xvfb_percent = xvfb_start >= 0 ? 100 * (xvfb_cpu_s () - xvfb_start) / wall : -1;
  *fps = (bench->paints - paints_start) / wall;
  g_print ("%-28s %8.2f %% %10.2f %% %8.1f %10s\n", what, *percent, *xvfb_percent, *fps,
           roadie_spectrum_view_is_animating (bench->view) ? "yes" : "no");

  if (feed_id != 0)
    g_source_remove (feed_id);
}

int
main (int   argc,
      char *argv[])
{
  double started_s = process_start_s ();
  double live_percent, idle_percent, live_xvfb, idle_xvfb, live_fps, idle_fps, first_push_s;
  Bench bench = { 0 };
  Feeder feeder;
  guint feed_id;
  g_autoptr(GdkPaintable) paintable = NULL;
  GskRenderer *renderer;
  long rss_before, rss_10k = 0, rss_half = 0, rss_hour;
  gint64 memory_start_us;
  guint renders = 0;
  gboolean missed = FALSE;

  roadie_test_init_environment ();
  roadie_test_start_xvfb ();
  adw_init ();

  bench.window = gtk_window_new ();
  bench.view = ROADIE_SPECTRUM_VIEW (roadie_spectrum_view_new ());
  gtk_window_set_child (GTK_WINDOW (bench.window), GTK_WIDGET (bench.view));
  gtk_window_set_default_size (GTK_WINDOW (bench.window), 760, 340);
  gtk_window_present (GTK_WINDOW (bench.window));
  g_assert_true (roadie_test_wait_until (view_realized, &bench, 10000));
  g_signal_connect (gtk_widget_get_frame_clock (bench.window), "after-paint",
                    G_CALLBACK (after_paint), &bench);
  g_assert_true (roadie_test_wait_until (first_paint_done, &bench, 10000));

  /* 1. Start-up: frames from now on. */
  first_push_s = boottime_s ();
  feeder = (Feeder) { bench.view, 0, g_get_monotonic_time () };
  feed (&feeder);
  feed_id = g_timeout_add (1000 / 60, feed, &feeder);
  g_assert_true (roadie_test_wait_until (first_live_paint_done, &bench, 10000));
  g_source_remove (feed_id);
  g_print ("start-up (renderer %s, Xvfb)\n", G_OBJECT_TYPE_NAME (gtk_native_get_renderer (GTK_NATIVE (bench.window))));
  g_print ("  process start → first paint of the idle window   %8.1f ms\n",
           (bench.first_paint_s - started_s) * 1e3);
  g_print ("  process start → first painted frame with bars    %8.1f ms\n",
           (bench.first_live_paint_s - started_s) * 1e3);
  g_print ("  first frame pushed → first painted frame with bars %6.1f ms\n",
           (bench.first_live_paint_s - first_push_s) * 1e3);

  /* 2. CPU, live against idle. */
  g_print ("\nCPU over %d s, window 760×340 (target live < %.0f %% of one core)\n", PHASE_S, CPU_TARGET_PERCENT);
  g_print ("%-28s %10s %12s %8s %10s\n", "view", "roadie", "Xvfb", "paints/s", "ticking");
  roadie_test_run_for (500);
  measure_phase (&bench, "live, 60 frames/s", TRUE, &live_percent, &live_xvfb, &live_fps);
  measure_phase (&bench, "idle", FALSE, &idle_percent, &idle_xvfb, &idle_fps);
  measure_floor ();
  g_print ("live/idle CPU: %.2f %% vs %.2f %% (live costs %.2f points of a core)\n",
           live_percent, idle_percent, live_percent - idle_percent);
  if (live_percent >= CPU_TARGET_PERCENT)
    {
      g_print ("  target missed: live view uses %.2f %% of a core\n", live_percent);
      missed = TRUE;
    }
  if (roadie_spectrum_view_is_animating (bench.view) || idle_fps > 0.5)
    {
      g_print ("  target missed: the idle view still ticks (%.1f paints/s)\n", idle_fps);
      missed = TRUE;
    }

  /* 3. Memory over an hour of frames. */
  paintable = gtk_widget_paintable_new (GTK_WIDGET (bench.view));
  renderer = gtk_native_get_renderer (GTK_NATIVE (bench.window));
  rss_before = rss_kib ();
  memory_start_us = g_get_monotonic_time ();
  for (guint64 seq = 0; seq < FRAMES_PER_HOUR; seq++)
    {
      RoadieLiveFrame frame;

      make_frame (&frame, seq);
      roadie_spectrum_view_push_frame (bench.view, &frame);
      if (seq % 60 == 59)
        {
          GtkSnapshot *snapshot = gtk_snapshot_new ();
          g_autoptr(GskRenderNode) node = NULL;

          /* Pending events, then one animation step (this loop never
           * waits for the frame clock), then draw what it made. */
          while (g_main_context_iteration (NULL, FALSE))
            ;
          roadie_spectrum_view_advance (bench.view, g_get_monotonic_time ());
          gdk_paintable_snapshot (paintable, snapshot, 760, 340);
          node = gtk_snapshot_free_to_node (snapshot);
          if (node != NULL)
            {
              g_autoptr(GdkTexture) texture = gsk_renderer_render_texture (renderer, node, NULL);

              renders++;
            }
        }
      if (seq + 1 == 10000)
        rss_10k = rss_kib ();
      else if (seq + 1 == FRAMES_PER_HOUR / 2)
        rss_half = rss_kib ();
    }
  rss_hour = rss_kib ();
  g_print ("\nmemory: %u frames pushed in %.1f s, %u rendered to textures (bar 0 at %.2f at the end)\n",
           FRAMES_PER_HOUR, (g_get_monotonic_time () - memory_start_us) / 1e6, renders,
           roadie_spectrum_view_get_band_level (bench.view, 0));
  g_print ("  RSS before %ld KiB, after 10 000 frames %ld KiB, 108 000 %ld KiB, 216 000 %ld KiB (%+ld KiB)\n",
           rss_before, rss_10k, rss_half, rss_hour, rss_hour - rss_10k);
  if (rss_hour - rss_10k > RSS_GROWTH_TARGET_KIB)
    {
      g_print ("  target missed: RSS grew by more than %d KiB\n", RSS_GROWTH_TARGET_KIB);
      missed = TRUE;
    }

  gtk_window_destroy (GTK_WINDOW (bench.window));
  return missed ? 1 : 0;
}
