#!/usr/bin/env python3
"""test-flatpak-manifest.py SOURCE_ROOT: what can be checked of the Flatpak
without building it (the GNOME runtimes are not reachable from CI).

- flatpak/io.github.roadie.Roadie.json is strict JSON, for this app id, on
  the GNOME runtime, and runs roadie;
- every source is pinned: archives and files by https URL and sha256, git by
  commit; the only local source is this repository, for Roadie itself;
- FFTW is built single precision with SIMD options for x86_64 and aarch64,
  and every dependency() of the meson files is either in the GNOME runtime
  or built by a module;
- Roadie is built with meson with exactly the options CI builds it with
  (build-aux/test.sh, plus the project's default buildtype, which
  flatpak-builder would otherwise replace with release);
- the finish-args are exactly the ones the README's Flatpak permissions
  section explains, each with a reason, and none of the sandbox escapes
  that the README documents as opt-in.

Prints TAP.
"""
import json
import re
import sys
from pathlib import Path

APP_ID = "io.github.roadie.Roadie"

# pkg-config names the GNOME runtime (org.gnome.Platform, which includes the
# freedesktop runtime) provides; anything else needs a module.
# meson built-ins, not libraries to provide.
BUILTIN = {"threads"}
GNOME_RUNTIME = {
    "glib-2.0", "gio-2.0", "gio-unix-2.0", "gobject-2.0",
    "gtk4", "libadwaita-1", "libsoup-3.0", "json-glib-1.0",
    "libpipewire-0.3",
}
# pkg-config name -> the module of the manifest that provides it.
MODULE_FOR = {
    "fftw3f": "fftw3f",
    "sndfile": "libsndfile",
}
# Never granted by default: each one escapes the sandbox.
FORBIDDEN = {
    "--talk-name=org.freedesktop.Flatpak",
    "--filesystem=host", "--filesystem=home", "--filesystem=host-os",
    "--socket=session-bus", "--socket=system-bus", "--device=all",
}

results = []


def check(ok, what, detail=""):
    results.append((bool(ok), what, detail))
    return ok


def all_modules(modules):
    for module in modules:
        if isinstance(module, str):
            check(False, f"module {module} is inline", "no external module files")
            continue
        yield module
        yield from all_modules(module.get("modules", []))


def check_sources(module, root, manifest_dir):
    for source in module.get("sources", []):
        kind = source.get("type")
        name = f"{module['name']}: {kind} source {source.get('url') or source.get('path')}"
        if kind in ("archive", "file"):
            check(str(source.get("url", "")).startswith("https://"), f"{name} comes over https")
            check(re.fullmatch(r"[0-9a-f]{64}", source.get("sha256", "")),
                  f"{name} has a sha256")
        elif kind == "git":
            check(re.fullmatch(r"[0-9a-f]{40}", source.get("commit", "")),
                  f"{name} is pinned to a commit")
        elif kind == "dir":
            path = (manifest_dir / source.get("path", "")).resolve()
            check(module["name"] == "roadie" and path == root,
                  f"{name} is this repository, for Roadie only", str(path))
        else:
            check(False, f"{name}: a {kind} source cannot be checksummed here")


def meson_dependencies(root):
    names = set()
    for build in root.rglob("meson.build"):
        if any(part.startswith(("build", "_build", ".")) for part in build.relative_to(root).parts[:-1]):
            continue
        names.update(re.findall(r"dependency\(\s*'([^']+)'", build.read_text(encoding="utf-8")))
    return names


def ci_meson_options(root):
    test_sh = (root / "build-aux" / "test.sh").read_text(encoding="utf-8")
    match = re.search(r"^setup_options=\(([^)]*)\)", test_sh, re.M)
    options = match.group(1).split() if match else []
    meson_build = (root / "meson.build").read_text(encoding="utf-8")
    buildtype = re.search(r"'buildtype=([a-z]+)'", meson_build)
    if buildtype:
        options.append(f"--buildtype={buildtype.group(1)}")
    return options


