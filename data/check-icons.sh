#!/usr/bin/env bash
# check-icons.sh SVG...: Roadie's icons are well-formed SVG that librsvg
# renders, at the size their kind asks for (128x128 for the application
# icon, 16x16 for -symbolic ones), and a symbolic icon is one flat colour
# (GTK recolours it, so gradients, strokes or a second colour would show
# wrong).
set -euo pipefail

fail=0
bad ()
{
  echo "not ok: $*" >&2
  fail=1
}

out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

for svg in "$@"; do
  name=$(basename "$svg")
  if ! xmllint --noout "$svg"; then
    bad "$name is not well-formed XML"
    continue
  fi
  root=$(xmllint --xpath 'local-name(/*)' "$svg")
  [[ "$root" == svg ]] || bad "$name: root element is <$root>, not <svg>"
  width=$(xmllint --xpath 'string(/*/@width)' "$svg")
  height=$(xmllint --xpath 'string(/*/@height)' "$svg")
  viewbox=$(xmllint --xpath 'string(/*/@viewBox)' "$svg")
  case "$name" in
    *-symbolic.svg) size=16 ;;
    *) size=128 ;;
  esac
  [[ "$width" == "$size" && "$height" == "$size" && "$viewbox" == "0 0 $size $size" ]] \
    || bad "$name is ${width}x${height} (viewBox '$viewbox'), expected ${size}x${size}"
  if ! rsvg-convert -w "$size" -h "$size" -o "$out/$name.png" "$svg" \
     || [[ ! -s "$out/$name.png" ]]; then
    bad "$name does not render with librsvg"
  fi
  if [[ "$name" == *-symbolic.svg ]]; then
    colours=$(grep -o -E '(fill|stroke|stop-color)="[^"]*"' "$svg" | sort -u)
    [[ "$colours" == 'fill="#2e3436"' ]] \
      || bad "$name must be drawn in one fill colour (#2e3436), has: $(echo $colours)"
    ! grep -q -E '<(linearGradient|radialGradient|image|text)' "$svg" \
      || bad "$name uses gradients, images or text"
  fi
  echo "ok: $name"
done

# The tray asks for exactly these names.
for state in running starting attention stopped; do
  printf '%s\n' "$@" | grep -q "/io.github.roadie.Roadie-$state-symbolic.svg\$" \
    || bad "no tray icon io.github.roadie.Roadie-$state-symbolic"
done
exit "$fail"
