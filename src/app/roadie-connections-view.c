/* roadie-connections-view.c: who is connected to the engine, at a glance.
 *
 * Built in code rather than from a template: apart from the frame (a stack
 * of an empty state and a preferences page) every row follows the data,
 * DJs come and go, and each counter is one row from a table.
 *
 * The stats message says how long until a link's next attempt; the view
 * turns that into a deadline on its own clock and counts down once a
 * second, with a timer that exists only while a countdown is shown. Rows
 * are only rebuilt when the list of DJs really changed, so a message a
 * second does not steal keyboard focus.
 */
#include "config.h"

#include <math.h>

#include <glib/gi18n.h>

#include "roadie-connections-view.h"

typedef struct
{
  AdwPreferencesGroup *group;
  AdwActionRow        *row;
  const char          *key;           /* member of "links" */
  const char          *name;          /* for the accessible label, translated */
  char                *state;         /* as sent, or NULL: not configured */
  gint64               retry_at_us;   /* monotonic deadline while in backoff, else 0 */
} LinkRows;

typedef struct
{
  const char   *key;
  const char   *title;                /* untranslated; _() when shown */
  gboolean      is_boolean;
  AdwActionRow *row;
  GtkLabel     *value;
} CounterRow;

enum { LINK_VISUALIZER, LINK_RELAY, N_LINKS };

struct _RoadieConnectionsView
{
  AdwBin               parent_instance;

  GtkStack            *stack;
  AdwPreferencesGroup *djs_group;
  GPtrArray           *dj_rows;       /* GtkWidget *, in djs_group */
  char                *dj_signature;  /* what dj_rows show */
  AdwActionRow        *browsers_row;
  GtkLabel            *browsers_value;
  LinkRows             links[N_LINKS];
  CounterRow          *counters;
  guint                n_counters;

  JsonObject          *stats;
  guint                countdown_id;
};

G_DEFINE_FINAL_TYPE (RoadieConnectionsView, roadie_connections_view, ADW_TYPE_BIN)

/* The seed's statistics, in the seed's order. */
static const CounterRow counter_table[] = {
  { "dj_connects", N_("DJ sign-ins"), FALSE },
  { "dj_disconnects", N_("DJ departures"), FALSE },
  { "browser_connects", N_("Browser connections"), FALSE },
  { "browser_disconnects", N_("Browser disconnections"), FALSE },
  { "mc_reconnect_count", N_("Visualizer reconnections"), FALSE },
  { "current_djs", N_("DJs now"), FALSE },
  { "current_browsers", N_("Browsers now"), FALSE },
  { "mc_connected", N_("Visualizer connected"), TRUE },
};

/* ---- reading the message defensively ----------------------------------- */

/* Only the seed's fields are checked by the protocol parser; the rest may
 * come from an older or foreign engine. */
static JsonNode *
member_of_type (JsonObject *object,
                const char *name,
                GType       value_type)
{
  JsonNode *node = object != NULL ? json_object_get_member (object, name) : NULL;

  if (node == NULL || !JSON_NODE_HOLDS_VALUE (node) || json_node_get_value_type (node) != value_type)
    return NULL;
  return node;
}

static const char *
string_member (JsonObject *object,
               const char *name)
{
  JsonNode *node = member_of_type (object, name, G_TYPE_STRING);

  return node != NULL ? json_node_get_string (node) : NULL;
}

static gint64
int_member (JsonObject *object,
            const char *name,
            gint64      fallback)
{
  JsonNode *node = member_of_type (object, name, G_TYPE_INT64);

  return node != NULL ? json_node_get_int (node) : fallback;
}

static gboolean
boolean_member (JsonObject *object,
                const char *name)
{
  JsonNode *node = member_of_type (object, name, G_TYPE_BOOLEAN);

  return node != NULL && json_node_get_boolean (node);
}

static JsonObject *
object_member (JsonObject *object,
               const char *name)
{
  JsonNode *node = object != NULL ? json_object_get_member (object, name) : NULL;

  return node != NULL && JSON_NODE_HOLDS_OBJECT (node) ? json_node_get_object (node) : NULL;
}

/* ---- small widgets -------------------------------------------------------- */

static AdwActionRow *
new_row (const char *title,
         const char *subtitle)
{
  AdwActionRow *row = ADW_ACTION_ROW (adw_action_row_new ());

  /* DJ names and addresses are text, not markup. */
  adw_preferences_row_set_use_markup (ADW_PREFERENCES_ROW (row), FALSE);
  adw_preferences_row_set_title (ADW_PREFERENCES_ROW (row), title);
  if (subtitle != NULL)
    adw_action_row_set_subtitle (row, subtitle);
  return row;
}

