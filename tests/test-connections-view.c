/* test-connections-view.c: RoadieConnectionsView under a private X server.
 *
 * A stats message with two DJs (one on air), a browser, a relay waiting to
 * reconnect and no visualizer: the rows say so, the countdown goes down
 * once a second with a timer that exists only while it is shown, and no
 * stats at all shows the calm empty state. Saves a screenshot.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <adwaita.h>

#include "roadie-connections-view.h"
#include "roadie-test-gtk.h"
#include "roadie-test-util.h"

#define STATS_TWO_DJS \
  "{\"type\":\"stats\",\"dj_connects\":5,\"dj_disconnects\":3,\"browser_connects\":7," \
  "\"browser_disconnects\":6,\"mc_reconnect_count\":2,\"current_djs\":2,\"current_browsers\":1," \
  "\"mc_connected\":false," \
  "\"djs\":[{\"dj_id\":\"dj_alice\",\"dj_name\":\"Alice & Co <live>\",\"active\":false}," \
  "{\"dj_id\":\"dj_bob\",\"dj_name\":\"Bob\",\"active\":true}]," \
  "\"links\":{\"visualizer\":null," \
  "\"relay\":{\"url\":\"ws://vj.example.com:9000/\",\"state\":\"backoff\",\"next_retry_ms\":29200}}}"

#define STATS_RELAY_UP \
  "{\"type\":\"stats\",\"dj_connects\":5,\"dj_disconnects\":4,\"browser_connects\":7," \
  "\"browser_disconnects\":7,\"mc_reconnect_count\":2,\"current_djs\":1,\"current_browsers\":0," \
  "\"mc_connected\":true," \
  "\"djs\":[{\"dj_id\":\"dj_alice\",\"dj_name\":\"Alice & Co <live>\",\"active\":true}]," \
  "\"links\":{\"visualizer\":{\"url\":\"ws://127.0.0.1:8765/\",\"state\":\"connected\",\"next_retry_ms\":null}," \
  "\"relay\":{\"url\":\"ws://vj.example.com:9000/\",\"state\":\"connected\",\"next_retry_ms\":null}}}"

static JsonObject *
parse_object (const char *text)
{
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(GError) error = NULL;

  json_parser_load_from_data (parser, text, -1, &error);
  g_assert_no_error (error);
  return json_object_ref (json_node_get_object (json_parser_get_root (parser)));
}

/* ---- walking the widget tree ------------------------------------------------ */

static void
collect (GtkWidget *root,
         GType      type,
         GPtrArray *out)
{
  if (G_TYPE_CHECK_INSTANCE_TYPE (root, type))
    g_ptr_array_add (out, root);
  for (GtkWidget *child = gtk_widget_get_first_child (root); child != NULL;
       child = gtk_widget_get_next_sibling (child))
    collect (child, type, out);
}

static AdwActionRow *
find_row (GtkWidget  *root,
          const char *title)
{
  g_autoptr(GPtrArray) rows = g_ptr_array_new ();

  collect (root, ADW_TYPE_ACTION_ROW, rows);
  for (guint i = 0; i < rows->len; i++)
    if (g_strcmp0 (adw_preferences_row_get_title (g_ptr_array_index (rows, i)), title) == 0)
      return g_ptr_array_index (rows, i);
  return NULL;
}

static gboolean
has_label (GtkWidget  *root,
           const char *text)
{
  g_autoptr(GPtrArray) labels = g_ptr_array_new ();

  collect (root, GTK_TYPE_LABEL, labels);
  for (guint i = 0; i < labels->len; i++)
    if (g_strcmp0 (gtk_label_get_label (g_ptr_array_index (labels, i)), text) == 0)
      return TRUE;
  return FALSE;
}

/* The only row of the group titled title. */
static AdwActionRow *
group_row (GtkWidget  *root,
           const char *title)
{
  g_autoptr(GPtrArray) groups = g_ptr_array_new ();

  collect (root, ADW_TYPE_PREFERENCES_GROUP, groups);
  for (guint i = 0; i < groups->len; i++)
    {
      AdwPreferencesGroup *group = g_ptr_array_index (groups, i);
      g_autoptr(GPtrArray) rows = NULL;

      if (g_strcmp0 (adw_preferences_group_get_title (group), title) != 0)
        continue;
      rows = g_ptr_array_new ();
      collect (GTK_WIDGET (group), ADW_TYPE_ACTION_ROW, rows);
      g_assert_cmpuint (rows->len, ==, 1);
      return g_ptr_array_index (rows, 0);
    }
  g_error ("no group titled “%s”", title);
}

