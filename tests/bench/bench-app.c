/* bench-app.c: the whole app with the real engine, as a DJ starts it.
 *
 * A private Xvfb and D-Bus; this process is the real RoadieApplication,
 * supervising the real roadie-engine playing its demo groove. Measures:
 *  - time from this process's start (the kernel's start time in
 *    /proc/self/stat) to the first live frame painted in the window, and
 *    its parts: to the window painted, to the server running;
 *  - CPU of the app (this process only, not the engine) while the live
 *    view runs at 60 fps, against the same window with the server stopped
 *    (the peer: what the window costs when nothing moves), and with the
 *    frames still coming but the live view off screen (the link's share);
 *  - the app's resident memory after the first 10 s of frames and after
 *    the measuring window, to show it does not grow with frames;
 *  - GTK's own floor, the second peer: a plain GtkWindow of the same size
 *    in this process and on this Xvfb, whose only content is a 2 px
 *    square changing colour on every frame-clock tick, at 60 fps too. It
 *    is what any GTK 4 window costs to repaint 60 times a second here,
 *    before anything is drawn or received.
 * Prints a table and one JSON line; exits non-zero if the 5 % CPU target
 * is missed.
 */
#include "config.h"

#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <adwaita.h>

#include "roadie-application.h"
#include "roadie-spectrum-view.h"
#include "roadie-test-util.h"
#include "roadie-window.h"

#define MEASURE_S 10

/* The floor peer's content: 2 px that change on every frame. */
#define FLOOR_TYPE_SQUARE (floor_square_get_type ())
G_DECLARE_FINAL_TYPE (FloorSquare, floor_square, FLOOR, SQUARE, GtkWidget)

struct _FloorSquare
{
  GtkWidget parent_instance;
  guint     ticks;
};

G_DEFINE_FINAL_TYPE (FloorSquare, floor_square, GTK_TYPE_WIDGET)

static void
floor_square_snapshot (GtkWidget   *widget,
                       GtkSnapshot *snapshot)
{
  FloorSquare *self = FLOOR_SQUARE (widget);
  GdkRGBA color = { (self->ticks % 60) / 60.f, 0.5f, 0.5f, 1.f };

  gtk_snapshot_append_color (snapshot, &color, &GRAPHENE_RECT_INIT (0, 0, 2, 2));
}

static gboolean
floor_square_tick (GtkWidget     *widget,
                   GdkFrameClock *clock,
                   gpointer       user_data)
{
  FLOOR_SQUARE (widget)->ticks++;
  gtk_widget_queue_draw (widget);
  return G_SOURCE_CONTINUE;
}

static void
floor_square_class_init (FloorSquareClass *klass)
{
  GTK_WIDGET_CLASS (klass)->snapshot = floor_square_snapshot;
}

static void
floor_square_init (FloorSquare *self)
{
  gtk_widget_set_size_request (GTK_WIDGET (self), 2, 2);
  gtk_widget_set_halign (GTK_WIDGET (self), GTK_ALIGN_CENTER);
  gtk_widget_set_valign (GTK_WIDGET (self), GTK_ALIGN_CENTER);
  gtk_widget_add_tick_callback (GTK_WIDGET (self), floor_square_tick, NULL, NULL);
}

static void
count_paint_cb (GdkFrameClock *clock,
                guint         *paints)
{
  (*paints)++;
}

typedef struct
{
  RoadieApplication *app;
  GtkWidget         *window;
  GtkWidget         *view;
  gint64             window_painted_us;
  gint64             live_painted_us;
  guint              live_paints;
} Bench;

/* CLOCK_MONOTONIC µs at which this process started (boot-time based, as
 * /proc/<pid>/stat's starttime is). */
static gint64
process_start_us (void)
{
  g_autofree char *stat = NULL;
  struct timespec boot_now, mono_now;
  unsigned long long start_ticks = 0;
  const char *after_comm;
  gint64 boot_us, mono_us;

  g_assert_true (g_file_get_contents ("/proc/self/stat", &stat, NULL, NULL));
  after_comm = strrchr (stat, ')');
  g_assert_nonnull (after_comm);
  /* Field 22 is starttime; after ")" come fields 3.. */
  g_assert_cmpint (sscanf (after_comm + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %*u %*u %*d %*d %*d %*d %*d %*d %llu",
                           &start_ticks), ==, 1);
  clock_gettime (CLOCK_BOOTTIME, &boot_now);
  clock_gettime (CLOCK_MONOTONIC, &mono_now);
  boot_us = boot_now.tv_sec * G_USEC_PER_SEC + boot_now.tv_nsec / 1000;
  mono_us = mono_now.tv_sec * G_USEC_PER_SEC + mono_now.tv_nsec / 1000;
  return mono_us - (boot_us - (gint64) (start_ticks * G_USEC_PER_SEC / sysconf (_SC_CLK_TCK)));
}

