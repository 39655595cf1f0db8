/* roadie-supervisor.c: keeps the audio server running.
 *
 * One RoadieSupervisor per audio server. It spawns the server through
 * roadie-reaper (which keeps the server's whole process tree on a leash),
 * learns the server's real pid from the reaper and watches it with a pidfd,
 * so a crash is seen the moment the kernel reports it rather than when the
 * reaper has finished cleaning up. Readiness and health are WebSocket
 * handshakes, as in the seed; restarts follow the backoff schedule inside a
 * sliding restart window. Everything runs on the main loop.
 */
#include "config.h"

#include <errno.h>
#include <gio/gunixinputstream.h>
#include <glib-unix.h>
#include <glib/gi18n.h>
#include <signal.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "roadie-backoff.h"
#include "roadie-engine-args.h"
#include "roadie-error.h"
#include "roadie-output-reader.h"
#include "roadie-paths.h"
#include "roadie-port.h"
#include "roadie-restart-window.h"
#include "roadie-supervisor.h"
#include "roadie-ws-probe.h"

/* Readiness is polled quickly at first: a refused connect on loopback costs
 * microseconds, and every millisecond here is time the DJ waits. */
#define READY_POLL_FIRST_MS 5
#define READY_POLL_MAX_MS   50
/* Beyond the stop timeout, the reaper itself is killed as a last resort. */
#define STOP_BACKSTOP_MS    700

#define ROADIE_INFO(...)  g_message (__VA_ARGS__)
#define ROADIE_WARN(...)  g_warning (__VA_ARGS__)
/* The seed's [ERROR] lines come from outside this process (a crashing
 * server), which GLib reserves g_critical() against. */
#define ROADIE_ERROR_LOG(...) g_warning (__VA_ARGS__)

G_DEFINE_ENUM_TYPE (RoadieSupervisorState, roadie_supervisor_state,
  G_DEFINE_ENUM_VALUE (ROADIE_SUPERVISOR_STATE_STOPPED, "stopped"),
  G_DEFINE_ENUM_VALUE (ROADIE_SUPERVISOR_STATE_STARTING, "starting"),
  G_DEFINE_ENUM_VALUE (ROADIE_SUPERVISOR_STATE_RUNNING, "running"),
  G_DEFINE_ENUM_VALUE (ROADIE_SUPERVISOR_STATE_UNHEALTHY, "unhealthy"),
  G_DEFINE_ENUM_VALUE (ROADIE_SUPERVISOR_STATE_BACKOFF, "backoff"),
  G_DEFINE_ENUM_VALUE (ROADIE_SUPERVISOR_STATE_FAILED, "failed"),
  G_DEFINE_ENUM_VALUE (ROADIE_SUPERVISOR_STATE_STOPPING, "stopping"),
  G_DEFINE_ENUM_VALUE (ROADIE_SUPERVISOR_STATE_ATTACHED, "attached"))

/* Why the current child is being terminated, if it is. */
typedef enum
{
  TERMINATION_NONE,
  TERMINATION_STOP,         /* asked for: Stop, Restart, quit */
  TERMINATION_UNHEALTHY,    /* health checks failed: counts as a crash */
  TERMINATION_NOT_READY,    /* start-up timeout: counts as a crash */
} Termination;

/* Everything about one spawned server, so late events from an old child can
 * never be mistaken for the current one. */
typedef struct
{
  RoadieSupervisor   *self;
  GSubprocess        *reaper;
  GCancellable       *cancellable;
  RoadieOutputReader *out;
  RoadieOutputReader *err;
  GInputStream       *pid_stream;
  char                pid_buffer[32];
  GPid                server_pid;
  int                 pidfd;
  guint               pidfd_watch;
  gint64              spawned_us;
  gboolean            exit_handled;   /* the crash (or stop) has been acted on */
  Termination         termination;
  char               *last_stderr;    /* for "could not run" errors */
} Child;

struct _RoadieSupervisor
{
  GObject               parent_instance;

  RoadieSettings       *settings;
  SoupSession          *session;
  RoadieLogWriter      *log;
  RoadieRestartWindow  *restart_window;
  RoadieRandomFunc      random_func;
  gpointer              random_data;

  RoadieSupervisorState state;
  Child                *child;
  gint64                ready_us;
  gboolean              is_healthy;
  guint                 backoff_attempt;

  GCancellable         *probe_cancellable;
  guint                 ready_poll_id;
  guint                 ready_poll_interval_ms;
  guint                 health_id;
  guint                 health_failures;
  guint                 stable_id;
  guint                 restart_id;
  gint64                restart_due_us;
  gboolean              spawn_when_reaped;
  guint                 kill_id;
  guint                 backstop_id;
  gboolean              start_after_stop;

  gboolean              has_last_exit;
  int                   last_exit_code;
  int                   last_exit_signal;
  GDateTime            *last_exit_at;
  char                 *last_error;
  char                 *log_error;

  GPtrArray            *stop_tasks;
};

G_DEFINE_FINAL_TYPE (RoadieSupervisor, roadie_supervisor, G_TYPE_OBJECT)

enum {
  PROP_0,
  PROP_SETTINGS,
  PROP_STATE,
  N_PROPS
};

enum {
  CHANGED,
  OUTPUT_LINE,
  GAVE_UP,
  N_SIGNALS
};

static GParamSpec *properties[N_PROPS];
static guint signals[N_SIGNALS];

static void relaunch             (RoadieSupervisor *self);
static void schedule_health      (RoadieSupervisor *self);
static void handle_server_gone   (RoadieSupervisor *self);
static void begin_termination    (RoadieSupervisor *self,
                                  Termination       why);

gboolean
roadie_supervisor_state_is_up (RoadieSupervisorState state)
{
  switch (state)
    {
    case ROADIE_SUPERVISOR_STATE_RUNNING:
    case ROADIE_SUPERVISOR_STATE_UNHEALTHY:
    case ROADIE_SUPERVISOR_STATE_ATTACHED:
      return TRUE;

    case ROADIE_SUPERVISOR_STATE_STOPPED:
    case ROADIE_SUPERVISOR_STATE_STARTING:
    case ROADIE_SUPERVISOR_STATE_BACKOFF:
    case ROADIE_SUPERVISOR_STATE_FAILED:
    case ROADIE_SUPERVISOR_STATE_STOPPING:
    default:
      return FALSE;
    }
}

const char *
roadie_supervisor_state_to_string (RoadieSupervisorState state)
{
  GEnumClass *klass = g_type_class_ref (ROADIE_TYPE_SUPERVISOR_STATE);
  GEnumValue *value = g_enum_get_value (klass, state);

  g_type_class_unref (klass);
  return value != NULL ? value->value_nick : "unknown";
}

static void
emit_changed (RoadieSupervisor *self)
{
  g_signal_emit (self, signals[CHANGED], 0);
}

static void
set_state (RoadieSupervisor      *self,
           RoadieSupervisorState  state)
{
  if (self->state == state)
    return;
  self->state = state;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_STATE]);
}

static void
set_last_error (RoadieSupervisor *self,
                const char       *message)
{
  if (g_strcmp0 (self->last_error, message) == 0)
    return;
  g_free (self->last_error);
  self->last_error = g_strdup (message);
}

static int
ws_port (RoadieSupervisor *self)
{
  return roadie_settings_get_int (self->settings, "ws-port");
}

static char *
probe_url (RoadieSupervisor *self)
{
  return g_strdup_printf ("ws://127.0.0.1:%d/", ws_port (self));
}

static void
child_free (Child *child)
{
  if (child == NULL)
    return;
  g_cancellable_cancel (child->cancellable);
  g_clear_handle_id (&child->pidfd_watch, g_source_remove);
  if (child->pidfd >= 0)
    close (child->pidfd);
  if (child->out != NULL)
    g_signal_handlers_disconnect_by_data (child->out, child);
  if (child->err != NULL)
    g_signal_handlers_disconnect_by_data (child->err, child);
  g_clear_object (&child->out);
  g_clear_object (&child->err);
  g_clear_object (&child->pid_stream);
  g_clear_object (&child->cancellable);
  g_clear_object (&child->reaper);
  g_free (child->last_stderr);
  g_free (child);
}

