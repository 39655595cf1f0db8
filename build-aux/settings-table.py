#!/usr/bin/env python3
"""Prints the README's settings table from the GSettings schema.

    build-aux/settings-table.py             print the table
    build-aux/settings-table.py --check     exit 1 if README.md's table differs
    build-aux/settings-table.py --update    rewrite README.md's table

The table sits between <!-- settings-table:start --> and
<!-- settings-table:end --> in README.md.
"""
import pathlib
import re
import sys
import xml.etree.ElementTree as ET

ROOT = pathlib.Path(__file__).resolve().parent.parent
SCHEMA = ROOT / "data" / "io.github.roadie.Roadie.gschema.xml"
README = ROOT / "README.md"
START = "<!-- settings-table:start -->"
END = "<!-- settings-table:end -->"
TYPES = {"s": "string", "as": "string list", "i": "integer", "x": "integer",
         "b": "boolean", "d": "number"}


def table() -> str:
    rows = ["| key | type | default | range | environment variable | meaning |",
            "|---|---|---|---|---|---|"]
    for key in ET.parse(SCHEMA).getroot().iter("key"):
        name = key.get("name")
        default = key.findtext("default").strip()
        description = " ".join(key.findtext("description").split())
        match = re.search(r"Environment: ([A-Z_]+)", description)
        env = f"`{match.group(1)}`" if match else "—"
        if name == "arguments":
            env += " (shell-quoted)"
        meaning = re.sub(r"\s*Environment:.*$", "", description)
        meaning = meaning.replace("$XDG_STATE_HOME/roadie/audio-server.log",
                                  "`$XDG_STATE_HOME/roadie/audio-server.log`")
        limits = key.find("range")
        span = f"{limits.get('min')} – {limits.get('max')}" if limits is not None else "—"
        choices = [c.get("value") for c in key.iter("choice")]
        if choices:
            span = ", ".join(f"`{c}`" for c in choices)
        if key.get("type") == "s" and default != "''":
            default = default.strip("'")
        rows.append(f"| `{name}` | {TYPES.get(key.get('type'), key.get('type'))} "
                    f"| `{default}` | {span} | {env} | {meaning} |")
    return "\n".join(rows) + "\n"


def main() -> int:
    mode = sys.argv[1] if len(sys.argv) > 1 else ""
    if mode == "":
        sys.stdout.write(table())
        return 0
    text = README.read_text(encoding="utf-8")
    head, sep, rest = text.partition(START + "\n")
    current, sep2, tail = rest.partition(END)
    if not sep or not sep2:
        print(f"{README}: settings table markers not found", file=sys.stderr)
        return 1
    if mode == "--check":
        if current != table():
            print(f"{README}: settings table differs from {SCHEMA.name}; "
                  "run build-aux/settings-table.py --update", file=sys.stderr)
            return 1
        return 0
    if mode == "--update":
        README.write_text(head + START + "\n" + table() + END + tail, encoding="utf-8")
        return 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
