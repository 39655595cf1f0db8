/* roadie-setting-row.c: one preferences row for one GSettings key.
 *
 * Plain constructors rather than row subclasses: each row is a stock
 * libadwaita row plus a binding, and what makes it a setting row (its key,
 * its settings, its editor) rides along as object data.
 */
#include "config.h"

#include <math.h>
#include <string.h>

#include <glib/gi18n.h>

#include "roadie-setting-row.h"

#define DATA_KEY      "roadie-setting-key"
#define DATA_SETTINGS "roadie-setting-settings"
#define DATA_EDITOR   "roadie-setting-editor"
#define DATA_OVERRIDE "roadie-setting-override"
#define DATA_STRV     "roadie-setting-strv"

/* Long descriptions are cut after the sentence that passes this many
 * characters; the whole text stays in the tooltip. */
#define SUBTITLE_SOFT_LIMIT 140

typedef enum
{
  PATH_NONE,
  PATH_FILE,
  PATH_FOLDER,
} PathKind;

static GSettingsSchemaKey *
lookup_key (GSettings  *settings,
            const char *key)
{
  g_autoptr(GSettingsSchema) schema = NULL;

  g_object_get (settings, "settings-schema", &schema, NULL);
  return g_settings_schema_get_key (schema, key);
}

/* The description without its "Environment: …" / "Option: …" note (the
 * row says when an override is in force) and without the sentences past
 * the soft limit. */
static char *
shorten_description (const char *description)
{
  g_autoptr(GString) text = g_string_new (description != NULL ? description : "");
  const char *notes[] = { " Environment: ", " Option: " };
  char *cut;

  g_strdelimit (text->str, "\n", ' ');
  for (guint i = 0; i < G_N_ELEMENTS (notes); i++)
    {
      cut = strstr (text->str, notes[i]);
      if (cut != NULL)
        g_string_truncate (text, cut - text->str);
    }

  if (text->len > SUBTITLE_SOFT_LIMIT)
    {
      const char *end = NULL;

      /* The last whole sentence within the limit, else the first one. */
      for (const char *dot = strstr (text->str, ". "); dot != NULL; dot = strstr (dot + 1, ". "))
        {
          if (end != NULL && dot - text->str >= SUBTITLE_SOFT_LIMIT)
            break;
          end = dot;
        }
      if (end != NULL)
        g_string_truncate (text, end + 1 - text->str);
    }

  return g_string_free (g_steal_pointer (&text), FALSE);
}

static void
mark_row (GtkWidget  *row,
          GSettings  *settings,
          const char *key,
          GtkWidget  *editor,
          const char *override_text)
{
  g_object_set_data_full (G_OBJECT (row), DATA_KEY, g_strdup (key), g_free);
  g_object_set_data_full (G_OBJECT (row), DATA_SETTINGS, g_object_ref (settings), g_object_unref);
  g_object_set_data (G_OBJECT (row), DATA_EDITOR, editor);
  if (override_text != NULL)
    {
      g_object_set_data_full (G_OBJECT (row), DATA_OVERRIDE, g_strdup (override_text), g_free);
      gtk_widget_set_sensitive (row, FALSE);
    }
}

/* ---- numbers ------------------------------------------------------------ */

static double
variant_to_double (GVariant *value)
{
  if (g_variant_is_of_type (value, G_VARIANT_TYPE_INT32))
    return g_variant_get_int32 (value);
  if (g_variant_is_of_type (value, G_VARIANT_TYPE_UINT32))
    return g_variant_get_uint32 (value);
  if (g_variant_is_of_type (value, G_VARIANT_TYPE_INT64))
    return (double) g_variant_get_int64 (value);
  if (g_variant_is_of_type (value, G_VARIANT_TYPE_UINT64))
    return (double) g_variant_get_uint64 (value);
  if (g_variant_is_of_type (value, G_VARIANT_TYPE_INT16))
    return g_variant_get_int16 (value);
  if (g_variant_is_of_type (value, G_VARIANT_TYPE_UINT16))
    return g_variant_get_uint16 (value);
  if (g_variant_is_of_type (value, G_VARIANT_TYPE_BYTE))
    return g_variant_get_byte (value);
  if (g_variant_is_of_type (value, G_VARIANT_TYPE_DOUBLE))
    return g_variant_get_double (value);
  g_return_val_if_reached (0);
}

