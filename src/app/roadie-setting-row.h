/* roadie-setting-row.h: one preferences row for one GSettings key.
 *
 * The row is chosen by the key's type and built from the schema alone:
 * title = summary, subtitle = description, limits = <range>, so a new key
 * needs no new UI code. Numbers get an AdwActionRow with a GtkSpinButton,
 * booleans an AdwActionRow with a GtkSwitch, <choices> an AdwComboRow, and
 * strings (and string lists, shell-quoted) an AdwEntryRow that writes on
 * apply, with a file chooser for keys named *-path, *-file and *-dir.
 * Every row is bound with g_settings_bind (or the apply signal), so it
 * writes through at once and follows changes made elsewhere.
 */
#pragma once

#include <adwaita.h>

G_BEGIN_DECLS

/* override_text: when the key is masked for this run (an environment
 * variable, an option), what to say on the row; the row is then
 * insensitive. NULL otherwise. */
GtkWidget  *roadie_setting_row_new          (GSettings  *settings,
                                             const char *key,
                                             const char *override_text);

/* NULL when row is not a setting row. */
const char *roadie_setting_row_get_key      (GtkWidget  *row);
GSettings  *roadie_setting_row_get_settings (GtkWidget  *row);
/* The widget that edits the value: the GtkSpinButton, the GtkSwitch, or
 * the row itself for entry and combo rows. */
GtkWidget  *roadie_setting_row_get_editor   (GtkWidget  *row);
/* The override text given at construction, or NULL. */
const char *roadie_setting_row_get_override (GtkWidget  *row);

G_END_DECLS
