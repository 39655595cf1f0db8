#!/usr/bin/env python3
"""client.py: a WebSocket client written on python3-websockets.

An independent implementation for tests/test-ws-interop.c to point at
Roadie's RoadieWsHub. It connects to URL and runs the steps in order:

    expect:TYPE             read until a JSON text message of that "type"
    send:TEXT               send TEXT as one frame
    send-fragmented:N:TEXT  send TEXT as one message in N fragments
    ping                    ping, wait for the pong
    linger:SECONDS          keep reading (and answering pings) that long
    close:CODE:REASON       close handshake with CODE and REASON
    wait-close              read until the server closes

and reports on stdout, one JSON object per line, e.g.
    {"event": "connected", "websockets": "10.4", "python": "3.11.2"}
    {"event": "message", "type": "hello", "data": {...}}
    {"event": "closed", "rcvd_code": 1000, ...}
Exit status 0 when every step passed, 1 otherwise (with an "error" line).
"""

import asyncio
import json
import platform
import sys
import time

try:
    import websockets
except ImportError:
    print("python3-websockets is missing: apt-get install python3-websockets",
          file=sys.stderr)
    sys.exit(3)

STEP_TIMEOUT = 5.0


def report(**fields):
    print(json.dumps(fields), flush=True)


def split_fragments(text, count):
    step = max(1, -(-len(text) // max(1, count)))
    return [text[i:i + step] for i in range(0, len(text), step)]


def report_closed(ws):
    report(event="closed",
           rcvd_code=ws.close_rcvd.code if ws.close_rcvd else None,
           rcvd_reason=ws.close_rcvd.reason if ws.close_rcvd else None,
           sent_code=ws.close_sent.code if ws.close_sent else None,
           sent_reason=ws.close_sent.reason if ws.close_sent else None,
           rcvd_then_sent=ws.close_rcvd_then_sent)


async def expect(ws, wanted):
    deadline = time.monotonic() + STEP_TIMEOUT
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError("no %s message" % wanted)
        message = await asyncio.wait_for(ws.recv(), timeout=remaining)
        if isinstance(message, bytes):
            continue
        data = json.loads(message)
        if data.get("type") == wanted:
            report(event="message", type=wanted, data=data)
            return


async def run(url, steps):
    # Our keepalive pings are off: the "ping" step sends them on purpose,
    # and the server's pings are answered by the library in every step.
    async with websockets.connect(url, ping_interval=None,
                                  open_timeout=STEP_TIMEOUT) as ws:
        report(event="connected", websockets=websockets.__version__,
               python=platform.python_version())
        for step in steps:
            name, _, rest = step.partition(":")
            if name == "expect":
                await expect(ws, rest)
            elif name == "send":
                await ws.send(rest)
                report(event="sent", length=len(rest))
            elif name == "send-fragmented":
                count, _, text = rest.partition(":")
                parts = split_fragments(text, int(count))
                await ws.send(parts)
                report(event="sent-fragmented", fragments=len(parts))
            elif name == "ping":
                started = time.monotonic()
                waiter = await ws.ping(b"interop")
                await asyncio.wait_for(waiter, timeout=STEP_TIMEOUT)
                report(event="pong", rtt_ms=(time.monotonic() - started) * 1000)
            elif name == "linger":
                received = 0
                deadline = time.monotonic() + float(rest)
                try:
                    while time.monotonic() < deadline:
                        try:
                            await asyncio.wait_for(ws.recv(),
                                                   timeout=deadline - time.monotonic())
                            received += 1
                        except asyncio.TimeoutError:
                            break
                except websockets.ConnectionClosed:
                    report_closed(ws)
                    raise
                report(event="lingered", received=received, open=ws.open)
            elif name == "close":
                code, _, reason = rest.partition(":")
                await ws.close(int(code), reason)
                report_closed(ws)
            elif name == "wait-close":
                try:
                    while True:
                        await asyncio.wait_for(ws.recv(), timeout=STEP_TIMEOUT)
                except websockets.ConnectionClosed:
                    pass
                await ws.wait_closed()
                report_closed(ws)
            else:
                raise ValueError("unknown step %r" % step)


def main():
    if len(sys.argv) < 2:
        print("usage: client.py URL STEP...", file=sys.stderr)
        return 2
    try:
        asyncio.run(run(sys.argv[1], sys.argv[2:]))
    except Exception as error:  # every failure is a report, not a traceback
        report(event="error", error="%s: %s" % (type(error).__name__, error))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
