/* roadie-service.c: what Roadie runs, with or without a window.
 *
 * Small on purpose: it wires the settings, the supervisor and the control
 * API together, and owns the order of start-up and shut-down.
 */
#include "config.h"

#include "roadie-control-token.h"
#include "roadie-error.h"
#include "roadie-service.h"

struct _RoadieService
{
  GObject           parent_instance;

  GSettings        *gsettings;
  RoadieSettings   *settings;
  RoadieSupervisor *supervisor;
  RoadieControlApi *control_api;
  char             *control_api_problem;

  guint             started : 1;
  guint             shutting_down : 1;
  guint             shut_down : 1;
};

G_DEFINE_FINAL_TYPE (RoadieService, roadie_service, G_TYPE_OBJECT)

enum {
  PROP_0,
  PROP_GSETTINGS,
  PROP_CONTROL_API_PROBLEM,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

static void
roadie_service_constructed (GObject *object)
{
  RoadieService *self = ROADIE_SERVICE (object);
  g_auto(GStrv) environ = g_get_environ ();

  G_OBJECT_CLASS (roadie_service_parent_class)->constructed (object);

  g_assert (self->gsettings != NULL);
  self->settings = roadie_settings_new (self->gsettings, (const char * const *) environ);
  self->supervisor = roadie_supervisor_new (self->settings);
}

static void
roadie_service_dispose (GObject *object)
{
  RoadieService *self = ROADIE_SERVICE (object);

  if (self->control_api != NULL)
    roadie_control_api_shutdown (self->control_api);
  g_clear_object (&self->control_api);
  g_clear_object (&self->supervisor);
  g_clear_object (&self->settings);
  g_clear_object (&self->gsettings);

  G_OBJECT_CLASS (roadie_service_parent_class)->dispose (object);
}

static void
roadie_service_finalize (GObject *object)
{
  RoadieService *self = ROADIE_SERVICE (object);

  g_clear_pointer (&self->control_api_problem, g_free);

  G_OBJECT_CLASS (roadie_service_parent_class)->finalize (object);
}

static void
roadie_service_get_property (GObject    *object,
                             guint       prop_id,
                             GValue     *value,
                             GParamSpec *pspec)
{
  RoadieService *self = ROADIE_SERVICE (object);

  switch (prop_id)
    {
    case PROP_GSETTINGS:
      g_value_set_object (value, self->gsettings);
      break;

    case PROP_CONTROL_API_PROBLEM:
      g_value_set_string (value, self->control_api_problem);
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
roadie_service_set_property (GObject      *object,
                             guint         prop_id,
                             const GValue *value,
                             GParamSpec   *pspec)
{
  RoadieService *self = ROADIE_SERVICE (object);

  switch (prop_id)
    {
    case PROP_GSETTINGS:
      self->gsettings = g_value_dup_object (value);
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
roadie_service_class_init (RoadieServiceClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->constructed = roadie_service_constructed;
  object_class->dispose = roadie_service_dispose;
  object_class->finalize = roadie_service_finalize;
  object_class->get_property = roadie_service_get_property;
  object_class->set_property = roadie_service_set_property;

  properties[PROP_GSETTINGS] =
    g_param_spec_object ("gsettings", NULL, NULL,
                         G_TYPE_SETTINGS,
                         (G_PARAM_READWRITE |
                          G_PARAM_CONSTRUCT_ONLY |
                          G_PARAM_STATIC_STRINGS));

  properties[PROP_CONTROL_API_PROBLEM] =
    g_param_spec_string ("control-api-problem", NULL, NULL,
                         NULL,
                         (G_PARAM_READABLE |
                          G_PARAM_EXPLICIT_NOTIFY |
                          G_PARAM_STATIC_STRINGS));

  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
roadie_service_init (RoadieService *self)
{
}

RoadieService *
roadie_service_new (GSettings *settings)
{
  g_return_val_if_fail (G_IS_SETTINGS (settings), NULL);

  return g_object_new (ROADIE_TYPE_SERVICE,
                       "gsettings", settings,
                       NULL);
}

RoadieSettings *
roadie_service_get_settings (RoadieService *self)
{
  g_return_val_if_fail (ROADIE_IS_SERVICE (self), NULL);

  return self->settings;
}

RoadieSupervisor *
roadie_service_get_supervisor (RoadieService *self)
{
  g_return_val_if_fail (ROADIE_IS_SERVICE (self), NULL);

  return self->supervisor;
}

RoadieControlApi *
roadie_service_get_control_api (RoadieService *self)
{
  g_return_val_if_fail (ROADIE_IS_SERVICE (self), NULL);

  return self->control_api;
}

const char *
roadie_service_get_control_api_problem (RoadieService *self)
{
  g_return_val_if_fail (ROADIE_IS_SERVICE (self), NULL);

  return self->control_api_problem;
}

static void
set_control_api_problem (RoadieService *self,
                         const char    *message)
{
  /* Roadie goes on without the API; the window shows why. */
  g_warning ("%s", message);
  if (g_strcmp0 (self->control_api_problem, message) == 0)
    return;
  g_free (self->control_api_problem);
  self->control_api_problem = g_strdup (message);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_CONTROL_API_PROBLEM]);
}

static void
start_control_api (RoadieService *self)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(RoadieControlApi) api = NULL;
  g_autofree char *token = NULL;
  int port;

  if (!roadie_settings_get_boolean (self->settings, "control-api-enabled"))
    return;

  token = roadie_control_token_load_or_create (NULL, &error);
  if (token == NULL)
    {
      set_control_api_problem (self, error->message);
      return;
    }

  port = roadie_settings_get_int (self->settings, "control-api-port");
  api = roadie_control_api_new (self->supervisor, token);
  if (!roadie_control_api_listen (api, (guint) port, &error))
    {
      set_control_api_problem (self, error->message);
      return;
    }

  self->control_api = g_steal_pointer (&api);
}

void
roadie_service_startup (RoadieService *self)
{
  g_return_if_fail (ROADIE_IS_SERVICE (self));
  g_return_if_fail (!self->started);

  self->started = TRUE;

  start_control_api (self);

  g_message ("Initializing audio server (background)...");
  roadie_supervisor_auto_start (self->supervisor);
}

static void
supervisor_stopped_cb (GObject      *object,
                       GAsyncResult *result,
                       gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  RoadieService *self = g_task_get_source_object (task);
  g_autoptr(GError) error = NULL;

  self->shut_down = TRUE;

  /* A server Roadie only watched keeps running: that is not a failure. */
  if (!roadie_supervisor_stop_finish (ROADIE_SUPERVISOR (object), result, &error) &&
      !g_error_matches (error, ROADIE_ERROR, ROADIE_ERROR_NOT_OWNED))
    g_task_return_error (task, g_steal_pointer (&error));
  else
    g_task_return_boolean (task, TRUE);
}

void
roadie_service_shutdown_async (RoadieService       *self,
                               GCancellable        *cancellable,
                               GAsyncReadyCallback  callback,
                               gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;

  g_return_if_fail (ROADIE_IS_SERVICE (self));
  g_return_if_fail (!cancellable || G_IS_CANCELLABLE (cancellable));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, roadie_service_shutdown_async);

  if (self->shutting_down)
    {
      g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_PENDING,
                               "Roadie is already shutting down");
      return;
    }
  self->shutting_down = TRUE;

  /* The API goes first, so that nobody starts the server again while it
   * is being stopped. */
  if (self->control_api != NULL)
    roadie_control_api_shutdown (self->control_api);

  roadie_supervisor_stop_async (self->supervisor,
                                cancellable,
                                supervisor_stopped_cb,
                                g_steal_pointer (&task));
}

gboolean
roadie_service_shutdown_finish (RoadieService  *self,
                                GAsyncResult   *result,
                                GError        **error)
{
  g_return_val_if_fail (ROADIE_IS_SERVICE (self), FALSE);
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);