/* The schema's <range>, or the type's own limits when there is none. */
static void
key_bounds (GSettingsSchemaKey *schema_key,
            double             *lower,
            double             *upper)
{
  g_autoptr(GVariant) range = g_settings_schema_key_get_range (schema_key);
  g_autoptr(GVariant) limits = NULL;
  const char *kind = NULL;
  const GVariantType *type = g_settings_schema_key_get_value_type (schema_key);

  g_variant_get (range, "(&sv)", &kind, &limits);
  if (g_strcmp0 (kind, "range") == 0)
    {
      g_autoptr(GVariant) min = g_variant_get_child_value (limits, 0);
      g_autoptr(GVariant) max = g_variant_get_child_value (limits, 1);

      *lower = variant_to_double (min);
      *upper = variant_to_double (max);
      return;
    }

  /* No <range>: what the type holds (doubles: what a spin button can show). */
  *lower = -G_MAXDOUBLE;
  *upper = G_MAXDOUBLE;
  if (g_variant_type_equal (type, G_VARIANT_TYPE_INT32))
    {
      *lower = G_MININT32;
      *upper = G_MAXINT32;
    }
  else if (g_variant_type_equal (type, G_VARIANT_TYPE_UINT32))
    {
      *lower = 0;
      *upper = G_MAXUINT32;
    }
  else if (g_variant_type_equal (type, G_VARIANT_TYPE_INT16))
    {
      *lower = G_MININT16;
      *upper = G_MAXINT16;
    }
  else if (g_variant_type_equal (type, G_VARIANT_TYPE_UINT16))
    {
      *lower = 0;
      *upper = G_MAXUINT16;
    }
  else if (g_variant_type_equal (type, G_VARIANT_TYPE_BYTE))
    {
      *lower = 0;
      *upper = G_MAXUINT8;
    }
  else if (g_variant_type_equal (type, G_VARIANT_TYPE_INT64) || g_variant_type_equal (type, G_VARIANT_TYPE_UINT64))
    {
      /* Whole numbers a double holds exactly. */
      *lower = g_variant_type_equal (type, G_VARIANT_TYPE_INT64) ? -9007199254740992.0 : 0;
      *upper = 9007199254740992.0;
    }
}

static gboolean
is_number_type (const GVariantType *type)
{
  return g_variant_type_equal (type, G_VARIANT_TYPE_INT32)
         || g_variant_type_equal (type, G_VARIANT_TYPE_UINT32)
         || g_variant_type_equal (type, G_VARIANT_TYPE_INT64)
         || g_variant_type_equal (type, G_VARIANT_TYPE_UINT64)
         || g_variant_type_equal (type, G_VARIANT_TYPE_INT16)
         || g_variant_type_equal (type, G_VARIANT_TYPE_UINT16)
         || g_variant_type_equal (type, G_VARIANT_TYPE_BYTE)
         || g_variant_type_equal (type, G_VARIANT_TYPE_DOUBLE);
}

