/* roadie-log-view.c: the tail of the audio server's output, live.
 *
 * A read-only GtkTextView. The file's last lines are loaded once,
 * asynchronously; after that, lines come from the supervisor's
 * "output-line" signal, so nothing polls the file. The buffer keeps at most
 * max-lines lines: the oldest are dropped, the whole history stays in the
 * file. The view follows new lines only while it is scrolled to the
 * bottom, so a DJ reading back is not yanked away.
 */
#include "config.h"

#include <string.h>

#include <glib/gi18n.h>

#include "roadie-log-view.h"

/* The file is capped by log-max-bytes (1 MiB by default); only its end
 * matters here. */
#define TAIL_BYTES (64 * 1024)

struct _RoadieLogView
{
  GtkWidget         parent_instance;

  RoadieSupervisor *supervisor;
  gulong            output_handler;
  gulong            changed_handler;
  gulong            dark_handler;
  GCancellable     *cancellable;
  GPid              last_pid;
  guint             max_lines;
  gboolean          loaded;   /* the file's tail is in (or there was none) */

  GtkWidget        *box;
  GtkWidget        *stack;
  GtkWidget        *scroller;
  GtkTextView      *text_view;
  GtkTextBuffer    *buffer;
  GtkTextTag       *stderr_tag;
  GtkTextTag       *marker_tag;
  GtkTextTag       *banner_tag;
  GtkTextMark      *end_mark;
};

G_DEFINE_FINAL_TYPE (RoadieLogView, roadie_log_view, GTK_TYPE_WIDGET)

static void
update_tag_colours (RoadieLogView *self)
{
  gboolean dark = adw_style_manager_get_dark (adw_style_manager_get_default ());

  /* Adwaita's red, readable on either background. */
  g_object_set (self->stderr_tag, "foreground", dark ? "#ff7b63" : "#c01c28", NULL);
  g_object_set (self->marker_tag, "foreground", dark ? "#ff7b63" : "#c01c28", NULL);
}

static gboolean
is_scrolled_to_end (RoadieLogView *self)
{
  GtkAdjustment *adjustment = gtk_scrolled_window_get_vadjustment (GTK_SCROLLED_WINDOW (self->scroller));

  return gtk_adjustment_get_value (adjustment) + gtk_adjustment_get_page_size (adjustment)
         >= gtk_adjustment_get_upper (adjustment) - 4.0;
}

static void
trim (RoadieLogView *self)
{
  int excess = gtk_text_buffer_get_line_count (self->buffer) - 1 - (int) self->max_lines;
  GtkTextIter start, end;

  if (excess <= 0)
    return;
  gtk_text_buffer_get_start_iter (self->buffer, &start);
  gtk_text_buffer_get_iter_at_line (self->buffer, &end, excess);
  gtk_text_buffer_delete (self->buffer, &start, &end);
}

typedef enum
{
  LINE_STDOUT,
  LINE_STDERR,
  LINE_BANNER,
} LineKind;

static void
append_line (RoadieLogView *self,
             LineKind       kind,
             const char    *text,
             gssize         length)
{
  GtkTextIter end;

  gtk_text_buffer_get_end_iter (self->buffer, &end);
  switch (kind)
    {
    case LINE_STDERR:
      gtk_text_buffer_insert_with_tags (self->buffer, &end, "STDERR ", -1, self->marker_tag, NULL);
      gtk_text_buffer_insert_with_tags (self->buffer, &end, text, length, self->stderr_tag, NULL);
      break;

    case LINE_BANNER:
      gtk_text_buffer_insert_with_tags (self->buffer, &end, text, length, self->banner_tag, NULL);
      break;

    case LINE_STDOUT:
    default:
      gtk_text_buffer_insert (self->buffer, &end, text, length);
      break;
    }
  gtk_text_buffer_insert (self->buffer, &end, "\n", 1);
}

static void
lines_added (RoadieLogView *self,
             gboolean       follow)
{
  trim (self);
  gtk_stack_set_visible_child_name (GTK_STACK (self->stack),
                                    gtk_text_buffer_get_char_count (self->buffer) > 0 ? "log" : "empty");
  if (follow)
    gtk_text_view_scroll_to_mark (self->text_view, self->end_mark, 0.0, FALSE, 0.0, 1.0);
}

static void
output_line_cb (RoadieLogView   *self,
                RoadieLogStream  stream,
                const char      *line)
{
  gboolean follow = is_scrolled_to_end (self);

  append_line (self, stream == ROADIE_LOG_STREAM_STDERR ? LINE_STDERR : LINE_STDOUT, line, -1);
  lines_added (self, follow);
}

