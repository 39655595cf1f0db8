/* roadie-log-writer.c: the audio server's log file, in the seed's format.
 *
 * Built for floods: a server spamming stdout costs one write(2) per line,
 * formatted into a buffer that is reused, and the file size is tracked here
 * instead of stat()ed per write. The size cap is checked before every write,
 * so no file ever grows past max-bytes (unless one line alone is bigger).
 *
 * The file is created 0600: an audio server's output can carry track paths,
 * remote DJ names and keys, and nobody but the DJ needs to read it.
 */
#define _GNU_SOURCE  /* sigabbrev_np (glibc 2.32) */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "roadie-error.h"
#include "roadie-log-writer.h"

/* A line buffer that grew past this for one huge line is given back. */
#define LINE_BUFFER_KEEP_BYTES (64 * 1024)

struct _RoadieLogWriter
{
  GObject  parent_instance;

  char    *path;
  gint64   max_bytes;
  guint    backups;

  int      fd;          /* -1 while closed; reopened by the next write */
  gint64   size;        /* bytes in the open file */
  gboolean rotatable;   /* a regular file, not a device or a pipe */

  char    *buffer;      /* reused for every line */
  gsize    buffer_size;
};

G_DEFINE_FINAL_TYPE (RoadieLogWriter, roadie_log_writer, G_TYPE_OBJECT)

