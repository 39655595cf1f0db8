/* roadie-control-token.c: the bearer token of the control API.
 *
 * The token is 32 random bytes from getrandom(2), hex-encoded, in a 0600
 * file inside a 0700 folder of $XDG_RUNTIME_DIR. A file that is anything
 * else (a symlink, someone else's, readable by others, garbled) is not
 * trusted and is replaced. The token is never logged: errors name the path.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "roadie-control-token.h"
#include "roadie-error.h"

#define TOKEN_BYTES 32
#define TOKEN_CHARS (TOKEN_BYTES * 2)

static gboolean
set_token_error (GError     **error,
                 const char  *path,
                 int          saved_errno,
                 const char  *what)
{
  g_set_error (error, ROADIE_ERROR, ROADIE_ERROR_TOKEN,
               "Cannot %s the control API token %s: %s",
               what, path, g_strerror (saved_errno));
  return FALSE;
}

static void
wipe (void   *data,
      gsize   len)
{
  explicit_bzero (data, len);
}

static gboolean
is_valid_token (const char *text,
                gsize       len)
{
  if (len != TOKEN_CHARS)
    return FALSE;
  for (gsize i = 0; i < len; i++)
    if (!g_ascii_isxdigit (text[i]) || g_ascii_isupper (text[i]))
      return FALSE;
  return TRUE;
}

/* TOKEN_CHARS hex digits and a newline into out (TOKEN_CHARS + 2 bytes). */
static gboolean
generate_token (char     out[TOKEN_CHARS + 2],
                GError **error)
{
  static const char hex[] = "0123456789abcdef";
  guint8 random_bytes[TOKEN_BYTES];
  gsize filled = 0;

  while (filled < sizeof random_bytes)
    {
      gssize n = getrandom (random_bytes + filled, sizeof random_bytes - filled, 0);

      if (n < 0)
        {
          int saved_errno = errno;

          if (saved_errno == EINTR)
            continue;
          wipe (random_bytes, sizeof random_bytes);
          g_set_error (error, ROADIE_ERROR, ROADIE_ERROR_TOKEN,
                       "Cannot make a control API token: the system gave no random bytes (%s)",
                       g_strerror (saved_errno));
          return FALSE;
        }
      filled += n;
    }

  for (guint i = 0; i < TOKEN_BYTES; i++)
    {
      out[2 * i] = hex[random_bytes[i] >> 4];
      out[2 * i + 1] = hex[random_bytes[i] & 0xf];
    }
  out[TOKEN_CHARS] = '\n';
  out[TOKEN_CHARS + 1] = '\0';
  wipe (random_bytes, sizeof random_bytes);
  return TRUE;
}

static gboolean
write_all (int         fd,
           const char *data,
           gsize       len)
{
  while (len > 0)
    {
      gssize n = write (fd, data, len);

      if (n < 0)
        {
          if (errno == EINTR)
            continue;
          return FALSE;
        }
      data += n;
      len -= n;
    }
  return TRUE;
}

/* The folder must be ours and closed to others; a looser one we own is
 * tightened rather than refused. */
static gboolean
ensure_private_folder (const char  *path,
                       GError     **error)
{
  g_autofree char *folder = g_path_get_dirname (path);
  struct stat st;
  int fd;

  if (g_mkdir_with_parents (folder, 0700) != 0)
    return set_token_error (error, path, errno, "create the folder of");

  fd = open (folder, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0)
    return set_token_error (error, path, errno, "open the folder of");

  if (fstat (fd, &st) != 0)
    {
      int saved_errno = errno;

      close (fd);
      return set_token_error (error, path, saved_errno, "check the folder of");
    }
  if (st.st_uid != geteuid ())
    {
      close (fd);
      g_set_error (error, ROADIE_ERROR, ROADIE_ERROR_TOKEN,
                   "The folder %s of the control API token belongs to another user; "
                   "remove it or set XDG_RUNTIME_DIR to your own runtime folder",
                   folder);
      return FALSE;
    }
  /* A shared folder such as /tmp is never tightened (as root that would
   * lock everyone else out of it); the token needs a folder of its own. */
  if ((st.st_mode & S_ISVTX) != 0 || (st.st_mode & S_IWOTH) != 0)
    {
      close (fd);
      g_set_error (error, ROADIE_ERROR, ROADIE_ERROR_TOKEN,
                   "The control API token %s is in a shared folder; "
                   "put it in a folder of its own",
                   path);
      return FALSE;
    }
  if ((st.st_mode & 07777) != 0700 && fchmod (fd, 0700) != 0)
    {
      int saved_errno = errno;

      close (fd);
      return set_token_error (error, path, saved_errno, "protect the folder of");
    }

  close (fd);
  return TRUE;
}

/* The token in an existing file we can trust, or NULL (with errno-free
 * reasons: any doubt means the file gets replaced). */
