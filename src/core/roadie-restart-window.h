/* roadie-restart-window.h: at most N restarts within a sliding window.
 *
 * Pure code with the time passed in (monotonic µs), so tests slide the
 * window without sleeping.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct _RoadieRestartWindow RoadieRestartWindow;

RoadieRestartWindow *roadie_restart_window_new   (void);
void                 roadie_restart_window_free  (RoadieRestartWindow *self);
gboolean             roadie_restart_window_admit (RoadieRestartWindow *self,
                                                  gint64               now_us,
                                                  gint64               window_us,
                                                  guint                max_restarts);
guint                roadie_restart_window_count (RoadieRestartWindow *self,
                                                  gint64               now_us,
                                                  gint64               window_us);
void                 roadie_restart_window_reset (RoadieRestartWindow *self);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (RoadieRestartWindow, roadie_restart_window_free)

G_END_DECLS
