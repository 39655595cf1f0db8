/* roadie-reaper.c: the small guard between Roadie and the audio server.
 *
 *   roadie-reaper [--grace-ms MS] [--pid-fd FD] -- EXECUTABLE [ARGS...]
 *
 * It makes itself a child subreaper, starts the server in its own process
 * group, and forwards SIGTERM/SIGINT/SIGHUP (and the death of its parent) to
 * that group as SIGTERM. When the server exits, or GRACE after a stop was
 * asked for, it ends every remaining descendant (TERM, grace, KILL) and reaps
 * it, then exits with the server's status: the same exit code, or death by
 * the same signal. stdin, stdout and stderr pass through untouched.
 *
 * Plain libc on purpose: it must keep working when everything above it has
 * died, and add next to nothing to the time Roadie needs to see a crash.
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

/* Like env(1) and timeout(1): 125 is the reaper's own failure, 127 a server
 * that could not be run. */
#define EXIT_REAPER_FAILED 125
#define EXIT_CANNOT_RUN    127

#define DEFAULT_GRACE_MS 5000
#define MAX_GRACE_MS     (24 * 3600 * 1000)
/* After the final SIGKILL, rescan this often: orphans of processes that were
 * just killed reappear as our children and must be killed too. */
#define RESCAN_INTERVAL_MS 20
/* SIGKILLed processes normally vanish at once; one stuck in the kernel is
 * left to init after this long rather than holding Roadie's stop forever. */
#define GIVE_UP_AFTER_KILL_MS 3000

#define USAGE "usage: roadie-reaper [--grace-ms MS] [--pid-fd FD] -- EXECUTABLE [ARGS...]"

typedef struct
{
  pid_t   self;
  pid_t   server;
  bool    server_running;
  int     server_status;
  int64_t grace_ms;

  bool    stop_requested;      /* TERM sent to the server's group */
  bool    remainder_signalled; /* TERM sent to what outlived the server */
  bool    killing;             /* deadline passed, SIGKILL phase */
  int64_t deadline_ms;         /* -1 while no deadline is armed */
  int64_t give_up_ms;
} Reaper;

typedef struct
{
  pid_t pid;
  pid_t ppid;
} ProcessLink;