/* A new server process: a separator, as the file has its banner. */
static void
changed_cb (RoadieLogView *self)
{
  GPid pid = roadie_supervisor_get_pid (self->supervisor);
  g_autoptr(GDateTime) now = NULL;
  g_autofree char *time = NULL;
  g_autofree char *banner = NULL;
  gboolean follow;

  if (pid == 0 || pid == self->last_pid)
    return;
  self->last_pid = pid;
  if (!self->loaded)
    return;

  follow = is_scrolled_to_end (self);
  now = g_date_time_new_now_local ();
  time = g_date_time_format (now, "%X");
  /* Translators: a separator in the log view; %s is a time, %d a process id */
  banner = g_strdup_printf (_("── started at %s, process %d ──"), time, (int) pid);
  append_line (self, LINE_BANNER, banner, -1);
  lines_added (self, follow);
}

/* Lines of the file in the seed's format: "[STDOUT] …", "[STDERR] …",
 * "=== Audio Server Started: … ===". */
static void
append_file_line (RoadieLogView *self,
                  const char    *line,
                  gsize          length)
{
  if (length >= 9 && memcmp (line, "[STDOUT] ", 9) == 0)
    append_line (self, LINE_STDOUT, line + 9, length - 9);
  else if (length >= 9 && memcmp (line, "[STDERR] ", 9) == 0)
    append_line (self, LINE_STDERR, line + 9, length - 9);
  else if (length >= 4 && memcmp (line, "=== ", 4) == 0)
    append_line (self, LINE_BANNER, line, length);
  else if (length > 0)
    append_line (self, LINE_STDOUT, line, length);
}

static void
tail_loaded_cb (GObject      *object,
                GAsyncResult *result,
                gpointer      user_data)
{
  g_autoptr(GBytes) bytes = NULL;
  g_autoptr(GError) error = NULL;
  RoadieLogView *self;
  g_autofree char *live = NULL;
  GtkTextIter start, end;
  const char *data, *cursor, *stop;
  gsize size;

  bytes = g_input_stream_read_bytes_finish (G_INPUT_STREAM (object), result, &error);
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;
  self = ROADIE_LOG_VIEW (user_data);
  self->loaded = TRUE;
  if (bytes == NULL)
    return;

  /* Lines that arrived while loading go after the file's. */
  gtk_text_buffer_get_bounds (self->buffer, &start, &end);
  live = gtk_text_buffer_get_slice (self->buffer, &start, &end, TRUE);
  gtk_text_buffer_set_text (self->buffer, "", 0);

  data = g_bytes_get_data (bytes, &size);
  cursor = data;
  stop = data + size;
  /* Started mid-file: the first line is cut, skip it. */
  if (size == TAIL_BYTES)
    {
      const char *newline = memchr (cursor, '\n', stop - cursor);
      cursor = newline != NULL ? newline + 1 : stop;
    }
  while (cursor < stop)
    {
      const char *newline = memchr (cursor, '\n', stop - cursor);
      const char *line_end = newline != NULL ? newline : stop;

      if (g_utf8_validate (cursor, line_end - cursor, NULL))
        append_file_line (self, cursor, line_end - cursor);
      cursor = line_end + 1;
    }

  if (live != NULL && *live != '\0')
    {
      gtk_text_buffer_get_end_iter (self->buffer, &end);
      gtk_text_buffer_insert (self->buffer, &end, live, -1);
    }
  lines_added (self, TRUE);
}

static void
tail_opened_cb (GObject      *object,
                GAsyncResult *result,
                gpointer      user_data)
{
  g_autoptr(GFileInputStream) stream = NULL;
  g_autoptr(GError) error = NULL;
  RoadieLogView *self;

  stream = g_file_read_finish (G_FILE (object), result, &error);
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;
  self = ROADIE_LOG_VIEW (user_data);
  if (stream == NULL)
    {
      /* No log yet: nothing to show until the server says something. */
      self->loaded = TRUE;
      return;
    }

  /* Seeking is local and instant; the read itself is asynchronous. */
  if (!g_seekable_seek (G_SEEKABLE (stream), -TAIL_BYTES, G_SEEK_END, NULL, NULL))
    g_seekable_seek (G_SEEKABLE (stream), 0, G_SEEK_SET, NULL, NULL);
  g_input_stream_read_bytes_async (G_INPUT_STREAM (stream), TAIL_BYTES, G_PRIORITY_LOW,
                                   self->cancellable, tail_loaded_cb, self);
}

