/* roadie-test-util.h: shared helpers for Roadie's test programs. */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

/* Call first in main(): private XDG_STATE_HOME, XDG_RUNTIME_DIR, XDG_CONFIG_HOME
 * and XDG_CACHE_HOME under a fresh temporary folder (removed at exit), and lets
 * the Roadie domain warn without aborting (crashes are expected in tests). */
void      roadie_test_init_environment (void);
const char *roadie_test_tmpdir         (void);
/* GTest resets the fatal-log handler before every test case: call this at
 * the start of each case (or in its fixture setup) that provokes warnings
 * in the Roadie/RoadieEngine domains. Criticals stay fatal. */
void      roadie_test_allow_roadie_warnings (void);

/* Records the Roadie domain's warnings as "W: text" and messages as
 * "M: text" (so tests can check the seed's log lines), printing them as TAP
 * comments: GTest itself would print "Bail out!" for a fatal-flagged
 * warning even when the fatal handler lets it pass. Call once in main(). */
void      roadie_test_capture_log      (void);
/* Whether any recorded entry contains text. */
gboolean  roadie_test_was_logged       (const char         *text);
/* How many recorded entries are exactly entry ("M: …"); NULL counts all. */
guint     roadie_test_count_logged     (const char         *entry);
void      roadie_test_clear_log        (void);

/* An ephemeral TCP port on 127.0.0.1 that was free a moment ago. */
guint16   roadie_test_free_port        (void);

/* NULL when a TCP connection to host:port succeeds within 5 s (the main
 * loop runs meanwhile), else why it failed. */
GError   *roadie_test_try_tcp_connect  (const char         *host,
                                        guint16             port);

/* Iterates the default main context until func returns TRUE or timeout_ms
 * passes; returns whether func became TRUE. */
typedef gboolean (*RoadieTestCondition) (gpointer user_data);
gboolean  roadie_test_wait_until       (RoadieTestCondition func,
                                        gpointer            user_data,
                                        guint               timeout_ms);
/* Iterates the main context for ms milliseconds. */
void      roadie_test_run_for          (guint               ms);

/* Number of live (not zombie) processes whose command line contains tag. */
guint     roadie_test_count_tagged     (const char         *tag);
/* Number of zombie children of this process. */
guint     roadie_test_count_zombies    (void);
/* Number of open file descriptors of this process. */
guint     roadie_test_count_fds        (void);
/* A fresh unique tag, e.g. "roadie-test-1234-7". */
char     *roadie_test_new_tag          (void);

/* Paths to built programs, from the test environment. */
const char *roadie_test_fake_server    (void);
const char *roadie_test_engine         (void);
const char *roadie_test_reaper         (void);
const char *roadie_test_roadie         (void);

/* A GSettings for io.github.roadie.Roadie on the memory backend. */
GSettings *roadie_test_new_gsettings   (void);

/* A private X server (Xvfb, 1280x900x24, no TCP) for GUI tests: sets DISPLAY
 * and returns it, e.g. ":99". Call before GTK is initialised; the server is
 * killed at exit (and dies with the test if the test crashes). */
const char *roadie_test_start_xvfb     (void);
/* A private D-Bus session bus: sets DBUS_SESSION_BUS_ADDRESS and returns it.
 * Killed at exit like the X server. */
const char *roadie_test_start_dbus     (void);

/* A python3 that can import websockets (Debian's python3-websockets), for
 * the interoperability tests and the broadcast benchmark; NULL with *why
 * set when there is none. Those tests fail then, never skip: CI has it. */
const char *roadie_test_python_with_websockets (char **why);

/* Reads a whole file; NULL if missing. */
char     *roadie_test_read_file        (const char         *path,
                                        gsize              *length);

G_END_DECLS
