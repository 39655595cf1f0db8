/* test-log-writer.c: the audio server log, byte for byte, and its size cap. */
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "roadie-error.h"
#include "roadie-log-writer.h"
#include "roadie-test-util.h"

static char *
new_log_path (const char *name)
{
  static guint serial;
  g_autofree char *folder = g_strdup_printf ("logs-%u-%s", ++serial, name);

  return g_build_filename (roadie_test_tmpdir (), folder, "audio-server.log", NULL);
}

/* 2025-10-14T17:19:05.123Z built from whole numbers, so no float rounding. */
static GDateTime *
utc_time (int hour,
          int minute,
          int second,
          int millisecond)
{
  g_autoptr(GDateTime) whole = g_date_time_new_utc (2025, 10, 14, hour, minute, second);

  return g_date_time_add (whole, (GTimeSpan) millisecond * 1000);
}

static void
assert_file_bytes (const char *path,
                   const char *expected,
                   gsize       expected_len)
{
  g_autofree char *contents = NULL;
  gsize len = 0;

  contents = roadie_test_read_file (path, &len);
  g_assert_nonnull (contents);
  if (len != expected_len || memcmp (contents, expected, len) != 0)
    {
      g_autofree char *got = g_strescape (contents, NULL);
      g_autofree char *want = g_strescape (expected, NULL);
      g_error ("%s holds\n\"%s\"\nexpected\n\"%s\"", path, got, want);
    }
}

static gint64
file_size (const char *path)
{
  struct stat st;

  if (stat (path, &st) != 0)
    return -1;
  return st.st_size;
}

static void
test_iso8601 (void)
{
  g_autoptr(GDateTime) when = utc_time (17, 19, 5, 123);
  g_autoptr(GTimeZone) zone = g_time_zone_new_offset (2 * 3600);
  g_autoptr(GDateTime) local = g_date_time_to_timezone (when, zone);
  g_autoptr(GDateTime) whole = g_date_time_new_utc (2025, 1, 2, 3, 4, 5);
  g_autoptr(GDateTime) late = g_date_time_add (whole, 999999);
  g_autofree char *text = roadie_format_iso8601_ms (when);
  g_autofree char *from_local = roadie_format_iso8601_ms (local);
  g_autofree char *truncated = roadie_format_iso8601_ms (whole);
  g_autofree char *late_text = roadie_format_iso8601_ms (late);
  g_autofree char *now = roadie_format_iso8601_ms (NULL);

  g_assert_cmpstr (text, ==, "2025-10-14T17:19:05.123Z");
  /* Always UTC, whatever zone the time came in. */
  g_assert_cmpstr (from_local, ==, "2025-10-14T17:19:05.123Z");
  g_assert_cmpstr (truncated, ==, "2025-01-02T03:04:05.000Z");
  /* Milliseconds are cut, like JavaScript's toISOString, never rounded up
   * into the next second. */
  g_assert_cmpstr (late_text, ==, "2025-01-02T03:04:05.999Z");
  g_assert_cmpuint (strlen (now), ==, 24);
  g_assert_true (g_str_has_suffix (now, "Z"));
}

static void
test_signal_names (void)
{
  g_assert_null (roadie_signal_name (0));
  g_assert_cmpstr (roadie_signal_name (SIGTERM), ==, "SIGTERM");
  g_assert_cmpstr (roadie_signal_name (SIGKILL), ==, "SIGKILL");
  g_assert_cmpstr (roadie_signal_name (SIGSEGV), ==, "SIGSEGV");
  g_assert_cmpstr (roadie_signal_name (SIGINT), ==, "SIGINT");
  g_assert_cmpstr (roadie_signal_name (SIGABRT), ==, "SIGABRT");
  g_assert_cmpstr (roadie_signal_name (SIGHUP), ==, "SIGHUP");
  /* Same pointer each time: callers may keep it. */
  g_assert_true (roadie_signal_name (SIGTERM) == roadie_signal_name (SIGTERM));
  g_assert_true (g_str_has_prefix (roadie_signal_name (SIGRTMIN + 1), "SIG"));
}

