/* roadie-paths.c: where Roadie's own helpers live.
 *
 * Looked up from the running executable, so an installed Roadie finds the
 * helpers of its own prefix (relocatable, Flatpak's /app and a DESTDIR
 * included), and a Roadie run from the build tree finds the freshly built
 * ones. The only paths compiled in are relative ones (bin, libexec, share)
 * and the build tree itself, which counts only for a program inside it.
 */
#include "config.h"

#include <string.h>

#include "roadie-paths.h"

/* TRUE if `path` is `dir` or lies below it (whole components only). */
static gboolean
path_is_inside (const char *path,
                const char *dir)
{
  gsize len = strlen (dir);

  while (len > 1 && dir[len - 1] == '/')
    len--;
  return strncmp (path, dir, len) == 0 && (path[len] == '\0' || path[len] == '/');
}

/* The prefix of an installed program in `exe_dir`, which is PREFIX/BINDIR:
 * as many levels up as bindir has components. NULL if exe_dir does not end
 * in bindir (then it is no installed Roadie). */
static char *
prefix_from_bindir (const char *exe_dir)
{
  g_auto(GStrv) parts = NULL;
  g_autofree char *dir = g_canonicalize_filename (exe_dir, "/");

  if (g_path_is_absolute (ROADIE_BINDIR_REL))
    return NULL;   /* bindir outside the prefix: nothing to be relative to */

  parts = g_strsplit (ROADIE_BINDIR_REL, "/", -1);
  for (guint i = g_strv_length (parts); i > 0; i--)
    {
      g_autofree char *base = NULL;
      char *up;

      if (parts[i - 1][0] == '\0' || g_str_equal (parts[i - 1], "."))
        continue;
      base = g_path_get_basename (dir);
      if (!g_str_equal (base, parts[i - 1]))
        return NULL;
      up = g_path_get_dirname (dir);
      g_free (dir);
      dir = up;
    }
  return g_steal_pointer (&dir);
}

/* An installed directory option, relative to `prefix` unless the build
 * was configured with one outside the prefix (then it is what was asked). */
static char *
installed_dir (const char *prefix,
               const char *dir_option)
{
  if (g_path_is_absolute (dir_option))
    return g_strdup (dir_option);
  return g_build_filename (prefix, dir_option, NULL);
}

char *
roadie_paths_helper_for_executable (const char   *executable,
                                    RoadieHelper  helper)
{
  g_autofree char *exe_dir = NULL;
  g_autofree char *prefix = NULL;
  g_autofree char *dir = NULL;
  const char *name;

  g_return_val_if_fail (executable != NULL, NULL);

  name = helper == ROADIE_HELPER_ENGINE ? "roadie-engine" : "roadie-reaper";
  exe_dir = g_path_get_dirname (executable);

  /* Run from the build tree (tests, `meson devenv`): the freshly built one. */
  if (path_is_inside (exe_dir, ROADIE_BUILD_ROOT))
    return g_build_filename (ROADIE_BUILD_ROOT, "src",
                             helper == ROADIE_HELPER_ENGINE ? "engine" : "reaper",
                             name, NULL);

  /* Installed: the engine sits next to roadie in bindir; the reaper is in
   * libexecdir of the same prefix. */
  if (helper == ROADIE_HELPER_ENGINE)
    return g_build_filename (exe_dir, name, NULL);
  prefix = prefix_from_bindir (exe_dir);
  if (prefix == NULL)
    return NULL;
  dir = installed_dir (prefix, ROADIE_LIBEXECDIR_REL);
  return g_build_filename (dir, name, NULL);
}

static char *
find_helper (RoadieHelper helper)
{
  g_autofree char *exe = g_file_read_link ("/proc/self/exe", NULL);
  g_autofree char *path = NULL;

  if (exe == NULL)
    return NULL;
  path = roadie_paths_helper_for_executable (exe, helper);
  if (path != NULL
      && g_file_test (path, G_FILE_TEST_IS_REGULAR)
      && g_file_test (path, G_FILE_TEST_IS_EXECUTABLE))
    return g_steal_pointer (&path);
  return NULL;
}

char *
roadie_paths_find_engine (void)
{
  return find_helper (ROADIE_HELPER_ENGINE);
}

char *
roadie_paths_find_reaper (void)
{
  return find_helper (ROADIE_HELPER_REAPER);
}

char *
roadie_paths_find_icon_dir (void)
{
  g_autofree char *exe = g_file_read_link ("/proc/self/exe", NULL);
  g_autofree char *exe_dir = NULL;
  g_autofree char *prefix = NULL;
  g_autofree char *datadir = NULL;
  g_autofree char *icons = NULL;

  if (exe == NULL)
    return NULL;
  exe_dir = g_path_get_dirname (exe);
  if (path_is_inside (exe_dir, ROADIE_BUILD_ROOT))
    icons = g_build_filename (ROADIE_SOURCE_ROOT, "data", "icons", NULL);
  else if ((prefix = prefix_from_bindir (exe_dir)) != NULL)
    {
      datadir = installed_dir (prefix, ROADIE_DATADIR_REL);
      icons = g_build_filename (datadir, "icons", NULL);
    }
  if (icons != NULL && g_file_test (icons, G_FILE_TEST_IS_DIR))
    return g_steal_pointer (&icons);
  return NULL;
}

/* ---- programs on the host (Flatpak) ------------------------------------ */

gboolean
roadie_paths_is_host_executable (const char *executable_path)
{
  return executable_path != NULL && g_str_has_prefix (executable_path, ROADIE_HOST_PREFIX);
}

const char *
roadie_paths_host_executable (const char *executable_path)
{
  if (!roadie_paths_is_host_executable (executable_path))
    return NULL;
  return executable_path + strlen (ROADIE_HOST_PREFIX);
}

GStrv
roadie_paths_host_command (const char         *host_path,
                           const char         *working_dir,
                           const char * const *args)
{
  g_autoptr(GStrvBuilder) argv = g_strv_builder_new ();
  g_autofree char *directory = NULL;

  g_return_val_if_fail (host_path != NULL, NULL);

  /* flatpak-spawn passes SIGTERM, SIGINT, SIGHUP … on to the host process;
   * with --watch-bus the host ends that process when flatpak-spawn's bus
   * connection closes, so a SIGKILLed flatpak-spawn (the reaper's last
   * resort, or Roadie's own death) leaves no orphan on the host. */
  g_strv_builder_add_many (argv, "flatpak-spawn", "--host", "--watch-bus", NULL);
  /* Without --directory the host would be asked for the sandbox's own
   * working folder; the home folder is the same path on both sides. */
  directory = g_strconcat ("--directory=",
                           working_dir != NULL && working_dir[0] != '\0' ? working_dir : g_get_home_dir (),
                           NULL);
  g_strv_builder_add (argv, directory);
  /* flatpak-spawn takes every leading "-…" word as its own option and the
   * first other one as the command, so the path must not start with "-"
   * (preflight insists on an absolute path). */
  g_strv_builder_add (argv, host_path);
  if (args != NULL)
    g_strv_builder_addv (argv, (const char **) args);
  return g_strv_builder_end (argv);
}
