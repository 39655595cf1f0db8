#!/usr/bin/env bash
# build-aux/test.sh: installs what is missing, builds Roadie with warnings as
# errors and runs the whole test suite. The tests start their own Xvfb,
# private D-Bus and PipeWire; nothing from the desktop is used.
#
#   ./build-aux/test.sh                  the whole suite (build dir _build-test)
#   ./build-aux/test.sh --sanitize       under ASan + UBSan (build dir build-asan)
#   ./build-aux/test.sh --suite unit     one suite (repeatable); also integration, gui, data
#
# Ends with a line "N passed, N failed[, N skipped]" and meson's exit status.
set -euo pipefail

usage ()
{
  sed -n '2,10s/^# \{0,1\}//p' "${BASH_SOURCE[0]}"
}

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)

sanitize=0
suites=()
while (( $# > 0 )); do
  case "$1" in
    --sanitize) sanitize=1 ;;
    --suite)
      if (( $# < 2 )); then
        echo "test.sh: --suite needs a name" >&2
        exit 2
      fi
      suites+=(--suite "$2")
      shift
      ;;
    --suite=*) suites+=(--suite "${1#--suite=}") ;;
    -h|--help) usage; exit 0 ;;
    *) echo "test.sh: unknown option '$1'" >&2; usage >&2; exit 2 ;;
  esac
  shift
done

# shellcheck source=build-aux/deps.sh
source "$here/deps.sh"
roadie_deps_ensure build test

setup_options=(-Dwerror=true)
timeout_multiplier=${ROADIE_TEST_TIMEOUT_MULTIPLIER:-2}
if (( sanitize )); then
  builddir="$root/build-asan"
  setup_options+=("-Db_sanitize=address,undefined" -Db_lundef=false)
  timeout_multiplier=${ROADIE_TEST_TIMEOUT_MULTIPLIER:-4}
  # fast_unwind_on_malloc=0: whole allocation stacks through GLib, which has
  # no frame pointers; slower, but a leak report without it names only g_malloc.
  export ASAN_OPTIONS="halt_on_error=1:print_stacktrace=1:detect_leaks=1:fast_unwind_on_malloc=0"
  export UBSAN_OPTIONS="halt_on_error=1:abort_on_error=1:print_stacktrace=1"
  export LSAN_OPTIONS="suppressions=$here/lsan.supp:print_suppressions=0"
  # GLib's slice allocator would hide use-after-free from ASan.
  export G_SLICE=always-malloc
else
  builddir="$root/_build-test"
fi

if [[ -f "$builddir/meson-private/coredata.dat" ]]; then
  meson setup --reconfigure "${setup_options[@]}" "$builddir" "$root" \
    || meson setup --wipe "${setup_options[@]}" "$builddir" "$root"
else
  rm -rf "$builddir"
  meson setup "${setup_options[@]}" "$builddir" "$root"
fi

if ! meson compile -C "$builddir"; then
  echo "test.sh: the build failed (warnings are errors here); no test ran" >&2
  exit 1
fi

# Nothing from the caller's session may leak in: the tests start their own
# X server, D-Bus and PipeWire, and CI has none of these.
unset DISPLAY WAYLAND_DISPLAY XAUTHORITY DBUS_SESSION_BUS_ADDRESS \
      PIPEWIRE_REMOTE PIPEWIRE_RUNTIME_DIR GSETTINGS_BACKEND
while IFS= read -r name; do
  unset "$name"
done < <(compgen -e | grep -E '^(AUDIO_SERVER_|ROADIE_CONTROL)' || true)

testlog="$builddir/meson-logs/testlog.json"
rm -f "$testlog"

set +e
meson test -C "$builddir" --print-errorlogs --num-processes 2 \
  --timeout-multiplier "$timeout_multiplier" "${suites[@]}" </dev/null
status=$?
set -e

# One closing line a person or CI can read: meson's per-test results, with
# OK and EXPECTEDFAIL as passed; FAIL, TIMEOUT, ERROR and UNEXPECTEDPASS as failed.
if [[ -f "$testlog" ]]; then
  python3 - "$testlog" <<'EOF'
import json, sys
passed = failed = skipped = 0
with open(sys.argv[1], encoding="utf-8") as log:
    for line in log:
        line = line.strip()
        if not line:
            continue
        result = json.loads(line).get("result", "")
        if result in ("OK", "EXPECTEDFAIL"):
            passed += 1
        elif result == "SKIP":
            skipped += 1
        else:
            failed += 1
summary = f"{passed} passed, {failed} failed"
if skipped:
    summary += f", {skipped} skipped"
print(summary)
EOF
else
  echo "0 passed, 0 failed"
  echo "test.sh: meson wrote no test log (exit status $status)" >&2
  if (( status == 0 )); then
    status=1
  fi
fi

exit "$status"