def documented_finish_args(root):
    readme = (root / "README.md").read_text(encoding="utf-8")
    section = re.search(r"<!-- flatpak-permissions:start -->(.*?)<!-- flatpak-permissions:end -->",
                        readme, re.S)
    if not check(section, "the README has a Flatpak permissions section"):
        return {}
    documented = {}
    for line in section.group(1).splitlines():
        row = re.match(r"\|\s*`(--[^`]+)`\s*\|(.*)\|\s*$", line)
        if row:
            documented[row.group(1)] = row.group(2).strip()
    return documented


def main():
    root = Path(sys.argv[1]).resolve()
    manifest_path = root / "flatpak" / f"{APP_ID}.json"

    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        print("1..1")
        print(f"not ok 1 - the manifest parses as JSON # {error}")
        return 1
    check(True, "the manifest parses as JSON")

    check(manifest.get("id") == APP_ID, "the app id is " + APP_ID, manifest.get("id"))
    check(manifest.get("runtime") == "org.gnome.Platform", "the runtime is org.gnome.Platform")
    check(manifest.get("sdk") == "org.gnome.Sdk", "the SDK is org.gnome.Sdk")
    check(re.fullmatch(r"\d+", str(manifest.get("runtime-version", ""))),
          "the runtime version is a stable GNOME release", manifest.get("runtime-version"))
    check(manifest.get("command") == "roadie", "the command is roadie")

    modules = list(all_modules(manifest.get("modules", [])))
    by_name = {module.get("name"): module for module in modules}
    check(modules and modules[-1].get("name") == "roadie", "Roadie is the last module")
    for module in modules:
        check_sources(module, root, manifest_path.parent)
        check(module.get("sources"), f"{module.get('name')} has sources")

    # FFTW: single precision, SIMD per architecture.
    fftw = by_name.get("fftw3f", {})
    fftw_opts = fftw.get("config-opts", [])
    check("--enable-float" in fftw_opts, "FFTW is built single precision (fftw3f)")
    arch = fftw.get("build-options", {}).get("arch", {})
    x86 = arch.get("x86_64", {}).get("config-opts", [])
    arm = arch.get("aarch64", {}).get("config-opts", [])
    check("--enable-sse2" in x86 and "--enable-avx" in x86, "FFTW uses SSE2 and AVX on x86_64", x86)
    check("--enable-neon" in arm, "FFTW uses NEON on aarch64", arm)
    check(not any(o.startswith(("--enable-sse", "--enable-avx", "--enable-neon")) for o in fftw_opts),
          "FFTW's SIMD options are per architecture only")

    # Every library Roadie's meson files ask for is there.
    for name in sorted(meson_dependencies(root)):
        if name in BUILTIN:
            continue
        if name in GNOME_RUNTIME:
            check(True, f"{name} comes from the GNOME runtime")
        else:
            module = MODULE_FOR.get(name)
            check(module in by_name, f"{name} is built by a module",
                  "not in the GNOME runtime: add a module (and to MODULE_FOR here)")

    # Roadie: meson, the options of CI.
    roadie = by_name.get("roadie", {})
    check(roadie.get("buildsystem") == "meson", "Roadie is built with meson")
    ci = ci_meson_options(root)
    check(ci and sorted(roadie.get("config-opts", [])) == sorted(ci),
          "Roadie's meson options are the ones CI builds with",
          f"manifest {roadie.get('config-opts')} vs CI {ci}")

    # Permissions: exactly the documented ones, each with its reason.
    finish_args = manifest.get("finish-args", [])
    documented = documented_finish_args(root)
    check(len(finish_args) == len(set(finish_args)), "no finish-arg is repeated")
    for arg in finish_args:
        check(arg in documented, f"{arg} is explained in the README")
        check(len(documented.get(arg, "")) >= 20, f"{arg} has a reason", documented.get(arg, ""))
    for arg in documented:
        check(arg in finish_args or arg in FORBIDDEN,
              f"documented {arg} is in the manifest (or is a documented opt-in)")
    for arg in FORBIDDEN:
        check(arg not in finish_args, f"{arg} is not granted by default")
    check("--talk-name=org.freedesktop.Flatpak" in documented,
          "the README documents the host opt-in (--talk-name=org.freedesktop.Flatpak)")

    print(f"1..{len(results)}")
    failed = 0
    for number, (ok, what, detail) in enumerate(results, 1):
        print(f"{'ok' if ok else 'not ok'} {number} - {what}")
        if not ok:
            failed += 1
            if detail:
                print(f"# {detail}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
