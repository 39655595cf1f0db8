/* roadie-dj-keys.c: the DJ keys file.
 *
 * Format, one entry per line:
 *
 *   # comment (a line whose first non-blank character is #)
 *   dj_alice   s3cret-key-for-alice
 *   admin      key-of-whoever-picks-the-active-dj
 *
 * Blank lines are skipped; every other line is exactly two words, dj_id
 * and key, separated by spaces or tabs (so a key holds no blanks, and a
 * "#" after a key is part of a third word, which is refused, not taken as
 * a comment). A dj_id may appear once. The dj_id "admin" is the one that
 * may choose the active DJ (see RoadieWsHub).
 *
 * The file is opened once and checked through the open descriptor, so the
 * file that is read is the file whose permissions were checked: a regular
 * file, no group or other permission bits at all. Keys are wiped from
 * memory when the set is freed, compared in constant time, and never put
 * into a log line or an error message.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "roadie-control-token.h"
#include "roadie-dj-keys.h"
#include "roadie-error.h"
#include "roadie-protocol.h"

/* A keys file for a booth holds a handful of lines; anything this large
 * is not one. */
#define MAX_FILE_BYTES (1024 * 1024)
#define MAX_KEY_BYTES  1024

struct _RoadieDjKeys
{
  GHashTable *keys;   /* dj_id → key, both owned; keys wiped on free */
};

static void
wipe_string (gpointer data)
{
  char *text = data;

  if (text == NULL)
    return;
  explicit_bzero (text, strlen (text));
  g_free (text);
}

static void
dj_keys_clear (gpointer data)
{
  RoadieDjKeys *self = data;

  g_clear_pointer (&self->keys, g_hash_table_unref);
}

static RoadieDjKeys *
dj_keys_new (void)
{
  RoadieDjKeys *self = g_atomic_rc_box_new0 (RoadieDjKeys);

  self->keys = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, wipe_string);
  return self;
}

RoadieDjKeys *
roadie_dj_keys_ref (RoadieDjKeys *self)
{
  g_return_val_if_fail (self != NULL, NULL);

  return g_atomic_rc_box_acquire (self);
}

void
roadie_dj_keys_free (RoadieDjKeys *self)
{
  if (self != NULL)
    g_atomic_rc_box_release_full (self, dj_keys_clear);
}

static gboolean
line_error (GError     **error,
            const char  *path,
            guint        line,
            const char  *problem)
{
  if (path != NULL)
    g_set_error (error, ROADIE_ERROR, ROADIE_ERROR_INVALID_SETTING,
                 "DJ keys file %s, line %u: %s", path, line, problem);
  else
    g_set_error (error, ROADIE_ERROR, ROADIE_ERROR_INVALID_SETTING,
                 "DJ keys, line %u: %s", line, problem);
  return FALSE;
}

/* One line, without its newline; line is modified (blanks cut). */
static gboolean
parse_line (RoadieDjKeys  *self,
            char          *line,
            guint          number,
            const char    *path,
            GError       **error)
{
  char *words[3] = { NULL, NULL, NULL };
  guint n_words = 0;
  char *p = line;

  while (*p != '\0')
    {
      while (*p == ' ' || *p == '\t')
        *p++ = '\0';
      if (*p == '\0')
        break;
      if (n_words == 0 && *p == '#')
        return TRUE;
      if (n_words == G_N_ELEMENTS (words))
        break;
      words[n_words++] = p;
      while (*p != '\0' && *p != ' ' && *p != '\t')
        p++;
    }

  if (n_words == 0)
    return TRUE;
  if (n_words != 2)
    return line_error (error, path, number,
                       n_words == 1
                       ? "expected “dj_id key”, found one word (a DJ needs a key)"
                       : "expected “dj_id key”, found more than two words "
                         "(keys cannot hold spaces; comments go on their own line, starting with #)");

  if (!roadie_protocol_is_valid_dj_id (words[0]))
    return line_error (error, path, number,
                       "the dj_id is longer than 64 bytes or holds control characters");
  if (strlen (words[1]) > MAX_KEY_BYTES || roadie_protocol_has_control_characters (words[1]))
    return line_error (error, path, number,
                       "the key is longer than 1024 bytes or holds control characters");
  if (g_hash_table_contains (self->keys, words[0]))
    {
      g_autofree char *problem = g_strdup_printf ("“%s” is listed twice; keep one line per DJ", words[0]);
      return line_error (error, path, number, problem);
    }

  g_hash_table_insert (self->keys, g_strdup (words[0]), g_strdup (words[1]));
  return TRUE;
}

