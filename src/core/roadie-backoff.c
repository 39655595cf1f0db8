/* roadie-backoff.c: the exponential backoff schedule with jitter. */
#include "config.h"

#include <math.h>

#include "roadie-backoff.h"

/* attempt counts from 1: the first retry waits initial_ms. */
guint
roadie_backoff_base_delay_ms (const RoadieBackoffPolicy *policy,
                              guint                      attempt)
{
  double delay;

  g_return_val_if_fail (policy != NULL, 0);

  if (attempt == 0)
    attempt = 1;
  delay = policy->initial_ms * pow (MAX (policy->multiplier, 1.0), attempt - 1);
  if (delay > policy->max_ms || !isfinite (delay))
    delay = policy->max_ms;
  return (guint) delay;
}

void
roadie_backoff_bounds_ms (const RoadieBackoffPolicy *policy,
                          guint                      attempt,
                          guint                     *min_ms,
                          guint                     *max_ms)
{
  double base = roadie_backoff_base_delay_ms (policy, attempt);
  double jitter = CLAMP (policy->jitter, 0.0, 1.0);

  if (min_ms != NULL)
    *min_ms = (guint) floor (base * (1.0 - jitter));
  if (max_ms != NULL)
    *max_ms = (guint) ceil (base * (1.0 + jitter));
}

/* random01 in [0, 1) maps linearly onto [base × (1 − jitter), base × (1 + jitter)). */
guint
roadie_backoff_delay_ms (const RoadieBackoffPolicy *policy,
                         guint                      attempt,
                         double                     random01)
{
  double base = roadie_backoff_base_delay_ms (policy, attempt);
  double jitter = CLAMP (policy->jitter, 0.0, 1.0);
  double delay;

  random01 = CLAMP (random01, 0.0, 1.0);
  delay = base * (1.0 + jitter * (2.0 * random01 - 1.0));
  return (guint) MAX (0.0, floor (delay));
}

double
roadie_random_default (gpointer user_data)
{
  return g_random_double ();
}
