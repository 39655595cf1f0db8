/* roadie-output-reader.c: drains a child's pipe and cuts it into lines.
 *
 * A non-blocking fd watched from the main loop: each wake-up reads what is
 * there (up to a budget, so a flood cannot starve the window), and hands
 * out complete lines. The child never blocks on a full pipe for long.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <gio/gunixinputstream.h>
#include <glib-unix.h>
#include <string.h>
#include <unistd.h>

#include "roadie-output-reader.h"

#define READ_CHUNK      (64 * 1024)
#define MAX_LINE        (64 * 1024)
#define DISPATCH_BUDGET (256 * 1024)

struct _RoadieOutputReader
{
  GObject       parent_instance;

  GInputStream *stream;    /* owns the fd */
  int           fd;
  guint         watch_id;
  GByteArray   *pending;   /* an incomplete line */
  gboolean      at_eof;
};

G_DEFINE_FINAL_TYPE (RoadieOutputReader, roadie_output_reader, G_TYPE_OBJECT)

enum {
  LINE,
  END_OF_FILE,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

static void
emit_line (RoadieOutputReader *self,
           const guint8       *data,
           gsize               len)
{
  g_byte_array_append (self->pending, data, len);
  g_byte_array_append (self->pending, (const guint8 *) "", 1);
  g_signal_emit (self, signals[LINE], 0, (const char *) self->pending->data, (gulong) len);
  g_byte_array_set_size (self->pending, 0);
}

static void
split_lines (RoadieOutputReader *self,
             const guint8       *data,
             gsize               len)
{
  while (len > 0)
    {
      const guint8 *newline = memchr (data, '\n', len);
      gsize take = newline != NULL ? (gsize) (newline - data) : len;

      if (self->pending->len + take >= MAX_LINE)
        {
          /* Cut an endless line rather than hold it. */
          gsize room = MAX_LINE - self->pending->len;
          const guint8 *rest = data + room;

          g_byte_array_append (self->pending, data, room);
          emit_line (self, NULL, 0);
          len -= room;
          data = rest;
          continue;
        }
      if (newline == NULL)
        {
          g_byte_array_append (self->pending, data, len);
          return;
        }
      if (self->pending->len > 0)
        {
          g_byte_array_append (self->pending, data, take);
          {
            gsize full = self->pending->len;
            g_byte_array_append (self->pending, (const guint8 *) "", 1);
            g_signal_emit (self, signals[LINE], 0, (const char *) self->pending->data, (gulong) full);
            g_byte_array_set_size (self->pending, 0);
          }
        }
      else
        emit_line (self, data, take);
      data += take + 1;
      len -= take + 1;
    }
}

static void
finish (RoadieOutputReader *self)
{
  if (self->at_eof)
    return;
  self->at_eof = TRUE;
  g_clear_handle_id (&self->watch_id, g_source_remove);
  if (self->pending->len > 0)
    emit_line (self, NULL, 0);
  g_signal_emit (self, signals[END_OF_FILE], 0);
}

/* Reads up to budget bytes; FALSE once the pipe is at its end. */
static gboolean
read_available (RoadieOutputReader *self,
                gsize               budget)
{
  guint8 buffer[READ_CHUNK];
  gsize total = 0;

  while (total < budget)
    {
      gssize n = read (self->fd, buffer, sizeof buffer);

      if (n > 0)
        {
          split_lines (self, buffer, n);
          total += n;
          continue;
        }
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
        return TRUE;
      return FALSE;   /* EOF or a real error */
    }
  return TRUE;
}

static gboolean
on_readable (int          fd,
             GIOCondition condition,
             gpointer     user_data)
{
  RoadieOutputReader *self = user_data;
  g_autoptr(RoadieOutputReader) hold = g_object_ref (self);

  if (!read_available (self, DISPATCH_BUDGET))
    {
      self->watch_id = 0;
      finish (self);
      return G_SOURCE_REMOVE;
    }
  return G_SOURCE_CONTINUE;
}

static void
roadie_output_reader_dispose (GObject *object)
{
  RoadieOutputReader *self = ROADIE_OUTPUT_READER (object);

  g_clear_handle_id (&self->watch_id, g_source_remove);
  g_clear_object (&self->stream);

  G_OBJECT_CLASS (roadie_output_reader_parent_class)->dispose (object);
}

static void
roadie_output_reader_finalize (GObject *object)
{
  RoadieOutputReader *self = ROADIE_OUTPUT_READER (object);

  g_byte_array_unref (self->pending);

  G_OBJECT_CLASS (roadie_output_reader_parent_class)->finalize (object);
}

static void
roadie_output_reader_class_init (RoadieOutputReaderClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = roadie_output_reader_dispose;
  object_class->finalize = roadie_output_reader_finalize;

  /* The line is only valid during emission; it has no trailing newline. */
  signals[LINE] = g_signal_new ("line", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                                0, NULL, NULL, NULL, G_TYPE_NONE, 2,
                                G_TYPE_STRING | G_SIGNAL_TYPE_STATIC_SCOPE, G_TYPE_ULONG);
  signals[END_OF_FILE] = g_signal_new ("eof", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                                       0, NULL, NULL, NULL, G_TYPE_NONE, 0);
}

static void
roadie_output_reader_init (RoadieOutputReader *self)
{
  self->pending = g_byte_array_new ();
  self->fd = -1;
}

RoadieOutputReader *
roadie_output_reader_new (GInputStream *stream)
{
  RoadieOutputReader *self;

  g_return_val_if_fail (G_IS_UNIX_INPUT_STREAM (stream), NULL);

  self = g_object_new (ROADIE_TYPE_OUTPUT_READER, NULL);
  self->stream = g_object_ref (stream);
  self->fd = g_unix_input_stream_get_fd (G_UNIX_INPUT_STREAM (stream));
  g_unix_set_fd_nonblocking (self->fd, TRUE, NULL);
  /* Below everything else: a server flooding its output must never starve
   * the health checks (and have itself restarted for it) or the window. */
  self->watch_id = g_unix_fd_add_full (G_PRIORITY_LOW, self->fd, G_IO_IN | G_IO_HUP | G_IO_ERR,
                                       on_readable, self, NULL);
  return self;
}

/* Reads whatever is still in the pipe without waiting for more: used once
 * the writers are gone, so that every line is out before the exit banner. */
void
roadie_output_reader_drain (RoadieOutputReader *self)
{
  g_return_if_fail (ROADIE_IS_OUTPUT_READER (self));

  if (self->at_eof)
    return;
  while (read_available (self, DISPATCH_BUDGET))
    {
      struct pollfd pfd = { .fd = self->fd, .events = POLLIN };

      if (poll (&pfd, 1, 0) <= 0)
        return;
    }
  finish (self);
}

void
roadie_output_reader_stop (RoadieOutputReader *self)
{
  g_return_if_fail (ROADIE_IS_OUTPUT_READER (self));

  g_clear_handle_id (&self->watch_id, g_source_remove);
  self->at_eof = TRUE;
}