static RoadieDjKeys *
parse_text (const char  *text,
            gsize        len,
            const char  *path,
            GError     **error)
{
  g_autoptr(RoadieDjKeys) self = dj_keys_new ();
  const char *end = text + len;
  const char *line = text;
  guint number = 0;

  if (!g_utf8_validate_len (text, len, NULL))
    {
      if (path != NULL)
        g_set_error (error, ROADIE_ERROR, ROADIE_ERROR_INVALID_SETTING,
                     "DJ keys file %s is not UTF-8 text", path);
      else
        g_set_error (error, ROADIE_ERROR, ROADIE_ERROR_INVALID_SETTING,
                     "DJ keys are not UTF-8 text");
      return NULL;
    }

  while (line < end)
    {
      const char *newline = memchr (line, '\n', end - line);
      const char *line_end = newline != NULL ? newline : end;
      gsize line_len = line_end - line;
      char *copy;
      gboolean ok;

      number++;
      if (line_len > 0 && line[line_len - 1] == '\r')
        line_len--;
      copy = g_strndup (line, line_len);
      ok = parse_line (self, copy, number, path, error);
      /* The copy may hold a key (a good one, or one from a bad line). */
      explicit_bzero (copy, line_len);
      g_free (copy);
      if (!ok)
        return NULL;

      line = line_end + (newline != NULL ? 1 : 0);
    }

  return g_steal_pointer (&self);
}

RoadieDjKeys *
roadie_dj_keys_parse (const char  *text,
                      GError     **error)
{
  g_return_val_if_fail (text != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  return parse_text (text, strlen (text), NULL, error);
}

static RoadieDjKeys *
file_error (GError     **error,
            const char  *path,
            int          saved_errno)
{
  g_set_error (error, ROADIE_ERROR, ROADIE_ERROR_INVALID_SETTING,
               "Cannot read the DJ keys file %s: %s", path, g_strerror (saved_errno));
  return NULL;
}

RoadieDjKeys *
roadie_dj_keys_load (const char  *path,
                     GError     **error)
{
  RoadieDjKeys *keys;
  struct stat st;
  char *contents;
  gsize filled = 0;
  int fd;

  g_return_val_if_fail (path != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  fd = open (path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
  if (fd < 0)
    return file_error (error, path, errno);

  if (fstat (fd, &st) != 0)
    {
      int saved_errno = errno;

      close (fd);
      return file_error (error, path, saved_errno);
    }

  if (!S_ISREG (st.st_mode))
    {
      close (fd);
      g_set_error (error, ROADIE_ERROR, ROADIE_ERROR_INVALID_SETTING,
                   "The DJ keys file %s is not a regular file", path);
      return NULL;
    }

  if ((st.st_mode & (S_IRWXG | S_IRWXO)) != 0)
    {
      close (fd);
      g_set_error (error, ROADIE_ERROR, ROADIE_ERROR_INVALID_SETTING,
                   "The DJ keys file %s is open to other users (mode %04o) and holds secrets: "
                   "it is not used. Run “chmod 600 %s” and start again.",
                   path, (guint) (st.st_mode & 07777), path);
      return NULL;
    }

  if (st.st_size > MAX_FILE_BYTES)
    {
      close (fd);
      g_set_error (error, ROADIE_ERROR, ROADIE_ERROR_INVALID_SETTING,
                   "The DJ keys file %s is larger than 1 MiB; it should hold one “dj_id key” line per DJ",
                   path);
      return NULL;
    }

  /* One byte more than the size, to notice a file that grew meanwhile. */
  contents = g_malloc (st.st_size + 2);
  for (;;)
    {
      gssize n = read (fd, contents + filled, st.st_size + 1 - filled);

      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        {
          int saved_errno = errno;

          explicit_bzero (contents, filled);
          g_free (contents);
          close (fd);
          return file_error (error, path, saved_errno);
        }
      if (n == 0 || (filled += n) > (gsize) st.st_size)
        break;
    }
  close (fd);

  if (filled > (gsize) st.st_size)
    {
      explicit_bzero (contents, filled);
      g_free (contents);
      g_set_error (error, ROADIE_ERROR, ROADIE_ERROR_INVALID_SETTING,
                   "The DJ keys file %s changed while it was read; try again", path);
      return NULL;
    }

  contents[filled] = '\0';
  keys = parse_text (contents, filled, path, error);
  explicit_bzero (contents, filled);
  g_free (contents);

  return keys;
}

gboolean
roadie_dj_keys_check (RoadieDjKeys *self,
                      const char   *dj_id,
                      const char   *key)
{
  /* Compared against when dj_id is unknown, so that a wrong id costs the
   * same comparison as a wrong key. */
  static const char decoy[] = "roadie-no-such-dj-decoy-key-0000000000000000";
  const char *expected;
  gboolean known;
  gboolean equal;

  g_return_val_if_fail (self != NULL, FALSE);

  if (dj_id == NULL || key == NULL || *key == '\0')
    return FALSE;

  expected = g_hash_table_lookup (self->keys, dj_id);
  known = expected != NULL;
  equal = roadie_constant_time_equal (key, known ? expected : decoy);

  return known && equal;
}

gboolean
roadie_dj_keys_contains (RoadieDjKeys *self,
                         const char   *dj_id)
{
  g_return_val_if_fail (self != NULL, FALSE);

  return dj_id != NULL && g_hash_table_contains (self->keys, dj_id);
}

guint
roadie_dj_keys_count (RoadieDjKeys *self)
{
  g_return_val_if_fail (self != NULL, 0);

  return g_hash_table_size (self->keys);
}
