"""A socket.io client that speaks the wire protocol itself (engine.io 4, socket.io 5), for tests and
``tests/benchmarks/webchat_transport.py``: it counts every HTTP request and websocket frame, which a
library client hides. Only what the web chat uses: one namespace ("/"), text packets, events.

python-socketio's own client is not used: its websocket transport needs a newer aiohttp than the
one Rasa 3.6 pins.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from typing import Any

import aiohttp

SEPARATOR = "\x1e"  # engine.io 4: packets of one polling payload


@dataclass
class Counts:
    http_requests: int = 0  # polling GETs and POSTs, the handshake, the websocket upgrade
    frames_sent: int = 0  # websocket frames
    frames_received: int = 0
    bytes_sent: int = 0  # packet payloads (HTTP headers and framing not included)
    bytes_received: int = 0


@dataclass
class WireClient:
    base: str  # http://host:port
    transport: str  # "polling" | "websocket"
    origin: str | None = None
    path: str = "/socket.io/"
    route: str | None = None  # the widget's routing key for a proxy in front of several servers
    counts: Counts = field(default_factory=Counts)

    def __post_init__(self) -> None:
        self.events: asyncio.Queue[tuple[str, Any]] = asyncio.Queue()
        self.sid: str | None = None
        self.session: aiohttp.ClientSession | None = None
        self.ws: aiohttp.ClientWebSocketResponse | None = None
        self.reader: asyncio.Task | None = None
        self.refused = False
        self.upgrades: list[str] = []

    @property
    def url(self) -> str:
        route = f"&route={self.route}" if self.route else ""
        return f"{self.base}{self.path}?EIO=4&transport={self.transport}{route}"

    @property
    def headers(self) -> dict[str, str]:
        headers = {"Content-Type": "text/plain;charset=UTF-8"}
        if self.origin:
            headers["Origin"] = self.origin
        return headers

    # --- connection ---------------------------------------------------------------------------

    async def connect(self, timeout: float = 15) -> None:
        self.session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=None, sock_read=60))
        if self.transport == "websocket":
            ws_url = self.url.replace("http://", "ws://", 1).replace("https://", "wss://", 1)
            self.counts.http_requests += 1  # the upgrade request
            self.ws = await self.session.ws_connect(ws_url, headers={"Origin": self.origin} if self.origin else None)
            self._opened(await self._ws_receive())
            await self._send("40")
            self.reader = asyncio.create_task(self._read_websocket())
        else:
            self._opened((await self._get(self.url))[0])
            await self._post("40")
            self.reader = asyncio.create_task(self._read_polling())
        kind, _ = await self.next("connect", timeout=timeout)
        if kind == "refused":
            self.refused = True

    def _opened(self, packet: str) -> None:
        assert packet.startswith("0"), packet
        handshake = json.loads(packet[1:])
        self.sid = handshake["sid"]
        self.upgrades = handshake.get("upgrades", [])

    async def close(self) -> None:
        # The close packet first, as engine.io's own client does: the server then ends the pending
        # poll itself (a poll dropped first can end the session before the close packet arrives).
        try:
            if self.ws is not None and not self.ws.closed:
                await self.ws.send_str("1")
                await self.ws.close()
            elif self.sid and self.session and self.transport == "polling":
                await self._post("1")
        except (aiohttp.ClientError, asyncio.CancelledError, ConnectionError):
            pass
        if self.reader:
            self.reader.cancel()
        if self.session:
            await self.session.close()

    # --- sending --------------------------------------------------------------------------------

    async def emit(self, event: str, data: Any) -> None:
        await self._send("42" + json.dumps([event, data], separators=(",", ":")))

    async def _send(self, packet: str) -> None:
        if self.ws is not None:
            self.counts.frames_sent += 1
            self.counts.bytes_sent += len(packet.encode())
            await self.ws.send_str(packet)
        else:
            await self._post(packet)

    async def _post(self, packet: str) -> None:
        self.counts.http_requests += 1
        self.counts.bytes_sent += len(packet.encode())
        async with self.session.post(f"{self.url}&sid={self.sid}", data=packet.encode(), headers=self.headers) as r:
            await r.read()
            assert r.status == 200, (r.status, packet)

    # --- receiving ------------------------------------------------------------------------------

    async def _get(self, url: str) -> list[str]:
        self.counts.http_requests += 1
        async with self.session.get(url, headers=self.headers) as r:
            body = await r.text()
            assert r.status == 200, (r.status, body)
        self.counts.bytes_received += len(body.encode())
        return body.split(SEPARATOR)

    async def _ws_receive(self) -> str:
        message = await self.ws.receive()
        if message.type != aiohttp.WSMsgType.TEXT:
            raise ConnectionError(f"websocket closed: {message.type}")
        self.counts.frames_received += 1
        self.counts.bytes_received += len(message.data.encode())
        return message.data

    async def _read_polling(self) -> None:
        while True:
            for packet in await self._get(f"{self.url}&sid={self.sid}"):
                await self._handle(packet)

    async def _read_websocket(self) -> None:
        while True:
            await self._handle(await self._ws_receive())

    async def _handle(self, packet: str) -> None:
        if packet == "2":  # engine.io PING: answer PONG
            await self._send("3")
        elif packet.startswith("40"):
            await self.events.put(("connect", packet[2:]))
        elif packet.startswith("44"):
            await self.events.put(("refused", packet[2:]))
        elif packet.startswith("42"):
            event, *args = json.loads(packet[2:])
            await self.events.put((event, args[0] if args else None))

    async def next(self, *names: str, timeout: float = 30) -> tuple[str, Any]:
        """The next event among `names` (others are dropped); "refused" ends a connect."""
        while True:
            kind, data = await asyncio.wait_for(self.events.get(), timeout)
            if kind in names or kind == "refused":
                return kind, data

    async def start_session(self, session_id: str | None = None) -> str:
        await self.emit("session_request", {"session_id": session_id})
        return (await self.next("session_confirm"))[1]
