#!/usr/bin/env bash
# build-aux/deps.sh: installs the Debian packages Roadie needs, if missing.
#
#   build-aux/deps.sh build          what building and running Roadie needs
#   build-aux/deps.sh build test     plus what the test suite needs
#
# Also sourced by run.sh and test.sh, which call roadie_deps_ensure.
# Nothing is installed when everything is already there. apt-get runs as
# root directly, otherwise through sudo; with neither, it says what to install.

# Building and running: compiler, meson, the libraries of DESIGN.md, the data
# file validators, SVG icon loading and a GSettings backend that stores.
ROADIE_DEPS_BUILD=(
  build-essential pkg-config meson ninja-build gettext
  libglib2.0-dev libglib2.0-bin libgtk-4-dev libadwaita-1-dev
  libsoup-3.0-dev libjson-glib-dev libpipewire-0.3-dev libfftw3-dev
  libsndfile1-dev desktop-file-utils appstream ca-certificates
  librsvg2-common dconf-gsettings-backend
)

# The test suite: its own X server, private D-Bus, a headless PipeWire,
# /proc and socket tools, python3 for the result summary, and an
# independent WebSocket implementation for the interoperability tests, and
# aubio-tools (aubiotrack), the peer of the analysis benchmark; xmllint and
# rsvg-convert, which check that the icons are well-formed SVG that render.
ROADIE_DEPS_TEST=(
  xvfb xauth dbus dbus-daemon dbus-x11 procps iproute2
  pipewire pipewire-bin wireplumber python3
  python3-websockets aubio-tools libxml2-utils librsvg2-bin
)

# The i18n suite shows the window in German: these locales must exist.
# The locales package provides /etc/locale.gen and locale-gen.
ROADIE_DEPS_TEST+=(locales)
ROADIE_TEST_LOCALES=(de_DE.UTF-8)

ROADIE_MESON_MIN=1.0

roadie_deps_log ()
{
  printf 'roadie deps: %s\n' "$*" >&2
}

# Prints the packages of "$@" that are not installed.
roadie_deps_missing ()
{
  local pkg status
  for pkg in "$@"; do
    status=$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)
    if [[ "$status" != "install ok installed" ]]; then
      printf '%s\n' "$pkg"
    fi
  done
}

roadie_deps_apt ()
{
  local -a prefix=()
  if [[ $(id -u) -ne 0 ]]; then
    if ! command -v sudo >/dev/null 2>&1; then
      return 2
    fi
    if [[ -t 0 ]]; then
      prefix=(sudo)
    else
      # No terminal to type a password into: fail instead of hanging.
      prefix=(sudo -n)
    fi
  fi
  "${prefix[@]}" env DEBIAN_FRONTEND=noninteractive apt-get "$@" </dev/null
}

# roadie_deps_ensure SET... where SET is "build" or "test".
roadie_deps_ensure ()
{
  local set want_locales=0
  local -a wanted=() missing=()

  for set in "$@"; do
    case "$set" in
      build) wanted+=("${ROADIE_DEPS_BUILD[@]}") ;;
      test)  wanted+=("${ROADIE_DEPS_TEST[@]}"); want_locales=1 ;;
      *)     roadie_deps_log "unknown package set '$set' (use build or test)"; return 2 ;;
    esac
  done

  if ! command -v dpkg-query >/dev/null 2>&1 || ! command -v apt-get >/dev/null 2>&1; then
    roadie_deps_log "this is not a Debian-like system; cannot check packages."
    roadie_deps_log "Roadie needs the equivalents of these Debian 12 packages: ${wanted[*]}"
    roadie_deps_check_meson
    return $?
  fi

  mapfile -t missing < <(roadie_deps_missing "${wanted[@]}")
  if (( ${#missing[@]} > 0 )); then
    roadie_deps_log "missing: ${missing[*]}"
    if [[ $(id -u) -ne 0 ]] && ! command -v sudo >/dev/null 2>&1; then
      roadie_deps_log "not root and no sudo to install them. As root, run:"
      roadie_deps_log "  apt-get update && apt-get install --no-install-recommends ${missing[*]}"
      return 1
    fi
    if [[ $(id -u) -eq 0 ]]; then
      roadie_deps_log "installing them with apt-get"
    else
      roadie_deps_log "installing them with sudo apt-get"
    fi
    if ! roadie_deps_apt update -q \
       || ! roadie_deps_apt install -y -q --no-install-recommends \
              -o DPkg::Lock::Timeout=300 "${missing[@]}"; then
      roadie_deps_log "could not install ${missing[*]}."
      roadie_deps_log "As root, run: apt-get update && apt-get install --no-install-recommends ${missing[*]}"
      return 1
    fi
    mapfile -t missing < <(roadie_deps_missing "${wanted[@]}")
    if (( ${#missing[@]} > 0 )); then
      roadie_deps_log "still missing after apt-get: ${missing[*]}"
      return 1
    fi
  fi

  if (( want_locales )); then
    roadie_deps_ensure_locales || return 1
  fi
  roadie_deps_check_meson
}

# Runs "$@" as root: directly, or through sudo (no password prompt without
# a terminal), like roadie_deps_apt.
roadie_deps_as_root ()
{
  if [[ $(id -u) -eq 0 ]]; then
    "$@" </dev/null
  elif ! command -v sudo >/dev/null 2>&1; then
    return 2
  elif [[ -t 0 ]]; then
    sudo "$@"
  else
    sudo -n "$@" </dev/null
  fi
}

# Generates the locales of ROADIE_TEST_LOCALES that `locale -a` lacks
# (it lists de_DE.UTF-8 as de_DE.utf8).
roadie_deps_ensure_locales ()
{
  local loc pattern
  local -a missing=()

  for loc in "${ROADIE_TEST_LOCALES[@]}"; do
    if ! locale -a 2>/dev/null | grep -qixF "${loc%%.*}.utf8"; then
      missing+=("$loc")
    fi
  done
  if (( ${#missing[@]} == 0 )); then
    return 0
  fi
  roadie_deps_log "generating the locales ${missing[*]} (for the i18n tests)"
  for loc in "${missing[@]}"; do
    pattern=${loc//./\\.}
    if grep -qE "^[#[:space:]]*${pattern} " /etc/locale.gen 2>/dev/null; then
      roadie_deps_as_root sed -i -E "s/^[#[:space:]]*(${pattern} )/\\1/" /etc/locale.gen || return 1
    else
      roadie_deps_as_root sh -c "echo '$loc UTF-8' >> /etc/locale.gen" || return 1
    fi
  done
  if ! roadie_deps_as_root locale-gen; then
    roadie_deps_log "could not generate ${missing[*]}. As root, run:"
    roadie_deps_log "  sed -i 's/^# *de_DE.UTF-8/de_DE.UTF-8/' /etc/locale.gen && locale-gen"
    return 1
  fi
}

roadie_deps_check_meson ()
{
  local version
  if ! version=$(meson --version 2>/dev/null); then
    roadie_deps_log "meson is not installed (Debian package: meson)"
    return 1
  fi
  if command -v dpkg >/dev/null 2>&1; then
    if ! dpkg --compare-versions "$version" ge "$ROADIE_MESON_MIN"; then
      roadie_deps_log "meson $version is too old; Roadie needs meson >= $ROADIE_MESON_MIN (Debian 12 ships 1.0.1)"
      return 1
    fi
  fi
  return 0
}

if [[ "${BASH_SOURCE[0]}" == "$0" ]]; then
  set -euo pipefail
  if (( $# == 0 )); then
    set -- build
  fi
  roadie_deps_ensure "$@"
fi
