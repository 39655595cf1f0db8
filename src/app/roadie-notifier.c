/* roadie-notifier.c: gave-up, restarted-after-crash and auth notifications.
 *
 * A crash is a transition from running (or unhealthy) into backoff; the
 * notification goes out when the server is running again, so it says
 * "crashed and was restarted" rather than alarming the DJ halfway. After
 * one is shown, further restarts wait for the end of the coalescing
 * window and then update that same notification (same id: the shell
 * replaces it) once, with the count: a crash loop is one or two banners,
 * not one per crash.
 */
#include "config.h"

#include <glib/gi18n.h>

#include "roadie-notifier.h"

#define DEFAULT_COALESCE_MS 60000

struct _RoadieNotifier
{
  GObject                parent_instance;

  GApplication          *application;   /* weak: it owns us */
  RoadieSupervisor      *supervisor;
  gulong                 changed_handler;
  gulong                 gave_up_handler;

  RoadieSupervisorState  last_state;
  guint                  crashes_pending;   /* crashes, server not back yet */
  guint                  restarts_held;     /* restarts held back for the next update */
  guint                  restarts_shown;    /* the count in the visible notification */
  gboolean               restarted_visible;
  guint                  coalesce_id;       /* the coalescing window is open */
  guint                  coalesce_ms;
};

G_DEFINE_FINAL_TYPE (RoadieNotifier, roadie_notifier, G_TYPE_OBJECT)

static gboolean
state_is_up (RoadieSupervisorState state)
{
  return state == ROADIE_SUPERVISOR_STATE_RUNNING || state == ROADIE_SUPERVISOR_STATE_UNHEALTHY;
}

static void
send_restarted (RoadieNotifier *self)
{
  g_autoptr(GNotification) notification = NULL;
  g_autofree char *body = NULL;
  const char *error = roadie_supervisor_get_last_error (self->supervisor);

  notification = g_notification_new (_("Audio server restarted"));
  if (self->restarts_shown == 1)
    body = g_strdup (_("The audio server stopped unexpectedly and Roadie started it again."));
  else
    body = g_strdup_printf (ngettext ("The audio server stopped unexpectedly %u time and Roadie started it again each time.",
                                      "The audio server stopped unexpectedly %u times and Roadie started it again each time.",
                                      self->restarts_shown),
                            self->restarts_shown);
  if (error != NULL)
    {
      g_autofree char *with_error = g_strdup_printf ("%s\n%s", body, error);
      g_free (body);
      body = g_steal_pointer (&with_error);
    }
  g_notification_set_body (notification, body);
  g_notification_set_default_action (notification, "app.show");
  g_application_send_notification (self->application, ROADIE_NOTIFICATION_RESTARTED, notification);
  self->restarted_visible = TRUE;
}

static gboolean coalesce_done_cb (gpointer user_data);

static void
open_coalescing_window (RoadieNotifier *self)
{
  g_clear_handle_id (&self->coalesce_id, g_source_remove);
  self->coalesce_id = g_timeout_add (self->coalesce_ms, coalesce_done_cb, self);
}

static gboolean
coalesce_done_cb (gpointer user_data)
{
  RoadieNotifier *self = user_data;

  self->coalesce_id = 0;
  if (self->restarts_held == 0 || self->application == NULL)
    return G_SOURCE_REMOVE;

  self->restarts_shown += self->restarts_held;
  self->restarts_held = 0;
  send_restarted (self);
  open_coalescing_window (self);
  return G_SOURCE_REMOVE;
}

static void
server_came_back (RoadieNotifier *self)
{
  guint restarts = self->crashes_pending;

  self->crashes_pending = 0;
  if (self->coalesce_id != 0)
    {
      self->restarts_held += restarts;
      return;
    }

  self->restarts_shown = (self->restarted_visible ? self->restarts_shown : 0) + restarts;
  send_restarted (self);
  open_coalescing_window (self);
}

static void
changed_cb (RoadieNotifier *self)
{
  RoadieSupervisorState state = roadie_supervisor_get_state (self->supervisor);

  if (state == self->last_state || self->application == NULL)
    return;

  if (state == ROADIE_SUPERVISOR_STATE_BACKOFF && state_is_up (self->last_state))
    self->crashes_pending++;
  else if (state == ROADIE_SUPERVISOR_STATE_RUNNING && self->crashes_pending > 0)
    server_came_back (self);
  else if (state == ROADIE_SUPERVISOR_STATE_STOPPED || state == ROADIE_SUPERVISOR_STATE_STOPPING)
    self->crashes_pending = 0;

  /* Started again by hand after giving up: the alarm is over. */
  if (self->last_state == ROADIE_SUPERVISOR_STATE_FAILED)
    g_application_withdraw_notification (self->application, ROADIE_NOTIFICATION_GAVE_UP);

  self->last_state = state;
}