static void
test_format_exit_code (void)
{
  g_autofree char *path = new_log_path ("format");
  g_autoptr(RoadieLogWriter) writer = roadie_log_writer_new (path, 10 * 1024 * 1024, 3);
  g_autoptr(GDateTime) started = utc_time (17, 19, 5, 123);
  g_autoptr(GDateTime) exited = utc_time (17, 25, 32, 456);
  g_autoptr(GDateTime) started2 = utc_time (17, 26, 0, 7);
  g_autoptr(GDateTime) killed = utc_time (17, 30, 1, 0);
  g_autoptr(GError) error = NULL;
  static const char binary[] = "raw \xff\xfe bytes\0after nul";
  static const char expected[] =
    "=== Audio Server Started: 2025-10-14T17:19:05.123Z ===\n"
    "\n"
    "[STDOUT] JUCE v8.0.10\n"
    "[STDOUT] \xe2\x9c\x85 Mixer ready with Deck A and Deck B\n"
    "[STDERR] warning: buffer underrun\r\n"
    "[STDOUT] \n"
    "[STDERR] raw \xff\xfe bytes\0after nul\n"
    "[STDOUT] WebSocket server listening on port 8080\n"
    "\n"
    "=== Audio Server Exited: 2025-10-14T17:25:32.456Z (code: 0, signal: null) ===\n"
    "\n"
    "=== Audio Server Started: 2025-10-14T17:26:00.007Z ===\n"
    "\n"
    "[STDOUT] second run\n"
    "\n"
    "=== Audio Server Exited: 2025-10-14T17:30:01.000Z (code: null, signal: SIGKILL) ===\n"
    "\n";

  g_assert_cmpstr (roadie_log_writer_get_path (writer), ==, path);

  g_assert_true (roadie_log_writer_write_started (writer, started, &error));
  g_assert_no_error (error);
  g_assert_true (roadie_log_writer_write_line (writer, ROADIE_LOG_STREAM_STDOUT, "JUCE v8.0.10", -1, &error));
  g_assert_true (roadie_log_writer_write_line (writer, ROADIE_LOG_STREAM_STDOUT,
                                               "\xe2\x9c\x85 Mixer ready with Deck A and Deck B", -1, &error));
  g_assert_true (roadie_log_writer_write_line (writer, ROADIE_LOG_STREAM_STDERR, "warning: buffer underrun\r", -1, &error));
  g_assert_true (roadie_log_writer_write_line (writer, ROADIE_LOG_STREAM_STDOUT, "", 0, &error));
  g_assert_true (roadie_log_writer_write_line (writer, ROADIE_LOG_STREAM_STDERR, binary, sizeof binary - 1, &error));
  /* len limits the line: the rest of the buffer is not written. */
  g_assert_true (roadie_log_writer_write_line (writer, ROADIE_LOG_STREAM_STDOUT,
                                               "WebSocket server listening on port 8080 and garbage", 39, &error));
  g_assert_true (roadie_log_writer_write_exited (writer, exited, 0, 0, &error));
  g_assert_no_error (error);

  /* A new writer on the same file, as after a restart of Roadie. */
  g_clear_object (&writer);
  writer = roadie_log_writer_new (path, 10 * 1024 * 1024, 3);
  g_assert_true (roadie_log_writer_write_started (writer, started2, &error));
  g_assert_true (roadie_log_writer_write_line (writer, ROADIE_LOG_STREAM_STDOUT, "second run", -1, &error));
  g_assert_true (roadie_log_writer_write_exited (writer, killed, -1, SIGKILL, &error));
  g_assert_no_error (error);

  assert_file_bytes (path, expected, sizeof expected - 1);
}

static void
test_format_signal (void)
{
  g_autofree char *path = new_log_path ("signal");
  g_autoptr(RoadieLogWriter) writer = roadie_log_writer_new (path, 1024 * 1024, 1);
  g_autoptr(GDateTime) started = utc_time (9, 0, 0, 1);
  g_autoptr(GDateTime) exited = utc_time (9, 0, 2, 500);
  g_autoptr(GError) error = NULL;
  static const char expected[] =
    "=== Audio Server Started: 2025-10-14T09:00:00.001Z ===\n"
    "\n"
    "[STDERR] Segmentation fault ahead\n"
    "\n"
    "=== Audio Server Exited: 2025-10-14T09:00:02.500Z (code: null, signal: SIGTERM) ===\n"
    "\n"
    "\n"
    "=== Audio Server Exited: 2025-10-14T09:00:02.500Z (code: 3, signal: null) ===\n"
    "\n";
  struct stat st;

  g_assert_true (roadie_log_writer_write_started (writer, started, &error));
  g_assert_true (roadie_log_writer_write_line (writer, ROADIE_LOG_STREAM_STDERR, "Segmentation fault ahead", -1, &error));
  g_assert_true (roadie_log_writer_write_exited (writer, exited, -1, SIGTERM, &error));
  g_assert_true (roadie_log_writer_write_exited (writer, exited, 3, 0, &error));
  g_assert_no_error (error);
  roadie_log_writer_close (writer);

  assert_file_bytes (path, expected, sizeof expected - 1);

  /* Private to the DJ, in a private folder. */
  g_assert_cmpint (stat (path, &st), ==, 0);
  g_assert_cmpint (st.st_mode & 0777, ==, 0600);
  {
    g_autofree char *folder = g_path_get_dirname (path);
    g_assert_cmpint (stat (folder, &st), ==, 0);
    g_assert_cmpint (st.st_mode & 0777, ==, 0700);
  }
}

