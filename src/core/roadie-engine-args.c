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

/* The engine takes a power of two from 256 to 8192; the setting's range
 * is plain numbers, so round up rather than hand the engine a value it
 * refuses (which would be a crash loop). 0 keeps the engine's default. */
static guint
round_fft_size (int size)
{
  guint rounded = 256;

  if (size <= 0)
    return 0;
  while (rounded < (guint) size && rounded < 8192)
    rounded *= 2;
  return rounded;
}

static void
add_capture (GPtrArray      *argv,
             RoadieSettings *settings)
{
  g_autofree char *capture = roadie_settings_get_string (settings, "engine-capture");
  g_autofree char *node = roadie_settings_get_string (settings, "engine-capture-node");

  if (g_strcmp0 (capture, "input-device") == 0)
    {
      g_ptr_array_add (argv, g_strdup ("--input-device"));
    }
  else if (g_strcmp0 (capture, "demo") == 0)
    {
      g_ptr_array_add (argv, g_strdup ("--input"));
      g_ptr_array_add (argv, g_strdup ("demo"));
    }
  else if (g_strcmp0 (capture, "node") == 0 && node != NULL && node[0] != '\0')
    {
      /* Without a node name, "node" falls back to playback. */
      g_ptr_array_add (argv, g_strdup ("--source"));
      g_ptr_array_add (argv, g_steal_pointer (&node));
    }
}

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
  guint fft_size;

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

  add_capture (argv, settings);
  add_int (argv, "--fps", settings, "engine-frame-rate");
  fft_size = round_fft_size (roadie_settings_get_int (settings, "engine-fft-size"));
  if (fft_size > 0)
    {
      g_ptr_array_add (argv, g_strdup ("--fft-size"));
      g_ptr_array_add (argv, g_strdup_printf ("%u", fft_size));
    }

  g_ptr_array_set_free_func (argv, NULL);
  g_ptr_array_add (argv, NULL);

  return (char **) g_ptr_array_free (g_steal_pointer (&argv), FALSE);
}
