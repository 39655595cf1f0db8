/* roadie-connections-view.h: who is connected to the engine, at a glance.
 *
 * Shows the engine's `stats` message (RoadieEngineLink): the DJs signed
 * in, with the one on air marked; the browsers; the visualizer link and
 * the DJ relay in plain words, with a live "Reconnecting in 4 s"; and the
 * seed's counters. With no statistics it says calmly that no engine is
 * connected.
 */
#pragma once

#include <adwaita.h>
#include <json-glib/json-glib.h>

G_BEGIN_DECLS

#define ROADIE_TYPE_CONNECTIONS_VIEW (roadie_connections_view_get_type ())

G_DECLARE_FINAL_TYPE (RoadieConnectionsView, roadie_connections_view, ROADIE, CONNECTIONS_VIEW, AdwBin)

GtkWidget *roadie_connections_view_new         (void);
/* stats: the object of a stats message, or NULL when nothing is known
 * (no engine linked). The view keeps a reference. */
void       roadie_connections_view_set_stats   (RoadieConnectionsView *self,
                                                JsonObject            *stats);
/* For tests: GSources the view owns (the countdown timer, only while a
 * countdown is shown). */
guint      roadie_connections_view_count_sources (RoadieConnectionsView *self);

G_END_DECLS
