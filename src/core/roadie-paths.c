/* roadie-paths.c: where Roadie's own helpers live.
 *
 * Looked up from the running executable, so an installed Roadie finds the
 * helpers of its own prefix (relocatable, Flatpak's /app included), and a
 * Roadie run from the build tree finds the freshly built ones.
 */
#include "config.h"

#include <string.h>

#include "roadie-paths.h"

static char *
dup_executable_dir (void)
{
  g_autofree char *exe = g_file_read_link ("/proc/self/exe", NULL);

  if (exe == NULL)
    return NULL;
  return g_path_get_dirname (exe);
}

/* How many path components `path` has below `prefix` ("bin" → 1). */
static guint
depth_below_prefix (const char *path)
{
  const char *rest = path;
  guint depth = 0;

  if (g_str_has_prefix (path, ROADIE_PREFIX))
    rest = path + strlen (ROADIE_PREFIX);
  for (const char *p = rest; *p != '\0'; p++)
    if (*p != '/' && (p == rest || p[-1] == '/'))
      depth++;
  return depth;
}

static char *
find_helper (const char *name,
             const char *installed_dir,
             const char *build_subdir)
{
  g_autofree char *exe_dir = dup_executable_dir ();
  g_autoptr(GPtrArray) candidates = g_ptr_array_new_with_free_func (g_free);

  if (exe_dir != NULL)
    {
      /* Run from the build tree (tests, `meson devenv`). */
      if (g_str_has_prefix (exe_dir, ROADIE_BUILD_ROOT))
        g_ptr_array_add (candidates, g_build_filename (ROADIE_BUILD_ROOT, build_subdir, name, NULL));

      /* Installed: from bindir, climb to the prefix and go down to installed_dir. */
      if (g_str_has_prefix (installed_dir, ROADIE_PREFIX))
        {
          g_autoptr(GString) path = g_string_new (exe_dir);

          for (guint i = depth_below_prefix (ROADIE_BINDIR); i > 0; i--)
            g_string_append (path, "/..");
          g_string_append (path, installed_dir + strlen (ROADIE_PREFIX));
          g_string_append_printf (path, "/%s", name);
          g_ptr_array_add (candidates, g_canonicalize_filename (path->str, NULL));
        }
    }
  g_ptr_array_add (candidates, g_build_filename (installed_dir, name, NULL));

  for (guint i = 0; i < candidates->len; i++)
    {
      const char *candidate = g_ptr_array_index (candidates, i);

      if (g_file_test (candidate, G_FILE_TEST_IS_REGULAR | G_FILE_TEST_IS_EXECUTABLE)
          && g_file_test (candidate, G_FILE_TEST_IS_EXECUTABLE))
        return g_strdup (candidate);
    }
  return NULL;
}

char *
roadie_paths_find_engine (void)
{
  return find_helper ("roadie-engine", ROADIE_BINDIR, "src/engine");
}

char *
roadie_paths_find_reaper (void)
{
  return find_helper ("roadie-reaper", ROADIE_LIBEXECDIR, "src/reaper");
}
