#!/usr/bin/env bash
# build-aux/run.sh: installs what is missing, builds Roadie and launches it
# from the build tree with its bundled roadie-engine.
#
#   ./build-aux/run.sh [ROADIE OPTIONS...]     e.g. --headless, --set KEY=VALUE
#
# apt-get runs as root or through sudo; Roadie itself runs as you.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)
builddir="$root/build"
caller_dir=$PWD

# shellcheck source=build-aux/deps.sh
source "$here/deps.sh"
roadie_deps_ensure build

if [[ -f "$builddir/meson-private/coredata.dat" && -f "$builddir/build.ninja" ]]; then
  : # configured already; `meson compile` regenerates if meson.build changed
elif [[ -d "$builddir/meson-private" ]]; then
  meson setup --reconfigure "$builddir" "$root"
else
  meson setup "$builddir" "$root"
fi
meson compile -C "$builddir"

roadie="$builddir/src/app/roadie"

headless=0
for arg in "$@"; do
  [[ "$arg" == "--headless" ]] && headless=1
done
if (( ! headless )) && [[ -z "${DISPLAY:-}" && -z "${WAYLAND_DISPLAY:-}" ]]; then
  printf 'no display: running roadie --headless (the supervisor and the control API, no window; Ctrl+C stops it)\n' >&2
  set -- --headless "$@"
fi

# The developer environment of the build tree: GSETTINGS_SCHEMA_DIR for the
# compiled schema and PATH for the bundled engine. Taken from meson so it
# stays in step with meson.build; exec so signals reach Roadie directly.
eval "$(meson devenv -C "$builddir" --dump)"
cd "$caller_dir"
exec "$roadie" "$@"
