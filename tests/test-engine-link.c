/* test-engine-link.c: RoadieEngineLink following a real supervisor.
 *
 *  - roadie-engine --input demo under the supervisor: the link goes live,
 *    frames carry bands and settle near the demo's 124 BPM, stats arrive;
 *    a frozen engine (SIGSTOP) is STALLED and comes back LIVE; a stop
 *    leaves DISCONNECTED, no stats and no timer; a restart on another
 *    ws-port is followed;
 *  - a third-party server (tests/fake-audio-server: a hello, no frames)
 *    is NOT_ROADIE;
 *  - roadie-engine capturing without a PipeWire daemon is NO_AUDIO.
 */
#include "config.h"

#include <math.h>
#include <signal.h>

#include "roadie-engine-link.h"
#include "roadie-supervisor.h"
#include "roadie-test-util.h"

#define START_TIMEOUT_MS 15000
#define IO_TIMEOUT_MS    5000

typedef struct
{
  GSettings        *gsettings;
  RoadieSettings   *settings;
  RoadieSupervisor *supervisor;
  RoadieEngineLink *link;
  guint             port;

  guint             n_frames;
  guint             max_bands;
  float             last_bpm;
  guint             n_stats_changed;
  GArray           *analyses;     /* RoadieEngineAnalysis, every change */
} Fixture;

static void
on_frame (RoadieEngineLink *link,
          gpointer          frame_pointer,
          Fixture          *fixture)
{
  const RoadieLiveFrame *frame = frame_pointer;

  g_assert_true (roadie_engine_link_get_frame (link) == frame);
  fixture->n_frames++;
  fixture->max_bands = MAX (fixture->max_bands, frame->n_bands);
  fixture->last_bpm = frame->bpm;
}

static void
on_stats_changed (RoadieEngineLink *link,
                  Fixture          *fixture)
{
  fixture->n_stats_changed++;
}

static void
on_analysis (RoadieEngineLink *link,
             GParamSpec       *pspec,
             Fixture          *fixture)
{
  RoadieEngineAnalysis analysis = roadie_engine_link_get_analysis (link);

  g_array_append_val (fixture->analyses, analysis);
}

/* args: NULL-terminated, after --port N. */
static void
use_server (Fixture    *fixture,
            const char *executable,
            ...)
{
  g_autoptr(GPtrArray) args = g_ptr_array_new_with_free_func (g_free);
  va_list ap;

  g_settings_set_string (fixture->gsettings, "executable-path", executable);
  g_settings_set_int (fixture->gsettings, "ws-port", fixture->port);
  g_ptr_array_add (args, g_strdup ("--port"));
  g_ptr_array_add (args, g_strdup_printf ("%u", fixture->port));
  va_start (ap, executable);
  for (const char *arg = va_arg (ap, const char *); arg != NULL; arg = va_arg (ap, const char *))
    g_ptr_array_add (args, g_strdup (arg));
  va_end (ap);
  g_ptr_array_add (args, NULL);
  g_settings_set_strv (fixture->gsettings, "arguments", (const char * const *) args->pdata);
}

static void
fixture_setup (Fixture       *fixture,
               gconstpointer  data)
{
  g_autofree char *log_path = g_build_filename (roadie_test_tmpdir (), "engine-link.log", NULL);

  roadie_test_allow_roadie_warnings ();
  fixture->gsettings = roadie_test_new_gsettings ();
  fixture->port = roadie_test_free_port ();
  fixture->analyses = g_array_new (FALSE, FALSE, sizeof (RoadieEngineAnalysis));
  g_settings_set_string (fixture->gsettings, "log-file", log_path);
  g_settings_set_boolean (fixture->gsettings, "auto-start", FALSE);
  g_settings_set_int (fixture->gsettings, "startup-timeout-ms", START_TIMEOUT_MS);
  g_settings_set_int (fixture->gsettings, "stop-timeout-ms", 2000);
  g_settings_set_int (fixture->gsettings, "health-check-interval", 60000);
  g_settings_set_int (fixture->gsettings, "health-check-timeout-ms", 2000);

  fixture->settings = roadie_settings_new (fixture->gsettings, NULL);
  fixture->supervisor = roadie_supervisor_new (fixture->settings);
  fixture->link = roadie_engine_link_new (fixture->supervisor, NULL);
  g_signal_connect (fixture->link, "frame", G_CALLBACK (on_frame), fixture);
  g_signal_connect (fixture->link, "stats-changed", G_CALLBACK (on_stats_changed), fixture);
  g_signal_connect (fixture->link, "notify::analysis", G_CALLBACK (on_analysis), fixture);
}

static void
stopped (GObject      *source,
         GAsyncResult *result,
         gpointer      user_data)
{
  gboolean *done = user_data;

  roadie_supervisor_stop_finish (ROADIE_SUPERVISOR (source), result, NULL);
  *done = TRUE;
}

