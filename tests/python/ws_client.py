"""Drives examples/apps/websocket/app.js with the `websockets` library, as a user's client
would, and prints what it observed as JSON (the e2e test checks it).

Usage: ws_client.py ws://127.0.0.1:PORT
"""

import asyncio
import json
import sys

from websockets.asyncio.client import connect


async def echo(base: str) -> dict:
    async with connect(f"{base}/echo") as ws:
        await ws.send("hello")
        text = await ws.recv()
        await ws.send(b"\x00\x01\xff")
        binary = await ws.recv()
        # A message sent in three fragments comes back whole.
        await ws.send(["frag", "ment", "ed"])
        fragmented = await ws.recv()
        big = "x" * 200_000
        await ws.send(big)
        big_back = await ws.recv()
        pong = await ws.ping(b"ping")
        latency = await asyncio.wait_for(pong, 5)
        await ws.close(code=1000, reason="done")
        return {
            "text": text,
            "binary": list(binary),
            "fragmented": fragmented,
            "big": big_back == big,
            "pong": latency >= 0,
            "close_code": ws.close_code,
        }


async def chat(base: str) -> dict:
    async with connect(f"{base}/chat?name=ann") as ann:
        ann_welcome = json.loads(await ann.recv())
        async with connect(f"{base}/chat?name=bob") as bob:
            bob_welcome = json.loads(await bob.recv())
            joined = json.loads(await ann.recv())
            await ann.send("hi bob")
            to_bob = json.loads(await bob.recv())
            await bob.send(b"\x00")
            await asyncio.wait_for(bob.wait_closed(), 5)
            refused = {"code": bob.close_code, "reason": bob.close_reason}
        left = json.loads(await asyncio.wait_for(ann.recv(), 5))
    return {
        "ann_welcome": ann_welcome,
        "bob_welcome": bob_welcome,
        "joined": joined,
        "to_bob": to_bob,
        "refused": refused,
        "left": left,
    }


async def main(base: str) -> None:
    print(json.dumps({"echo": await echo(base), "chat": await chat(base)}))


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1]))
