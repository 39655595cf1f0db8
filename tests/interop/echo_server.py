#!/usr/bin/env python3
"""echo_server.py: a WebSocket server written on python3-websockets.

An independent implementation for tests/test-ws-interop.c to point Roadie's
RoadieWsClient at. It echoes every text message, except these commands:

    fragment:N:TEXT      send TEXT back as one message in N fragments
    close:CODE:REASON    start the close handshake with CODE and REASON
    ping:N               send N pings, wait for each pong, answer "pongs:N"

Besides, it pings every connection every --ping-interval seconds on its own
and counts the pongs. It reports on stdout, one JSON object per line:

    {"event": "listening", "port": N, "websockets": "10.4", "python": "3.11.2"}
    {"event": "connected", "path": "/"}
    {"event": "received", "length": N}
    {"event": "closed", "rcvd_code": C, "rcvd_reason": R, "sent_code": C,
     "sent_reason": R, "rcvd_then_sent": B, "pongs": N}

It runs until stdin reaches EOF (the test closes it, or dies).
"""

import argparse
import asyncio
import json
import platform
import sys

try:
    import websockets
except ImportError:
    print("python3-websockets is missing: apt-get install python3-websockets",
          file=sys.stderr)
    sys.exit(3)


def report(**fields):
    print(json.dumps(fields), flush=True)


async def keep_pinging(ws, interval, counter):
    """Our own pings with a deadline, so a peer that does not answer shows."""
    try:
        while True:
            await asyncio.sleep(interval)
            waiter = await ws.ping()
            try:
                await asyncio.wait_for(waiter, timeout=5)
            except asyncio.TimeoutError:
                report(event="pong-timeout")
                return
            counter[0] += 1
    except websockets.ConnectionClosed:
        pass


async def handle(ws, path, ping_interval):
    report(event="connected", path=path)
    pongs = [0]
    pinger = None
    if ping_interval > 0:
        pinger = asyncio.ensure_future(keep_pinging(ws, ping_interval, pongs))
    try:
        async for message in ws:
            if isinstance(message, bytes):
                report(event="received-binary", length=len(message))
                await ws.send(message)
                continue
            report(event="received", length=len(message))
            if message.startswith("fragment:"):
                _, count, text = message.split(":", 2)
                count = max(1, int(count))
                step = max(1, -(-len(text) // count))
                parts = [text[i:i + step] for i in range(0, len(text), step)]
                # An iterable of str is sent as one fragmented text message.
                await ws.send(parts)
                report(event="sent-fragmented", fragments=len(parts))
            elif message.startswith("close:"):
                _, code, reason = message.split(":", 2)
                await ws.close(int(code), reason)
            elif message.startswith("ping:"):
                count = int(message.split(":", 1)[1])
                for i in range(count):
                    waiter = await ws.ping(b"roadie-%d" % i)
                    await asyncio.wait_for(waiter, timeout=5)
                await ws.send("pongs:%d" % count)
            else:
                await ws.send(message)
    except websockets.ConnectionClosed:
        pass
    finally:
        if pinger is not None:
            pinger.cancel()
        await ws.wait_closed()
        report(event="closed",
               rcvd_code=ws.close_rcvd.code if ws.close_rcvd else None,
               rcvd_reason=ws.close_rcvd.reason if ws.close_rcvd else None,
               sent_code=ws.close_sent.code if ws.close_sent else None,
               sent_reason=ws.close_sent.reason if ws.close_sent else None,
               rcvd_then_sent=ws.close_rcvd_then_sent,
               pongs=pongs[0])


async def wait_for_stdin_eof():
    loop = asyncio.get_running_loop()
    await loop.run_in_executor(None, sys.stdin.read)


async def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--ping-interval", type=float, default=0.2)
    args = parser.parse_args()

    async def handler(ws, path):
        await handle(ws, path, args.ping_interval)

    # websockets' own keepalive is off: our pinger above counts the pongs.
    async with websockets.serve(handler, "127.0.0.1", args.port,
                                ping_interval=None, max_size=1 << 20) as server:
        port = server.sockets[0].getsockname()[1]
        report(event="listening", port=port, websockets=websockets.__version__,
               python=platform.python_version())
        await wait_for_stdin_eof()


if __name__ == "__main__":
    asyncio.run(main())
