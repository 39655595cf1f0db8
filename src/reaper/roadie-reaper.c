/* roadie-reaper.c: the small helper between Roadie and the audio server.
 *
 *   roadie-reaper [--grace-ms MS] [--pid-fd FD] -- EXECUTABLE [ARGS...]
 *
 * It makes itself a child subreaper, asks to be told (SIGTERM) when its parent
 * dies, and starts the server in its own process group. SIGTERM, SIGINT and
 * SIGHUP are forwarded to that group as SIGTERM. When the parent dies or the
 * server exits, every remaining descendant gets SIGTERM, then SIGKILL once the
 * grace period has passed, and is reaped. Then the reaper exits with the
 * server's status; if the server died of a signal the reaper dies of the same
 * signal, so whoever supervises it sees the real cause.
 *
 * Plain C and libc only, one thread, no asynchronous signal handlers: it must
 * keep working when everything above it has died.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define DEFAULT_GRACE_MS 5000
#define MAX_GRACE_MS (24LL * 60 * 60 * 1000)
/* After SIGKILL, how often to look for stragglers (a process may fork between
 * our scan and our kill), and how long to wait for the kernel to finish them
 * before giving up: they are already dead then, only not yet reaped. */
#define KILL_RESCAN_MS 20
#define KILL_SETTLE_MS 1000

#define EXIT_USAGE 125
#define EXIT_EXEC_FAILED 127

typedef struct
{
  pid_t *pids;
  size_t len;
  size_t allocated;
} PidList;

typedef struct
{
  long long grace_ms;
  int pid_fd;
  char **argv;

  pid_t self;
  pid_t server;
  bool server_running;
  int server_status;

  /* A stop request or parent death arrived. */
  bool stop_requested;
  /* SIGTERM went to the server's process group. */
  bool group_termed;
  /* SIGTERM went to every descendant (the server is gone, others remain). */
  bool tree_terminated;
  /* Processes that already had SIGTERM from us, so a rescan does not repeat it. */
  PidList termed;
  /* Monotonic ms when everything gets SIGKILL; -1 while none is set. */
  long long deadline;
  long long killed_at;
} Reaper;

static const int handled_signals[] = { SIGTERM, SIGINT, SIGHUP, SIGCHLD };

static void
usage_error (const char *message)
{
  fprintf (stderr,
           "roadie-reaper: %s (usage: roadie-reaper [--grace-ms MS] [--pid-fd FD] -- EXECUTABLE [ARGS...])\n",
           message);
  exit (EXIT_USAGE);
}

static void
fatal (const char *what)
{
  fprintf (stderr, "roadie-reaper: %s: %s\n", what, strerror (errno));
  exit (EXIT_USAGE);
}