static void
cancel_monitoring (RoadieSupervisor *self)
{
  g_cancellable_cancel (self->probe_cancellable);
  g_clear_object (&self->probe_cancellable);
  g_clear_handle_id (&self->ready_poll_id, g_source_remove);
  g_clear_handle_id (&self->health_id, g_source_remove);
  g_clear_handle_id (&self->stable_id, g_source_remove);
  self->health_failures = 0;
}

static GCancellable *
new_probe_cancellable (RoadieSupervisor *self)
{
  g_cancellable_cancel (self->probe_cancellable);
  g_clear_object (&self->probe_cancellable);
  self->probe_cancellable = g_cancellable_new ();
  return self->probe_cancellable;
}

static void
complete_stop_tasks (RoadieSupervisor *self)
{
  g_autoptr(GPtrArray) tasks = g_steal_pointer (&self->stop_tasks);

  self->stop_tasks = g_ptr_array_new_with_free_func (g_object_unref);
  for (guint i = 0; i < tasks->len; i++)
    g_task_return_boolean (g_ptr_array_index (tasks, i), TRUE);
}

/* ---- pre-flight ------------------------------------------------------- */

/* An empty executable-path means Roadie's own roadie-engine. */
static gboolean
uses_bundled_engine (RoadieSupervisor *self)
{
  g_autofree char *configured = roadie_settings_get_string (self->settings, "executable-path");

  return configured == NULL || configured[0] == '\0';
}

char *
roadie_supervisor_dup_executable_path (RoadieSupervisor *self)
{
  g_autofree char *configured = NULL;

  g_return_val_if_fail (ROADIE_IS_SUPERVISOR (self), NULL);

  configured = roadie_settings_get_string (self->settings, "executable-path");
  if (configured == NULL || configured[0] == '\0')
    return roadie_paths_find_engine ();
  if (strchr (configured, '/') == NULL)
    {
      char *found = g_find_program_in_path (configured);

      if (found != NULL)
        return found;
    }
  return g_steal_pointer (&configured);
}

static gboolean
check_executable (const char  *path,
                  GError     **error)
{
  struct stat st;

  if (stat (path, &st) != 0)
    {
      if (errno == ENOENT || errno == ENOTDIR)
        g_set_error (error, ROADIE_ERROR, ROADIE_ERROR_EXECUTABLE_MISSING,
                     _("The audio server %s does not exist. Choose the right executable (the executable-path setting, or AUDIO_SERVER_EXECUTABLE_PATH)."),
                     path);
      else
        g_set_error (error, ROADIE_ERROR, ROADIE_ERROR_EXECUTABLE_NOT_EXECUTABLE,
                     _("Cannot look at the audio server %s: %s."), path, g_strerror (errno));
      return FALSE;
    }
  if (S_ISDIR (st.st_mode))
    {
      g_set_error (error, ROADIE_ERROR, ROADIE_ERROR_EXECUTABLE_NOT_REGULAR,
                   _("%s is a folder, not a program. Choose the executable file inside it."), path);
      return FALSE;
    }
  if (!S_ISREG (st.st_mode))
    {
      g_set_error (error, ROADIE_ERROR, ROADIE_ERROR_EXECUTABLE_NOT_REGULAR,
                   _("%s is not a regular file. Choose the audio server’s executable file."), path);
      return FALSE;
    }
  if (access (path, X_OK) != 0)
    {
      g_set_error (error, ROADIE_ERROR, ROADIE_ERROR_EXECUTABLE_NOT_EXECUTABLE,
                   _("%s is not executable (chmod +x it)."), path);
      return FALSE;
    }
  return TRUE;
}

/* A "host:" path names a program outside the Flatpak sandbox: it cannot be
 * looked at from in here, so what can be checked is that flatpak-spawn is
 * there to reach it and that the path is one it will take as a command. */
static gboolean
check_host_executable (const char  *executable_path,
                       GError     **error)
{
  const char *host_path = roadie_paths_host_executable (executable_path);
  g_autofree char *flatpak_spawn = g_find_program_in_path ("flatpak-spawn");

  if (!g_path_is_absolute (host_path))
    {
      g_set_error (error, ROADIE_ERROR, ROADIE_ERROR_EXECUTABLE_MISSING,
                   _("%s needs a full path after “%s”, for example %s/opt/mismo-dj/bin/MismoDJ."),
                   executable_path, ROADIE_HOST_PREFIX, ROADIE_HOST_PREFIX);
      return FALSE;
    }
  if (flatpak_spawn == NULL)
    {
      g_set_error (error, ROADIE_ERROR, ROADIE_ERROR_HELPER_MISSING,
                   _("%s is a program on the host, which only the Roadie Flatpak can run (through flatpak-spawn). Outside the Flatpak, use the path without “%s”."),
                   executable_path, ROADIE_HOST_PREFIX);
      return FALSE;
    }
  return TRUE;
}

/* port 0 means the listener is off and is always fine. */
static gboolean
check_port_free (int          port,
                 const char  *setting,
                 GError     **error)
{
  g_autofree char *holder = NULL;

  if (port <= 0 || roadie_port_is_free (port))
    return TRUE;
  holder = roadie_port_describe_holder (port);
  g_set_error (error, ROADIE_ERROR, ROADIE_ERROR_PORT_IN_USE,
               _("Port %d is already in use by %s. Stop that program or change %s; Roadie will not start a second server on it."),
               port, holder != NULL ? holder : _("another program"), setting);
  return FALSE;
}

static gboolean
preflight (RoadieSupervisor  *self,
           char             **out_executable,
           char             **out_reaper,
           GError           **error)
{
  g_autofree char *executable = roadie_supervisor_dup_executable_path (self);
  g_autofree char *working_dir = roadie_settings_get_string (self->settings, "working-dir");
  g_autofree char *reaper = roadie_paths_find_reaper ();
  int port = ws_port (self);

  if (executable == NULL)
    {
      g_set_error (error, ROADIE_ERROR, ROADIE_ERROR_HELPER_MISSING,
                   _("The bundled roadie-engine was not found next to Roadie. Reinstall Roadie, or choose another audio server (executable-path)."));
      return FALSE;
    }
  if (roadie_paths_is_host_executable (executable))
    {
      /* Its working folder is on the host too: not ours to look at. */
      if (!check_host_executable (executable, error))
        return FALSE;
    }
  else if (!check_executable (executable, error))
    return FALSE;
  else if (working_dir != NULL && working_dir[0] != '\0'
           && !g_file_test (working_dir, G_FILE_TEST_IS_DIR))
    {
      g_set_error (error, ROADIE_ERROR, ROADIE_ERROR_WORKING_DIR_MISSING,
                   _("The working folder %s does not exist. Create it or change the working-dir setting."),
                   working_dir);
      return FALSE;
    }
  if (reaper == NULL)
    {
      g_set_error (error, ROADIE_ERROR, ROADIE_ERROR_HELPER_MISSING,
                   _("Roadie’s helper roadie-reaper is missing from this installation. Reinstall Roadie."));
      return FALSE;
    }
  if (!check_port_free (port, "ws-port", error))
    return FALSE;
  /* The bundled engine also opens its browser and DJ ports; one taken
   * there would only become a crash loop. */
  if (uses_bundled_engine (self))
    {
      if (!check_port_free (roadie_settings_get_int (self->settings, "engine-browser-port"),
                            "engine-browser-port", error)
          || !check_port_free (roadie_settings_get_int (self->settings, "engine-dj-port"),
                               "engine-dj-port", error))
        return FALSE;
    }

  *out_executable = g_steal_pointer (&executable);
  *out_reaper = g_steal_pointer (&reaper);
  return TRUE;
}

/* ---- the log file ----------------------------------------------------- */

