/* roadie-restart-window.c: at most N restarts within a sliding window. */
#include "config.h"

#include "roadie-restart-window.h"

struct _RoadieRestartWindow
{
  GArray *restarts_us;   /* gint64, oldest first */
};

RoadieRestartWindow *
roadie_restart_window_new (void)
{
  RoadieRestartWindow *self = g_new0 (RoadieRestartWindow, 1);

  self->restarts_us = g_array_new (FALSE, FALSE, sizeof (gint64));
  return self;
}

void
roadie_restart_window_free (RoadieRestartWindow *self)
{
  if (self == NULL)
    return;
  g_array_unref (self->restarts_us);
  g_free (self);
}

/* Forget restarts that slid out of the window. */
static void
drop_expired (RoadieRestartWindow *self,
              gint64               now_us,
              gint64               window_us)
{
  guint expired = 0;

  while (expired < self->restarts_us->len
         && now_us - g_array_index (self->restarts_us, gint64, expired) >= window_us)
    expired++;
  if (expired > 0)
    g_array_remove_range (self->restarts_us, 0, expired);
}

guint
roadie_restart_window_count (RoadieRestartWindow *self,
                             gint64               now_us,
                             gint64               window_us)
{
  g_return_val_if_fail (self != NULL, 0);

  drop_expired (self, now_us, window_us);
  return self->restarts_us->len;
}

/* Records a restart at now_us if fewer than max_restarts happened in the
 * window; otherwise records nothing and says no. */
gboolean
roadie_restart_window_admit (RoadieRestartWindow *self,
                             gint64               now_us,
                             gint64               window_us,
                             guint                max_restarts)
{
  g_return_val_if_fail (self != NULL, FALSE);

  drop_expired (self, now_us, window_us);
  if (self->restarts_us->len >= max_restarts)
    return FALSE;
  g_array_append_val (self->restarts_us, now_us);
  return TRUE;
}

void
roadie_restart_window_reset (RoadieRestartWindow *self)
{
  g_return_if_fail (self != NULL);

  g_array_set_size (self->restarts_us, 0);
}
