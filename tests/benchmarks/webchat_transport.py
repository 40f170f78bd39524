"""What the web chat's transport costs: websockets against HTTP long-polling, on the real servers.

    .venv/bin/python tests/benchmarks/webchat_transport.py [--turns 30] [--conversations 1,10] [--base URL]

Each conversation opens a socket.io session (the widget's events: ``session_request``, then
``user_uttered`` / ``bot_uttered``) and sends ``--turns`` short messages, one after the other
("merci" / "thanks" / "asante": one small bot answer each, no database). Per transport and number
of concurrent conversations it prints:

* HTTP requests per turn (long-polling: the POST of the message and the GETs that bring the
  answer back; websockets: none) and on connecting (handshake, socket.io connect, session);
* websocket frames per turn; payload bytes per turn (HTTP headers not counted, each request also
  carries some 300-500 bytes of them);
* the latency of a turn, from sending the message to its first answer: p50 / p95.

Without ``--base`` it starts an action server and a Rasa server (``tests/reliability/stack.py``,
newest model in ``models/``, temporary SQLite databases) and stops them at the end. Only local
addresses are contacted.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from tests.e2e.socketio_wire import WireClient  # noqa: E402

MESSAGES = ("merci", "thanks", "asante")


async def conversation(base: str, transport: str, turns: int) -> dict:
    client = WireClient(base, transport, origin=base)
    try:
        await client.connect()
        session_id = await client.start_session(uuid.uuid4().hex)
        connect_requests = client.counts.http_requests
        start = vars(client.counts).copy()
        latencies = []
        for turn in range(turns):
            sent = time.perf_counter()
            await client.emit("user_uttered", {"message": MESSAGES[turn % len(MESSAGES)], "session_id": session_id})
            await client.next("bot_uttered", timeout=60)
            latencies.append(time.perf_counter() - sent)
            await asyncio.sleep(0.3)  # the rest of the answer, if any, before the next message
            while not client.events.empty():
                client.events.get_nowait()
        end = vars(client.counts)
        return {
            "connect_requests": connect_requests,
            "latencies": latencies,
            **{key: end[key] - start[key] for key in end},
        }
    finally:
        await client.close()


async def run(base: str, transport: str, conversations: int, turns: int) -> dict:
    results = await asyncio.gather(*(conversation(base, transport, turns) for _ in range(conversations)))
    latencies = sorted(x for r in results for x in r["latencies"])
    count = len(latencies)

    def per_turn(key: str) -> float:
        return sum(r[key] for r in results) / count

    return {
        "transport": transport,
        "conversations": conversations,
        "turns": count,
        "connect_requests": statistics.mean(r["connect_requests"] for r in results),
        "requests_per_turn": per_turn("http_requests"),
        "frames_per_turn": per_turn("frames_sent") + per_turn("frames_received"),
        "bytes_per_turn": per_turn("bytes_sent") + per_turn("bytes_received"),
        "p50_ms": 1000 * latencies[count // 2],
        "p95_ms": 1000 * latencies[min(count - 1, int(count * 0.95))],
    }


def table(rows: list[dict]) -> str:
    head = ("| transport | conversations | turns | HTTP requests to connect | HTTP requests / turn | "
            "ws frames / turn | payload bytes / turn | p50 ms | p95 ms |")
    lines = [head, "|" + "---|" * 9]
    for r in rows:
        lines.append(
            f"| {r['transport']} | {r['conversations']} | {r['turns']} | {r['connect_requests']:.0f} | "
            f"{r['requests_per_turn']:.2f} | {r['frames_per_turn']:.2f} | {r['bytes_per_turn']:.0f} | "
            f"{r['p50_ms']:.1f} | {r['p95_ms']:.1f} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--turns", type=int, default=30, help="messages per conversation")
    parser.add_argument("--conversations", default="1,10", help="concurrent conversations, comma-separated")
    parser.add_argument("--base", help="a running Rasa server (http://127.0.0.1:5005); default: start one")
    args = parser.parse_args()
    counts = [int(c) for c in args.conversations.split(",") if c.strip()]

    stack = None
    base = args.base
    if not base:
        from tests.reliability.stack import Stack

        workdir = Path(tempfile.mkdtemp(prefix="webchat-bench-"))
        stack = Stack(workdir)
        stack.add_actions()
        stack.add_rasa()
        print("starting the servers...", file=sys.stderr)
        stack.start()
        base = stack.base()
    load_before = " / ".join(f"{x:.1f}" for x in os.getloadavg())
    try:
        rows = []
        for conversations in counts:
            for transport in ("websocket", "polling"):
                asyncio.run(run(base, transport, 1, 2))  # warm-up
                rows.append(asyncio.run(run(base, transport, conversations, args.turns)))
        load = " / ".join(f"{x:.1f}" for x in os.getloadavg())
        print(f"{os.cpu_count()} cores, load average before the run {load_before}, after {load}\n")
        print(table(rows))
    finally:
        if stack is not None:
            stack.stop()


if __name__ == "__main__":
    main()