static double
cpu_seconds (void)
{
  struct rusage usage;

  getrusage (RUSAGE_SELF, &usage);
  return usage.ru_utime.tv_sec + usage.ru_utime.tv_usec / 1e6
         + usage.ru_stime.tv_sec + usage.ru_stime.tv_usec / 1e6;
}

static long
rss_kib (void)
{
  g_autofree char *status = NULL;
  const char *line;

  g_assert_true (g_file_get_contents ("/proc/self/status", &status, NULL, NULL));
  line = strstr (status, "VmRSS:");
  return line != NULL ? strtol (line + 6, NULL, 10) : -1;
}

static void
after_paint_cb (GdkFrameClock *clock,
                Bench         *bench)
{
  if (bench->window_painted_us == 0)
    bench->window_painted_us = g_get_monotonic_time ();
  if (bench->view != NULL && !roadie_spectrum_view_get_is_idle (ROADIE_SPECTRUM_VIEW (bench->view)))
    {
      if (bench->live_painted_us == 0)
        bench->live_painted_us = g_get_monotonic_time ();
      bench->live_paints++;
    }
}

static GtkWidget *
find_view (GtkWidget *widget)
{
  if (ROADIE_IS_SPECTRUM_VIEW (widget))
    return widget;
  for (GtkWidget *child = gtk_widget_get_first_child (widget); child; child = gtk_widget_get_next_sibling (child))
    {
      GtkWidget *found = find_view (child);
      if (found != NULL)
        return found;
    }
  return NULL;
}

static gboolean
live_painted (gpointer user_data)
{
  return ((Bench *) user_data)->live_painted_us != 0;
}

static gboolean
stopped (gpointer user_data)
{
  return roadie_supervisor_get_state (roadie_application_get_supervisor (user_data))
         == ROADIE_SUPERVISOR_STATE_STOPPED;
}

static gboolean
running (gpointer user_data)
{
  return roadie_supervisor_get_state (roadie_application_get_supervisor (user_data))
         == ROADIE_SUPERVISOR_STATE_RUNNING;
}

/* CPU share of one core over MEASURE_S seconds of the main loop. */
static double
measure_cpu (Bench *bench,
             guint *paints)
{
  double cpu_before = cpu_seconds ();
  gint64 wall_before = g_get_monotonic_time ();
  guint paints_before = bench->live_paints;

  roadie_test_run_for (MEASURE_S * 1000);
  *paints = bench->live_paints - paints_before;
  return 100.0 * (cpu_seconds () - cpu_before) / ((g_get_monotonic_time () - wall_before) / 1e6);
}