static char *
read_trusted_token (const char *path)
{
  char contents[TOKEN_CHARS + 2];
  struct stat st;
  gssize n;
  gsize len = 0;
  int fd;

  fd = open (path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0)
    return NULL;

  if (fstat (fd, &st) != 0 ||
      !S_ISREG (st.st_mode) ||
      st.st_uid != geteuid () ||
      (st.st_mode & 07777) != 0600 ||
      st.st_size > (off_t) sizeof contents)
    {
      close (fd);
      return NULL;
    }

  while (len < sizeof contents)
    {
      n = read (fd, contents + len, sizeof contents - len);
      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        break;
      len += n;
    }
  close (fd);

  if (len > 0 && contents[len - 1] == '\n')
    len--;
  if (!is_valid_token (contents, len))
    {
      wipe (contents, sizeof contents);
      return NULL;
    }

  {
    char *token = g_strndup (contents, TOKEN_CHARS);

    wipe (contents, sizeof contents);
    return token;
  }
}

/* First creation: O_EXCL and O_NOFOLLOW so nothing planted at path is
 * followed or reused. *open_errno is EEXIST or ELOOP if something is there. */
static char *
create_exclusive (const char  *path,
                  int         *open_errno,
                  GError     **error)
{
  char text[TOKEN_CHARS + 2];
  char *token;
  int fd;

  *open_errno = 0;
  fd = open (path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0)
    {
      *open_errno = errno;
      set_token_error (error, path, *open_errno, "create");
      return NULL;
    }

  if (!generate_token (text, error))
    {
      close (fd);
      unlink (path);
      return NULL;
    }

  /* The umask can only take bits away, but be explicit. */
  if (fchmod (fd, 0600) != 0 || !write_all (fd, text, TOKEN_CHARS + 1) || close (fd) != 0)
    {
      int saved_errno = errno;

      wipe (text, sizeof text);
      unlink (path);
      set_token_error (error, path, saved_errno, "write");
      return NULL;
    }

  token = g_strndup (text, TOKEN_CHARS);
  wipe (text, sizeof text);
  return token;
}

/* A fresh token written to a temporary file beside path, then renamed over
 * it, so a reader sees the old token or the new one, never half of one. */
static char *
replace_atomically (const char  *path,
                    GError     **error)
{
  g_autofree char *tmp_path = g_strdup_printf ("%s.XXXXXX", path);
  char text[TOKEN_CHARS + 2];
  char *token;
  int fd;

  if (!generate_token (text, error))
    return NULL;

  fd = g_mkstemp_full (tmp_path, O_WRONLY | O_CLOEXEC, 0600);
  if (fd < 0)
    {
      int saved_errno = errno;

      wipe (text, sizeof text);
      set_token_error (error, path, saved_errno, "write");
      return NULL;
    }

  if (fchmod (fd, 0600) != 0 ||
      !write_all (fd, text, TOKEN_CHARS + 1) ||
      fsync (fd) != 0 ||
      close (fd) != 0 ||
      rename (tmp_path, path) != 0)
    {
      int saved_errno = errno;

      wipe (text, sizeof text);
      unlink (tmp_path);
      set_token_error (error, path, saved_errno, "replace");
      return NULL;
    }

  token = g_strndup (text, TOKEN_CHARS);
  wipe (text, sizeof text);
  return token;
}

char *
roadie_control_token_default_path (void)
{
  return g_build_filename (g_get_user_runtime_dir (), "roadie", "control-token", NULL);
}

char *
roadie_control_token_load_or_create (const char  *path,
                                     GError     **error)
{
  g_autofree char *default_path = NULL;
  g_autoptr(GError) create_error = NULL;
  int open_errno = 0;
  char *token;

  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (path == NULL)
    path = default_path = roadie_control_token_default_path ();

  if (!ensure_private_folder (path, error))
    return NULL;

  token = read_trusted_token (path);
  if (token != NULL)
    return token;

  token = create_exclusive (path, &open_errno, &create_error);
  if (token != NULL)
    return token;
  if (open_errno != EEXIST && open_errno != ELOOP)
    {
      g_propagate_error (error, g_steal_pointer (&create_error));
      return NULL;
    }

  /* Something untrusted is there: a symlink, a loose or garbled file. */
  return replace_atomically (path, error);
}

char *
roadie_control_token_regenerate (const char  *path,
                                 GError     **error)
{
  g_autofree char *default_path = NULL;

  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (path == NULL)
    path = default_path = roadie_control_token_default_path ();

  if (!ensure_private_folder (path, error))
    return NULL;

  return replace_atomically (path, error);
}

/* The time taken depends on the longer length only, never on where the
 * strings differ, so a client cannot guess the token byte by byte. Either
 * argument may be the expected token. */
gboolean
roadie_constant_time_equal (const char *a,
                            const char *b)
{
  gsize a_len, b_len, n;
  gsize diff;

  if (a == NULL || b == NULL)
    return FALSE;

  a_len = strlen (a);
  b_len = strlen (b);
  n = MAX (a_len, b_len);
  diff = a_len ^ b_len;

  for (gsize i = 0; i < n; i++)
    {
      /* Past the end of the shorter one, compare with its terminating NUL. */
      guchar ca = a[i < a_len ? i : a_len];
      guchar cb = b[i < b_len ? i : b_len];

      diff |= ca ^ cb;
    }

  return diff == 0;
}
