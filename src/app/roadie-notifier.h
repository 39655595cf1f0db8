/* roadie-notifier.h: the desktop notifications a DJ needs, and no more.
 *
 * One when Roadie gives up on the audio server (with a Restart button),
 * one — coalesced, not one per crash — when the server crashed and was
 * brought back, and one when a link is refused by its peer's
 * authentication. All go through GNotification, so they reach GNOME Shell,
 * KDE, or the portal inside the Flatpak alike.
 */
#pragma once

#include <gio/gio.h>

#include "roadie-supervisor.h"

G_BEGIN_DECLS

#define ROADIE_TYPE_NOTIFIER (roadie_notifier_get_type ())

G_DECLARE_FINAL_TYPE (RoadieNotifier, roadie_notifier, ROADIE, NOTIFIER, GObject)

/* Notification ids, for withdrawing and for tests. */
#define ROADIE_NOTIFICATION_GAVE_UP    "gave-up"
#define ROADIE_NOTIFICATION_RESTARTED  "restarted"
#define ROADIE_NOTIFICATION_AUTH       "auth-failed"

RoadieNotifier *roadie_notifier_new               (GApplication     *application,
                                                   RoadieSupervisor *supervisor);
/* Crash notifications within this many ms of the last one are folded into
 * it (default 60 s). */
void            roadie_notifier_set_coalesce_ms   (RoadieNotifier   *self,
                                                   guint             coalesce_ms);
/* A link (e.g. "DJ relay") was refused by its peer: it will not retry. */
void            roadie_notifier_auth_failed       (RoadieNotifier   *self,
                                                   const char       *link_name,
                                                   const char       *reason);
/* The DJ has seen the window: the restart summary is stale. */
void            roadie_notifier_withdraw_restarts (RoadieNotifier   *self);

G_END_DECLS