static GtkLabel *
add_value_label (AdwActionRow *row)
{
  GtkWidget *label = gtk_label_new (NULL);

  gtk_widget_add_css_class (label, "dim-label");
  gtk_widget_add_css_class (label, "numeric");
  adw_action_row_add_suffix (row, label);
  return GTK_LABEL (label);
}

static void
set_accessible_label (gpointer    widget,
                      const char *label)
{
  gtk_accessible_update_property (GTK_ACCESSIBLE (widget), GTK_ACCESSIBLE_PROPERTY_LABEL, label, -1);
}

/* ---- DJs ------------------------------------------------------------------ */

static void
clear_dj_rows (RoadieConnectionsView *self)
{
  for (guint i = 0; i < self->dj_rows->len; i++)
    adw_preferences_group_remove (self->djs_group, g_ptr_array_index (self->dj_rows, i));
  g_ptr_array_set_size (self->dj_rows, 0);
}

static void
add_dj_row (RoadieConnectionsView *self,
            const char            *dj_id,
            const char            *dj_name,
            gboolean               active)
{
  const char *title = dj_name != NULL && *dj_name != '\0' ? dj_name : dj_id;
  AdwActionRow *row = new_row (title, dj_id);
  g_autofree char *accessible = NULL;

  if (active)
    {
      GtkWidget *on_air = gtk_label_new (_("On Air"));

      gtk_widget_add_css_class (on_air, "accent");
      gtk_widget_add_css_class (on_air, "heading");
      adw_action_row_add_suffix (row, on_air);
      /* TRANSLATORS: accessible name of a DJ row; %s: the DJ's name, then id */
      accessible = g_strdup_printf (_("%s (%s), on air"), title, dj_id);
    }
  else
    accessible = g_strdup_printf (_("%s (%s)"), title, dj_id);
  set_accessible_label (row, accessible);

  adw_preferences_group_add (self->djs_group, GTK_WIDGET (row));
  g_ptr_array_add (self->dj_rows, row);
}

static void
update_djs (RoadieConnectionsView *self,
            JsonObject            *stats)
{
  JsonNode *node = json_object_get_member (stats, "djs");
  JsonArray *djs = node != NULL && JSON_NODE_HOLDS_ARRAY (node) ? json_node_get_array (node) : NULL;
  guint n = djs != NULL ? json_array_get_length (djs) : 0;
  g_autoptr(GString) signature = g_string_new (NULL);
  guint shown = 0;

  for (guint i = 0; i < n; i++)
    {
      JsonNode *element = json_array_get_element (djs, i);
      JsonObject *dj = JSON_NODE_HOLDS_OBJECT (element) ? json_node_get_object (element) : NULL;
      const char *dj_id = string_member (dj, "dj_id");
      const char *dj_name = string_member (dj, "dj_name");

      if (dj_id == NULL)
        continue;
      g_string_append_printf (signature, "%s\x1f%s\x1f%d\x1e", dj_id, dj_name != NULL ? dj_name : "",
                              boolean_member (dj, "active"));
    }
  if (g_strcmp0 (signature->str, self->dj_signature) == 0)
    return;
  g_free (self->dj_signature);
  self->dj_signature = g_strdup (signature->str);

  clear_dj_rows (self);
  for (guint i = 0; i < n; i++)
    {
      JsonNode *element = json_array_get_element (djs, i);
      JsonObject *dj = JSON_NODE_HOLDS_OBJECT (element) ? json_node_get_object (element) : NULL;
      const char *dj_id = string_member (dj, "dj_id");

      if (dj_id == NULL)
        continue;
      add_dj_row (self, dj_id, string_member (dj, "dj_name"), boolean_member (dj, "active"));
      shown++;
    }
  if (shown == 0)
    {
      AdwActionRow *row = new_row (_("No DJs connected"), NULL);

      gtk_widget_add_css_class (GTK_WIDGET (row), "dim-label");
      adw_preferences_group_add (self->djs_group, GTK_WIDGET (row));
      g_ptr_array_add (self->dj_rows, row);
    }
}

/* ---- links ------------------------------------------------------------------ */

/* What a DJ reads for a link's state. */
static char *
link_state_words (LinkRows *link,
                  gint64    now_us)
{
  const char *state = link->state;

  if (state == NULL)
    return g_strdup (_("Not configured"));
  if (g_str_equal (state, "connected"))
    return g_strdup (_("Connected"));
  if (g_str_equal (state, "connecting"))
    return g_strdup (_("Connecting…"));
  if (g_str_equal (state, "backoff"))
    {
      gint64 left_us = link->retry_at_us - now_us;
      int seconds;

      if (link->retry_at_us == 0 || left_us <= 0)
        return g_strdup (_("Reconnecting…"));
      seconds = (int) ceil (left_us / (double) G_USEC_PER_SEC);
      /* TRANSLATORS: a countdown to the next connection attempt; %d: seconds */
      return g_strdup_printf (_("Reconnecting in %d s"), seconds);
    }
  if (g_str_equal (state, "gave-up"))
    return g_strdup (_("Gave up: restart the audio server to try again"));
  if (g_str_equal (state, "auth-failed"))
    return g_strdup (_("Refused: check the DJ id and key"));
  if (g_str_equal (state, "disconnected") || g_str_equal (state, "closed"))
    return g_strdup (_("Not connected"));
  return g_strdup (state);
}