static gboolean
is_true (gpointer user_data)
{
  return *(gboolean *) user_data;
}

static void
fixture_teardown (Fixture       *fixture,
                  gconstpointer  data)
{
  gboolean done = FALSE;

  roadie_supervisor_stop_async (fixture->supervisor, NULL, stopped, &done);
  g_assert_true (roadie_test_wait_until (is_true, &done, 10000));
  g_assert_cmpuint (roadie_engine_link_count_sources (fixture->link), ==, 0);
  g_assert_finalize_object (fixture->link);
  g_assert_finalize_object (fixture->supervisor);
  g_clear_object (&fixture->settings);
  g_clear_object (&fixture->gsettings);
  g_array_unref (fixture->analyses);
}

typedef struct
{
  Fixture              *fixture;
  RoadieEngineAnalysis  want;
} WantAnalysis;

static gboolean
has_analysis (gpointer user_data)
{
  WantAnalysis *want = user_data;

  return roadie_engine_link_get_analysis (want->fixture->link) == want->want;
}

static void
wait_for_analysis (Fixture              *fixture,
                   RoadieEngineAnalysis  want,
                   guint                 timeout_ms)
{
  WantAnalysis data = { fixture, want };

  if (!roadie_test_wait_until (has_analysis, &data, timeout_ms))
    g_error ("the link never became %s within %u ms (it is %s; supervisor %s: %s)",
             roadie_engine_analysis_to_string (want), timeout_ms,
             roadie_engine_analysis_to_string (roadie_engine_link_get_analysis (fixture->link)),
             roadie_supervisor_state_to_string (roadie_supervisor_get_state (fixture->supervisor)),
             roadie_supervisor_get_last_error (fixture->supervisor));
}

static void
start_server (Fixture *fixture)
{
  g_autoptr(GError) error = NULL;

  g_assert_true (roadie_supervisor_start (fixture->supervisor, &error));
  g_assert_no_error (error);
}

static gboolean
bpm_near_124 (gpointer user_data)
{
  Fixture *fixture = user_data;

  return fabsf (fixture->last_bpm - 124.0f) < 2.0f;
}

static gboolean
has_stats (gpointer user_data)
{
  Fixture *fixture = user_data;
  g_autoptr(JsonObject) stats = roadie_engine_link_dup_stats (fixture->link);

  return stats != NULL;
}

static gboolean
is_stopped (gpointer user_data)
{
  Fixture *fixture = user_data;

  return roadie_supervisor_get_state (fixture->supervisor) == ROADIE_SUPERVISOR_STATE_STOPPED;
}

static void
stop_server (Fixture *fixture)
{
  g_autoptr(GError) error = NULL;

  g_assert_true (roadie_supervisor_stop (fixture->supervisor, &error));
  g_assert_no_error (error);
  g_assert_true (roadie_test_wait_until (is_stopped, fixture, 10000));
}

/* 20 frames a second rather than 60: under AddressSanitizer's slow
 * unwinder a test that cannot keep up would never leave libsoup's read
 * loop. */