static long long
now_ms (void)
{
  struct timespec ts;

  clock_gettime (CLOCK_MONOTONIC, &ts);
  return (long long) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static bool
parse_number (const char *text,
              long long   min,
              long long   max,
              long long  *out)
{
  char *end = NULL;
  long long value;

  if (text == NULL || *text == '\0')
    return false;
  errno = 0;
  value = strtoll (text, &end, 10);
  if (errno != 0 || *end != '\0' || value < min || value > max)
    return false;
  *out = value;
  return true;
}

/* Accepts "--name VALUE" and "--name=VALUE"; returns the value or NULL. */
static const char *
option_value (const char *name,
              int        *i,
              int         argc,
              char      **argv)
{
  size_t len = strlen (name);
  const char *arg = argv[*i];

  if (strncmp (arg, name, len) != 0)
    return NULL;
  if (arg[len] == '=')
    return arg + len + 1;
  if (arg[len] != '\0')
    return NULL;
  if (*i + 1 >= argc)
    {
      char message[128];

      snprintf (message, sizeof message, "%s needs a value", name);
      usage_error (message);
    }
  *i += 1;
  return argv[*i];
}

static void
parse_arguments (Reaper *reaper,
                 int     argc,
                 char  **argv)
{
  int i;

  reaper->grace_ms = DEFAULT_GRACE_MS;
  reaper->pid_fd = -1;

  for (i = 1; i < argc; i++)
    {
      const char *value;
      long long number;

      if (strcmp (argv[i], "--") == 0)
        {
          i++;
          break;
        }
      if (argv[i][0] != '-')
        break;
      if ((value = option_value ("--grace-ms", &i, argc, argv)) != NULL)
        {
          if (!parse_number (value, 0, MAX_GRACE_MS, &number))
            usage_error ("--grace-ms wants milliseconds from 0 to 86400000");
          reaper->grace_ms = number;
        }
      else if ((value = option_value ("--pid-fd", &i, argc, argv)) != NULL)
        {
          if (!parse_number (value, 0, INT_MAX, &number) || fcntl ((int) number, F_GETFD) < 0)
            usage_error ("--pid-fd wants an open file descriptor");
          reaper->pid_fd = (int) number;
        }
      else
        {
          char message[256];

          snprintf (message, sizeof message, "unknown option %.200s", argv[i]);
          usage_error (message);
        }
    }

  if (i >= argc)
    usage_error ("no executable given");
  reaper->argv = argv + i;
}

static void
pid_list_add (PidList *list,
              pid_t    pid)
{
  if (list->len == list->allocated)
    {
      size_t allocated = list->allocated ? list->allocated * 2 : 64;
      pid_t *pids = realloc (list->pids, allocated * sizeof *pids);

      /* Out of memory: forget the oldest entries rather than stop working. */
      if (pids == NULL)
        {
          list->len = 0;
          return;
        }
      list->pids = pids;
      list->allocated = allocated;
    }
  list->pids[list->len++] = pid;
}

static bool
pid_list_contains (const PidList *list,
                   pid_t          pid)
{
  for (size_t i = 0; i < list->len; i++)
    if (list->pids[i] == pid)
      return true;
  return false;
}

typedef struct
{
  pid_t pid;
  pid_t ppid;
  pid_t pgrp;
  bool zombie;
} ProcEntry;

/* Parent, group and state from /proc/PID/stat. The name field may hold spaces and
 * parentheses, so parse after the last ')'. */
static bool
read_proc_stat (int        proc_fd,
                const char *name,
                ProcEntry  *entry)
{
  char path[64];
  char buf[512];
  ssize_t n;
  int fd;
  char *p;
  char state;
  long ppid, pgrp;

  snprintf (path, sizeof path, "%s/stat", name);
  fd = openat (proc_fd, path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return false;
  n = read (fd, buf, sizeof buf - 1);
  close (fd);
  if (n <= 0)
    return false;
  buf[n] = '\0';
  p = strrchr (buf, ')');
  if (p == NULL || sscanf (p + 1, " %c %ld %ld", &state, &ppid, &pgrp) != 3)
    return false;
  entry->pid = (pid_t) strtol (name, NULL, 10);
  entry->ppid = (pid_t) ppid;
  entry->pgrp = (pid_t) pgrp;
  entry->zombie = state == 'Z' || state == 'X';
  return true;
}

/* Every live descendant of the reaper (pid and group), following ppid links
 * transitively through /proc. This finds grandchildren that setsid()ed away
 * from the server's group, which a group kill misses. Returns how many are
 * in *out (to be freed). */
static size_t
collect_descendants (pid_t       root,
                     ProcEntry **out)
{
  ProcEntry *entries = NULL;
  size_t n_entries = 0, allocated = 0, n_out = 0;
  PidList tree = { 0 };
  struct dirent *dirent;
  DIR *dir;

  *out = NULL;
  dir = opendir ("/proc");
  if (dir == NULL)
    return 0;
  while ((dirent = readdir (dir)) != NULL)
    {
      ProcEntry entry;

      if (dirent->d_name[0] < '1' || dirent->d_name[0] > '9')
        continue;
      if (!read_proc_stat (dirfd (dir), dirent->d_name, &entry))
        continue;
      if (n_entries == allocated)
        {
          size_t bigger = allocated ? allocated * 2 : 256;
          ProcEntry *grown = realloc (entries, bigger * sizeof *grown);

          if (grown == NULL)
            break;
          entries = grown;
          allocated = bigger;
        }
      entries[n_entries++] = entry;
    }
  closedir (dir);
  if (entries == NULL)
    return 0;

  /* Breadth first from the root: tree holds the root and every descendant,
   * each examined once as a parent. Live ones are moved to the front of
   * entries, which becomes the result; a moved entry is never needed again
   * since only entries at or after i are looked at. */
  pid_list_add (&tree, root);
  for (size_t parent = 0; parent < tree.len; parent++)
    for (size_t i = n_out; i < n_entries; i++)
      if (entries[i].ppid == tree.pids[parent] && entries[i].pid != root)
        {
          ProcEntry found = entries[i];

          pid_list_add (&tree, found.pid);
          if (!found.zombie)
            {
              entries[i] = entries[n_out];
              entries[n_out++] = found;
            }
        }

  free (tree.pids);
  *out = entries;
  return n_out;
}

/* The server's process group; the server itself too if it left the group. */
static void
signal_server_group (Reaper *reaper,
                     int     signo)
{
  kill (-reaper->server, signo);
  if (reaper->server_running && getpgid (reaper->server) != reaper->server)
    kill (reaper->server, signo);
}

/* Signals the server's process group and every live descendant. Once the
 * server is reaped its number is only ours while a member of its group
 * lives, otherwise it may belong to a stranger by now: then the group is
 * left alone (its members are in the tree anyway). */
static void
kill_tree (Reaper *reaper)
{
  ProcEntry *descendants;
  size_t n = collect_descendants (reaper->self, &descendants);
  bool group_alive = reaper->server_running;

  for (size_t i = 0; i < n; i++)
    if (descendants[i].pgrp == reaper->server)
      group_alive = true;
  if (group_alive)
    kill (-reaper->server, SIGKILL);
  for (size_t i = 0; i < n; i++)
    kill (descendants[i].pid, SIGKILL);
  free (descendants);
}

/* SIGTERM to everything below us, once per process: a second SIGTERM means
 * "hurry" to many programs that are already shutting down. */
static void
terminate_tree (Reaper *reaper)
{
  ProcEntry *descendants;
  size_t n = collect_descendants (reaper->self, &descendants);
  bool group_alive = reaper->server_running;

  for (size_t i = 0; i < n; i++)
    if (descendants[i].pgrp == reaper->server)
      group_alive = true;
  if (group_alive && !reaper->group_termed)
    {
      signal_server_group (reaper, SIGTERM);
      reaper->group_termed = true;
      for (size_t i = 0; i < n; i++)
        if (descendants[i].pgrp == reaper->server)
          pid_list_add (&reaper->termed, descendants[i].pid);
    }
  for (size_t i = 0; i < n; i++)
    if (!pid_list_contains (&reaper->termed, descendants[i].pid)
        && !(reaper->group_termed && descendants[i].pgrp == reaper->server))
      {
        kill (descendants[i].pid, SIGTERM);
        pid_list_add (&reaper->termed, descendants[i].pid);
      }
  free (descendants);
  reaper->tree_terminated = true;
}

static void
set_deadline (Reaper *reaper)
{
  long long deadline = now_ms () + reaper->grace_ms;

  if (reaper->deadline < 0 || deadline < reaper->deadline)
    reaper->deadline = deadline;
}

static void
request_stop (Reaper *reaper)
{
  if (reaper->stop_requested)
    return;
  reaper->stop_requested = true;
  if (reaper->server_running)
    {
      signal_server_group (reaper, SIGTERM);
      reaper->group_termed = true;
    }
  set_deadline (reaper);
}

/* Reaps whatever has exited. Returns true once we have no children left. */
static bool
reap_children (Reaper *reaper)
{
  for (;;)
    {
      int status;
      pid_t pid = waitpid (-1, &status, WNOHANG);

      if (pid > 0)
        {
          if (pid == reaper->server)
            {
              reaper->server_running = false;
              reaper->server_status = status;
            }
          continue;
        }
      if (pid == 0)
        return false;
      if (errno == EINTR)
        continue;
      /* ECHILD: nothing below us at all, since orphans reparent to us. */
      return true;
    }
}

static void
write_pid (int   fd,
           pid_t pid)
{
  char text[32];
  int len = snprintf (text, sizeof text, "%ld\n", (long) pid);
  const char *p = text;

  while (len > 0)
    {
      ssize_t n = write (fd, p, (size_t) len);

      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        break;
      p += n;
      len -= (int) n;
    }
  close (fd);
}

static void
start_server (Reaper         *reaper,
              const sigset_t *original_mask,
              void          (*original_sigpipe) (int))
{
  pid_t pid;

  pid = fork ();
  if (pid < 0)
    fatal ("cannot fork");

  if (pid == 0)
    {
      /* Backstop should the reaper itself be SIGKILLed. */
      setpgid (0, 0);
      prctl (PR_SET_PDEATHSIG, SIGKILL);
      if (getppid () != reaper->self)
        _exit (EXIT_EXEC_FAILED);
      for (size_t i = 0; i < sizeof handled_signals / sizeof handled_signals[0]; i++)
        signal (handled_signals[i], SIG_DFL);
      signal (SIGPIPE, original_sigpipe);
      sigprocmask (SIG_SETMASK, original_mask, NULL);
      if (reaper->pid_fd >= 0)
        close (reaper->pid_fd);
      execvp (reaper->argv[0], reaper->argv);
      dprintf (STDERR_FILENO, "roadie-reaper: cannot run %s: %s\n",
               reaper->argv[0], strerror (errno));
      _exit (EXIT_EXEC_FAILED);
    }

  /* Also here, so a group kill right after fork cannot miss the child. */
  setpgid (pid, pid);
  reaper->server = pid;
  reaper->server_running = true;
  if (reaper->pid_fd >= 0)
    {
      write_pid (reaper->pid_fd, pid);
      reaper->pid_fd = -1;
    }
}

/* Death by signo with its default action, as the server died. */
static void
exit_with_signal (int signo)
{
  sigset_t set;
  struct rlimit no_core = { 0, 0 };

  fflush (NULL);
  /* The server may have dumped core; the reaper's own image is of no use. */
  setrlimit (RLIMIT_CORE, &no_core);
  prctl (PR_SET_DUMPABLE, 0);
  signal (signo, SIG_DFL);
  sigemptyset (&set);
  sigaddset (&set, signo);
  sigprocmask (SIG_UNBLOCK, &set, NULL);
  raise (signo);
  _exit (128 + signo);
}

/* Exit the way the server did: same code, or death by the same signal. */
static void
exit_like (int status)
{
  if (WIFEXITED (status))
    exit (WEXITSTATUS (status));
  if (WIFSIGNALED (status))
    exit_with_signal (WTERMSIG (status));
  exit (EXIT_USAGE);
}

int
main (int    argc,
      char **argv)
{
  Reaper reaper = { 0 };
  sigset_t handled, original_mask;
  void (*original_sigpipe) (int);
  pid_t parent_before;
  struct pollfd pfd;
  int sfd;

  parse_arguments (&reaper, argc, argv);
  reaper.self = getpid ();
  reaper.deadline = -1;
  reaper.killed_at = -1;
  if (reaper.pid_fd >= 0)
    fcntl (reaper.pid_fd, F_SETFD, FD_CLOEXEC);

  /* Signals are read synchronously from a signalfd, so block them first:
   * the parent-death signal must not kill us before we can act on it. */
  sigemptyset (&handled);
  for (size_t i = 0; i < sizeof handled_signals / sizeof handled_signals[0]; i++)
    sigaddset (&handled, handled_signals[i]);
  if (sigprocmask (SIG_BLOCK, &handled, &original_mask) < 0)
    fatal ("cannot block signals");
  /* An inherited SIG_IGN for SIGCHLD would make the kernel reap the server
   * for us and lose its status; the others are blocked and read below. */
  for (size_t i = 0; i < sizeof handled_signals / sizeof handled_signals[0]; i++)
    signal (handled_signals[i], SIG_DFL);
  sfd = signalfd (-1, &handled, SFD_CLOEXEC | SFD_NONBLOCK);
  if (sfd < 0)
    fatal ("cannot create a signalfd");
  /* A closed pipe must be an error return, not our death. */
  original_sigpipe = signal (SIGPIPE, SIG_IGN);

  parent_before = getppid ();
  if (prctl (PR_SET_CHILD_SUBREAPER, 1) < 0)
    fatal ("cannot become a child subreaper");
  if (prctl (PR_SET_PDEATHSIG, SIGTERM) < 0)
    fatal ("cannot ask for the parent-death signal");
  if (getppid () != parent_before)
    {
      /* The parent died before the death signal was armed: do not start a
       * server nobody will ever stop. */
      exit_with_signal (SIGTERM);
    }

  start_server (&reaper, &original_mask, original_sigpipe);

  pfd.fd = sfd;
  pfd.events = POLLIN;
  for (;;)
    {
      struct signalfd_siginfo info;
      long long now;
      int timeout;
      bool no_children = reap_children (&reaper);

      if (!reaper.server_running)
        {
          if (no_children)
            break;
          /* The server is gone but something it started lives on. */
          if (!reaper.tree_terminated)
            {
              terminate_tree (&reaper);
              set_deadline (&reaper);
            }
        }

      now = now_ms ();
      if (reaper.deadline >= 0 && now >= reaper.deadline)
        {
          if (reaper.killed_at < 0)
            reaper.killed_at = now;
          else if (now - reaper.killed_at >= KILL_SETTLE_MS)
            break;
          kill_tree (&reaper);
          timeout = KILL_RESCAN_MS;
        }
      else if (reaper.deadline >= 0)
        timeout = (int) (reaper.deadline - now);
      else
        timeout = -1;

      if (poll (&pfd, 1, timeout) < 0 && errno != EINTR)
        fatal ("cannot wait for signals");

      while (read (sfd, &info, sizeof info) == (ssize_t) sizeof info)
        {
          switch (info.ssi_signo)
            {
            case SIGTERM:
            case SIGINT:
            case SIGHUP:
              request_stop (&reaper);
              break;
            case SIGCHLD:
            default:
              /* Reaped at the top of the loop. */
              break;
            }
        }

      /* New orphans may have reparented to us since the last scan. */
      if (!reaper.server_running && reaper.tree_terminated && reaper.killed_at < 0)
        terminate_tree (&reaper);
    }

  if (reaper.server_running)
    {
      /* Only when SIGKILL did not finish the server within the settle time
       * (uninterruptible sleep): report it as killed. */
      exit_with_signal (SIGKILL);
    }
  exit_like (reaper.server_status);
  return EXIT_USAGE;
}
