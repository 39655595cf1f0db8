/* roadie-preferences-window.h: every Roadie setting, generated from the schema.
 *
 * Pages for the audio server, timing, the bundled engine, the control API
 * and the connection profiles. Rows come from the schema (see
 * roadie-setting-row.h); a static table only says which page and group a
 * key goes in, and a key it does not name lands in "Other", so a new key
 * shows up without new UI code. Changes are written at once: timings take
 * effect at the supervisor's next timer; keys that only apply to a freshly
 * started audio server raise a toast whose button activates app.restart.
 */
#pragma once

#include <adwaita.h>

#include "roadie-control-api.h"
#include "roadie-settings.h"

G_BEGIN_DECLS

#define ROADIE_TYPE_PREFERENCES_WINDOW (roadie_preferences_window_get_type ())

G_DECLARE_FINAL_TYPE (RoadiePreferencesWindow, roadie_preferences_window, ROADIE, PREFERENCES_WINDOW, AdwPreferencesWindow)

/* parent may be NULL; control_api may be NULL (off, or not started): a
 * regenerated token then only goes to the token file. */
RoadiePreferencesWindow *roadie_preferences_window_new      (GtkWindow               *parent,
                                                             RoadieSettings          *settings,
                                                             RoadieControlApi        *control_api);
/* The row of key in the schema schema_id (e.g. "io.github.roadie.Roadie",
 * "io.github.roadie.Roadie.Connection.DjRelay"), or NULL. */
GtkWidget               *roadie_preferences_window_find_row (RoadiePreferencesWindow *self,
                                                             const char              *schema_id,
                                                             const char              *key);

G_END_DECLS