/* The line number of the first or last "[STDOUT] line NNNNNNNN" of a file. */
static gint64
line_number (const char *contents,
             gsize       len,
             gboolean    last)
{
  const char *line = contents;

  if (last)
    {
      g_assert_cmpint (contents[len - 1], ==, '\n');
      line = contents + len - 1;
      while (line > contents && line[-1] != '\n')
        line--;
    }
  g_assert_true (g_str_has_prefix (line, "[STDOUT] line "));
  return g_ascii_strtoll (line + strlen ("[STDOUT] line "), NULL, 10);
}

static void
test_rotation_flood (void)
{
  const gint64 max_bytes = 1024 * 1024;
  const guint backups = 3;
  const gsize flood_bytes = 50 * 1024 * 1024;
  g_autofree char *path = new_log_path ("flood");
  g_autoptr(RoadieLogWriter) writer = roadie_log_writer_new (path, max_bytes, backups);
  g_autoptr(GError) error = NULL;
  char padding[200];
  gsize written = 0;
  gsize longest = 0;
  guint64 n_lines = 0;
  gint64 started_us, elapsed_us;
  gint64 total = 0;
  gint64 expected_next = -1;

  memset (padding, 'x', sizeof padding);

  started_us = g_get_monotonic_time ();
  while (written < flood_bytes)
    {
      char line[256];
      /* 30 to 229 bytes: lines never line up with the cap. */
      int pad = (int) ((n_lines * 7919) % 200);
      int len = g_snprintf (line, sizeof line, "line %08" G_GUINT64_FORMAT " %.*s", n_lines, pad, padding);

      if (!roadie_log_writer_write_line (writer, ROADIE_LOG_STREAM_STDOUT, line, len, &error))
        g_error ("line %" G_GUINT64_FORMAT ": %s", n_lines, error->message);
      written += len + strlen ("[STDOUT] \n");
      longest = MAX (longest, len + strlen ("[STDOUT] \n"));
      n_lines++;
    }
  elapsed_us = g_get_monotonic_time () - started_us;
  g_test_message ("%" G_GSIZE_FORMAT " MB in %" G_GUINT64_FORMAT " lines: %.0f ms, %.0f MB/s",
                  written / (1024 * 1024), n_lines, elapsed_us / 1000.0,
                  written / (1024.0 * 1024.0) / (elapsed_us / 1e6));
  roadie_log_writer_close (writer);

  /* Oldest first: log.3, log.2, log.1, log; each follows on without a gap. */
  for (int k = backups; k >= 0; k--)
    {
      g_autofree char *name = k == 0 ? g_strdup (path) : g_strdup_printf ("%s.%d", path, k);
      g_autofree char *contents = NULL;
      gsize len = 0;

      contents = roadie_test_read_file (name, &len);
      g_assert_nonnull (contents);
      g_assert_cmpuint (len, >, 0);
      /* The writer rotates before a write would pass the cap. */
      g_assert_cmpuint (len, <=, (gsize) max_bytes);
      g_assert_cmpuint (len, <=, (gsize) max_bytes + longest);
      total += len;

      if (expected_next >= 0)
        g_assert_cmpint (line_number (contents, len, FALSE), ==, expected_next);
      expected_next = line_number (contents, len, TRUE) + 1;
    }

  /* The newest line is the last one of `log`. */
  g_assert_cmpint (expected_next, ==, (gint64) n_lines);
  g_assert_cmpint (total, <=, (backups + 1) * max_bytes + (gint64) longest);

  {
    g_autofree char *too_many = g_strdup_printf ("%s.%u", path, backups + 1);
    g_assert_false (g_file_test (too_many, G_FILE_TEST_EXISTS));
  }
}

