/* roadie-engine-args.c: the settings the bundled roadie-engine gets as options.
 *
 * A pure mapping from RoadieSettings to argv, so it is tested without
 * starting anything; RoadieSupervisor appends it when it spawns the bundled
 * engine, before the DJ's own arguments (GOption keeps the last value, so
 * the "arguments" setting can still override any of these).
 */
#include "config.h"

#include "roadie-engine-args.h"

typedef struct
{
  const char *key;
  const char *option;
} StringOption;

/* Left out when empty: an empty value means "not used" for each of them. */
static const StringOption string_options[] = {
  { "engine-dj-keys-file", "--dj-keys" },
  { "engine-relay-to", "--relay-to" },
  { "engine-dj-id", "--dj-id" },
  { "engine-dj-name", "--dj-name" },
  { "engine-dj-key-file", "--dj-key-file" },
  { "engine-visualizer-url", "--visualizer" },
};

static void
add_int (GPtrArray      *argv,
         const char     *option,
         RoadieSettings *settings,
         const char     *key)
{
  g_ptr_array_add (argv, g_strdup (option));
  g_ptr_array_add (argv, g_strdup_printf ("%d", roadie_settings_get_int (settings, key)));
}

char **
roadie_engine_args_from_settings (RoadieSettings *settings)
{
  g_autoptr(GPtrArray) argv = g_ptr_array_new_with_free_func (g_free);
  g_autofree char *bind = NULL;

  g_return_val_if_fail (ROADIE_IS_SETTINGS (settings), NULL);

  add_int (argv, "--port", settings, "ws-port");
  add_int (argv, "--browser-port", settings, "engine-browser-port");
  add_int (argv, "--dj-port", settings, "engine-dj-port");

  bind = roadie_settings_get_string (settings, "engine-bind");
  if (bind != NULL && bind[0] != '\0')
    {
      g_ptr_array_add (argv, g_strdup ("--bind"));
      g_ptr_array_add (argv, g_steal_pointer (&bind));
    }

  for (guint i = 0; i < G_N_ELEMENTS (string_options); i++)
    {
      g_autofree char *value = roadie_settings_get_string (settings, string_options[i].key);

      if (value == NULL || value[0] == '\0')
        continue;
      g_ptr_array_add (argv, g_strdup (string_options[i].option));
      g_ptr_array_add (argv, g_steal_pointer (&value));
    }

  g_ptr_array_set_free_func (argv, NULL);
  g_ptr_array_add (argv, NULL);

  return (char **) g_ptr_array_free (g_steal_pointer (&argv), FALSE);
}
