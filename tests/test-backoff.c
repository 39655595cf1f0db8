/* test-backoff.c: the restart delay schedule, driven without sleeping. */
#include "config.h"

#include "roadie-backoff.h"
#include "roadie-test-util.h"

static const RoadieBackoffPolicy seed_policy = { 2000, 1.5, 30000, 0.1 };

static void
test_schedule_values (void)
{
  /* 2 s × 1.5^(n−1), capped at 30 s */
  static const guint expected[] = { 2000, 3000, 4500, 6750, 10125, 15187, 22781, 30000, 30000 };

  for (guint n = 1; n <= G_N_ELEMENTS (expected); n++)
    g_assert_cmpuint (roadie_backoff_base_delay_ms (&seed_policy, n), ==, expected[n - 1]);
  /* attempt 0 is treated as the first */
  g_assert_cmpuint (roadie_backoff_base_delay_ms (&seed_policy, 0), ==, 2000);
  /* far out it stays at the cap, no overflow */
  g_assert_cmpuint (roadie_backoff_base_delay_ms (&seed_policy, 5000), ==, 30000);
}

static void
test_jitter_bounds (void)
{
  for (guint n = 1; n <= 10; n++)
    {
      guint base = roadie_backoff_base_delay_ms (&seed_policy, n);
      guint lo, hi;

      roadie_backoff_bounds_ms (&seed_policy, n, &lo, &hi);
      g_assert_cmpuint (lo, ==, (guint) (base * 0.9));
      g_assert_cmpuint (hi, >=, (guint) (base * 1.1));
      g_assert_cmpuint (hi, <=, (guint) (base * 1.1) + 1);
      /* the extremes of the random source land on the bounds */
      g_assert_cmpuint (roadie_backoff_delay_ms (&seed_policy, n, 0.0), ==, lo);
      g_assert_cmpuint (roadie_backoff_delay_ms (&seed_policy, n, 0.5), ==, base);
      g_assert_cmpuint (roadie_backoff_delay_ms (&seed_policy, n, 0.999999), <=, hi);
      g_assert_cmpuint (roadie_backoff_delay_ms (&seed_policy, n, 0.999999), >, base);
      for (guint i = 0; i < 1000; i++)
        {
          guint d = roadie_backoff_delay_ms (&seed_policy, n, g_random_double ());
          g_assert_cmpuint (d, >=, lo);
          g_assert_cmpuint (d, <=, hi);
        }
    }
}

static void
test_jitter_spreads (void)
{
  /* The jitter is real: a spread of random inputs gives a spread of delays. */
  guint lo = G_MAXUINT, hi = 0;

  for (guint i = 0; i < 200; i++)
    {
      guint d = roadie_backoff_delay_ms (&seed_policy, 1, i / 200.0);
      lo = MIN (lo, d);
      hi = MAX (hi, d);
    }
  g_assert_cmpuint (lo, <=, 1810);
  g_assert_cmpuint (hi, >=, 2190);
}

static void
test_no_jitter_and_flat (void)
{
  RoadieBackoffPolicy flat = { 500, 1.0, 500, 0.0 };
  RoadieBackoffPolicy capped = { 100, 10.0, 250, 0.0 };

  for (guint n = 1; n < 20; n++)
    g_assert_cmpuint (roadie_backoff_delay_ms (&flat, n, g_random_double ()), ==, 500);
  g_assert_cmpuint (roadie_backoff_delay_ms (&capped, 1, 0.3), ==, 100);
  g_assert_cmpuint (roadie_backoff_delay_ms (&capped, 2, 0.3), ==, 250);
  g_assert_cmpuint (roadie_backoff_delay_ms (&capped, 3, 0.3), ==, 250);
}

static void
test_random_default (void)
{
  for (guint i = 0; i < 1000; i++)
    {
      double r = roadie_random_default (NULL);
      g_assert_cmpfloat (r, >=, 0.0);
      g_assert_cmpfloat (r, <, 1.0);
    }
}

int
main (int argc, char *argv[])
{
  roadie_test_init_environment ();
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/roadie/backoff/schedule", test_schedule_values);
  g_test_add_func ("/roadie/backoff/jitter-bounds", test_jitter_bounds);
  g_test_add_func ("/roadie/backoff/jitter-spreads", test_jitter_spreads);
  g_test_add_func ("/roadie/backoff/multiplier-and-cap", test_no_jitter_and_flat);
  g_test_add_func ("/roadie/backoff/random-default", test_random_default);

  return g_test_run ();
}