static void
note_log_result (RoadieSupervisor *self,
                 gboolean          ok,
                 GError           *error)
{
  if (ok)
    {
      if (self->log_error != NULL)
        {
          g_clear_pointer (&self->log_error, g_free);
          if (self->last_error != NULL && self->state != ROADIE_SUPERVISOR_STATE_FAILED)
            set_last_error (self, NULL);
          emit_changed (self);
        }
      return;
    }
  if (g_strcmp0 (self->log_error, error->message) == 0)
    return;
  g_free (self->log_error);
  self->log_error = g_strdup (error->message);
  ROADIE_WARN ("%s", error->message);
  set_last_error (self, error->message);
  emit_changed (self);
}

static void
update_log_writer (RoadieSupervisor *self)
{
  g_autofree char *path = roadie_settings_dup_log_file (self->settings);
  gint64 max_bytes = roadie_settings_get_int64 (self->settings, "log-max-bytes");
  guint backups = roadie_settings_get_int (self->settings, "log-backups");

  if (self->log == NULL || g_strcmp0 (roadie_log_writer_get_path (self->log), path) != 0)
    {
      if (self->log != NULL)
        roadie_log_writer_close (self->log);
      g_clear_object (&self->log);
      self->log = roadie_log_writer_new (path, max_bytes, backups);
    }
  else
    roadie_log_writer_set_limits (self->log, max_bytes, backups);
}

const char *
roadie_supervisor_get_log_path (RoadieSupervisor *self)
{
  g_return_val_if_fail (ROADIE_IS_SUPERVISOR (self), NULL);

  if (self->log == NULL)
    update_log_writer (self);
  return roadie_log_writer_get_path (self->log);
}

static void
on_output_line (Child           *child,
                const char      *line,
                gulong           len,
                RoadieLogStream  stream)
{
  RoadieSupervisor *self = child->self;
  g_autoptr(GError) error = NULL;
  gboolean ok;

  ok = roadie_log_writer_write_line (self->log, stream, line, len, &error);
  note_log_result (self, ok, error);
  if (stream == ROADIE_LOG_STREAM_STDERR)
    {
      g_free (child->last_stderr);
      child->last_stderr = g_strndup (line, MIN (len, 512));
    }
  g_signal_emit (self, signals[OUTPUT_LINE], 0, stream, line);
}

static void
on_stdout_line (RoadieOutputReader *reader,
                const char         *line,
                gulong              len,
                gpointer            user_data)
{
  on_output_line (user_data, line, len, ROADIE_LOG_STREAM_STDOUT);
}

static void
on_stderr_line (RoadieOutputReader *reader,
                const char         *line,
                gulong              len,
                gpointer            user_data)
{
  on_output_line (user_data, line, len, ROADIE_LOG_STREAM_STDERR);
}

/* ---- readiness and health --------------------------------------------- */

static void
on_stable (gpointer user_data)
{
  RoadieSupervisor *self = user_data;

  /* Up long enough: the next crash starts the delay schedule afresh. */
  self->stable_id = 0;
  self->backoff_attempt = 0;
}

static void
become_running (RoadieSupervisor *self)
{
  int interval = roadie_settings_get_int (self->settings, "health-check-interval");
  int stable_ms = roadie_settings_get_int (self->settings, "stable-uptime-ms");

  g_clear_handle_id (&self->ready_poll_id, g_source_remove);
  self->ready_us = g_get_monotonic_time ();
  self->is_healthy = TRUE;
  self->health_failures = 0;
  if (self->last_error != NULL && self->log_error == NULL)
    set_last_error (self, NULL);
  ROADIE_INFO ("✓ Audio server started successfully");
  ROADIE_INFO ("Starting audio server health monitoring (interval: %dms)", interval);
  ROADIE_INFO ("✓ Audio server ready");
  set_state (self, ROADIE_SUPERVISOR_STATE_RUNNING);
  g_clear_handle_id (&self->stable_id, g_source_remove);
  self->stable_id = g_timeout_add_once (stable_ms, on_stable, self);
  schedule_health (self);
  emit_changed (self);
}

static void schedule_ready_poll (RoadieSupervisor *self);

static void
on_ready_probe (GObject      *source,
                GAsyncResult *result,
                gpointer      user_data)
{
  RoadieSupervisor *self = user_data;
  g_autoptr(GError) error = NULL;
  gint64 elapsed_ms;
  int timeout_ms;

  if (roadie_ws_probe_finish (result, &error))
    {
      if (self->state == ROADIE_SUPERVISOR_STATE_STARTING)
        become_running (self);
      g_object_unref (self);
      return;
    }
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED)
      || self->state != ROADIE_SUPERVISOR_STATE_STARTING || self->child == NULL)
    {
      g_object_unref (self);
      return;
    }

  timeout_ms = roadie_settings_get_int (self->settings, "startup-timeout-ms");
  elapsed_ms = (g_get_monotonic_time () - self->child->spawned_us) / 1000;
  if (elapsed_ms >= timeout_ms)
    {
      g_autofree char *message =
        g_strdup_printf (_("The audio server did not accept a WebSocket connection on port %d within %d ms. Check that it listens on ws-port, or raise startup-timeout-ms."),
                         ws_port (self), timeout_ms);

      ROADIE_WARN ("Audio server did not become ready within %dms", timeout_ms);
      set_last_error (self, message);
      begin_termination (self, TERMINATION_NOT_READY);
    }
  else
    schedule_ready_poll (self);
  g_object_unref (self);
}

static void
ready_poll (gpointer user_data)
{
  RoadieSupervisor *self = user_data;
  g_autofree char *url = probe_url (self);
  int timeout_ms = roadie_settings_get_int (self->settings, "health-check-timeout-ms");

  self->ready_poll_id = 0;
  roadie_ws_probe_async (self->session, url, timeout_ms, new_probe_cancellable (self),
                         on_ready_probe, g_object_ref (self));
}

static void
schedule_ready_poll (RoadieSupervisor *self)
{
  g_clear_handle_id (&self->ready_poll_id, g_source_remove);
  self->ready_poll_id = g_timeout_add_once (self->ready_poll_interval_ms, ready_poll, self);
  self->ready_poll_interval_ms = MIN (self->ready_poll_interval_ms * 3 / 2 + 1, READY_POLL_MAX_MS);
}

static void
health_failed (RoadieSupervisor *self,
               const char       *why)
{
  int threshold = roadie_settings_get_int (self->settings, "health-failure-threshold");
  gboolean was_healthy = self->is_healthy;

  self->health_failures++;
  self->is_healthy = FALSE;
  g_debug ("Audio server health check failed (%u/%d): %s", self->health_failures, threshold, why);

  if ((int) self->health_failures < threshold)
    {
      if (was_healthy)
        emit_changed (self);
      schedule_health (self);
      return;
    }

  if (self->state == ROADIE_SUPERVISOR_STATE_ATTACHED)
    {
      g_autofree char *message =
        g_strdup_printf (_("The audio server Roadie was watching on port %d stopped answering."), ws_port (self));

      cancel_monitoring (self);
      set_last_error (self, message);
      ROADIE_WARN ("%s", message);
      set_state (self, ROADIE_SUPERVISOR_STATE_STOPPED);
      emit_changed (self);
      if (roadie_settings_get_boolean (self->settings, "auto-restart"))
        roadie_supervisor_start (self, NULL);
      return;
    }

  {
    g_autofree char *message =
      g_strdup_printf (ngettext ("The audio server stopped answering on port %d (%u health check failed).",
                                 "The audio server stopped answering on port %d (%u health checks failed in a row).",
                                 self->health_failures),
                       ws_port (self), self->health_failures);
    set_last_error (self, message);
  }
  if (!roadie_settings_get_boolean (self->settings, "auto-restart"))
    {
      /* Nothing to do but say so and keep checking: it may recover. */
      set_state (self, ROADIE_SUPERVISOR_STATE_UNHEALTHY);
      emit_changed (self);
      schedule_health (self);
      return;
    }
  ROADIE_WARN ("Audio server health check failed, attempting restart...");
  set_state (self, ROADIE_SUPERVISOR_STATE_UNHEALTHY);
  begin_termination (self, TERMINATION_UNHEALTHY);
}