static const char *
row_value (GtkWidget  *root,
           const char *title)
{
  AdwActionRow *row = find_row (root, title);
  g_autoptr(GPtrArray) labels = g_ptr_array_new ();

  g_assert_nonnull (row);
  collect (GTK_WIDGET (row), GTK_TYPE_LABEL, labels);
  for (guint i = 0; i < labels->len; i++)
    if (gtk_widget_has_css_class (g_ptr_array_index (labels, i), "numeric"))
      return gtk_label_get_label (g_ptr_array_index (labels, i));
  g_error ("row “%s” has no value", title);
}

static const char *
visible_page (GtkWidget *root)
{
  g_autoptr(GPtrArray) stacks = g_ptr_array_new ();

  collect (root, GTK_TYPE_STACK, stacks);
  g_assert_cmpuint (stacks->len, >=, 1);
  return gtk_stack_get_visible_child_name (g_ptr_array_index (stacks, 0));
}

/* "Reconnecting in 4 s" → 4 */
static int
countdown_seconds (const char *title)
{
  const char *prefix = "Reconnecting in ";

  g_assert_true (g_str_has_prefix (title, prefix));
  g_assert_true (g_str_has_suffix (title, " s"));
  return atoi (title + strlen (prefix));
}

/* ---- screenshots, as tests/test-window.c takes them ------------------------- */

static gboolean
transitions_done (gpointer user_data)
{
  g_autoptr(GPtrArray) stacks = g_ptr_array_new ();

  collect (user_data, GTK_TYPE_STACK, stacks);
  for (guint i = 0; i < stacks->len; i++)
    if (gtk_stack_get_transition_running (g_ptr_array_index (stacks, i)))
      return FALSE;
  return TRUE;
}

/* Once the rows' transitions are over, as the DJ would see it. */
static void
save_screenshot (GtkWidget  *window,
                 const char *name)
{
  g_autofree char *path = g_build_filename ("screenshots", name, NULL);

  g_assert_true (roadie_test_wait_until (transitions_done, window, 5000));
  g_free (roadie_test_save_screenshot (window, path));
}

static gboolean
is_mapped (gpointer user_data)
{
  return gtk_widget_get_mapped (user_data);
}

/* ---- tests ------------------------------------------------------------------ */