static GtkWidget *
number_row_new (GSettings          *settings,
                GSettingsSchemaKey *schema_key,
                const char         *key)
{
  const GVariantType *type = g_settings_schema_key_get_value_type (schema_key);
  gboolean is_double = g_variant_type_equal (type, G_VARIANT_TYPE_DOUBLE);
  GtkAdjustment *adjustment;
  GtkWidget *row = adw_action_row_new ();
  GtkWidget *spin;
  double lower, upper, step = 1, page = 10;
  guint digits = 0;
  int width;

  key_bounds (schema_key, &lower, &upper);
  /* Steps that suit the unit the key's name says (the summary is
   * translated, the name is not). */
  if (is_double)
    digits = 2, step = 0.05, page = 0.5;
  else if (g_str_has_suffix (key, "-ms") || strcmp (key, "health-check-interval") == 0)
    step = 100, page = 1000;
  else if (g_str_has_suffix (key, "-bytes"))
    step = 1024 * 1024, page = 16 * 1024 * 1024;

  adjustment = gtk_adjustment_new (lower, lower, upper, step, page, 0);
  spin = gtk_spin_button_new (adjustment, step, digits);
  gtk_spin_button_set_numeric (GTK_SPIN_BUTTON (spin), TRUE);
  gtk_spin_button_set_update_policy (GTK_SPIN_BUTTON (spin), GTK_UPDATE_IF_VALID);
  gtk_widget_set_valign (spin, GTK_ALIGN_CENTER);
  /* Wide enough for the largest value, not for every possible digit. */
  width = (int) floor (log10 (MAX (fabs (upper), fabs (lower)) + 1)) + 1 + (digits > 0 ? digits + 1 : 0);
  gtk_editable_set_width_chars (GTK_EDITABLE (spin), CLAMP (width, 3, 11));
  adw_action_row_add_suffix (ADW_ACTION_ROW (row), spin);
  adw_action_row_set_activatable_widget (ADW_ACTION_ROW (row), spin);

  g_settings_bind (settings, key, adjustment, "value", G_SETTINGS_BIND_DEFAULT);
  g_object_set_data (G_OBJECT (row), DATA_EDITOR, spin);

  return row;
}

/* ---- booleans ----------------------------------------------------------- */

static GtkWidget *
boolean_row_new (GSettings  *settings,
                 const char *key)
{
  GtkWidget *row = adw_action_row_new ();
  GtkWidget *toggle = gtk_switch_new ();

  gtk_widget_set_valign (toggle, GTK_ALIGN_CENTER);
  adw_action_row_add_suffix (ADW_ACTION_ROW (row), toggle);
  adw_action_row_set_activatable_widget (ADW_ACTION_ROW (row), toggle);
  g_settings_bind (settings, key, toggle, "active", G_SETTINGS_BIND_DEFAULT);
  g_object_set_data (G_OBJECT (row), DATA_EDITOR, toggle);

  return row;
}

/* ---- choices ------------------------------------------------------------ */

/* Words for the choices Roadie knows; any other choice shows as it is. */
static const struct
{
  const char *value;
  const char *label;
} choice_labels[] = {
  { "playback", N_("What is playing") },
  { "input-device", N_("Microphone or line-in") },
  { "node", N_("A PipeWire node") },
  { "demo", N_("Demo groove") },
};

static const char *
choice_label (const char *value)
{
  for (guint i = 0; i < G_N_ELEMENTS (choice_labels); i++)
    if (g_str_equal (choice_labels[i].value, value))
      return _(choice_labels[i].label);
  return value;
}

static gboolean
choice_get_mapping (GValue   *value,
                    GVariant *variant,
                    gpointer  user_data)
{
  const char * const *choices = user_data;
  const char *current = g_variant_get_string (variant, NULL);

  for (guint i = 0; choices[i] != NULL; i++)
    if (g_str_equal (choices[i], current))
      {
        g_value_set_uint (value, i);
        return TRUE;
      }
  return FALSE;
}

static GVariant *
choice_set_mapping (const GValue       *value,
                    const GVariantType *expected_type,
                    gpointer            user_data)
{
  const char * const *choices = user_data;
  guint index = g_value_get_uint (value);

  if (index >= g_strv_length ((char **) choices))
    return NULL;
  return g_variant_new_string (choices[index]);
}

static GtkWidget *
choice_row_new (GSettings          *settings,
                GSettingsSchemaKey *schema_key,
                const char         *key)
{
  g_autoptr(GVariant) range = g_settings_schema_key_get_range (schema_key);
  g_autoptr(GVariant) values = NULL;
  g_autoptr(GtkStringList) labels = gtk_string_list_new (NULL);
  GtkWidget *row = adw_combo_row_new ();
  char **choices;

  g_variant_get (range, "(&sv)", NULL, &values);
  choices = g_variant_dup_strv (values, NULL);
  for (guint i = 0; choices[i] != NULL; i++)
    gtk_string_list_append (labels, choice_label (choices[i]));

  adw_combo_row_set_model (ADW_COMBO_ROW (row), G_LIST_MODEL (labels));
  g_settings_bind_with_mapping (settings, key, row, "selected", G_SETTINGS_BIND_DEFAULT,
                                choice_get_mapping, choice_set_mapping,
                                choices, (GDestroyNotify) g_strfreev);
  g_object_set_data (G_OBJECT (row), DATA_EDITOR, row);

  return row;
}