static void
on_health_probe (GObject      *source,
                 GAsyncResult *result,
                 gpointer      user_data)
{
  RoadieSupervisor *self = user_data;
  g_autoptr(GError) error = NULL;
  gboolean ok = roadie_ws_probe_finish (result, &error);

  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED)
      || (self->state != ROADIE_SUPERVISOR_STATE_RUNNING
          && self->state != ROADIE_SUPERVISOR_STATE_UNHEALTHY
          && self->state != ROADIE_SUPERVISOR_STATE_ATTACHED))
    {
      g_object_unref (self);
      return;
    }

  if (ok)
    {
      gboolean changed = !self->is_healthy;

      g_debug ("Audio server health check passed");
      self->health_failures = 0;
      self->is_healthy = TRUE;
      if (self->state == ROADIE_SUPERVISOR_STATE_UNHEALTHY)
        {
          set_state (self, ROADIE_SUPERVISOR_STATE_RUNNING);
          set_last_error (self, NULL);
          changed = TRUE;
        }
      if (changed)
        emit_changed (self);
      schedule_health (self);
    }
  else
    health_failed (self, error->message);
  g_object_unref (self);
}

static void
health_check (gpointer user_data)
{
  RoadieSupervisor *self = user_data;
  g_autofree char *url = probe_url (self);
  int timeout_ms = roadie_settings_get_int (self->settings, "health-check-timeout-ms");

  self->health_id = 0;
  roadie_ws_probe_async (self->session, url, timeout_ms, new_probe_cancellable (self),
                         on_health_probe, g_object_ref (self));
}

/* The interval is read each time, so a changed setting takes effect at the
 * next check without restarting anything. */
static void
schedule_health (RoadieSupervisor *self)
{
  int interval = roadie_settings_get_int (self->settings, "health-check-interval");

  g_clear_handle_id (&self->health_id, g_source_remove);
  self->health_id = g_timeout_add_once (interval, health_check, self);
}

/* ---- exits, crashes and restarts ---------------------------------------- */

static void
on_restart_due (gpointer user_data)
{
  RoadieSupervisor *self = user_data;

  self->restart_id = 0;
  self->restart_due_us = 0;
  if (self->child != NULL)
    {
      /* The reaper is still cleaning up after the old server. */
      self->spawn_when_reaped = TRUE;
      return;
    }
  relaunch (self);
}

/* The server is gone without being asked to go: decide what comes next. */
static void
handle_server_gone (RoadieSupervisor *self)
{
  gint64 now = g_get_monotonic_time ();
  gint64 window_ms = roadie_settings_get_int (self->settings, "restart-window-ms");
  guint max_restarts = roadie_settings_get_int (self->settings, "max-restarts");
  RoadieBackoffPolicy policy;
  guint delay_ms;

  cancel_monitoring (self);
  self->is_healthy = FALSE;

  if (!roadie_settings_get_boolean (self->settings, "auto-restart"))
    {
      if (self->last_error == NULL)
        set_last_error (self, _("The audio server exited and auto-restart is off. Press Start to run it again."));
      ROADIE_WARN ("Audio server exited; auto-restart is off");
      set_state (self, ROADIE_SUPERVISOR_STATE_STOPPED);
      emit_changed (self);
      return;
    }

  if (self->child == NULL || self->child->termination == TERMINATION_NONE)
    ROADIE_WARN ("Audio server crashed, attempting auto-restart...");

  if (!roadie_restart_window_admit (self->restart_window, now, window_ms * 1000, max_restarts))
    {
      g_autofree char *message =
        g_strdup_printf ("Audio server has crashed %u times within %" G_GINT64_FORMAT "s, giving up",
                         roadie_restart_window_count (self->restart_window, now, window_ms * 1000),
                         window_ms / 1000);
      guint crashes = roadie_restart_window_count (self->restart_window, now, window_ms * 1000);
      g_autofree char *user_message =
        g_strdup_printf (ngettext ("The audio server crashed %u time within %u s. Roadie gave up restarting it: look at the log, fix the cause, then press Start.",
                                   "The audio server crashed %u times within %u s. Roadie gave up restarting it: look at the log, fix the cause, then press Start.",
                                   crashes),
                         crashes, (guint) (window_ms / 1000));

      ROADIE_ERROR_LOG ("%s", message);
      set_last_error (self, user_message);
      set_state (self, ROADIE_SUPERVISOR_STATE_FAILED);
      emit_changed (self);
      g_signal_emit (self, signals[GAVE_UP], 0, user_message);
      return;
    }

  policy.initial_ms = roadie_settings_get_int (self->settings, "restart-delay-ms");
  policy.multiplier = roadie_settings_get_double (self->settings, "restart-delay-multiplier");
  policy.max_ms = roadie_settings_get_int (self->settings, "restart-delay-max-ms");
  policy.jitter = roadie_settings_get_double (self->settings, "restart-jitter");
  self->backoff_attempt++;
  delay_ms = roadie_backoff_delay_ms (&policy, self->backoff_attempt,
                                      self->random_func (self->random_data));

  ROADIE_INFO ("Restarting audio server (attempt %u/%u)...",
               roadie_restart_window_count (self->restart_window, now, window_ms * 1000),
               max_restarts);
  set_state (self, ROADIE_SUPERVISOR_STATE_BACKOFF);
  g_clear_handle_id (&self->restart_id, g_source_remove);
  self->restart_due_us = now + (gint64) delay_ms * 1000;
  self->restart_id = g_timeout_add_once (delay_ms, on_restart_due, self);
  emit_changed (self);
}

/* Called once per child, as early as we know the server is gone (pidfd),
 * or at the latest when the reaper exits. */
static void
child_server_gone (Child *child)
{
  RoadieSupervisor *self = child->self;

  if (child->exit_handled)
    return;
  child->exit_handled = TRUE;

  switch (child->termination)
    {
    case TERMINATION_STOP:
      break;   /* finished when the reaper is reaped */
    case TERMINATION_NONE:
    case TERMINATION_UNHEALTHY:
    case TERMINATION_NOT_READY:
      handle_server_gone (self);
      break;
    default:
      g_assert_not_reached ();
    }
}

static gboolean
on_pidfd_readable (int          fd,
                   GIOCondition condition,
                   gpointer     user_data)
{
  Child *child = user_data;

  child->pidfd_watch = 0;
  if (child->self->child == child)
    child_server_gone (child);
  return G_SOURCE_REMOVE;
}

static int
open_pidfd (GPid pid)
{
#ifdef SYS_pidfd_open
  return syscall (SYS_pidfd_open, pid, 0);
#else
  errno = ENOSYS;
  return -1;
#endif
}

static void
on_pid_read (GObject      *source,
             GAsyncResult *result,
             gpointer      user_data)
{
  Child *child = user_data;
  g_autoptr(GError) error = NULL;
  gsize n = 0;
  gint64 pid;

  if (!g_input_stream_read_all_finish (G_INPUT_STREAM (source), result, &n, &error))
    return;   /* cancelled: the child struct may be gone */

  child->pid_buffer[MIN (n, sizeof child->pid_buffer - 1)] = '\0';
  pid = g_ascii_strtoll (child->pid_buffer, NULL, 10);
  if (pid <= 0)
    return;
  child->server_pid = (GPid) pid;
  child->pidfd = open_pidfd (child->server_pid);
  if (child->pidfd >= 0)
    child->pidfd_watch = g_unix_fd_add (child->pidfd, G_IO_IN, on_pidfd_readable, child);
  emit_changed (child->self);
}