  return g_task_propagate_boolean (G_TASK (result), error);
}

gboolean
roadie_service_is_shut_down (RoadieService *self)
{
  g_return_val_if_fail (ROADIE_IS_SERVICE (self), FALSE);

  return self->shut_down;
}

gboolean
roadie_service_state_can_start (RoadieSupervisorState state)
{
  return state == ROADIE_SUPERVISOR_STATE_STOPPED ||
         state == ROADIE_SUPERVISOR_STATE_FAILED;
}

gboolean
roadie_service_state_can_stop (RoadieSupervisorState state)
{
  switch (state)
    {
    case ROADIE_SUPERVISOR_STATE_STARTING:
    case ROADIE_SUPERVISOR_STATE_RUNNING:
    case ROADIE_SUPERVISOR_STATE_UNHEALTHY:
    case ROADIE_SUPERVISOR_STATE_BACKOFF:
      return TRUE;

    case ROADIE_SUPERVISOR_STATE_STOPPED:
    case ROADIE_SUPERVISOR_STATE_FAILED:
    case ROADIE_SUPERVISOR_STATE_STOPPING:
    case ROADIE_SUPERVISOR_STATE_ATTACHED:
    default:
      return FALSE;
    }
}

gboolean
roadie_service_state_can_restart (RoadieSupervisorState state)
{
  /* Restarting from stopped or failed is what Start does. */
  return roadie_service_state_can_stop (state);
}