static void
test_no_backups (void)
{
  g_autofree char *path = new_log_path ("no-backups");
  g_autofree char *backup = g_strdup_printf ("%s.1", path);
  g_autoptr(RoadieLogWriter) writer = roadie_log_writer_new (path, 4096, 0);
  g_autoptr(GError) error = NULL;
  g_autofree char *contents = NULL;
  gsize len = 0;

  for (guint i = 0; i < 500; i++)
    {
      g_autofree char *line = g_strdup_printf ("line %08u %s", i, "0123456789012345678901234567890123456789");
      g_assert_true (roadie_log_writer_write_line (writer, ROADIE_LOG_STREAM_STDOUT, line, -1, &error));
      g_assert_no_error (error);
      g_assert_cmpint (file_size (path), <=, 4096);
    }
  roadie_log_writer_close (writer);

  g_assert_false (g_file_test (backup, G_FILE_TEST_EXISTS));
  contents = roadie_test_read_file (path, &len);
  g_assert_cmpuint (len, >, 0);
  g_assert_cmpuint (len, <=, 4096);
  g_assert_true (g_str_has_prefix (contents, "[STDOUT] line "));
  g_assert_true (g_str_has_suffix (contents, "[STDOUT] line 00000499 0123456789012345678901234567890123456789\n"));
}

static void
test_existing_file_size (void)
{
  g_autofree char *path = new_log_path ("existing");
  g_autofree char *folder = g_path_get_dirname (path);
  g_autofree char *backup = g_strdup_printf ("%s.1", path);
  g_autofree char *old = g_strnfill (4090, 'o');
  g_autoptr(RoadieLogWriter) writer = NULL;
  g_autoptr(GError) error = NULL;

  /* A file left by an earlier run counts towards the cap. */
  g_assert_cmpint (g_mkdir_with_parents (folder, 0700), ==, 0);
  g_assert_true (g_file_set_contents (path, old, -1, &error));

  writer = roadie_log_writer_new (path, 4096, 2);
  g_assert_true (roadie_log_writer_write_line (writer, ROADIE_LOG_STREAM_STDOUT, "new", -1, &error));
  g_assert_no_error (error);
  roadie_log_writer_close (writer);

  assert_file_bytes (backup, old, 4090);
  assert_file_bytes (path, "[STDOUT] new\n", 13);
}

static void
test_set_limits (void)
{
  g_autofree char *path = new_log_path ("limits");
  g_autofree char *backup = g_strdup_printf ("%s.1", path);
  g_autoptr(RoadieLogWriter) writer = roadie_log_writer_new (path, 1024 * 1024, 1);
  g_autoptr(GError) error = NULL;

  for (guint i = 0; i < 100; i++)
    g_assert_true (roadie_log_writer_write_line (writer, ROADIE_LOG_STREAM_STDOUT,
                                                 "0123456789012345678901234567890123456789", -1, &error));
  g_assert_false (g_file_test (backup, G_FILE_TEST_EXISTS));

  /* A lower cap from Preferences applies at the next write. */
  roadie_log_writer_set_limits (writer, 4096, 1);
  g_assert_true (roadie_log_writer_write_line (writer, ROADIE_LOG_STREAM_STDOUT, "after", -1, &error));
  g_assert_no_error (error);
  g_assert_true (g_file_test (backup, G_FILE_TEST_EXISTS));
  g_assert_cmpint (file_size (path), ==, strlen ("[STDOUT] after\n"));
}