/* ---- strings and paths -------------------------------------------------- */

static gboolean
is_string_list (GSettingsSchemaKey *schema_key)
{
  return g_variant_type_equal (g_settings_schema_key_get_value_type (schema_key), G_VARIANT_TYPE_STRING_ARRAY);
}

/* The stored value as the entry shows it: a string list is shell-quoted,
 * the way it would be typed in a terminal. */
static char *
text_from_settings (GSettings  *settings,
                    const char *key,
                    gboolean    string_list)
{
  g_autoptr(GString) text = NULL;
  g_auto(GStrv) words = NULL;

  if (!string_list)
    return g_settings_get_string (settings, key);

  words = g_settings_get_strv (settings, key);
  text = g_string_new (NULL);
  for (guint i = 0; words[i] != NULL; i++)
    {
      g_autofree char *quoted = NULL;
      gboolean plain = words[i][0] != '\0';

      for (const char *c = words[i]; *c != '\0' && plain; c++)
        plain = g_ascii_isalnum (*c) || strchr ("-_./:=,@+%", *c) != NULL;
      quoted = plain ? g_strdup (words[i]) : g_shell_quote (words[i]);
      if (i > 0)
        g_string_append_c (text, ' ');
      g_string_append (text, quoted);
    }
  return g_string_free (g_steal_pointer (&text), FALSE);
}

/* Sets the text without raising the apply button: the entry shows the
 * stored value, there is nothing to apply. */
static void
entry_row_show_stored (AdwEntryRow *row)
{
  GSettings *settings = g_object_get_data (G_OBJECT (row), DATA_SETTINGS);
  const char *key = g_object_get_data (G_OBJECT (row), DATA_KEY);
  gboolean string_list = GPOINTER_TO_INT (g_object_get_data (G_OBJECT (row), DATA_STRV));
  g_autofree char *text = text_from_settings (settings, key, string_list);

  if (g_strcmp0 (gtk_editable_get_text (GTK_EDITABLE (row)), text) == 0)
    return;
  adw_entry_row_set_show_apply_button (row, FALSE);
  gtk_editable_set_text (GTK_EDITABLE (row), text);
  adw_entry_row_set_show_apply_button (row, TRUE);
}

static void
on_entry_settings_changed (GSettings   *settings,
                           const char  *key,
                           AdwEntryRow *row)
{
  entry_row_show_stored (row);
}

static gboolean
is_blank (const char *text)
{
  for (; *text != '\0'; text++)
    if (!g_ascii_isspace (*text))
      return FALSE;
  return TRUE;
}

static void
on_entry_apply (AdwEntryRow *row)
{
  GSettings *settings = g_object_get_data (G_OBJECT (row), DATA_SETTINGS);
  const char *key = g_object_get_data (G_OBJECT (row), DATA_KEY);
  const char *text = gtk_editable_get_text (GTK_EDITABLE (row));
  g_autoptr(GError) error = NULL;
  g_auto(GStrv) words = NULL;
  int n_words = 0;

  if (!GPOINTER_TO_INT (g_object_get_data (G_OBJECT (row), DATA_STRV)))
    {
      g_settings_set_string (settings, key, text);
      return;
    }

  /* An empty line is no arguments; g_shell_parse_argv calls it an error. */
  if (!is_blank (text) && !g_shell_parse_argv (text, &n_words, &words, &error))
    {
      g_autofree char *message = g_strdup_printf (_("Cannot split this into arguments: %s"), error->message);

      gtk_widget_add_css_class (GTK_WIDGET (row), "error");
      gtk_widget_set_tooltip_text (GTK_WIDGET (row), message);
      return;
    }
  gtk_widget_remove_css_class (GTK_WIDGET (row), "error");
  g_settings_set_strv (settings, key, words != NULL ? (const char * const *) words : (const char * const *) (const char *[]) { NULL });
}

