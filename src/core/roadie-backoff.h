/* roadie-backoff.h: the exponential backoff schedule with jitter.
 *
 * Pure code: the caller passes the attempt number and a random number in
 * [0, 1), so tests drive it without sleeping or seeding anything.
 * delay(n) = min (initial × multiplier^(n−1), max) × (1 ± jitter)
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct
{
  guint  initial_ms;
  double multiplier;
  guint  max_ms;
  double jitter;        /* fraction, 0.1 = ±10 % */
} RoadieBackoffPolicy;

/* A source of uniform random numbers in [0, 1). */
typedef double (*RoadieRandomFunc) (gpointer user_data);

guint  roadie_backoff_base_delay_ms (const RoadieBackoffPolicy *policy,
                                     guint                      attempt);
guint  roadie_backoff_delay_ms      (const RoadieBackoffPolicy *policy,
                                     guint                      attempt,
                                     double                     random01);
void   roadie_backoff_bounds_ms     (const RoadieBackoffPolicy *policy,
                                     guint                      attempt,
                                     guint                     *min_ms,
                                     guint                     *max_ms);
double roadie_random_default        (gpointer                   user_data);

G_END_DECLS
