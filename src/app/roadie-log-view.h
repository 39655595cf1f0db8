/* roadie-log-view.h: the live tail of the audio server's output.
 *
 * Shows the end of the log file when it is created, then every line the
 * supervisor reads, bounded in memory; standard-error lines are marked.
 * "Open Log File" hands the whole file to the DJ's text editor.
 */
#pragma once

#include <adwaita.h>

#include "roadie-supervisor.h"

G_BEGIN_DECLS

#define ROADIE_TYPE_LOG_VIEW (roadie_log_view_get_type ())

G_DECLARE_FINAL_TYPE (RoadieLogView, roadie_log_view, ROADIE, LOG_VIEW, GtkWidget)

#define ROADIE_LOG_VIEW_DEFAULT_MAX_LINES 2000

GtkWidget *roadie_log_view_new            (RoadieSupervisor *supervisor);
void       roadie_log_view_set_max_lines  (RoadieLogView    *self,
                                           guint             max_lines);
guint      roadie_log_view_get_n_lines    (RoadieLogView    *self);
/* The text shown, one line per line, with "STDERR " before error lines (tests). */
char      *roadie_log_view_dup_text       (RoadieLogView    *self);

G_END_DECLS