static void
on_chooser_response (GtkNativeDialog *dialog,
                     int              response,
                     gpointer         user_data)
{
  g_autoptr(AdwEntryRow) row = user_data;

  if (response == GTK_RESPONSE_ACCEPT)
    {
      g_autoptr(GFile) file = gtk_file_chooser_get_file (GTK_FILE_CHOOSER (dialog));
      g_autofree char *path = file != NULL ? g_file_get_path (file) : NULL;

      if (path != NULL)
        {
          gtk_editable_set_text (GTK_EDITABLE (row), path);
          on_entry_apply (row);
        }
    }
  gtk_native_dialog_destroy (dialog);
  g_object_unref (dialog);
}

static void
on_choose_clicked (GtkButton   *button,
                   AdwEntryRow *row)
{
  PathKind kind = GPOINTER_TO_INT (g_object_get_data (G_OBJECT (button), "roadie-path-kind"));
  GtkRoot *root = gtk_widget_get_root (GTK_WIDGET (row));
  const char *current = gtk_editable_get_text (GTK_EDITABLE (row));
  GtkFileChooserNative *chooser;

  chooser = gtk_file_chooser_native_new (adw_preferences_row_get_title (ADW_PREFERENCES_ROW (row)),
                                         GTK_IS_WINDOW (root) ? GTK_WINDOW (root) : NULL,
                                         kind == PATH_FOLDER ? GTK_FILE_CHOOSER_ACTION_SELECT_FOLDER
                                                             : GTK_FILE_CHOOSER_ACTION_OPEN,
                                         _("_Select"), NULL);
  gtk_native_dialog_set_modal (GTK_NATIVE_DIALOG (chooser), TRUE);
  if (current[0] == '/')
    {
      g_autoptr(GFile) file = g_file_new_for_path (current);

      if (kind == PATH_FOLDER)
        gtk_file_chooser_set_current_folder (GTK_FILE_CHOOSER (chooser), file, NULL);
      else
        gtk_file_chooser_set_file (GTK_FILE_CHOOSER (chooser), file, NULL);
    }
  g_signal_connect (chooser, "response", G_CALLBACK (on_chooser_response), g_object_ref (row));
  gtk_native_dialog_show (GTK_NATIVE_DIALOG (chooser));
}

static PathKind
path_kind (const char *key)
{
  if (g_str_has_suffix (key, "-dir"))
    return PATH_FOLDER;
  if (g_str_has_suffix (key, "-path") || g_str_has_suffix (key, "-file"))
    return PATH_FILE;
  return PATH_NONE;
}

static GtkWidget *
string_row_new (GSettings          *settings,
                GSettingsSchemaKey *schema_key,
                const char         *key)
{
  g_autofree char *signal = g_strconcat ("changed::", key, NULL);
  GtkWidget *row = adw_entry_row_new ();
  PathKind kind = path_kind (key);

  g_object_set_data_full (G_OBJECT (row), DATA_KEY, g_strdup (key), g_free);
  g_object_set_data_full (G_OBJECT (row), DATA_SETTINGS, g_object_ref (settings), g_object_unref);
  g_object_set_data (G_OBJECT (row), DATA_STRV, GINT_TO_POINTER (is_string_list (schema_key)));

  entry_row_show_stored (ADW_ENTRY_ROW (row));
  adw_entry_row_set_show_apply_button (ADW_ENTRY_ROW (row), TRUE);
  g_signal_connect (row, "apply", G_CALLBACK (on_entry_apply), NULL);
  g_signal_connect_object (settings, signal, G_CALLBACK (on_entry_settings_changed), row, 0);

  if (kind != PATH_NONE)
    {
      GtkWidget *button = gtk_button_new_from_icon_name (kind == PATH_FOLDER ? "folder-open-symbolic"
                                                                              : "document-open-symbolic");

      gtk_widget_set_valign (button, GTK_ALIGN_CENTER);
      gtk_widget_add_css_class (button, "flat");
      gtk_widget_set_tooltip_text (button, kind == PATH_FOLDER ? _("Choose a folder") : _("Choose a file"));
      g_object_set_data (G_OBJECT (button), "roadie-path-kind", GINT_TO_POINTER (kind));
      g_signal_connect (button, "clicked", G_CALLBACK (on_choose_clicked), row);
      adw_entry_row_add_suffix (ADW_ENTRY_ROW (row), button);
    }
  g_object_set_data (G_OBJECT (row), DATA_EDITOR, row);

  return row;
}

