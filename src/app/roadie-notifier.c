/* roadie-notifier.c: gave-up, restarted-after-crash and auth notifications.
 *
 * A crash is a transition from running (or unhealthy) into backoff; the
 * notification goes out when the server is running again, so it says
 * "crashed and was restarted" rather than alarming the DJ halfway. Crashes
 * close together update the same notification (same id, so the shell
 * replaces it) with a count instead of stacking up.
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
  guint                  crashes_pending;   /* crashes not yet reported as restarted */
  guint                  crashes_shown;     /* the count in the visible notification */
  gint64                 last_shown_us;     /* monotonic; 0 = none visible */
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
  gint64 now = g_get_monotonic_time ();
  const char *error = roadie_supervisor_get_last_error (self->supervisor);

  if (self->last_shown_us != 0 && now - self->last_shown_us < (gint64) self->coalesce_ms * 1000)
    self->crashes_shown += self->crashes_pending;
  else
    self->crashes_shown = self->crashes_pending;
  self->crashes_pending = 0;
  self->last_shown_us = now;

  notification = g_notification_new (_("Audio server restarted"));
  if (self->crashes_shown == 1)
    body = g_strdup (_("The audio server stopped unexpectedly and Roadie started it again."));
  else
    body = g_strdup_printf (ngettext ("The audio server stopped unexpectedly %u time and Roadie started it again each time.",
                                      "The audio server stopped unexpectedly %u times and Roadie started it again each time.",
                                      self->crashes_shown),
                            self->crashes_shown);
  if (error != NULL)
    {
      g_autofree char *with_error = g_strdup_printf ("%s\n%s", body, error);
      g_free (body);
      body = g_steal_pointer (&with_error);
    }
  g_notification_set_body (notification, body);
  g_notification_set_default_action (notification, "app.show");
  g_application_send_notification (self->application, ROADIE_NOTIFICATION_RESTARTED, notification);
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
    send_restarted (self);
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
  body = g_strdup_printf ("%s%s%s", message,
                          error != NULL ? "\n" : "",
                          error != NULL ? error : "");
  g_notification_set_body (notification, body);
  g_notification_set_priority (notification, G_NOTIFICATION_PRIORITY_URGENT);
  g_notification_set_default_action (notification, "app.show");
  g_notification_add_button (notification, _("Restart"), "app.restart");

  self->crashes_pending = 0;
  g_application_withdraw_notification (self->application, ROADIE_NOTIFICATION_RESTARTED);
  self->last_shown_us = 0;
  g_application_send_notification (self->application, ROADIE_NOTIFICATION_GAVE_UP, notification);
}

static void
roadie_notifier_dispose (GObject *object)
{
  RoadieNotifier *self = ROADIE_NOTIFIER (object);

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

  if (self->application == NULL || self->last_shown_us == 0)
    return;
  g_application_withdraw_notification (self->application, ROADIE_NOTIFICATION_RESTARTED);
  self->last_shown_us = 0;
  self->crashes_shown = 0;
}