static void
test_live (Fixture       *fixture,
           gconstpointer  data)
{
  g_autoptr(JsonObject) stats = NULL;
  guint frames_before;
  GPid pid;

  use_server (fixture, roadie_test_engine (),
              "--browser-port", "0", "--dj-port", "0", "--input", "demo", "--fps", "20", NULL);

  /* Nothing runs, nothing is linked. */
  g_assert_cmpint (roadie_engine_link_get_analysis (fixture->link), ==, ROADIE_ENGINE_ANALYSIS_DISCONNECTED);
  g_assert_cmpuint (roadie_engine_link_count_sources (fixture->link), ==, 0);

  start_server (fixture);
  wait_for_analysis (fixture, ROADIE_ENGINE_ANALYSIS_LIVE, START_TIMEOUT_MS);
  g_assert_cmpstr (roadie_engine_link_get_server_name (fixture->link), ==, "roadie-engine");
  g_assert_cmpint (roadie_engine_link_get_link_state (fixture->link), ==, ROADIE_WS_CLIENT_STATE_CONNECTED);
  /* Waiting came first: connected, then frames. */
  g_assert_cmpuint (fixture->analyses->len, >=, 2);
  g_assert_cmpint (g_array_index (fixture->analyses, RoadieEngineAnalysis, 0), ==, ROADIE_ENGINE_ANALYSIS_WAITING);

  if (!roadie_test_wait_until (bpm_near_124, fixture, 20000))
    g_error ("the demo's tempo never came near 124 BPM (last %.1f after %u frames)",
             fixture->last_bpm, fixture->n_frames);
  g_assert_cmpuint (fixture->max_bands, >, 8);
  g_assert_cmpuint (fixture->n_frames, >, 20);

  g_assert_true (roadie_test_wait_until (has_stats, fixture, IO_TIMEOUT_MS));
  g_assert_cmpuint (fixture->n_stats_changed, >=, 1);
  stats = roadie_engine_link_dup_stats (fixture->link);
  g_assert_cmpint (json_object_get_int_member (stats, "current_djs"), ==, 0);
  g_assert_true (json_object_has_member (stats, "djs"));
  g_assert_true (json_object_has_member (stats, "links"));

  /* A frozen engine keeps its connection and sends nothing. */
  pid = roadie_supervisor_get_pid (fixture->supervisor);
  g_assert_cmpint (pid, >, 0);
  g_assert_cmpint (kill (pid, SIGSTOP), ==, 0);
  wait_for_analysis (fixture, ROADIE_ENGINE_ANALYSIS_STALLED, 4000);
  g_assert_cmpint (kill (pid, SIGCONT), ==, 0);
  wait_for_analysis (fixture, ROADIE_ENGINE_ANALYSIS_LIVE, IO_TIMEOUT_MS);

  /* Stopped: nothing known, nothing left running. */
  stop_server (fixture);
  wait_for_analysis (fixture, ROADIE_ENGINE_ANALYSIS_DISCONNECTED, 1000);
  g_assert_cmpuint (roadie_engine_link_count_sources (fixture->link), ==, 0);
  g_assert_null (roadie_engine_link_dup_stats (fixture->link));
  g_assert_null (roadie_engine_link_get_server_name (fixture->link));
  g_assert_null (roadie_engine_link_get_frame (fixture->link));
  g_assert_cmpint (roadie_engine_link_get_link_state (fixture->link), ==, ROADIE_WS_CLIENT_STATE_DISCONNECTED);

  /* Another port next time: the link reads it again. */
  fixture->port = roadie_test_free_port ();
  use_server (fixture, roadie_test_engine (),
              "--browser-port", "0", "--dj-port", "0", "--input", "demo", "--fps", "20", NULL);
  frames_before = fixture->n_frames;
  start_server (fixture);
  wait_for_analysis (fixture, ROADIE_ENGINE_ANALYSIS_LIVE, START_TIMEOUT_MS);
  g_assert_cmpuint (fixture->n_frames, >, frames_before);
}

static void
test_not_roadie (Fixture       *fixture,
                 gconstpointer  data)
{
  use_server (fixture, roadie_test_fake_server (), NULL);
  start_server (fixture);
  wait_for_analysis (fixture, ROADIE_ENGINE_ANALYSIS_NOT_ROADIE, START_TIMEOUT_MS);
  /* Connected first, and never a frame. */
  g_assert_cmpint (roadie_engine_link_get_link_state (fixture->link), ==, ROADIE_WS_CLIENT_STATE_CONNECTED);
  g_assert_cmpint (g_array_index (fixture->analyses, RoadieEngineAnalysis, 0), ==, ROADIE_ENGINE_ANALYSIS_WAITING);
  g_assert_cmpuint (fixture->n_frames, ==, 0);
  g_assert_null (roadie_engine_link_dup_stats (fixture->link));

  stop_server (fixture);
  wait_for_analysis (fixture, ROADIE_ENGINE_ANALYSIS_DISCONNECTED, 1000);
  g_assert_cmpuint (roadie_engine_link_count_sources (fixture->link), ==, 0);
}

static void
test_no_audio (Fixture       *fixture,
               gconstpointer  data)
{
  g_autofree char *empty = g_build_filename (roadie_test_tmpdir (), "no-pipewire", NULL);

  /* The engine captures by default; here there is no daemon to ask. */
  g_assert_cmpint (g_mkdir_with_parents (empty, 0700), ==, 0);
  g_setenv ("PIPEWIRE_RUNTIME_DIR", empty, TRUE);
  g_unsetenv ("PIPEWIRE_REMOTE");

  use_server (fixture, roadie_test_engine (), "--browser-port", "0", "--dj-port", "0", NULL);
  start_server (fixture);
  wait_for_analysis (fixture, ROADIE_ENGINE_ANALYSIS_NO_AUDIO, START_TIMEOUT_MS);
  g_assert_cmpuint (fixture->n_frames, >, 0);
  g_assert_false (roadie_engine_link_get_frame (fixture->link)->has_audio);
  /* No-audio frames come a few times a second: not stalled. */
  roadie_test_run_for (2000);
  g_assert_cmpint (roadie_engine_link_get_analysis (fixture->link), ==, ROADIE_ENGINE_ANALYSIS_NO_AUDIO);
}

int
main (int   argc,
      char *argv[])
{
  roadie_test_init_environment ();
  g_test_init (&argc, &argv, NULL);

  g_test_add ("/roadie/engine-link/live", Fixture, NULL, fixture_setup, test_live, fixture_teardown);
  g_test_add ("/roadie/engine-link/not-roadie", Fixture, NULL, fixture_setup, test_not_roadie, fixture_teardown);
  g_test_add ("/roadie/engine-link/no-audio", Fixture, NULL, fixture_setup, test_no_audio, fixture_teardown);

  return g_test_run ();
}