static int64_t
now_ms (void)
{
  struct timespec ts;

  clock_gettime (CLOCK_MONOTONIC, &ts);
  return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

_Noreturn static void
usage_error (const char *what,
             const char *arg)
{
  if (arg != NULL)
    fprintf (stderr, "roadie-reaper: %s '%s'; " USAGE "\n", what, arg);
  else
    fprintf (stderr, "roadie-reaper: %s; " USAGE "\n", what);
  exit (EXIT_REAPER_FAILED);
}

_Noreturn static void
fatal_errno (const char *what)
{
  fprintf (stderr, "roadie-reaper: %s: %s\n", what, strerror (errno));
  exit (EXIT_REAPER_FAILED);
}

static long
parse_number (const char *option,
              const char *value,
              long        min,
              long        max)
{
  char *end = NULL;
  long number;

  if (value == NULL)
    usage_error ("missing value for", option);
  errno = 0;
  number = strtol (value, &end, 10);
  if (errno != 0 || end == value || *end != '\0' || number < min || number > max)
    usage_error ("invalid number for", option);
  return number;
}

/* Ends the reaper the way the server ended: the parent then sees
 * WIFSIGNALED with the same signal, and logs the real cause. */
_Noreturn static void
die_like (int sig)
{
  struct rlimit no_core = { 0, 0 };
  sigset_t set;

  /* The server already dumped core if it was going to; a second dump of the
   * reaper would only confuse whoever reads the crash reports. */
  setrlimit (RLIMIT_CORE, &no_core);
  prctl (PR_SET_DUMPABLE, 0);
  fflush (NULL);

  signal (sig, SIG_DFL);
  sigemptyset (&set);
  sigaddset (&set, sig);
  sigprocmask (SIG_UNBLOCK, &set, NULL);
  raise (sig);

  /* Still alive: a signal whose default is to be ignored or to stop. */
  _exit (128 + sig);
}

/* Every live process's parent link, read from /proc/PID/stat. */
static ProcessLink *
read_process_links (size_t *n_links)
{
  ProcessLink *links = NULL;
  size_t n = 0, allocated = 0;
  struct dirent *entry;
  DIR *dir;

  *n_links = 0;
  dir = opendir ("/proc");
  if (dir == NULL)
    return NULL;

  while ((entry = readdir (dir)) != NULL)
    {
      char path[64], stat[512];
      const char *close_paren;
      char *end = NULL;
      char state = '?';
      int fd, ppid = 0;
      ssize_t len;
      long pid;

      pid = strtol (entry->d_name, &end, 10);
      if (pid <= 0 || *end != '\0')
        continue;
      snprintf (path, sizeof path, "/proc/%ld/stat", pid);
      fd = open (path, O_RDONLY | O_CLOEXEC);
      if (fd < 0)
        continue;
      len = read (fd, stat, sizeof stat - 1);
      close (fd);
      if (len <= 0)
        continue;
      stat[len] = '\0';

      /* The command name may contain spaces and parentheses: parse after
       * the last ')'. */
      close_paren = strrchr (stat, ')');
      if (close_paren == NULL || sscanf (close_paren + 1, " %c %d", &state, &ppid) != 2)
        continue;

      if (n == allocated)
        {
          size_t new_allocated = allocated ? allocated * 2 : 256;
          ProcessLink *grown = realloc (links, new_allocated * sizeof *links);

          if (grown == NULL)
            break;
          links = grown;
          allocated = new_allocated;
        }
      links[n].pid = (pid_t) pid;
      links[n].ppid = ppid;
      n++;
    }
  closedir (dir);

  *n_links = n;
  return links;
}

static int
compare_links (const void *a,
               const void *b)
{
  pid_t pa = ((const ProcessLink *) a)->pid;
  pid_t pb = ((const ProcessLink *) b)->pid;

  return (pa > pb) - (pa < pb);
}

/* Sends sig to every descendant of the reaper, found through the ppid links
 * in /proc. Grandchildren that left the server's session or group are found
 * too: while their parent lives they hang below it, once it dies they are
 * reparented to us (we are their subreaper). Returns how many it found. */
static size_t
signal_descendants (pid_t self,
                    int   sig)
{
  ProcessLink *links;
  bool *below, changed = true;
  size_t n = 0, found = 0;

  links = read_process_links (&n);
  if (links == NULL)
    return 0;
  below = calloc (n, sizeof *below);
  if (below == NULL)
    {
      free (links);
      return 0;
    }

  qsort (links, n, sizeof *links, compare_links);
  while (changed)
    {
      changed = false;
      for (size_t i = 0; i < n; i++)
        {
          ProcessLink key = { links[i].ppid, 0 };
          ProcessLink *parent;

          if (below[i])
            continue;
          if (links[i].ppid == self)
            below[i] = true;
          else if ((parent = bsearch (&key, links, n, sizeof *links, compare_links)) != NULL)
            below[i] = below[parent - links];
          changed |= below[i];
        }
    }

  for (size_t i = 0; i < n; i++)
    if (below[i] && links[i].pid != self)
      {
        kill (links[i].pid, sig);
        /* A stopped process would hold a TERM until someone continues it. */
        if (sig == SIGTERM)
          kill (links[i].pid, SIGCONT);
        found++;
      }

  free (below);
  free (links);
  return found;
}

/* The server's process group while we know it exists (its leader is not
 * reaped yet, so the id cannot be reused), and every descendant. */
static void
signal_everything (Reaper *reaper,
                   int     sig)
{
  if (reaper->server_running)
    {
      killpg (reaper->server, sig);
      if (sig == SIGTERM)
        killpg (reaper->server, SIGCONT);
    }
  signal_descendants (reaper->self, sig);
}

static void
arm_deadline (Reaper *reaper)
{
  int64_t deadline = now_ms () + reaper->grace_ms;

  if (reaper->deadline_ms < 0 || deadline < reaper->deadline_ms)
    reaper->deadline_ms = deadline;
}

static void
request_stop (Reaper *reaper)
{
  if (reaper->stop_requested || !reaper->server_running)
    return;
  reaper->stop_requested = true;
  killpg (reaper->server, SIGTERM);
  killpg (reaper->server, SIGCONT);
  arm_deadline (reaper);
}

/* Reaps every child that has exited. Returns true when no child is left at
 * all: then no descendant is left either, because orphans of our
 * descendants are reparented to us. This is the fast path after a crash. */
static bool
reap_children (Reaper *reaper)
{
  for (;;)
    {
      int status = 0;
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
      return errno == ECHILD;
    }
}

_Noreturn static void
exec_server (char           **argv,
             pid_t            reaper_pid,
             int              pid_fd,
             const sigset_t  *empty)
{
  setpgid (0, 0);

  /* Backstop for when the reaper itself is SIGKILLed. */
  prctl (PR_SET_PDEATHSIG, SIGKILL);
  if (getppid () != reaper_pid)
    raise (SIGKILL);

  /* Like a service manager: the server starts with default dispositions and
   * nothing blocked, whatever Roadie had. */
  for (int sig = 1; sig < NSIG; sig++)
    if (sig != SIGKILL && sig != SIGSTOP)
      signal (sig, SIG_DFL);
  sigprocmask (SIG_SETMASK, empty, NULL);

  if (pid_fd >= 0)
    close (pid_fd);

  execvp (argv[0], argv);
  fprintf (stderr, "roadie-reaper: cannot run %s: %s\n", argv[0], strerror (errno));
  fflush (stderr);
  _exit (EXIT_CANNOT_RUN);
}

static void
report_pid (int   pid_fd,
            pid_t pid)
{
  char buf[32];
  int len = snprintf (buf, sizeof buf, "%ld\n", (long) pid);
  const char *p = buf;

  /* Nobody reading (Roadie died) is not our problem: SIGPIPE is ignored and
   * the parent-death signal tells us what to do. */
  while (len > 0)
    {
      ssize_t written = write (pid_fd, p, (size_t) len);

      if (written < 0 && errno == EINTR)
        continue;
      if (written <= 0)
        break;
      p += written;
      len -= (int) written;
    }
  close (pid_fd);
}

/* Handles the signals that arrived; returns false if signalfd broke. */
static bool
read_signals (Reaper *reaper,
              int     signal_fd)
{
  for (;;)
    {
      struct signalfd_siginfo info[8];
      ssize_t len = read (signal_fd, info, sizeof info);

      if (len < 0 && errno == EINTR)
        continue;
      if (len < 0 && errno == EAGAIN)
        return true;
      if (len <= 0)
        return false;

      for (size_t i = 0; i < (size_t) len / sizeof info[0]; i++)
        if (info[i].ssi_signo != SIGCHLD)
          request_stop (reaper);
    }
}

int
main (int   argc,
      char *argv[])
{
  Reaper reaper = { 0 };
  sigset_t handled, previous, empty;
  pid_t parent_before;
  const char *pid_fd_arg = NULL;
  int pid_fd = -1, signal_fd, i;
  bool parent_gone;

  reaper.grace_ms = DEFAULT_GRACE_MS;
  reaper.deadline_ms = -1;

  for (i = 1; i < argc; i++)
    {
      const char *arg = argv[i];

      if (strcmp (arg, "--") == 0)
        {
          i++;
          break;
        }
      else if (strcmp (arg, "--grace-ms") == 0)
        reaper.grace_ms = parse_number (arg, argv[++i], 0, MAX_GRACE_MS);
      else if (strncmp (arg, "--grace-ms=", 11) == 0)
        reaper.grace_ms = parse_number ("--grace-ms", arg + 11, 0, MAX_GRACE_MS);
      else if (strcmp (arg, "--pid-fd") == 0)
        {
          pid_fd_arg = argv[++i];
          pid_fd = (int) parse_number (arg, pid_fd_arg, 0, INT_MAX);
        }
      else if (strncmp (arg, "--pid-fd=", 9) == 0)
        {
          pid_fd_arg = arg + 9;
          pid_fd = (int) parse_number ("--pid-fd", pid_fd_arg, 0, INT_MAX);
        }
      else if (strcmp (arg, "--help") == 0 || strcmp (arg, "-h") == 0)
        {
          printf (USAGE "\n");
          return 0;
        }
      else if (arg[0] == '-')
        usage_error ("unknown option", arg);
      else
        break;
    }
  if (i >= argc)
    usage_error ("no server command given", NULL);
  if (pid_fd >= 0 && fcntl (pid_fd, F_SETFD, FD_CLOEXEC) < 0)
    usage_error ("--pid-fd names no open file descriptor:", pid_fd_arg);

  reaper.self = getpid ();

  /* Block first, so that neither the parent-death signal nor a stop request
   * can kill us before we can forward it. */
  sigemptyset (&empty);
  sigemptyset (&handled);
  sigaddset (&handled, SIGTERM);
  sigaddset (&handled, SIGINT);
  sigaddset (&handled, SIGHUP);
  sigaddset (&handled, SIGCHLD);
  if (sigprocmask (SIG_BLOCK, &handled, &previous) < 0)
    fatal_errno ("cannot block signals");
  signal (SIGPIPE, SIG_IGN);

  parent_before = getppid ();
  if (prctl (PR_SET_CHILD_SUBREAPER, 1) < 0)
    fatal_errno ("cannot become a child subreaper");
  if (prctl (PR_SET_PDEATHSIG, SIGTERM) < 0)
    fatal_errno ("cannot ask for a parent-death signal");
  /* The parent may have died before the prctl: then no signal comes. */
  parent_gone = getppid () != parent_before;

  signal_fd = signalfd (-1, &handled, SFD_CLOEXEC | SFD_NONBLOCK);
  if (signal_fd < 0)
    fatal_errno ("cannot create a signalfd");

  if (parent_gone)
    {
      /* Nobody is left to supervise a server; do not start one. */
      die_like (SIGTERM);
    }

  fflush (NULL);
  reaper.server = fork ();
  if (reaper.server < 0)
    fatal_errno ("cannot fork");
  if (reaper.server == 0)
    exec_server (argv + i, reaper.self, pid_fd, &empty);

  /* Also here, so that killpg works before the child got to run. */
  setpgid (reaper.server, reaper.server);
  reaper.server_running = true;
  if (pid_fd >= 0)
    report_pid (pid_fd, reaper.server);

  for (;;)
    {
      struct pollfd pfd = { signal_fd, POLLIN, 0 };
      int64_t now;
      int timeout = -1;

      if (reap_children (&reaper) && !reaper.server_running)
        break;

      if (!reaper.server_running && !reaper.remainder_signalled)
        {
          /* Something outlived the server: a worker, or a grandchild that
           * double-forked into its own session. */
          reaper.remainder_signalled = true;
          signal_everything (&reaper, SIGTERM);
          arm_deadline (&reaper);
        }

      now = now_ms ();
      if (reaper.deadline_ms >= 0 && now >= reaper.deadline_ms && !reaper.killing)
        {
          reaper.killing = true;
          reaper.give_up_ms = now + GIVE_UP_AFTER_KILL_MS;
        }
      if (reaper.killing)
        {
          if (now >= reaper.give_up_ms)
            break;
          signal_everything (&reaper, SIGKILL);
          timeout = RESCAN_INTERVAL_MS;
        }
      else if (reaper.deadline_ms >= 0)
        timeout = (int) (reaper.deadline_ms - now);

      if (poll (&pfd, 1, timeout) < 0 && errno != EINTR)
        fatal_errno ("cannot wait for signals");
      if (pfd.revents != 0 && !read_signals (&reaper, signal_fd))
        fatal_errno ("cannot read signals");
    }

  close (signal_fd);

  if (reaper.server_running)
    die_like (SIGKILL);
  if (WIFSIGNALED (reaper.server_status))
    die_like (WTERMSIG (reaper.server_status));
  return WEXITSTATUS (reaper.server_status);
}