int
main (int   argc,
      char *argv[])
{
  gint64 started_us = process_start_us ();
  g_autoptr(GSettings) settings = NULL;
  g_autoptr(GError) error = NULL;
  Bench bench = { 0 };
  gint64 running_us = 0;
  double live_cpu, idle_cpu, link_cpu, floor_cpu;
  guint live_paints, idle_paints, link_paints, floor_paints = 0, floor_live_paints, no_paints;
  GtkWidget *floor_window;
  int width, height;
  long rss_early, rss_late;
  guint16 port;

  roadie_test_init_environment ();
  roadie_test_start_xvfb ();
  roadie_test_start_dbus ();
  g_log_set_always_fatal (G_LOG_LEVEL_CRITICAL);

  port = roadie_test_free_port ();
  settings = g_settings_new (APP_ID);
  /* The bundled engine (empty path), playing its demo groove. */
  g_settings_set_string (settings, "executable-path", "");
  g_settings_set_string (settings, "engine-capture", "demo");
  g_settings_set_int (settings, "engine-browser-port", roadie_test_free_port ());
  g_settings_set_int (settings, "engine-dj-port", roadie_test_free_port ());
  g_settings_set_int (settings, "ws-port", port);
  g_settings_set_int (settings, "control-api-port", roadie_test_free_port ());
  g_settings_set_boolean (settings, "auto-start", TRUE);

  bench.app = roadie_application_new ();
  if (!g_application_register (G_APPLICATION (bench.app), NULL, &error))
    g_error ("%s", error->message);
  g_application_activate (G_APPLICATION (bench.app));
  bench.window = GTK_WIDGET (gtk_application_get_active_window (GTK_APPLICATION (bench.app)));
  bench.view = find_view (bench.window);
  g_assert_nonnull (bench.view);
  gtk_widget_realize (bench.window);
  g_signal_connect (gtk_widget_get_frame_clock (bench.window), "after-paint",
                    G_CALLBACK (after_paint_cb), &bench);

  if (roadie_test_wait_until (running, bench.app, 20000))
    running_us = g_get_monotonic_time ();
  if (!roadie_test_wait_until (live_painted, &bench, 20000))
    g_error ("no live frame was painted within 20 s");

  /* Let start-up settle, then measure the live view. */
  roadie_test_run_for (2000);
  rss_early = rss_kib ();
  live_cpu = measure_cpu (&bench, &live_paints);
  rss_late = rss_kib ();

  /* The same frames with the live view off screen (the Log page shown):
   * what receiving and parsing them costs without drawing. */
  gtk_widget_activate_action (bench.window, "win.show-view", "s", "log");
  roadie_test_run_for (1000);
  link_cpu = measure_cpu (&bench, &link_paints);
  gtk_widget_activate_action (bench.window, "win.show-view", "s", "live");

  /* The peer: the same window, server stopped, nothing to animate. */
  roadie_supervisor_stop (roadie_application_get_supervisor (bench.app), NULL);
  g_assert_true (roadie_test_wait_until (stopped, bench.app, 10000));
  roadie_test_run_for (1500);
  idle_cpu = measure_cpu (&bench, &idle_paints);

  /* GTK's floor: the app's window away, a plain one of the same size. */
  width = gtk_widget_get_width (bench.window);
  height = gtk_widget_get_height (bench.window);
  gtk_widget_set_visible (bench.window, FALSE);
  floor_window = gtk_window_new ();
  gtk_window_set_default_size (GTK_WINDOW (floor_window), width, height);
  gtk_window_set_child (GTK_WINDOW (floor_window), g_object_new (FLOOR_TYPE_SQUARE, NULL));
  gtk_window_present (GTK_WINDOW (floor_window));
  gtk_widget_realize (floor_window);
  g_signal_connect (gtk_widget_get_frame_clock (floor_window), "after-paint",
                    G_CALLBACK (count_paint_cb), &floor_paints);
  roadie_test_run_for (1500);
  floor_live_paints = floor_paints;
  floor_cpu = measure_cpu (&bench, &no_paints);
  floor_live_paints = floor_paints - floor_live_paints;
  gtk_window_destroy (GTK_WINDOW (floor_window));

  g_print ("app start → window painted      %8.1f ms\n", (bench.window_painted_us - started_us) / 1000.0);
  g_print ("app start → server running      %8.1f ms\n", (running_us - started_us) / 1000.0);
  g_print ("app start → first live frame    %8.1f ms\n", (bench.live_painted_us - started_us) / 1000.0);
  g_print ("app CPU, live view (%2u s)        %8.2f %% of a core (%u live paints, %.1f fps)\n",
           MEASURE_S, live_cpu, live_paints, live_paints / (double) MEASURE_S);
  g_print ("app CPU, frames, view hidden    %8.2f %% of a core (%u live paints)\n", link_cpu, link_paints);
  g_print ("app CPU, server stopped (peer)  %8.2f %% of a core (%u live paints)\n", idle_cpu, idle_paints);
  g_print ("GTK floor: plain %d×%d window,  %8.2f %% of a core (%u paints, %.1f fps)\n",
           width, height, floor_cpu, floor_live_paints, floor_live_paints / (double) MEASURE_S);
  g_print ("app live view / GTK floor       %8.2f\n", live_cpu / floor_cpu);
  g_print ("app RSS after start / +%u s     %6ld KiB / %6ld KiB\n", MEASURE_S, rss_early, rss_late);
  g_print ("{\"first_window_ms\":%.1f,\"first_live_frame_ms\":%.1f,\"live_cpu_percent\":%.2f,"
           "\"link_only_cpu_percent\":%.2f,\"idle_cpu_percent\":%.2f,\"gtk_floor_cpu_percent\":%.2f,\"gtk_floor_fps\":%.1f,\"live_fps\":%.1f,\"rss_kib_early\":%ld,\"rss_kib_late\":%ld}\n",
           (bench.window_painted_us - started_us) / 1000.0, (bench.live_painted_us - started_us) / 1000.0,
           live_cpu, link_cpu, idle_cpu, floor_cpu, floor_live_paints / (double) MEASURE_S,
           live_paints / (double) MEASURE_S, rss_early, rss_late);

  g_action_group_activate_action (G_ACTION_GROUP (bench.app), "quit", NULL);
  roadie_test_run_for (500);
  g_clear_object (&bench.app);
  return live_cpu < 5.0 ? 0 : 1;
}