static gboolean
link_shows_countdown (LinkRows *link,
                      gint64    now_us)
{
  return g_strcmp0 (link->state, "backoff") == 0 && link->retry_at_us > now_us;
}

static void
show_link (LinkRows *link,
           gint64    now_us)
{
  g_autofree char *words = link_state_words (link, now_us);
  g_autofree char *accessible = g_strdup_printf ("%s: %s", link->name, words);

  adw_preferences_row_set_title (ADW_PREFERENCES_ROW (link->row), words);
  set_accessible_label (link->row, accessible);
}

static gboolean countdown_tick (gpointer user_data);

/* Shows every link's words for now; keeps the 1 s timer exactly while a
 * countdown is on screen. */
static void
refresh_links (RoadieConnectionsView *self)
{
  gint64 now_us = g_get_monotonic_time ();
  gboolean counting = FALSE;

  for (guint i = 0; i < N_LINKS; i++)
    {
      show_link (&self->links[i], now_us);
      counting |= link_shows_countdown (&self->links[i], now_us);
    }

  if (counting && self->countdown_id == 0)
    {
      self->countdown_id = g_timeout_add (1000, countdown_tick, self);
      g_source_set_name_by_id (self->countdown_id, "[roadie] connections countdown");
    }
  else if (!counting)
    g_clear_handle_id (&self->countdown_id, g_source_remove);
}

static gboolean
countdown_tick (gpointer user_data)
{
  RoadieConnectionsView *self = user_data;

  /* This source ends here; refresh_links() starts the next second's if
   * a countdown is still shown. */
  self->countdown_id = 0;
  refresh_links (self);
  return G_SOURCE_REMOVE;
}

static void
update_link (LinkRows   *link,
             JsonObject *links)
{
  JsonObject *object = object_member (links, link->key);
  const char *url = string_member (object, "url");
  gint64 retry_ms = int_member (object, "next_retry_ms", -1);

  g_free (link->state);
  link->state = object != NULL ? g_strdup (string_member (object, "state")) : NULL;
  if (object != NULL && link->state == NULL)
    link->state = g_strdup ("disconnected");
  link->retry_at_us = retry_ms >= 0 ? g_get_monotonic_time () + retry_ms * 1000 : 0;

  adw_action_row_set_subtitle (link->row, url != NULL ? url : "");
}

/* ---- counters ----------------------------------------------------------- */

static void
update_counters (RoadieConnectionsView *self,
                 JsonObject            *stats)
{
  gint64 browsers = int_member (stats, "current_browsers", 0);
  g_autofree char *browsers_text = g_strdup_printf ("%" G_GINT64_FORMAT, browsers);
  g_autofree char *browsers_accessible = NULL;

  gtk_label_set_label (self->browsers_value, browsers_text);
  browsers_accessible = g_strdup_printf (_("Connected browsers: %s"), browsers_text);
  set_accessible_label (self->browsers_row, browsers_accessible);

  for (guint i = 0; i < self->n_counters; i++)
    {
      CounterRow *counter = &self->counters[i];
      g_autofree char *text = NULL;
      g_autofree char *accessible = NULL;

      if (counter->is_boolean)
        text = g_strdup (boolean_member (stats, counter->key) ? _("Yes") : _("No"));
      else
        text = g_strdup_printf ("%" G_GINT64_FORMAT, int_member (stats, counter->key, 0));
      gtk_label_set_label (counter->value, text);
      accessible = g_strdup_printf ("%s: %s", _(counter->title), text);
      set_accessible_label (counter->row, accessible);
    }
}

/* ---- public ------------------------------------------------------------- */

void
roadie_connections_view_set_stats (RoadieConnectionsView *self,
                                   JsonObject            *stats)
{
  JsonObject *links;

  g_return_if_fail (ROADIE_IS_CONNECTIONS_VIEW (self));

  if (stats != NULL)
    json_object_ref (stats);
  g_clear_pointer (&self->stats, json_object_unref);
  self->stats = stats;

  if (stats == NULL)
    {
      gtk_stack_set_visible_child_name (self->stack, "empty");
      for (guint i = 0; i < N_LINKS; i++)
        {
          g_clear_pointer (&self->links[i].state, g_free);
          self->links[i].retry_at_us = 0;
        }
      g_clear_handle_id (&self->countdown_id, g_source_remove);
      return;
    }

  update_djs (self, stats);
  update_counters (self, stats);
  links = object_member (stats, "links");
  for (guint i = 0; i < N_LINKS; i++)
    update_link (&self->links[i], links);
  refresh_links (self);
  gtk_stack_set_visible_child_name (self->stack, "stats");
}

