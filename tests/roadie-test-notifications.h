/* roadie-test-notifications.h: a notification server for tests.
 *
 * Owns org.gtk.Notifications on the (private) session bus — the backend
 * GLib prefers when that name has an owner — and records what the
 * application under test shows and withdraws.
 */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

typedef struct
{
  char  *id;
  char  *title;
  char  *body;
  char  *default_action;
  GStrv  button_actions;   /* detailed actions of the buttons, in order */
} RoadieTestNotification;

typedef struct _RoadieTestNotifications RoadieTestNotifications;

/* Call after roadie_test_start_dbus () and before the application sends
 * its first notification; app_id is checked on every call. */
RoadieTestNotifications *roadie_test_notifications_start  (const char              *app_id);
void                     roadie_test_notifications_free   (RoadieTestNotifications *self);
guint                    roadie_test_notifications_count  (RoadieTestNotifications *self,
                                                           const char              *id);
/* The latest notification shown with id, or NULL. */
RoadieTestNotification  *roadie_test_notifications_last   (RoadieTestNotifications *self,
                                                           const char              *id);
guint                    roadie_test_notifications_count_removals (RoadieTestNotifications *self);

G_END_DECLS
