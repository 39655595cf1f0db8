/* roadie-test-gtk.c: pictures of widgets and widget lookups for tests. */
#include "config.h"

#include "roadie-test-gtk.h"
#include "roadie-test-util.h"

static void
count_paint (GdkFrameClock *clock,
             guint         *paints)
{
  (*paints)++;
}

static gboolean
painted (gpointer user_data)
{
  return *(guint *) user_data > 0;
}

GdkTexture *
roadie_test_render_widget (GtkWidget *widget)
{
  GtkWidget *window = GTK_WIDGET (gtk_widget_get_root (widget));
  GdkFrameClock *clock = gtk_widget_get_frame_clock (window);
  g_autoptr(GskRenderNode) node = NULL;
  graphene_rect_t bounds;

  g_assert_nonnull (clock);
  for (guint attempt = 0; attempt < 20 && node == NULL; attempt++)
    {
      g_autoptr(GdkPaintable) paintable = gtk_widget_paintable_new (window);
      GtkSnapshot *snapshot;
      guint paints = 0;
      gulong handler;

      handler = g_signal_connect (clock, "after-paint", G_CALLBACK (count_paint), &paints);
      gtk_widget_queue_draw (widget);
      g_assert_true (roadie_test_wait_until (painted, &paints, 5000));
      g_signal_handler_disconnect (clock, handler);

      if (gtk_widget_get_width (widget) <= 0 || gtk_widget_get_height (widget) <= 0)
        continue;
      snapshot = gtk_snapshot_new ();
      gdk_paintable_snapshot (paintable, snapshot,
                              gtk_widget_get_width (window), gtk_widget_get_height (window));
      node = gtk_snapshot_free_to_node (snapshot);
    }
  if (node == NULL)
    g_error ("%s drew nothing in 20 frames", G_OBJECT_TYPE_NAME (widget));

  /* The widget as it looks in its window, the window's background behind. */
  g_assert_true (gtk_widget_compute_bounds (widget, window, &bounds));
  return gsk_renderer_render_texture (gtk_native_get_renderer (GTK_NATIVE (window)), node,
                                      &GRAPHENE_RECT_INIT (bounds.origin.x, bounds.origin.y,
                                                           gtk_widget_get_width (widget),
                                                           gtk_widget_get_height (widget)));
}

char *
roadie_test_save_screenshot (GtkWidget  *widget,
                             const char *name)
{
  g_autoptr(GdkTexture) texture = roadie_test_render_widget (widget);
  g_autofree char *path = g_build_filename (g_getenv ("ROADIE_TEST_BUILDDIR"), name, NULL);
  g_autofree char *folder = g_path_get_dirname (path);

  g_assert_cmpint (g_mkdir_with_parents (folder, 0755), ==, 0);
  g_assert_true (gdk_texture_save_to_png (texture, path));
  g_test_message ("screenshot: %s", path);
  return g_steal_pointer (&path);
}

GtkWidget *
roadie_test_find_descendant (GtkWidget *root,
                             GType      type)
{
  if (G_TYPE_CHECK_INSTANCE_TYPE (root, type))
    return root;
  for (GtkWidget *child = gtk_widget_get_first_child (root); child != NULL;
       child = gtk_widget_get_next_sibling (child))
    {
      GtkWidget *found = roadie_test_find_descendant (child, type);

      if (found != NULL)
        return found;
    }
  return NULL;
}
