/* roadie-tray.h: Roadie's tray indicator.
 *
 * A StatusNotifierItem (org.kde.StatusNotifierItem at /StatusNotifierItem)
 * with a com.canonical.dbusmenu menu at /MenuBar, exported on a D-Bus
 * connection and registered with org.kde.StatusNotifierWatcher whenever a
 * watcher is (or comes back) on the bus. The icon, status and tooltip follow
 * the supervisor; the menu and clicks activate actions by name in an action
 * group: "start", "stop", "restart", "show", "toggle-window", "quit".
 * Without a tray host it stays quiet and Roadie works as without it.
 */
#pragma once

#include <gio/gio.h>

#include "roadie-supervisor.h"

G_BEGIN_DECLS

#define ROADIE_TYPE_TRAY (roadie_tray_get_type ())

G_DECLARE_FINAL_TYPE (RoadieTray, roadie_tray, ROADIE, TRAY, GObject)

/* Properties: "connection", "supervisor", "actions" (construct-only),
 * "registered" (read-only, notified). connection may be NULL (no session
 * bus): the tray then does nothing. */
RoadieTray *roadie_tray_new            (GDBusConnection  *connection,
                                        RoadieSupervisor *supervisor,
                                        GActionGroup     *actions);
/* TRUE while a StatusNotifierWatcher with a host has accepted our item. */
gboolean    roadie_tray_get_registered (RoadieTray       *self);

G_END_DECLS