static void
open_file_cb (GtkWidget  *widget,
              const char *action_name,
              GVariant   *parameter)
{
  RoadieLogView *self = ROADIE_LOG_VIEW (widget);
  const char *path = roadie_supervisor_get_log_path (self->supervisor);
  g_autoptr(GFile) file = NULL;
  g_autofree char *uri = NULL;
  GtkRoot *root;

  if (path == NULL)
    return;
  file = g_file_new_for_path (path);
  uri = g_file_get_uri (file);
  root = gtk_widget_get_root (widget);
  gtk_show_uri (GTK_IS_WINDOW (root) ? GTK_WINDOW (root) : NULL, uri, GDK_CURRENT_TIME);
}

static GtkWidget *
build_empty_page (void)
{
  GtkWidget *page = adw_status_page_new ();
  GtkWidget *button = gtk_button_new_with_mnemonic (_("_Open Log File"));

  adw_status_page_set_icon_name (ADW_STATUS_PAGE (page), "utilities-terminal-symbolic");
  adw_status_page_set_title (ADW_STATUS_PAGE (page), _("No Output Yet"));
  adw_status_page_set_description (ADW_STATUS_PAGE (page),
                                   _("What the audio server prints shows up here as it runs."));
  gtk_widget_set_halign (button, GTK_ALIGN_CENTER);
  gtk_widget_add_css_class (button, "pill");
  gtk_actionable_set_action_name (GTK_ACTIONABLE (button), "log.open-file");
  adw_status_page_set_child (ADW_STATUS_PAGE (page), button);
  return page;
}

static void
roadie_log_view_dispose (GObject *object)
{
  RoadieLogView *self = ROADIE_LOG_VIEW (object);

  g_cancellable_cancel (self->cancellable);
  g_clear_object (&self->cancellable);
  if (self->supervisor != NULL)
    {
      g_clear_signal_handler (&self->output_handler, self->supervisor);
      g_clear_signal_handler (&self->changed_handler, self->supervisor);
    }
  g_clear_signal_handler (&self->dark_handler, adw_style_manager_get_default ());
  g_clear_object (&self->supervisor);
  g_clear_pointer (&self->box, gtk_widget_unparent);

  G_OBJECT_CLASS (roadie_log_view_parent_class)->dispose (object);
}

static void
roadie_log_view_class_init (RoadieLogViewClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = roadie_log_view_dispose;

  gtk_widget_class_set_layout_manager_type (widget_class, GTK_TYPE_BIN_LAYOUT);
  gtk_widget_class_set_css_name (widget_class, "roadielogview");
  gtk_widget_class_install_action (widget_class, "log.open-file", NULL, open_file_cb);
}