enum {
  PROP_0,
  PROP_PATH,
  PROP_MAX_BYTES,
  PROP_BACKUPS,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

static gboolean
set_unwritable_error (RoadieLogWriter  *self,
                      int               saved_errno,
                      GError          **error)
{
  g_set_error (error, ROADIE_ERROR, ROADIE_ERROR_LOG_UNWRITABLE,
               "Cannot write the audio server log %s: %s; "
               "choose another log file (the log-file setting)",
               self->path, g_strerror (saved_errno));
  return FALSE;
}

static void
close_file (RoadieLogWriter *self)
{
  if (self->fd >= 0)
    {
      close (self->fd);
      self->fd = -1;
    }
  self->size = 0;
}

static gboolean
open_file (RoadieLogWriter  *self,
           int               extra_flags,
           GError          **error)
{
  g_autofree char *folder = NULL;
  struct stat st;
  int fd;

  if (self->fd >= 0)
    return TRUE;

  folder = g_path_get_dirname (self->path);
  if (g_mkdir_with_parents (folder, 0700) != 0)
    return set_unwritable_error (self, errno, error);

  do
    fd = open (self->path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | extra_flags, 0600);
  while (fd < 0 && errno == EINTR);
  if (fd < 0)
    return set_unwritable_error (self, errno, error);

  if (fstat (fd, &st) != 0)
    {
      int saved_errno = errno;

      close (fd);
      return set_unwritable_error (self, saved_errno, error);
    }

  self->fd = fd;
  self->size = st.st_size;
  /* /dev/stderr under systemd or /dev/null are fine targets, but renaming
   * them away would be wrong: only regular files are rotated. */
  self->rotatable = S_ISREG (st.st_mode);
  return TRUE;
}

static char *
backup_path (RoadieLogWriter *self,
             guint            n)
{
  return g_strdup_printf ("%s.%u", self->path, n);
}

/* log.N is dropped, log.k becomes log.k+1, log becomes log.1. With no
 * backups the file is emptied in place. */
static gboolean
rotate (RoadieLogWriter  *self,
        GError          **error)
{
  close_file (self);

  if (self->backups == 0)
    return open_file (self, O_TRUNC, error);

  {
    g_autofree char *oldest = backup_path (self, self->backups);

    if (unlink (oldest) != 0 && errno != ENOENT)
      return set_unwritable_error (self, errno, error);
  }

  for (guint k = self->backups - 1; k >= 1; k--)
    {
      g_autofree char *from = backup_path (self, k);
      g_autofree char *to = backup_path (self, k + 1);

      if (rename (from, to) != 0 && errno != ENOENT)
        return set_unwritable_error (self, errno, error);
    }

  {
    g_autofree char *first = backup_path (self, 1);

    if (rename (self->path, first) != 0 && errno != ENOENT)
      return set_unwritable_error (self, errno, error);
  }

  return open_file (self, 0, error);
}

static gboolean
write_record (RoadieLogWriter  *self,
              const char       *data,
              gsize             len,
              GError          **error)
{
  gsize done = 0;

  if (!open_file (self, 0, error))
    return FALSE;

  if (self->rotatable && self->size > 0 && self->size + (gint64) len > self->max_bytes)
    {
      if (!rotate (self, error))
        return FALSE;
    }

  while (done < len)
    {
      gssize n = write (self->fd, data + done, len - done);

      if (n < 0)
        {
          int saved_errno = errno;

          if (saved_errno == EINTR)
            continue;
          /* Closed, so the next write reopens: a freed disk or a fixed
           * folder recovers without a restart of Roadie. */
          close_file (self);
          return set_unwritable_error (self, saved_errno, error);
        }
      done += n;
      self->size += n;
    }

  return TRUE;
}

static char *
reserve_buffer (RoadieLogWriter *self,
                gsize            needed)
{
  if (needed > self->buffer_size)
    {
      self->buffer_size = MAX (needed, MAX (self->buffer_size * 2, 4096));
      self->buffer = g_realloc (self->buffer, self->buffer_size);
    }
  return self->buffer;
}

static void
trim_buffer (RoadieLogWriter *self)
{
  if (self->buffer_size > LINE_BUFFER_KEEP_BYTES)
    {
      g_clear_pointer (&self->buffer, g_free);
      self->buffer_size = 0;
    }
}

static void
roadie_log_writer_dispose (GObject *object)
{
  RoadieLogWriter *self = ROADIE_LOG_WRITER (object);

  close_file (self);

  G_OBJECT_CLASS (roadie_log_writer_parent_class)->dispose (object);
}

static void
roadie_log_writer_finalize (GObject *object)
{
  RoadieLogWriter *self = ROADIE_LOG_WRITER (object);

  g_clear_pointer (&self->path, g_free);
  g_clear_pointer (&self->buffer, g_free);

  G_OBJECT_CLASS (roadie_log_writer_parent_class)->finalize (object);
}

static void
roadie_log_writer_get_property (GObject    *object,
                                guint       prop_id,
                                GValue     *value,
                                GParamSpec *pspec)
{
  RoadieLogWriter *self = ROADIE_LOG_WRITER (object);

  switch (prop_id)
    {
    case PROP_PATH:
      g_value_set_string (value, self->path);
      break;

    case PROP_MAX_BYTES:
      g_value_set_int64 (value, self->max_bytes);
      break;

    case PROP_BACKUPS:
      g_value_set_uint (value, self->backups);
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
roadie_log_writer_set_property (GObject      *object,
                                guint         prop_id,
                                const GValue *value,
                                GParamSpec   *pspec)
{
  RoadieLogWriter *self = ROADIE_LOG_WRITER (object);

  switch (prop_id)
    {
    case PROP_PATH:
      self->path = g_value_dup_string (value);
      break;

    case PROP_MAX_BYTES:
      roadie_log_writer_set_limits (self, g_value_get_int64 (value), self->backups);
      break;

    case PROP_BACKUPS:
      roadie_log_writer_set_limits (self, self->max_bytes, g_value_get_uint (value));
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
roadie_log_writer_class_init (RoadieLogWriterClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = roadie_log_writer_dispose;
  object_class->finalize = roadie_log_writer_finalize;
  object_class->get_property = roadie_log_writer_get_property;
  object_class->set_property = roadie_log_writer_set_property;

  properties[PROP_PATH] =
    g_param_spec_string ("path", NULL, NULL,
                         NULL,
                         (G_PARAM_READWRITE |
                          G_PARAM_CONSTRUCT_ONLY |
                          G_PARAM_STATIC_STRINGS |
                          G_PARAM_EXPLICIT_NOTIFY));

  properties[PROP_MAX_BYTES] =
    g_param_spec_int64 ("max-bytes", NULL, NULL,
                        1, G_MAXINT64, 10 * 1024 * 1024,
                        (G_PARAM_READWRITE |
                         G_PARAM_CONSTRUCT |
                         G_PARAM_STATIC_STRINGS |
                         G_PARAM_EXPLICIT_NOTIFY));

  properties[PROP_BACKUPS] =
    g_param_spec_uint ("backups", NULL, NULL,
                       0, G_MAXUINT, 3,
                       (G_PARAM_READWRITE |
                        G_PARAM_CONSTRUCT |
                        G_PARAM_STATIC_STRINGS |
                        G_PARAM_EXPLICIT_NOTIFY));

  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
roadie_log_writer_init (RoadieLogWriter *self)
{
  self->fd = -1;
  self->max_bytes = 10 * 1024 * 1024;
  self->backups = 3;
}

RoadieLogWriter *
roadie_log_writer_new (const char *path,
                       gint64      max_bytes,
                       guint       backups)
{
  g_return_val_if_fail (path != NULL, NULL);
  g_return_val_if_fail (max_bytes > 0, NULL);

  return g_object_new (ROADIE_TYPE_LOG_WRITER,
                       "path", path,
                       "max-bytes", max_bytes,
                       "backups", backups,
                       NULL);
}

const char *
roadie_log_writer_get_path (RoadieLogWriter *self)
{
  g_return_val_if_fail (ROADIE_IS_LOG_WRITER (self), NULL);

  return self->path;
}

/* Takes effect at the next write. */
void
roadie_log_writer_set_limits (RoadieLogWriter *self,
                              gint64           max_bytes,
                              guint            backups)
{
  g_return_if_fail (ROADIE_IS_LOG_WRITER (self));
  g_return_if_fail (max_bytes > 0);

  g_object_freeze_notify (G_OBJECT (self));
  if (self->max_bytes != max_bytes)
    {
      self->max_bytes = max_bytes;
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_MAX_BYTES]);
    }
  if (self->backups != backups)
    {
      self->backups = backups;
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_BACKUPS]);
    }
  g_object_thaw_notify (G_OBJECT (self));
}

gboolean
roadie_log_writer_write_started (RoadieLogWriter  *self,
                                 GDateTime        *when,
                                 GError          **error)
{
  g_autofree char *stamp = NULL;
  g_autofree char *record = NULL;

  g_return_val_if_fail (ROADIE_IS_LOG_WRITER (self), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  stamp = roadie_format_iso8601_ms (when);
  /* No separator before it: the exited banner already ends in a blank line. */
  record = g_strdup_printf ("=== Audio Server Started: %s ===\n\n", stamp);
  return write_record (self, record, strlen (record), error);
}

gboolean
roadie_log_writer_write_line (RoadieLogWriter  *self,
                              RoadieLogStream   stream,
                              const char       *line,
                              gssize            len,
                              GError          **error)
{
  const char *prefix;
  gsize prefix_len, total;
  gboolean ok;
  char *buffer;

  g_return_val_if_fail (ROADIE_IS_LOG_WRITER (self), FALSE);
  g_return_val_if_fail (line != NULL || len == 0, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  prefix = stream == ROADIE_LOG_STREAM_STDERR ? "[STDERR] " : "[STDOUT] ";
  prefix_len = strlen (prefix);
  if (len < 0)
    len = strlen (line);

  /* The bytes are the server's: no re-encoding, a trailing \r is kept. */
  total = prefix_len + len + 1;
  buffer = reserve_buffer (self, total);
  memcpy (buffer, prefix, prefix_len);
  if (len > 0)
    memcpy (buffer + prefix_len, line, len);
  buffer[total - 1] = '\n';

  ok = write_record (self, buffer, total, error);
  trim_buffer (self);
  return ok;
}

gboolean
roadie_log_writer_write_exited (RoadieLogWriter  *self,
                                GDateTime        *when,
                                int               code,
                                int               signum,
                                GError          **error)
{
  g_autofree char *stamp = NULL;
  g_autofree char *code_text = NULL;
  g_autofree char *record = NULL;
  const char *signal_text;

  g_return_val_if_fail (ROADIE_IS_LOG_WRITER (self), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  /* Node's child 'exit' event gives (code, signal), one of them null. */
  stamp = roadie_format_iso8601_ms (when);
  code_text = code < 0 ? g_strdup ("null") : g_strdup_printf ("%d", code);
  signal_text = signum != 0 ? roadie_signal_name (signum) : "null";
  record = g_strdup_printf ("\n=== Audio Server Exited: %s (code: %s, signal: %s) ===\n\n",
                            stamp, code_text, signal_text);
  return write_record (self, record, strlen (record), error);
}

void
roadie_log_writer_close (RoadieLogWriter *self)
{
  g_return_if_fail (ROADIE_IS_LOG_WRITER (self));

  close_file (self);
  g_clear_pointer (&self->buffer, g_free);
  self->buffer_size = 0;
}

/* when NULL means now. */
char *
roadie_format_iso8601_ms (GDateTime *when)
{
  g_autoptr(GDateTime) utc = NULL;
  g_autofree char *seconds = NULL;

  if (when != NULL)
    utc = g_date_time_to_utc (when);
  else
    utc = g_date_time_new_now_utc ();

  seconds = g_date_time_format (utc, "%Y-%m-%dT%H:%M:%S");
  return g_strdup_printf ("%s.%03dZ", seconds, g_date_time_get_microsecond (utc) / 1000);
}

const char *
roadie_signal_name (int signum)
{
  const char *abbrev;

  if (signum == 0)
    return NULL;

  /* Interned: the name lives as long as the process, like a literal. */
  abbrev = sigabbrev_np (signum);
  if (abbrev != NULL)
    {
      g_autofree char *name = g_strconcat ("SIG", abbrev, NULL);
      return g_intern_string (name);
    }
  if (signum >= SIGRTMIN && signum <= SIGRTMAX)
    {
      g_autofree char *name = g_strdup_printf ("SIGRTMIN+%d", signum - SIGRTMIN);
      return g_intern_string (name);
    }
  {
    g_autofree char *name = g_strdup_printf ("SIG%d", signum);
    return g_intern_string (name);
  }
}
