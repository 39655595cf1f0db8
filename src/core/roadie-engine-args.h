/* roadie-engine-args.h: the settings the bundled roadie-engine gets as options.
 *
 * When Roadie supervises its own engine (executable-path empty), the
 * engine-* settings become roadie-engine options, so the DJ changes them in
 * one place: --port from ws-port (the port Roadie health-checks), then
 * --browser-port, --dj-port, --bind, and --dj-keys, --relay-to, --dj-id,
 * --dj-name, --dj-key-file, --visualizer when set; then the audio source
 * (--input-device, --source NAME or --input demo; nothing for playback),
 * --fps, and --fft-size unless 0. The relay key itself is
 * never an option (it would show in ps): only the name of its file is.
 */
#pragma once

#include "roadie-settings.h"

G_BEGIN_DECLS

/* A NULL-terminated argv fragment (without the program). */
char **roadie_engine_args_from_settings (RoadieSettings *settings);

G_END_DECLS