static void
roadie_log_view_init (RoadieLogView *self)
{
  GtkWidget *bar, *title, *button;

  self->max_lines = ROADIE_LOG_VIEW_DEFAULT_MAX_LINES;
  self->cancellable = g_cancellable_new ();

  self->box = gtk_box_new (GTK_ORIENTATION_VERTICAL, 0);
  gtk_widget_set_parent (self->box, GTK_WIDGET (self));

  bar = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 12);
  gtk_widget_set_margin_start (bar, 12);
  gtk_widget_set_margin_end (bar, 12);
  gtk_widget_set_margin_top (bar, 6);
  gtk_widget_set_margin_bottom (bar, 6);
  title = gtk_label_new (_("Audio server output"));
  gtk_widget_add_css_class (title, "heading");
  gtk_widget_set_hexpand (title, TRUE);
  gtk_label_set_xalign (GTK_LABEL (title), 0.0f);
  button = gtk_button_new_with_mnemonic (_("_Open Log File"));
  gtk_actionable_set_action_name (GTK_ACTIONABLE (button), "log.open-file");
  gtk_widget_set_tooltip_text (button, _("Open the whole log in a text editor"));
  gtk_box_append (GTK_BOX (bar), title);
  gtk_box_append (GTK_BOX (bar), button);
  gtk_box_append (GTK_BOX (self->box), bar);
  gtk_box_append (GTK_BOX (self->box), gtk_separator_new (GTK_ORIENTATION_HORIZONTAL));

  self->buffer = gtk_text_buffer_new (NULL);
  self->stderr_tag = gtk_text_buffer_create_tag (self->buffer, "stderr", NULL);
  self->marker_tag = gtk_text_buffer_create_tag (self->buffer, "stderr-marker",
                                                 "weight", PANGO_WEIGHT_BOLD, NULL);
  self->banner_tag = gtk_text_buffer_create_tag (self->buffer, "banner",
                                                 "foreground", "#9a9996",
                                                 "style", PANGO_STYLE_ITALIC, NULL);
  {
    GtkTextIter end;
    gtk_text_buffer_get_end_iter (self->buffer, &end);
    self->end_mark = gtk_text_buffer_create_mark (self->buffer, "end", &end, FALSE);
  }

  self->text_view = GTK_TEXT_VIEW (gtk_text_view_new_with_buffer (self->buffer));
  g_object_unref (self->buffer);   /* the view holds it */
  gtk_text_view_set_editable (self->text_view, FALSE);
  gtk_text_view_set_cursor_visible (self->text_view, FALSE);
  gtk_text_view_set_monospace (self->text_view, TRUE);
  gtk_text_view_set_wrap_mode (self->text_view, GTK_WRAP_WORD_CHAR);
  gtk_text_view_set_left_margin (self->text_view, 12);
  gtk_text_view_set_right_margin (self->text_view, 12);
  gtk_text_view_set_top_margin (self->text_view, 8);
  gtk_text_view_set_bottom_margin (self->text_view, 8);
  gtk_accessible_update_property (GTK_ACCESSIBLE (self->text_view),
                                  GTK_ACCESSIBLE_PROPERTY_LABEL, _("Audio server output"), -1);

  self->scroller = gtk_scrolled_window_new ();
  gtk_scrolled_window_set_child (GTK_SCROLLED_WINDOW (self->scroller), GTK_WIDGET (self->text_view));
  gtk_widget_set_vexpand (self->scroller, TRUE);

  self->stack = gtk_stack_new ();
  gtk_stack_add_named (GTK_STACK (self->stack), build_empty_page (), "empty");
  gtk_stack_add_named (GTK_STACK (self->stack), self->scroller, "log");
  gtk_stack_set_visible_child_name (GTK_STACK (self->stack), "empty");
  gtk_widget_set_vexpand (self->stack, TRUE);
  gtk_box_append (GTK_BOX (self->box), self->stack);

  self->dark_handler = g_signal_connect_swapped (adw_style_manager_get_default (), "notify::dark",
                                                 G_CALLBACK (update_tag_colours), self);
  update_tag_colours (self);
}

GtkWidget *
roadie_log_view_new (RoadieSupervisor *supervisor)
{
  RoadieLogView *self;
  const char *path;

  g_return_val_if_fail (ROADIE_IS_SUPERVISOR (supervisor), NULL);

  self = g_object_new (ROADIE_TYPE_LOG_VIEW, NULL);
  self->supervisor = g_object_ref (supervisor);
  self->last_pid = roadie_supervisor_get_pid (supervisor);
  self->output_handler = g_signal_connect_swapped (supervisor, "output-line",
                                                   G_CALLBACK (output_line_cb), self);
  self->changed_handler = g_signal_connect_swapped (supervisor, "changed",
                                                    G_CALLBACK (changed_cb), self);

  path = roadie_supervisor_get_log_path (supervisor);
  if (path != NULL)
    {
      g_autoptr(GFile) file = g_file_new_for_path (path);
      g_file_read_async (file, G_PRIORITY_LOW, self->cancellable, tail_opened_cb, self);
    }
  else
    self->loaded = TRUE;

  return GTK_WIDGET (self);
}

void
roadie_log_view_set_max_lines (RoadieLogView *self,
                               guint          max_lines)
{
  g_return_if_fail (ROADIE_IS_LOG_VIEW (self));
  g_return_if_fail (max_lines > 0);

  self->max_lines = max_lines;
  trim (self);
}

guint
roadie_log_view_get_n_lines (RoadieLogView *self)
{
  g_return_val_if_fail (ROADIE_IS_LOG_VIEW (self), 0);

  /* The buffer always ends with an empty line after the last "\n". */
  return gtk_text_buffer_get_line_count (self->buffer) - 1;
}

char *
roadie_log_view_dup_text (RoadieLogView *self)
{
  GtkTextIter start, end;

  g_return_val_if_fail (ROADIE_IS_LOG_VIEW (self), NULL);

  gtk_text_buffer_get_bounds (self->buffer, &start, &end);
  return gtk_text_buffer_get_text (self->buffer, &start, &end, FALSE);
}