/* ---- public ------------------------------------------------------------- */

GtkWidget *
roadie_setting_row_new (GSettings  *settings,
                        const char *key,
                        const char *override_text)
{
  g_autoptr(GSettingsSchemaKey) schema_key = NULL;
  g_autofree char *subtitle = NULL;
  const GVariantType *type;
  const char *kind = NULL;
  g_autoptr(GVariant) range = NULL;
  const char *description;
  GtkWidget *row;

  g_return_val_if_fail (G_IS_SETTINGS (settings), NULL);
  g_return_val_if_fail (key != NULL, NULL);

  schema_key = lookup_key (settings, key);
  type = g_settings_schema_key_get_value_type (schema_key);
  range = g_settings_schema_key_get_range (schema_key);
  g_variant_get (range, "(&sv)", &kind, NULL);
  description = g_settings_schema_key_get_description (schema_key);
  subtitle = shorten_description (description);

  if (g_strcmp0 (kind, "enum") == 0 && g_variant_type_equal (type, G_VARIANT_TYPE_STRING))
    row = choice_row_new (settings, schema_key, key);
  else if (is_number_type (type))
    row = number_row_new (settings, schema_key, key);
  else if (g_variant_type_equal (type, G_VARIANT_TYPE_BOOLEAN))
    row = boolean_row_new (settings, key);
  else
    row = string_row_new (settings, schema_key, key);

  adw_preferences_row_set_title (ADW_PREFERENCES_ROW (row), g_settings_schema_key_get_summary (schema_key));
  gtk_widget_set_tooltip_text (row, override_text != NULL ? override_text : description);

  if (ADW_IS_ACTION_ROW (row))
    {
      /* The override replaces the description: it is what matters now. */
      adw_action_row_set_subtitle (ADW_ACTION_ROW (row), override_text != NULL ? override_text : subtitle);
    }
  else if (override_text != NULL)
    {
      /* An entry row has no subtitle; its title carries the override. */
      g_autofree char *title = g_strdup_printf ("%s — %s", g_settings_schema_key_get_summary (schema_key),
                                                override_text);

      adw_preferences_row_set_title (ADW_PREFERENCES_ROW (row), title);
    }

  mark_row (row, settings, key, g_object_get_data (G_OBJECT (row), DATA_EDITOR), override_text);

  return row;
}

const char *
roadie_setting_row_get_key (GtkWidget *row)
{
  g_return_val_if_fail (GTK_IS_WIDGET (row), NULL);

  return g_object_get_data (G_OBJECT (row), DATA_KEY);
}

GSettings *
roadie_setting_row_get_settings (GtkWidget *row)
{
  g_return_val_if_fail (GTK_IS_WIDGET (row), NULL);

  return g_object_get_data (G_OBJECT (row), DATA_SETTINGS);
}

GtkWidget *
roadie_setting_row_get_editor (GtkWidget *row)
{
  g_return_val_if_fail (GTK_IS_WIDGET (row), NULL);

  return g_object_get_data (G_OBJECT (row), DATA_EDITOR);
}

const char *
roadie_setting_row_get_override (GtkWidget *row)
{
  g_return_val_if_fail (GTK_IS_WIDGET (row), NULL);

  return g_object_get_data (G_OBJECT (row), DATA_OVERRIDE);
}