static void
gave_up_cb (RoadieNotifier *self,
            const char     *message)
{
  g_autoptr(GNotification) notification = g_notification_new (_("Roadie gave up on the audio server"));
  const char *error = roadie_supervisor_get_last_error (self->supervisor);
  g_autofree char *body = NULL;

  if (self->application == NULL)
    return;
  if (error != NULL && g_strcmp0 (error, message) != 0)
    body = g_strdup_printf ("%s\n%s", message, error);
  else
    body = g_strdup (message);
  g_notification_set_body (notification, body);
  g_notification_set_priority (notification, G_NOTIFICATION_PRIORITY_URGENT);
  g_notification_set_default_action (notification, "app.show");
  g_notification_add_button (notification, _("Restart"), "app.restart");

  self->crashes_pending = 0;
  self->restarts_held = 0;
  g_clear_handle_id (&self->coalesce_id, g_source_remove);
  if (self->restarted_visible)
    g_application_withdraw_notification (self->application, ROADIE_NOTIFICATION_RESTARTED);
  self->restarted_visible = FALSE;
  g_application_send_notification (self->application, ROADIE_NOTIFICATION_GAVE_UP, notification);
}

static void
roadie_notifier_dispose (GObject *object)
{
  RoadieNotifier *self = ROADIE_NOTIFIER (object);

  g_clear_handle_id (&self->coalesce_id, g_source_remove);
  if (self->supervisor != NULL)
    {
      g_clear_signal_handler (&self->changed_handler, self->supervisor);
      g_clear_signal_handler (&self->gave_up_handler, self->supervisor);
    }
  g_clear_object (&self->supervisor);
  g_clear_weak_pointer (&self->application);

  G_OBJECT_CLASS (roadie_notifier_parent_class)->dispose (object);
}

static void
roadie_notifier_class_init (RoadieNotifierClass *klass)
{
  G_OBJECT_CLASS (klass)->dispose = roadie_notifier_dispose;
}

static void
roadie_notifier_init (RoadieNotifier *self)
{
  self->coalesce_ms = DEFAULT_COALESCE_MS;
}

RoadieNotifier *
roadie_notifier_new (GApplication     *application,
                     RoadieSupervisor *supervisor)
{
  RoadieNotifier *self;

  g_return_val_if_fail (G_IS_APPLICATION (application), NULL);
  g_return_val_if_fail (ROADIE_IS_SUPERVISOR (supervisor), NULL);

  self = g_object_new (ROADIE_TYPE_NOTIFIER, NULL);
  g_set_weak_pointer (&self->application, application);
  self->supervisor = g_object_ref (supervisor);
  self->last_state = roadie_supervisor_get_state (supervisor);
  self->changed_handler = g_signal_connect_swapped (supervisor, "changed",
                                                    G_CALLBACK (changed_cb), self);
  self->gave_up_handler = g_signal_connect_swapped (supervisor, "gave-up",
                                                    G_CALLBACK (gave_up_cb), self);
  return self;
}

void
roadie_notifier_set_coalesce_ms (RoadieNotifier *self,
                                 guint           coalesce_ms)
{
  g_return_if_fail (ROADIE_IS_NOTIFIER (self));

  self->coalesce_ms = coalesce_ms;
}

void
roadie_notifier_auth_failed (RoadieNotifier *self,
                             const char     *link_name,
                             const char     *reason)
{
  g_autoptr(GNotification) notification = NULL;
  g_autofree char *title = NULL;

  g_return_if_fail (ROADIE_IS_NOTIFIER (self));
  g_return_if_fail (link_name != NULL);

  if (self->application == NULL)
    return;

  /* Translators: %s is a link's name, e.g. "DJ relay" */
  title = g_strdup_printf (_("%s refused: wrong key"), link_name);
  notification = g_notification_new (title);
  g_notification_set_body (notification,
                           reason != NULL && *reason != '\0'
                           ? reason
                           : _("The server did not accept the DJ key. Roadie will not retry until the key is fixed."));
  g_notification_set_default_action (notification, "app.preferences");
  g_application_send_notification (self->application, ROADIE_NOTIFICATION_AUTH, notification);
}

void
roadie_notifier_withdraw_restarts (RoadieNotifier *self)
{
  g_return_if_fail (ROADIE_IS_NOTIFIER (self));

  if (self->application == NULL || !self->restarted_visible)
    return;
  g_application_withdraw_notification (self->application, ROADIE_NOTIFICATION_RESTARTED);
  self->restarted_visible = FALSE;
  self->restarts_shown = 0;
}