static void
record_exit (RoadieSupervisor *self,
             Child            *child)
{
  g_autoptr(GDateTime) now = g_date_time_new_now_utc ();
  g_autoptr(GError) error = NULL;
  GSubprocess *reaper = child->reaper;
  int code = -1;
  int signum = 0;
  gboolean ok;

  if (g_subprocess_get_if_exited (reaper))
    code = g_subprocess_get_exit_status (reaper);
  else if (g_subprocess_get_if_signaled (reaper))
    signum = g_subprocess_get_term_sig (reaper);

  self->has_last_exit = TRUE;
  self->last_exit_code = code;
  self->last_exit_signal = signum;
  g_clear_pointer (&self->last_exit_at, g_date_time_unref);
  self->last_exit_at = g_date_time_ref (now);

  ok = roadie_log_writer_write_exited (self->log, now, code, signum, &error);
  note_log_result (self, ok, error);

  if (signum != 0)
    g_debug ("Audio server exited (signal: %s)", roadie_signal_name (signum));
  else
    g_debug ("Audio server exited (code: %d)", code);
}

static void
on_reaper_exited (GObject      *source,
                  GAsyncResult *result,
                  gpointer      user_data)
{
  Child *child = user_data;
  RoadieSupervisor *self;
  g_autoptr(GError) error = NULL;
  gboolean exec_failed;

  if (!g_subprocess_wait_finish (G_SUBPROCESS (source), result, &error))
    return;   /* cancelled at dispose */

  self = child->self;
  g_object_ref (self);

  /* Everyone who held the pipes is gone: take the last lines first, so the
   * log reads in order. */
  if (child->out != NULL)
    roadie_output_reader_drain (child->out);
  if (child->err != NULL)
    roadie_output_reader_drain (child->err);

  record_exit (self, child);
  g_clear_handle_id (&self->kill_id, g_source_remove);
  g_clear_handle_id (&self->backstop_id, g_source_remove);

  /* 127 from the reaper: the server could not even be executed. Retrying
   * cannot help, so say why instead of looping. */
  exec_failed = g_subprocess_get_if_exited (child->reaper)
                && g_subprocess_get_exit_status (child->reaper) == 127
                && child->last_stderr != NULL
                && g_str_has_prefix (child->last_stderr, "roadie-reaper: cannot run");

  if (exec_failed && child->termination == TERMINATION_NONE && !child->exit_handled)
    {
      child->exit_handled = TRUE;
      cancel_monitoring (self);
      set_last_error (self, child->last_stderr + strlen ("roadie-reaper: "));
      set_state (self, ROADIE_SUPERVISOR_STATE_FAILED);
    }
  else
    child_server_gone (child);

  if (self->child == child)
    self->child = NULL;
  child_free (child);

  if (self->state == ROADIE_SUPERVISOR_STATE_STOPPING)
    {
      set_state (self, ROADIE_SUPERVISOR_STATE_STOPPED);
      ROADIE_INFO ("Audio server stopped");
      complete_stop_tasks (self);
      if (self->start_after_stop)
        {
          g_autoptr(GError) start_error = NULL;

          self->start_after_stop = FALSE;
          if (!roadie_supervisor_start (self, &start_error))
            ROADIE_WARN ("%s", start_error->message);
        }
    }
  else if (self->spawn_when_reaped)
    {
      self->spawn_when_reaped = FALSE;
      relaunch (self);
    }
  else if (self->state != ROADIE_SUPERVISOR_STATE_BACKOFF)
    complete_stop_tasks (self);

  emit_changed (self);
  g_object_unref (self);
}

/* ---- spawning and stopping ---------------------------------------------- */

static gboolean
spawn_child (RoadieSupervisor  *self,
             const char        *executable,
             const char        *reaper,
             GError           **error)
{
  g_autoptr(GSubprocessLauncher) launcher = NULL;
  g_autoptr(GPtrArray) argv = g_ptr_array_new_with_free_func (g_free);
  g_auto(GStrv) arguments = roadie_settings_get_strv (self->settings, "arguments");
  g_autofree char *working_dir = roadie_settings_get_string (self->settings, "working-dir");
  const char *host_path = roadie_paths_host_executable (executable);
  g_autoptr(GDateTime) now = g_date_time_new_now_utc ();
  g_autoptr(GError) log_error = NULL;
  g_autoptr(GError) spawn_error = NULL;
  GSubprocess *subprocess;
  Child *child;
  int pid_pipe[2];
  gboolean ok;

  if (!g_unix_open_pipe (pid_pipe, FD_CLOEXEC, error))
    return FALSE;

  g_ptr_array_add (argv, g_strdup (reaper));
  g_ptr_array_add (argv, g_strdup ("--grace-ms"));
  g_ptr_array_add (argv, g_strdup_printf ("%d", roadie_settings_get_int (self->settings, "stop-timeout-ms")));
  g_ptr_array_add (argv, g_strdup ("--pid-fd"));
  g_ptr_array_add (argv, g_strdup ("3"));
  g_ptr_array_add (argv, g_strdup ("--"));
  if (host_path != NULL)
    {
      /* A program on the host: the reaper leashes flatpak-spawn, which
       * passes signals on and whose end (--watch-bus) ends the program. */
      g_auto(GStrv) host_command = roadie_paths_host_command (host_path, working_dir,
                                                              (const char * const *) arguments);

      for (guint i = 0; host_command[i] != NULL; i++)
        g_ptr_array_add (argv, g_strdup (host_command[i]));
    }
  else
    {
      g_ptr_array_add (argv, g_strdup (executable));
      if (uses_bundled_engine (self))
        {
          /* The bundled engine takes its connectivity settings as options;
           * the DJ's own arguments come after them and so still win. */
          g_auto(GStrv) engine_args = roadie_engine_args_from_settings (self->settings);

          for (guint i = 0; engine_args[i] != NULL; i++)
            g_ptr_array_add (argv, g_strdup (engine_args[i]));
        }
      for (guint i = 0; arguments != NULL && arguments[i] != NULL; i++)
        g_ptr_array_add (argv, g_strdup (arguments[i]));
    }
  g_ptr_array_add (argv, NULL);

  launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE | G_SUBPROCESS_FLAGS_STDERR_PIPE);
  g_subprocess_launcher_set_stdin_file_path (launcher, "/dev/null");
  /* A host program's working folder is passed to flatpak-spawn instead. */
  if (host_path == NULL && working_dir != NULL && working_dir[0] != '\0')
    g_subprocess_launcher_set_cwd (launcher, working_dir);
  g_subprocess_launcher_take_fd (launcher, pid_pipe[1], 3);

  update_log_writer (self);
  ok = roadie_log_writer_write_started (self->log, now, &log_error);
  note_log_result (self, ok, log_error);

  subprocess = g_subprocess_launcher_spawnv (launcher, (const char * const *) argv->pdata, &spawn_error);
  /* Closes our copy of the pipe's write end, so EOF follows the pid. */
  g_clear_object (&launcher);
  if (subprocess == NULL)
    {
      close (pid_pipe[0]);
      g_set_error (error, ROADIE_ERROR, ROADIE_ERROR_SPAWN_FAILED,
                   _("Could not start %s: %s"), executable, spawn_error->message);
      return FALSE;
    }

  child = g_new0 (Child, 1);
  child->self = self;
  child->reaper = subprocess;
  child->cancellable = g_cancellable_new ();
  child->pidfd = -1;
  child->spawned_us = g_get_monotonic_time ();
  child->out = roadie_output_reader_new (g_subprocess_get_stdout_pipe (subprocess));
  child->err = roadie_output_reader_new (g_subprocess_get_stderr_pipe (subprocess));
  g_signal_connect (child->out, "line", G_CALLBACK (on_stdout_line), child);
  g_signal_connect (child->err, "line", G_CALLBACK (on_stderr_line), child);
  child->pid_stream = g_unix_input_stream_new (pid_pipe[0], TRUE);
  g_input_stream_read_all_async (child->pid_stream, child->pid_buffer, sizeof child->pid_buffer - 1,
                                 G_PRIORITY_HIGH, child->cancellable, on_pid_read, child);
  g_subprocess_wait_async (subprocess, child->cancellable, on_reaper_exited, child);
  self->child = child;
  return TRUE;
}