guint
roadie_connections_view_count_sources (RoadieConnectionsView *self)
{
  g_return_val_if_fail (ROADIE_IS_CONNECTIONS_VIEW (self), 0);

  return self->countdown_id != 0 ? 1 : 0;
}

GtkWidget *
roadie_connections_view_new (void)
{
  return g_object_new (ROADIE_TYPE_CONNECTIONS_VIEW, NULL);
}

/* ---- GObject ------------------------------------------------------------- */

static AdwPreferencesGroup *
add_group (AdwPreferencesPage *page,
           const char         *title)
{
  GtkWidget *group = adw_preferences_group_new ();

  adw_preferences_group_set_title (ADW_PREFERENCES_GROUP (group), title);
  adw_preferences_page_add (page, ADW_PREFERENCES_GROUP (group));
  return ADW_PREFERENCES_GROUP (group);
}

static void
build_ui (RoadieConnectionsView *self)
{
  GtkWidget *empty = adw_status_page_new ();
  AdwPreferencesPage *page = ADW_PREFERENCES_PAGE (adw_preferences_page_new ());
  AdwPreferencesGroup *statistics;

  self->stack = GTK_STACK (gtk_stack_new ());
  gtk_stack_set_transition_type (self->stack, GTK_STACK_TRANSITION_TYPE_CROSSFADE);
  adw_bin_set_child (ADW_BIN (self), GTK_WIDGET (self->stack));

  adw_status_page_set_icon_name (ADW_STATUS_PAGE (empty), "network-offline-symbolic");
  adw_status_page_set_title (ADW_STATUS_PAGE (empty), _("No engine connected"));
  adw_status_page_set_description (ADW_STATUS_PAGE (empty),
                                   _("Start the audio server to see its DJs, browsers and links here."));
  gtk_widget_add_css_class (empty, "compact");
  gtk_stack_add_named (self->stack, empty, "empty");
  gtk_stack_add_named (self->stack, GTK_WIDGET (page), "stats");

  self->djs_group = add_group (page, _("Connected DJs"));

  self->browsers_row = new_row (_("Connected browsers"), NULL);
  self->browsers_value = add_value_label (self->browsers_row);
  adw_preferences_group_add (add_group (page, _("Browsers")), GTK_WIDGET (self->browsers_row));

  self->links[LINK_VISUALIZER].key = "visualizer";
  self->links[LINK_VISUALIZER].name = _("Visualizer link");
  self->links[LINK_RELAY].key = "relay";
  self->links[LINK_RELAY].name = _("DJ relay");
  for (guint i = 0; i < N_LINKS; i++)
    {
      LinkRows *link = &self->links[i];

      link->group = add_group (page, link->name);
      link->row = new_row (_("Not configured"), NULL);
      adw_preferences_group_add (link->group, GTK_WIDGET (link->row));
    }

  statistics = add_group (page, _("Statistics"));
  self->n_counters = G_N_ELEMENTS (counter_table);
  self->counters = g_memdup2 (counter_table, sizeof counter_table);
  for (guint i = 0; i < self->n_counters; i++)
    {
      CounterRow *counter = &self->counters[i];

      counter->row = new_row (_(counter->title), NULL);
      counter->value = add_value_label (counter->row);
      adw_preferences_group_add (statistics, GTK_WIDGET (counter->row));
    }

  gtk_stack_set_visible_child_name (self->stack, "empty");
}

static void
roadie_connections_view_dispose (GObject *object)
{
  RoadieConnectionsView *self = (RoadieConnectionsView *)object;

  g_clear_handle_id (&self->countdown_id, g_source_remove);
  g_clear_pointer (&self->stats, json_object_unref);

  G_OBJECT_CLASS (roadie_connections_view_parent_class)->dispose (object);
}

static void
roadie_connections_view_finalize (GObject *object)
{
  RoadieConnectionsView *self = (RoadieConnectionsView *)object;

  g_ptr_array_unref (self->dj_rows);
  g_free (self->dj_signature);
  g_free (self->counters);
  for (guint i = 0; i < N_LINKS; i++)
    g_free (self->links[i].state);

  G_OBJECT_CLASS (roadie_connections_view_parent_class)->finalize (object);
}

static void
roadie_connections_view_class_init (RoadieConnectionsViewClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = roadie_connections_view_dispose;
  object_class->finalize = roadie_connections_view_finalize;

  gtk_widget_class_set_css_name (widget_class, "connections-view");
}

static void
roadie_connections_view_init (RoadieConnectionsView *self)
{
  self->dj_rows = g_ptr_array_new ();
  build_ui (self);
}
