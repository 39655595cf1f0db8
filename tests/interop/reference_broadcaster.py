#!/usr/bin/env python3
"""reference_broadcaster.py: the broadcast benchmark's reference server.

What roadie-engine --test-frames does, written the way a Python VJ server
would be: python3-websockets, asyncio, websockets.broadcast() to every
connected client (which skips a client whose write buffer is full, the
library's own slow-consumer policy). Same hello, same frames byte for byte
in shape and size (src/engine/roadie-test-frames.c: keep the two in step),
each stamped with the time it was built, so tests/bench/bench-broadcast.c
measures both servers the same way.

    reference_broadcaster.py --port N [--fps 60]

Prints {"event": "listening", "port": N, "websockets": ..., "python": ...}
and runs until SIGTERM or stdin EOF.
"""

import argparse
import asyncio
import json
import math
import platform
import signal
import sys
import time

try:
    import websockets
except ImportError:
    print("python3-websockets is missing: apt-get install python3-websockets",
          file=sys.stderr)
    sys.exit(3)

BANDS = 32
BPM = 128.0
HELLO = json.dumps({"type": "hello", "server": "reference-broadcaster",
                    "version": websockets.__version__, "protocol": 1},
                   separators=(",", ":"))


def number(value):
    """A double as json-glib writes it: %.17g, with ".0" when integral."""
    text = "%.17g" % value
    if not any(c in text for c in ".eni"):
        text += ".0"
    return text


def build_frame(seq, fps, ts):
    t = seq / fps
    beats = t * BPM / 60.0
    phase = beats - math.floor(beats)
    previous = (seq - 1) / fps * BPM / 60.0 if seq > 0 else -1.0
    beat = math.floor(beats) != math.floor(previous)
    kick = math.exp(-phase * 8.0)
    rms = 0.25 + 0.2 * kick
    bands = []
    for i in range(BANDS):
        level = (0.7 * math.exp(-i / 10.0)
                 + 0.3 * kick * math.exp(-i / 3.0)
                 + 0.05 * (1.0 + math.sin(t * 2.0 + i * 0.7)))
        bands.append(number(min(1.0, level)))
    return ('{"type":"frame","seq":%d,"ts":%s,"rms":%s,"peak":%s,"bands":[%s],'
            '"onset":%s,"beat":%s,"bpm":%s,"confidence":%s,"phase":%s}'
            % (seq, number(ts), number(rms), number(min(1.0, rms * 1.6)),
               ",".join(bands), number(kick), "true" if beat else "false",
               number(BPM), number(0.9), number(phase)))


CLIENTS = set()


async def handler(ws, path):
    CLIENTS.add(ws)
    try:
        await ws.send(HELLO)
        # Nothing to read but control frames; the library answers pings.
        async for _ in ws:
            pass
    except websockets.ConnectionClosed:
        pass
    finally:
        CLIENTS.discard(ws)


async def broadcast_frames(fps):
    loop = asyncio.get_running_loop()
    epoch = loop.time()
    seq = 0
    while True:
        frame = build_frame(seq, fps, time.time())
        websockets.broadcast(CLIENTS, frame)
        seq += 1
        # Frame n is due at epoch + n / fps, like the engine's frame clock.
        delay = epoch + seq / fps - loop.time()
        if delay < -0.25:
            # Fell far behind: start again from now rather than burst.
            epoch = loop.time() - seq / fps
            delay = 0.0
        await asyncio.sleep(max(0.0, delay))


async def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--fps", type=float, default=60.0)
    args = parser.parse_args()

    loop = asyncio.get_running_loop()
    stop = loop.create_future()
    loop.add_signal_handler(signal.SIGTERM, stop.set_result, None)
    loop.add_reader(sys.stdin.fileno(),
                    lambda: stop.done() or (sys.stdin.buffer.read1(4096) or stop.set_result(None)))

    # The hub pings browsers every 15 s; websockets' default is 20 s.
    async with websockets.serve(handler, "127.0.0.1", args.port,
                                compression=None, max_queue=4) as server:
        port = server.sockets[0].getsockname()[1]
        print(json.dumps({"event": "listening", "port": port,
                          "websockets": websockets.__version__,
                          "python": platform.python_version()}), flush=True)
        frames = asyncio.ensure_future(broadcast_frames(args.fps))
        await stop
        frames.cancel()


if __name__ == "__main__":
    asyncio.run(main())