/* Pre-flight checks, then the spawn; the caller decides what a failure means. */
static gboolean
launch (RoadieSupervisor  *self,
        GError           **error)
{
  g_autofree char *executable = NULL;
  g_autofree char *reaper = NULL;

  if (!preflight (self, &executable, &reaper, error))
    return FALSE;
  ROADIE_INFO ("Starting audio server: %s", executable);
  if (!spawn_child (self, executable, reaper, error))
    return FALSE;

  ROADIE_INFO ("Waiting for audio server to be ready...");
  self->is_healthy = FALSE;
  self->ready_us = 0;
  set_state (self, ROADIE_SUPERVISOR_STATE_STARTING);
  self->ready_poll_interval_ms = READY_POLL_FIRST_MS;
  ready_poll (self);
  emit_changed (self);
  return TRUE;
}

/* An automatic (re)start: one that cannot even begin needs the DJ, not
 * another loop. */
static void
relaunch (RoadieSupervisor *self)
{
  g_autoptr(GError) error = NULL;

  if (launch (self, &error))
    return;
  ROADIE_WARN ("%s", error->message);
  set_last_error (self, error->message);
  set_state (self, ROADIE_SUPERVISOR_STATE_FAILED);
  emit_changed (self);
}

static void
on_stop_backstop (gpointer user_data)
{
  RoadieSupervisor *self = user_data;

  /* The reaper itself did not finish in time: nothing else is left to ask. */
  self->backstop_id = 0;
  if (self->child != NULL)
    {
      if (self->child->server_pid > 0)
        kill (-self->child->server_pid, SIGKILL);
      g_subprocess_force_exit (self->child->reaper);
    }
}

static void
on_stop_timeout (gpointer user_data)
{
  RoadieSupervisor *self = user_data;

  /* The reaper kills the whole tree at the same deadline; this is the same
   * blow from our side, in case the reaper is slow to get to it. */
  self->kill_id = 0;
  if (self->child != NULL && self->child->server_pid > 0)
    kill (-self->child->server_pid, SIGKILL);
  self->backstop_id = g_timeout_add_once (STOP_BACKSTOP_MS, on_stop_backstop, self);
}

static void
begin_termination (RoadieSupervisor *self,
                   Termination       why)
{
  Child *child = self->child;

  cancel_monitoring (self);
  if (child == NULL)
    return;
  if (child->termination == TERMINATION_NONE || why == TERMINATION_STOP)
    child->termination = why;
  if (self->kill_id != 0 || self->backstop_id != 0)
    return;   /* already on its way out */
  g_subprocess_send_signal (child->reaper, SIGTERM);
  self->kill_id = g_timeout_add_once (roadie_settings_get_int (self->settings, "stop-timeout-ms"),
                                      on_stop_timeout, self);
}

/* ---- public API --------------------------------------------------------- */

gboolean
roadie_supervisor_start (RoadieSupervisor  *self,
                         GError           **error)
{
  g_autoptr(GError) local_error = NULL;

  g_return_val_if_fail (ROADIE_IS_SUPERVISOR (self), FALSE);

  switch (self->state)
    {
    case ROADIE_SUPERVISOR_STATE_STARTING:
    case ROADIE_SUPERVISOR_STATE_RUNNING:
    case ROADIE_SUPERVISOR_STATE_UNHEALTHY:
    case ROADIE_SUPERVISOR_STATE_ATTACHED:
      return TRUE;
    case ROADIE_SUPERVISOR_STATE_STOPPING:
      self->start_after_stop = TRUE;
      return TRUE;
    case ROADIE_SUPERVISOR_STATE_BACKOFF:
      g_clear_handle_id (&self->restart_id, g_source_remove);
      self->restart_due_us = 0;
      break;
    case ROADIE_SUPERVISOR_STATE_FAILED:
    case ROADIE_SUPERVISOR_STATE_STOPPED:
      /* A start by hand clears the slate. */
      roadie_restart_window_reset (self->restart_window);
      self->backoff_attempt = 0;
      break;
    default:
      g_assert_not_reached ();
    }

  if (self->child != NULL)
    {
      /* The old server's tree is still being cleaned up. */
      self->spawn_when_reaped = TRUE;
      set_state (self, ROADIE_SUPERVISOR_STATE_STARTING);
      emit_changed (self);
      return TRUE;
    }

  set_last_error (self, self->log_error);
  if (!launch (self, &local_error))
    {
      ROADIE_WARN ("%s", local_error->message);
      set_last_error (self, local_error->message);
      set_state (self, ROADIE_SUPERVISOR_STATE_STOPPED);
      emit_changed (self);
      g_propagate_error (error, g_steal_pointer (&local_error));
      return FALSE;
    }
  return TRUE;
}

gboolean
roadie_supervisor_stop (RoadieSupervisor  *self,
                        GError           **error)
{
  g_return_val_if_fail (ROADIE_IS_SUPERVISOR (self), FALSE);

  self->start_after_stop = FALSE;
  self->spawn_when_reaped = FALSE;

  switch (self->state)
    {
    case ROADIE_SUPERVISOR_STATE_ATTACHED:
      g_set_error (error, ROADIE_ERROR, ROADIE_ERROR_NOT_OWNED,
                   _("Roadie did not start the audio server on port %d, so it cannot stop it. Stop it where it was started."),
                   ws_port (self));
      return FALSE;
    case ROADIE_SUPERVISOR_STATE_STOPPED:
    case ROADIE_SUPERVISOR_STATE_FAILED:
    case ROADIE_SUPERVISOR_STATE_STOPPING:
      return TRUE;
    case ROADIE_SUPERVISOR_STATE_BACKOFF:
      g_clear_handle_id (&self->restart_id, g_source_remove);
      self->restart_due_us = 0;
      break;
    case ROADIE_SUPERVISOR_STATE_STARTING:
    case ROADIE_SUPERVISOR_STATE_RUNNING:
    case ROADIE_SUPERVISOR_STATE_UNHEALTHY:
      break;
    default:
      g_assert_not_reached ();
    }

  ROADIE_INFO ("Stopping audio server...");
  cancel_monitoring (self);
  self->is_healthy = FALSE;
  if (self->child != NULL)
    {
      set_state (self, ROADIE_SUPERVISOR_STATE_STOPPING);
      begin_termination (self, TERMINATION_STOP);
    }
  else
    {
      set_state (self, ROADIE_SUPERVISOR_STATE_STOPPED);
      ROADIE_INFO ("Audio server stopped");
    }
  emit_changed (self);
  return TRUE;
}

gboolean
roadie_supervisor_restart (RoadieSupervisor  *self,
                           GError           **error)
{
  g_return_val_if_fail (ROADIE_IS_SUPERVISOR (self), FALSE);

  switch (self->state)
    {
    case ROADIE_SUPERVISOR_STATE_ATTACHED:
      return roadie_supervisor_stop (self, error);
    case ROADIE_SUPERVISOR_STATE_STARTING:
    case ROADIE_SUPERVISOR_STATE_RUNNING:
    case ROADIE_SUPERVISOR_STATE_UNHEALTHY:
      if (!roadie_supervisor_stop (self, error))
        return FALSE;
      self->start_after_stop = TRUE;
      return TRUE;
    case ROADIE_SUPERVISOR_STATE_STOPPING:
      self->start_after_stop = TRUE;
      return TRUE;
    case ROADIE_SUPERVISOR_STATE_BACKOFF:
    case ROADIE_SUPERVISOR_STATE_FAILED:
    case ROADIE_SUPERVISOR_STATE_STOPPED:
      return roadie_supervisor_start (self, error);
    default:
      g_assert_not_reached ();
    }
}