static void
test_unwritable (void)
{
  g_autofree char *blocker = g_build_filename (roadie_test_tmpdir (), "blocker", NULL);
  g_autofree char *path = g_build_filename (blocker, "roadie", "audio-server.log", NULL);
  g_autoptr(RoadieLogWriter) writer = roadie_log_writer_new (path, 1024 * 1024, 3);
  g_autoptr(GError) error = NULL;
  g_autoptr(GDateTime) when = utc_time (12, 0, 0, 0);

  /* The folder the log should live in is a regular file. */
  g_assert_true (g_file_set_contents (blocker, "in the way", -1, &error));

  g_assert_false (roadie_log_writer_write_started (writer, when, &error));
  g_assert_error (error, ROADIE_ERROR, ROADIE_ERROR_LOG_UNWRITABLE);
  g_assert_nonnull (strstr (error->message, path));
  g_assert_true (g_str_has_prefix (error->message, "Cannot write the audio server log "));
  g_assert_true (g_str_has_suffix (error->message, "; choose another log file (the log-file setting)"));
  g_clear_error (&error);

  g_assert_false (roadie_log_writer_write_line (writer, ROADIE_LOG_STREAM_STDOUT, "lost", -1, &error));
  g_assert_error (error, ROADIE_ERROR, ROADIE_ERROR_LOG_UNWRITABLE);
  g_clear_error (&error);

  /* Once the location is fixed, the same writer carries on. */
  g_assert_cmpint (unlink (blocker), ==, 0);
  g_assert_true (roadie_log_writer_write_line (writer, ROADIE_LOG_STREAM_STDOUT, "recovered", -1, &error));
  g_assert_no_error (error);
  roadie_log_writer_close (writer);
  assert_file_bytes (path, "[STDOUT] recovered\n", 19);
}

static void
test_unwritable_permissions (void)
{
  g_autofree char *folder = g_build_filename (roadie_test_tmpdir (), "read-only", NULL);
  g_autofree char *path = g_build_filename (folder, "audio-server.log", NULL);
  g_autoptr(RoadieLogWriter) writer = roadie_log_writer_new (path, 1024 * 1024, 3);
  g_autoptr(GError) error = NULL;

  if (geteuid () == 0)
    {
      g_test_skip ("root can write anywhere");
      return;
    }

  g_assert_cmpint (g_mkdir_with_parents (folder, 0500), ==, 0);
  g_assert_cmpint (chmod (folder, 0500), ==, 0);

  g_assert_false (roadie_log_writer_write_line (writer, ROADIE_LOG_STREAM_STDOUT, "lost", -1, &error));
  g_assert_error (error, ROADIE_ERROR, ROADIE_ERROR_LOG_UNWRITABLE);
  g_assert_nonnull (strstr (error->message, path));
  g_assert_nonnull (strstr (error->message, g_strerror (EACCES)));
  g_clear_error (&error);

  g_assert_cmpint (chmod (folder, 0700), ==, 0);
  g_assert_true (roadie_log_writer_write_line (writer, ROADIE_LOG_STREAM_STDOUT, "recovered", -1, &error));
  g_assert_no_error (error);
}

static void
test_disk_full (void)
{
  g_autoptr(RoadieLogWriter) writer = NULL;
  g_autoptr(GError) error = NULL;

  /* /dev/full fails every write with ENOSPC. */
  if (!g_file_test ("/dev/full", G_FILE_TEST_EXISTS) || access ("/dev/full", W_OK) != 0)
    {
      g_test_skip ("no writable /dev/full");
      return;
    }

  writer = roadie_log_writer_new ("/dev/full", 1024 * 1024, 0);
  g_assert_false (roadie_log_writer_write_line (writer, ROADIE_LOG_STREAM_STDOUT, "lost", -1, &error));
  g_assert_error (error, ROADIE_ERROR, ROADIE_ERROR_LOG_UNWRITABLE);
  g_assert_nonnull (strstr (error->message, "/dev/full"));
}

int
main (int   argc,
      char *argv[])
{
  roadie_test_init_environment ();
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/roadie/log-writer/iso8601", test_iso8601);
  g_test_add_func ("/roadie/log-writer/signal-names", test_signal_names);
  g_test_add_func ("/roadie/log-writer/format-exit-code", test_format_exit_code);
  g_test_add_func ("/roadie/log-writer/format-signal", test_format_signal);
  g_test_add_func ("/roadie/log-writer/rotation-flood", test_rotation_flood);
  g_test_add_func ("/roadie/log-writer/no-backups", test_no_backups);
  g_test_add_func ("/roadie/log-writer/existing-file-size", test_existing_file_size);
  g_test_add_func ("/roadie/log-writer/set-limits", test_set_limits);
  g_test_add_func ("/roadie/log-writer/unwritable", test_unwritable);
  g_test_add_func ("/roadie/log-writer/unwritable-permissions", test_unwritable_permissions);
  g_test_add_func ("/roadie/log-writer/disk-full", test_disk_full);

  return g_test_run ();
}
