/* roadie-port.c: is a TCP port free, and if not, who holds it.
 *
 * The supervisor asks before every (re)start, so that a port held by some
 * other program is reported plainly instead of becoming a crash loop.
 */
#include "config.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "roadie-port.h"

gboolean
roadie_port_is_free (guint16 port)
{
  struct sockaddr_in addr = { 0 };
  int one = 1;
  int fd;
  gboolean is_free;

  fd = socket (AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return TRUE;
  /* SO_REUSEADDR as servers use it: TIME_WAIT leftovers of our own last
   * server do not count, a listener on any address does. */
  setsockopt (fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl (INADDR_ANY);
  addr.sin_port = htons (port);
  is_free = bind (fd, (struct sockaddr *) &addr, sizeof addr) == 0 || errno != EADDRINUSE;
  close (fd);
  return is_free;
}

/* Inodes of the sockets listening on port, from /proc/net/tcp{,6}. */
static GArray *
listening_inodes (guint16 port)
{
  static const char *tables[] = { "/proc/net/tcp", "/proc/net/tcp6" };
  GArray *inodes = g_array_new (FALSE, FALSE, sizeof (guint64));

  for (guint t = 0; t < G_N_ELEMENTS (tables); t++)
    {
      g_autofree char *contents = NULL;
      g_auto(GStrv) lines = NULL;

      if (!g_file_get_contents (tables[t], &contents, NULL, NULL))
        continue;
      lines = g_strsplit (contents, "\n", -1);
      for (guint i = 1; lines[i] != NULL; i++)
        {
          g_auto(GStrv) fields = g_strsplit_set (g_strstrip (lines[i]), " ", -1);
          g_autoptr(GPtrArray) cols = g_ptr_array_new ();
          const char *colon;

          for (guint f = 0; fields[f] != NULL; f++)
            if (fields[f][0] != '\0')
              g_ptr_array_add (cols, fields[f]);
          /* sl local rem st tx:rx tr:when retr uid timeout inode */
          if (cols->len < 10)
            continue;
          colon = strrchr (g_ptr_array_index (cols, 1), ':');
          if (colon == NULL || strtoul (colon + 1, NULL, 16) != port
              || g_strcmp0 (g_ptr_array_index (cols, 3), "0A") != 0)
            continue;
          {
            guint64 inode = g_ascii_strtoull (g_ptr_array_index (cols, 9), NULL, 10);
            g_array_append_val (inodes, inode);
          }
        }
    }
  return inodes;
}

char *
roadie_port_describe_holder (guint16 port)
{
  g_autoptr(GArray) inodes = listening_inodes (port);
  g_autoptr(GDir) proc = NULL;
  const char *pid;

  if (inodes->len == 0 || (proc = g_dir_open ("/proc", 0, NULL)) == NULL)
    return NULL;

  while ((pid = g_dir_read_name (proc)) != NULL)
    {
      g_autofree char *fd_path = NULL;
      g_autoptr(GDir) fds = NULL;
      const char *fd;

      if (!g_ascii_isdigit (pid[0]))
        continue;
      fd_path = g_build_filename ("/proc", pid, "fd", NULL);
      if ((fds = g_dir_open (fd_path, 0, NULL)) == NULL)
        continue;   /* not ours to look at */
      while ((fd = g_dir_read_name (fds)) != NULL)
        {
          g_autofree char *link_path = g_build_filename (fd_path, fd, NULL);
          g_autofree char *target = g_file_read_link (link_path, NULL);
          guint64 inode;

          if (target == NULL || !g_str_has_prefix (target, "socket:["))
            continue;
          inode = g_ascii_strtoull (target + strlen ("socket:["), NULL, 10);
          for (guint i = 0; i < inodes->len; i++)
            if (g_array_index (inodes, guint64, i) == inode)
              {
                g_autofree char *comm_path = g_build_filename ("/proc", pid, "comm", NULL);
                g_autofree char *comm = NULL;

                if (g_file_get_contents (comm_path, &comm, NULL, NULL))
                  g_strchomp (comm);
                return g_strdup_printf ("%s (pid %s)", comm != NULL ? comm : "a process", pid);
              }
        }
    }
  return NULL;
}