static void
test_stats (void)
{
  GtkWidget *window = gtk_window_new ();
  GtkWidget *view = roadie_connections_view_new ();
  RoadieConnectionsView *connections = ROADIE_CONNECTIONS_VIEW (view);
  g_autoptr(JsonObject) two_djs = parse_object (STATS_TWO_DJS);
  g_autoptr(JsonObject) relay_up = parse_object (STATS_RELAY_UP);
  AdwActionRow *alice, *bob, *relay, *visualizer;
  GtkWidget *status_page;
  int first, later;

  gtk_window_set_default_size (GTK_WINDOW (window), 460, 880);
  gtk_window_set_child (GTK_WINDOW (window), view);
  gtk_window_present (GTK_WINDOW (window));
  g_assert_true (roadie_test_wait_until (is_mapped, view, 5000));

  /* Nothing known yet. */
  g_assert_cmpstr (visible_page (view), ==, "empty");
  g_assert_cmpuint (roadie_connections_view_count_sources (connections), ==, 0);

  roadie_connections_view_set_stats (connections, two_djs);
  g_assert_cmpstr (visible_page (view), ==, "stats");

  /* DJs: the name as title (text, not markup), the id under it, the one on
   * air marked and only that one. */
  alice = find_row (view, "Alice & Co <live>");
  bob = find_row (view, "Bob");
  g_assert_nonnull (alice);
  g_assert_nonnull (bob);
  g_assert_false (adw_preferences_row_get_use_markup (ADW_PREFERENCES_ROW (alice)));
  g_assert_cmpstr (adw_action_row_get_subtitle (alice), ==, "dj_alice");
  g_assert_cmpstr (adw_action_row_get_subtitle (bob), ==, "dj_bob");
  g_assert_true (has_label (GTK_WIDGET (bob), "On Air"));
  g_assert_false (has_label (GTK_WIDGET (alice), "On Air"));

  g_assert_cmpstr (row_value (view, "Connected browsers"), ==, "1");
  g_assert_cmpstr (row_value (view, "DJ sign-ins"), ==, "5");
  g_assert_cmpstr (row_value (view, "DJ departures"), ==, "3");
  g_assert_cmpstr (row_value (view, "Browser connections"), ==, "7");
  g_assert_cmpstr (row_value (view, "Browser disconnections"), ==, "6");
  g_assert_cmpstr (row_value (view, "Visualizer reconnections"), ==, "2");
  g_assert_cmpstr (row_value (view, "DJs now"), ==, "2");
  g_assert_cmpstr (row_value (view, "Browsers now"), ==, "1");
  g_assert_cmpstr (row_value (view, "Visualizer connected"), ==, "No");

  visualizer = group_row (view, "Visualizer link");
  g_assert_cmpstr (adw_preferences_row_get_title (ADW_PREFERENCES_ROW (visualizer)), ==, "Not configured");

  /* The relay counts down, once a second, from 29.2 s. */
  relay = group_row (view, "DJ relay");
  g_assert_cmpstr (adw_action_row_get_subtitle (relay), ==, "ws://vj.example.com:9000/");
  first = countdown_seconds (adw_preferences_row_get_title (ADW_PREFERENCES_ROW (relay)));
  g_assert_cmpint (first, ==, 30);
  g_assert_cmpuint (roadie_connections_view_count_sources (connections), ==, 1);
  roadie_test_run_for (1300);
  later = countdown_seconds (adw_preferences_row_get_title (ADW_PREFERENCES_ROW (relay)));
  g_assert_cmpint (later, <, first);
  g_assert_cmpint (later, >=, first - 10);
  save_screenshot (window, "connections.png");

  /* The same rows stay when the DJs did not change; new ones when they did. */
  roadie_connections_view_set_stats (connections, two_djs);
  g_assert_true (find_row (view, "Bob") == bob);
  roadie_connections_view_set_stats (connections, relay_up);
  g_assert_null (find_row (view, "Bob"));
  alice = find_row (view, "Alice & Co <live>");
  g_assert_true (has_label (GTK_WIDGET (alice), "On Air"));
  g_assert_cmpstr (row_value (view, "Visualizer connected"), ==, "Yes");

  /* Connected: no countdown, no timer. */
  g_assert_cmpstr (adw_preferences_row_get_title (ADW_PREFERENCES_ROW (group_row (view, "DJ relay"))), ==, "Connected");
  g_assert_cmpstr (adw_preferences_row_get_title (ADW_PREFERENCES_ROW (group_row (view, "Visualizer link"))), ==, "Connected");
  g_assert_cmpstr (adw_action_row_get_subtitle (group_row (view, "Visualizer link")), ==, "ws://127.0.0.1:8765/");
  g_assert_cmpuint (roadie_connections_view_count_sources (connections), ==, 0);
  save_screenshot (window, "connections-linked.png");

  /* Back to counting, then the engine goes away: the calm empty state. */
  roadie_connections_view_set_stats (connections, two_djs);
  g_assert_cmpuint (roadie_connections_view_count_sources (connections), ==, 1);
  roadie_connections_view_set_stats (connections, NULL);
  g_assert_cmpstr (visible_page (view), ==, "empty");
  g_assert_cmpuint (roadie_connections_view_count_sources (connections), ==, 0);
  {
    g_autoptr(GPtrArray) pages = g_ptr_array_new ();

    collect (view, ADW_TYPE_STATUS_PAGE, pages);
    g_assert_cmpuint (pages->len, ==, 1);
    status_page = g_ptr_array_index (pages, 0);
    g_assert_cmpstr (adw_status_page_get_title (ADW_STATUS_PAGE (status_page)), ==, "No engine connected");
    g_assert_true (roadie_test_wait_until (is_mapped, status_page, 5000));
  }
  save_screenshot (window, "connections-empty.png");

  gtk_window_destroy (GTK_WINDOW (window));
}

/* A stats message from an engine that knows nothing of djs or links (the
 * seed's fields only) still shows its counters. */
static void
test_seed_fields_only (void)
{
  GtkWidget *view = g_object_ref_sink (roadie_connections_view_new ());
  g_autoptr(JsonObject) stats = parse_object (
    "{\"type\":\"stats\",\"dj_connects\":1,\"dj_disconnects\":0,\"browser_connects\":0,"
    "\"browser_disconnects\":0,\"mc_reconnect_count\":0,\"current_djs\":1,\"current_browsers\":3,"
    "\"mc_connected\":true,\"djs\":\"garbage\",\"links\":{\"relay\":42}}");

  roadie_connections_view_set_stats (ROADIE_CONNECTIONS_VIEW (view), stats);
  g_assert_cmpstr (visible_page (view), ==, "stats");
  g_assert_cmpstr (row_value (view, "Browsers now"), ==, "3");
  g_assert_nonnull (find_row (view, "No DJs connected"));
  g_assert_cmpstr (adw_preferences_row_get_title (ADW_PREFERENCES_ROW (group_row (view, "DJ relay"))), ==,
                   "Not configured");
  g_assert_cmpuint (roadie_connections_view_count_sources (ROADIE_CONNECTIONS_VIEW (view)), ==, 0);
  g_assert_finalize_object (view);
}

int
main (int   argc,
      char *argv[])
{
  roadie_test_init_environment ();
  roadie_test_start_xvfb ();
  g_test_init (&argc, &argv, NULL);
  gtk_init ();
  adw_init ();

  g_test_add_func ("/roadie/connections-view/stats", test_stats);
  g_test_add_func ("/roadie/connections-view/seed-fields-only", test_seed_fields_only);

  return g_test_run ();
}