void
roadie_supervisor_stop_async (RoadieSupervisor    *self,
                              GCancellable        *cancellable,
                              GAsyncReadyCallback  callback,
                              gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;

  g_return_if_fail (ROADIE_IS_SUPERVISOR (self));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, roadie_supervisor_stop_async);

  if (self->state == ROADIE_SUPERVISOR_STATE_ATTACHED)
    {
      /* Not ours: quitting just stops watching it. */
      cancel_monitoring (self);
      set_state (self, ROADIE_SUPERVISOR_STATE_STOPPED);
      emit_changed (self);
    }
  else
    roadie_supervisor_stop (self, NULL);

  if (self->child == NULL)
    {
      g_task_return_boolean (task, TRUE);
      return;
    }
  g_ptr_array_add (self->stop_tasks, g_steal_pointer (&task));
}

gboolean
roadie_supervisor_stop_finish (RoadieSupervisor  *self,
                               GAsyncResult      *result,
                               GError           **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);

  return g_task_propagate_boolean (G_TASK (result), error);
}

static void
on_auto_start_probe (GObject      *source,
                     GAsyncResult *result,
                     gpointer      user_data)
{
  RoadieSupervisor *self = user_data;
  g_autoptr(GError) error = NULL;

  if (roadie_ws_probe_finish (result, &error))
    {
      if (self->state == ROADIE_SUPERVISOR_STATE_STOPPED && self->child == NULL)
        {
          ROADIE_INFO ("Audio server already running on port %d; watching it", ws_port (self));
          self->is_healthy = TRUE;
          self->ready_us = g_get_monotonic_time ();
          set_last_error (self, NULL);
          set_state (self, ROADIE_SUPERVISOR_STATE_ATTACHED);
          schedule_health (self);
          emit_changed (self);
        }
    }
  else if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED)
           && self->state == ROADIE_SUPERVISOR_STATE_STOPPED)
    {
      g_autoptr(GError) start_error = NULL;

      roadie_supervisor_start (self, &start_error);
    }
  g_object_unref (self);
}

void
roadie_supervisor_auto_start (RoadieSupervisor *self)
{
  g_autofree char *url = NULL;

  g_return_if_fail (ROADIE_IS_SUPERVISOR (self));

  if (!roadie_settings_get_boolean (self->settings, "auto-start")
      || self->state != ROADIE_SUPERVISOR_STATE_STOPPED)
    return;

  /* Nothing listening answers at once (refused); something that does
   * listen gets as long as a starting server would, not one health check. */
  url = probe_url (self);
  roadie_ws_probe_async (self->session, url,
                         roadie_settings_get_int (self->settings, "startup-timeout-ms"),
                         new_probe_cancellable (self), on_auto_start_probe, g_object_ref (self));
}

RoadieSupervisorState
roadie_supervisor_get_state (RoadieSupervisor *self)
{
  g_return_val_if_fail (ROADIE_IS_SUPERVISOR (self), ROADIE_SUPERVISOR_STATE_STOPPED);

  return self->state;
}

RoadieSettings *
roadie_supervisor_get_settings (RoadieSupervisor *self)
{
  g_return_val_if_fail (ROADIE_IS_SUPERVISOR (self), NULL);

  return self->settings;
}

GPid
roadie_supervisor_get_pid (RoadieSupervisor *self)
{
  g_return_val_if_fail (ROADIE_IS_SUPERVISOR (self), 0);

  if (self->child == NULL || self->child->exit_handled)
    return 0;
  return self->child->server_pid;
}

static gboolean
is_process_running (RoadieSupervisor *self)
{
  return self->child != NULL && !self->child->exit_handled;
}

gint64
roadie_supervisor_get_uptime_ms (RoadieSupervisor *self)
{
  g_return_val_if_fail (ROADIE_IS_SUPERVISOR (self), 0);

  if (self->state == ROADIE_SUPERVISOR_STATE_ATTACHED && self->ready_us > 0)
    return (g_get_monotonic_time () - self->ready_us) / 1000;
  if (!is_process_running (self))
    return 0;
  return (g_get_monotonic_time () - self->child->spawned_us) / 1000;
}

guint
roadie_supervisor_get_restart_count (RoadieSupervisor *self)
{
  gint64 window_ms;

  g_return_val_if_fail (ROADIE_IS_SUPERVISOR (self), 0);

  window_ms = roadie_settings_get_int (self->settings, "restart-window-ms");
  return roadie_restart_window_count (self->restart_window, g_get_monotonic_time (), window_ms * 1000);
}

guint
roadie_supervisor_get_max_restarts (RoadieSupervisor *self)
{
  g_return_val_if_fail (ROADIE_IS_SUPERVISOR (self), 0);

  return roadie_settings_get_int (self->settings, "max-restarts");
}

gint64
roadie_supervisor_get_next_restart_in_ms (RoadieSupervisor *self)
{
  g_return_val_if_fail (ROADIE_IS_SUPERVISOR (self), -1);

  if (self->state != ROADIE_SUPERVISOR_STATE_BACKOFF || self->restart_due_us == 0)
    return -1;
  return MAX (0, (self->restart_due_us - g_get_monotonic_time () + 999) / 1000);
}

gboolean
roadie_supervisor_get_last_exit (RoadieSupervisor  *self,
                                 int               *code,
                                 int               *signum,
                                 GDateTime        **at)
{
  g_return_val_if_fail (ROADIE_IS_SUPERVISOR (self), FALSE);

  if (!self->has_last_exit)
    return FALSE;
  if (code != NULL)
    *code = self->last_exit_code;
  if (signum != NULL)
    *signum = self->last_exit_signal;
  if (at != NULL)
    *at = self->last_exit_at;
  return TRUE;
}

const char *
roadie_supervisor_get_last_error (RoadieSupervisor *self)
{
  g_return_val_if_fail (ROADIE_IS_SUPERVISOR (self), NULL);

  return self->last_error;
}

gboolean
roadie_supervisor_get_is_healthy (RoadieSupervisor *self)
{
  g_return_val_if_fail (ROADIE_IS_SUPERVISOR (self), FALSE);

  return self->is_healthy;
}

