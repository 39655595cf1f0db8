/* roadie-test-gtk.h: what the GUI tests share: pictures of widgets as
 * they are drawn on screen, and finding widgets in a tree.
 */
#pragma once

#include <gtk/gtk.h>

G_BEGIN_DECLS

/* The widget as it was last drawn in its window (the window's background
 * behind it), once a frame has been painted with the current style and
 * layout (a widget still waiting for a layout draws nothing: this waits up
 * to 20 frames). */
GdkTexture *roadie_test_render_widget     (GtkWidget  *widget);
/* Saves that picture as $ROADIE_TEST_BUILDDIR/name (name may hold a
 * folder, e.g. "screenshots/x.png", made as needed); returns the path. */
char       *roadie_test_save_screenshot   (GtkWidget  *widget,
                                           const char *name);
/* The first widget of type in root's tree (root itself included). */
GtkWidget  *roadie_test_find_descendant   (GtkWidget  *root,
                                           GType       type);

G_END_DECLS
