#!/usr/bin/env python3
"""check-screenshots.py METAINFO DATADIR: every screenshot of the metainfo is
a PNG committed under data/screenshots/, addressed by its raw GitHub URL, and
its width and height attributes are the image's real size."""
import struct
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

PREFIX = "https://raw.githubusercontent.com/roadie/roadie/main/data/screenshots/"


def png_size(path):
    with open(path, "rb") as png:
        head = png.read(24)
    if head[:8] != b"\x89PNG\r\n\x1a\n" or head[12:16] != b"IHDR":
        raise ValueError(f"{path} is not a PNG")
    return struct.unpack(">II", head[16:24])


def main():
    metainfo, datadir = sys.argv[1], Path(sys.argv[2])
    images = ET.parse(metainfo).getroot().findall("./screenshots/screenshot/image")
    failed = not images
    if not images:
        print("not ok: the metainfo has no screenshot", file=sys.stderr)
    for image in images:
        url = (image.text or "").strip()
        if not url.startswith(PREFIX):
            print(f"not ok: {url} is not under {PREFIX}", file=sys.stderr)
            failed = True
            continue
        path = datadir / "screenshots" / url[len(PREFIX):]
        if not path.is_file():
            print(f"not ok: {url} names {path}, which is not in the repository", file=sys.stderr)
            failed = True
            continue
        width, height = png_size(path)
        if (str(width), str(height)) != (image.get("width"), image.get("height")):
            print(f"not ok: {path.name} is {width}x{height}, the metainfo says "
                  f"{image.get('width')}x{image.get('height')}", file=sys.stderr)
            failed = True
            continue
        print(f"ok: {path.name} {width}x{height}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
