/* test-restart-window.c: the sliding restart window, with a fake clock. */
#include "config.h"

#include "roadie-restart-window.h"
#include "roadie-test-util.h"

#define S (G_USEC_PER_SEC)

static void
test_limit (void)
{
  g_autoptr(RoadieRestartWindow) window = roadie_restart_window_new ();
  gint64 now = 1000 * S;

  /* The seed: 5 restarts within 5 minutes, the 6th crash gives up. */
  for (guint i = 1; i <= 5; i++)
    {
      g_assert_true (roadie_restart_window_admit (window, now, 300 * S, 5));
      g_assert_cmpuint (roadie_restart_window_count (window, now, 300 * S), ==, i);
      now += 10 * S;
    }
  g_assert_false (roadie_restart_window_admit (window, now, 300 * S, 5));
  /* a refusal records nothing */
  g_assert_cmpuint (roadie_restart_window_count (window, now, 300 * S), ==, 5);
}

static void
test_slide (void)
{
  g_autoptr(RoadieRestartWindow) window = roadie_restart_window_new ();
  gint64 t0 = 50 * S;

  g_assert_true (roadie_restart_window_admit (window, t0, 300 * S, 2));
  g_assert_true (roadie_restart_window_admit (window, t0 + 100 * S, 300 * S, 2));
  g_assert_false (roadie_restart_window_admit (window, t0 + 200 * S, 300 * S, 2));
  /* just before the first restart slides out: still full */
  g_assert_false (roadie_restart_window_admit (window, t0 + 300 * S - 1, 300 * S, 2));
  /* the first one slid out: room for exactly one */
  g_assert_cmpuint (roadie_restart_window_count (window, t0 + 300 * S, 300 * S), ==, 1);
  g_assert_true (roadie_restart_window_admit (window, t0 + 300 * S, 300 * S, 2));
  g_assert_false (roadie_restart_window_admit (window, t0 + 301 * S, 300 * S, 2));
  /* after a quiet window everything is forgotten */
  g_assert_cmpuint (roadie_restart_window_count (window, t0 + 1000 * S, 300 * S), ==, 0);
}

static void
test_reset (void)
{
  g_autoptr(RoadieRestartWindow) window = roadie_restart_window_new ();

  for (guint i = 0; i < 3; i++)
    g_assert_true (roadie_restart_window_admit (window, i * S, 60 * S, 3));
  g_assert_false (roadie_restart_window_admit (window, 4 * S, 60 * S, 3));
  roadie_restart_window_reset (window);
  g_assert_cmpuint (roadie_restart_window_count (window, 4 * S, 60 * S), ==, 0);
  g_assert_true (roadie_restart_window_admit (window, 4 * S, 60 * S, 3));
}

static void
test_zero_restarts (void)
{
  g_autoptr(RoadieRestartWindow) window = roadie_restart_window_new ();

  g_assert_false (roadie_restart_window_admit (window, 0, 60 * S, 0));
}

static void
test_shrinking_window (void)
{
  g_autoptr(RoadieRestartWindow) window = roadie_restart_window_new ();

  /* A window changed live in preferences applies at once. */
  g_assert_true (roadie_restart_window_admit (window, 0, 300 * S, 2));
  g_assert_true (roadie_restart_window_admit (window, 30 * S, 300 * S, 2));
  g_assert_cmpuint (roadie_restart_window_count (window, 40 * S, 20 * S), ==, 1);
  g_assert_true (roadie_restart_window_admit (window, 40 * S, 20 * S, 2));
}

int
main (int argc, char *argv[])
{
  roadie_test_init_environment ();
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/roadie/restart-window/limit", test_limit);
  g_test_add_func ("/roadie/restart-window/slide", test_slide);
  g_test_add_func ("/roadie/restart-window/reset", test_reset);
  g_test_add_func ("/roadie/restart-window/zero", test_zero_restarts);
  g_test_add_func ("/roadie/restart-window/shrink", test_shrinking_window);

  return g_test_run ();
}