JsonNode *
roadie_supervisor_build_status (RoadieSupervisor *self)
{
  g_autoptr(JsonBuilder) builder = json_builder_new ();
  g_autofree char *http_url = NULL;
  g_autofree char *http_port = NULL;
  g_autofree char *ws_port_text = NULL;
  g_autofree char *executable = NULL;
  gint64 next_restart;
  GPid pid;

  g_return_val_if_fail (ROADIE_IS_SUPERVISOR (self), NULL);

  http_url = roadie_settings_get_string (self->settings, "http-url");
  http_port = g_strdup_printf ("%d", roadie_settings_get_int (self->settings, "http-port"));
  ws_port_text = g_strdup_printf ("%d", ws_port (self));
  executable = roadie_supervisor_dup_executable_path (self);
  if (executable == NULL)
    executable = roadie_settings_get_string (self->settings, "executable-path");
  pid = roadie_supervisor_get_pid (self);
  next_restart = roadie_supervisor_get_next_restart_in_ms (self);

  json_builder_begin_object (builder);
  /* The seed's fields, as the seed spells them. */
  json_builder_set_member_name (builder, "httpUrl");
  json_builder_add_string_value (builder, http_url);
  json_builder_set_member_name (builder, "httpPort");
  json_builder_add_string_value (builder, http_port);
  json_builder_set_member_name (builder, "wsPort");
  json_builder_add_string_value (builder, ws_port_text);
  json_builder_set_member_name (builder, "executablePath");
  json_builder_add_string_value (builder, executable);
  json_builder_set_member_name (builder, "isHealthy");
  json_builder_add_boolean_value (builder, self->is_healthy);
  json_builder_set_member_name (builder, "isProcessRunning");
  json_builder_add_boolean_value (builder, is_process_running (self));
  json_builder_set_member_name (builder, "isReady");
  json_builder_add_boolean_value (builder, self->state == ROADIE_SUPERVISOR_STATE_RUNNING
                                           || self->state == ROADIE_SUPERVISOR_STATE_ATTACHED);
  json_builder_set_member_name (builder, "autoStart");
  json_builder_add_boolean_value (builder, roadie_settings_get_boolean (self->settings, "auto-start"));
  json_builder_set_member_name (builder, "autoRestart");
  json_builder_add_boolean_value (builder, roadie_settings_get_boolean (self->settings, "auto-restart"));
  json_builder_set_member_name (builder, "pid");
  if (pid > 0)
    json_builder_add_int_value (builder, pid);
  else
    json_builder_add_null_value (builder);
  json_builder_set_member_name (builder, "restartCount");
  json_builder_add_int_value (builder, roadie_supervisor_get_restart_count (self));
  json_builder_set_member_name (builder, "maxRestarts");
  json_builder_add_int_value (builder, roadie_supervisor_get_max_restarts (self));
  json_builder_set_member_name (builder, "healthMonitoring");
  json_builder_add_boolean_value (builder, self->health_id != 0
                                           || (self->probe_cancellable != NULL
                                               && (self->state == ROADIE_SUPERVISOR_STATE_RUNNING
                                                   || self->state == ROADIE_SUPERVISOR_STATE_UNHEALTHY
                                                   || self->state == ROADIE_SUPERVISOR_STATE_ATTACHED)));

  /* Roadie's own. */
  json_builder_set_member_name (builder, "state");
  json_builder_add_string_value (builder, roadie_supervisor_state_to_string (self->state));
  json_builder_set_member_name (builder, "uptimeMs");
  json_builder_add_int_value (builder, roadie_supervisor_get_uptime_ms (self));
  json_builder_set_member_name (builder, "lastExit");
  if (self->has_last_exit)
    {
      g_autofree char *at = roadie_format_iso8601_ms (self->last_exit_at);

      json_builder_begin_object (builder);
      json_builder_set_member_name (builder, "code");
      if (self->last_exit_code >= 0)
        json_builder_add_int_value (builder, self->last_exit_code);
      else
        json_builder_add_null_value (builder);
      json_builder_set_member_name (builder, "signal");
      if (self->last_exit_signal != 0)
        json_builder_add_string_value (builder, roadie_signal_name (self->last_exit_signal));
      else
        json_builder_add_null_value (builder);
      json_builder_set_member_name (builder, "at");
      json_builder_add_string_value (builder, at);
      json_builder_end_object (builder);
    }
  else
    json_builder_add_null_value (builder);
  json_builder_set_member_name (builder, "nextRestartInMs");
  if (next_restart >= 0)
    json_builder_add_int_value (builder, next_restart);
  else
    json_builder_add_null_value (builder);
  json_builder_set_member_name (builder, "restartWindowMs");
  json_builder_add_int_value (builder, roadie_settings_get_int (self->settings, "restart-window-ms"));
  json_builder_set_member_name (builder, "lastError");
  if (self->last_error != NULL)
    json_builder_add_string_value (builder, self->last_error);
  else
    json_builder_add_null_value (builder);
  json_builder_end_object (builder);

  return json_builder_get_root (builder);
}

/* ---- GObject ------------------------------------------------------------ */

static void
on_log_settings_changed (RoadieSettings *settings,
                         const char     *key,
                         gpointer        user_data)
{
  RoadieSupervisor *self = user_data;

  if (g_str_has_prefix (key, "log-"))
    update_log_writer (self);
}

static void
roadie_supervisor_constructed (GObject *object)
{
  RoadieSupervisor *self = ROADIE_SUPERVISOR (object);

  G_OBJECT_CLASS (roadie_supervisor_parent_class)->constructed (object);

  g_signal_connect_object (self->settings, "changed", G_CALLBACK (on_log_settings_changed),
                           self, G_CONNECT_DEFAULT);
  update_log_writer (self);
}

static void
roadie_supervisor_dispose (GObject *object)
{
  RoadieSupervisor *self = ROADIE_SUPERVISOR (object);

  cancel_monitoring (self);
  g_clear_handle_id (&self->restart_id, g_source_remove);
  g_clear_handle_id (&self->kill_id, g_source_remove);
  g_clear_handle_id (&self->backstop_id, g_source_remove);
  if (self->child != NULL)
    {
      /* Nobody waited for a graceful stop: the reaper still ends the tree,
       * with its grace period, after we are gone. */
      g_subprocess_send_signal (self->child->reaper, SIGTERM);
      g_clear_pointer (&self->child, child_free);
    }
  if (self->stop_tasks != NULL)
    complete_stop_tasks (self);
  if (self->log != NULL)
    roadie_log_writer_close (self->log);
  g_clear_object (&self->log);
  g_clear_object (&self->session);
  g_clear_object (&self->settings);

  G_OBJECT_CLASS (roadie_supervisor_parent_class)->dispose (object);
}

static void
roadie_supervisor_finalize (GObject *object)
{
  RoadieSupervisor *self = ROADIE_SUPERVISOR (object);

  g_clear_pointer (&self->restart_window, roadie_restart_window_free);
  g_clear_pointer (&self->last_exit_at, g_date_time_unref);
  g_clear_pointer (&self->stop_tasks, g_ptr_array_unref);
  g_free (self->last_error);
  g_free (self->log_error);

  G_OBJECT_CLASS (roadie_supervisor_parent_class)->finalize (object);
}

static void
roadie_supervisor_get_property (GObject    *object,
                                guint       prop_id,
                                GValue     *value,
                                GParamSpec *pspec)
{
  RoadieSupervisor *self = ROADIE_SUPERVISOR (object);

  switch (prop_id)
    {
    case PROP_SETTINGS:
      g_value_set_object (value, self->settings);
      break;
    case PROP_STATE:
      g_value_set_enum (value, self->state);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
roadie_supervisor_set_property (GObject      *object,
                                guint         prop_id,
                                const GValue *value,
                                GParamSpec   *pspec)
{
  RoadieSupervisor *self = ROADIE_SUPERVISOR (object);

  switch (prop_id)
    {
    case PROP_SETTINGS:
      self->settings = g_value_dup_object (value);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
roadie_supervisor_class_init (RoadieSupervisorClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->constructed = roadie_supervisor_constructed;
  object_class->dispose = roadie_supervisor_dispose;
  object_class->finalize = roadie_supervisor_finalize;
  object_class->get_property = roadie_supervisor_get_property;
  object_class->set_property = roadie_supervisor_set_property;

  properties[PROP_SETTINGS] =
    g_param_spec_object ("settings", NULL, NULL, ROADIE_TYPE_SETTINGS,
                         G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);
  properties[PROP_STATE] =
    g_param_spec_enum ("state", NULL, NULL, ROADIE_TYPE_SUPERVISOR_STATE,
                       ROADIE_SUPERVISOR_STATE_STOPPED,
                       G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  signals[CHANGED] = g_signal_new ("changed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                                   0, NULL, NULL, NULL, G_TYPE_NONE, 0);
  signals[OUTPUT_LINE] = g_signal_new ("output-line", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                                       0, NULL, NULL, NULL, G_TYPE_NONE, 2,
                                       G_TYPE_INT, G_TYPE_STRING | G_SIGNAL_TYPE_STATIC_SCOPE);
  signals[GAVE_UP] = g_signal_new ("gave-up", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                                   0, NULL, NULL, NULL, G_TYPE_NONE, 1, G_TYPE_STRING);
}

static void
roadie_supervisor_init (RoadieSupervisor *self)
{
  self->state = ROADIE_SUPERVISOR_STATE_STOPPED;
  self->restart_window = roadie_restart_window_new ();
  self->random_func = roadie_random_default;
  self->stop_tasks = g_ptr_array_new_with_free_func (g_object_unref);
  self->session = soup_session_new ();
  /* Health checks go straight to loopback, never through a proxy. */
  soup_session_set_proxy_resolver (self->session, NULL);
}

RoadieSupervisor *
roadie_supervisor_new (RoadieSettings *settings)
{
  g_return_val_if_fail (ROADIE_IS_SETTINGS (settings), NULL);

  return g_object_new (ROADIE_TYPE_SUPERVISOR, "settings", settings, NULL);
}
