"""The web chat at the HTTP level, on the running servers: what a browser downloads (compressed,
cached by content hash, revalidated with ETags) and both socket.io transports (websockets and
long-polling), with the language each bot message carries."""

from __future__ import annotations

import asyncio
import gzip
import json
import re
import urllib.error
import urllib.request

import brotli
import pytest

from tests.e2e.socketio_wire import WireClient

pytestmark = pytest.mark.e2e

IMMUTABLE = "public, max-age=31536000, immutable"
HASHED = re.compile(r"^(?P<stem>.+)\.(?P<hash>[0-9a-f]{16})\.(?P<suffix>css|js)$")


def get(url: str, headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
    """A GET as a browser sends it; urllib decodes no content coding, so bodies are as sent."""
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


def decoded(headers: dict[str, str], body: bytes) -> bytes:
    encoding = headers.get("Content-Encoding", "identity")
    return {"br": brotli.decompress, "gzip": gzip.decompress}.get(encoding, lambda b: b)(body)


def test_entry_points_are_compressed_and_revalidated(servers):
    base = f"{servers.base}/webhooks/webchat"
    for path in ("/", "/widget.js"):
        status, plain_headers, plain = get(base + path)
        assert status == 200 and "Content-Encoding" not in plain_headers
        for accept, encoding in (("gzip, deflate, br", "br"), ("gzip", "gzip"), ("br;q=0, gzip", "gzip"),
                                 ("identity", None)):
            status, headers, body = get(base + path, {"Accept-Encoding": accept})
            assert status == 200 and headers.get("Content-Encoding") == encoding, (path, accept, headers)
            assert decoded(headers, body) == plain
            if encoding:
                assert len(body) < 0.6 * len(plain), (path, encoding, len(body), len(plain))
            # The URL cannot change, so the browser asks each time; unchanged, the answer is empty.
            assert headers["Cache-Control"] == "no-cache" and "Accept-Encoding" in headers.get("Vary", "")
            status, again, body = get(base + path, {"Accept-Encoding": accept, "If-None-Match": headers["ETag"]})
            assert (status, body, again["ETag"]) == (304, b"", headers["ETag"])
        assert "Content-Security-Policy" in plain_headers


def test_files_named_by_content_hash_are_cached_for_good(servers):
    base = f"{servers.base}/webhooks/webchat"
    page = get(base + "/")[2].decode()
    widget = get(base + "/widget.js")[2].decode()
    names = set(re.findall(r"static/([\w.-]+\.(?:css|js))", page + widget))
    stems = {HASHED.match(name).group("stem") for name in names}
    assert stems == {"style", "demo", "widget", "socket.io.min"}, names
    total = {"br": 0, "identity": 0}
    for name in names | {"widget.js"}:
        url = f"{base}/widget.js" if name == "widget.js" else f"{base}/static/{name}"
        if name.startswith(("style.", "demo.")):
            continue  # the demo page's own files, not the widget's
        for encoding in total:
            status, headers, body = get(url, {"Accept-Encoding": encoding})
            assert status == 200
            total[encoding] += len(body)
            if name != "widget.js":
                assert headers["Cache-Control"] == IMMUTABLE, (name, headers)
                assert HASHED.match(name).group("hash") in headers["ETag"]
    # What a visitor downloads for the widget: rasa-webchat was 715 KB before compression.
    assert total["identity"] < 100_000 and total["br"] < 30_000, total
    # The same files under their plain names are revalidated, not cached for good.
    status, headers, _ = get(f"{base}/static/widget.css")
    assert status == 200 and headers["Cache-Control"] == "no-cache"
    assert get(f"{base}/static/index.html")[0] == 404  # the page only at its own URL
    assert get(f"{base}/static/widget.0000000000000000.css")[0] == 404


def test_api_answers_are_never_cached(servers):
    request = urllib.request.Request(
        f"{servers.base}/webhooks/webchat/sign-in", data=json.dumps({"customer": "amina"}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        assert response.headers["Cache-Control"] == "no-store"
        assert "token" in json.loads(response.read())
    assert get(f"{servers.base}/webhooks/webchat/demo-customers")[1]["Cache-Control"] == "no-store"


async def converse(base: str, transport: str, text: str) -> tuple[WireClient, dict]:
    client = WireClient(base, transport, origin=base)
    try:
        await client.connect()
        assert not client.refused
        session_id = await client.start_session()
        assert len(session_id) == 32
        await client.emit("user_uttered", {"message": text, "session_id": session_id, "customData": {"language": "en"}})
        _, reply = await client.next("bot_uttered", timeout=60)
        return client, reply
    finally:
        await client.close()


def test_web_chat_over_websockets_and_over_long_polling(servers):
    ws, reply = asyncio.run(converse(servers.base, "websocket", "bonjour"))
    assert reply["text"].startswith("Bonjour") and reply["language"] == "fr"
    assert ws.counts.http_requests == 1  # the upgrade; then frames only
    polling, reply = asyncio.run(converse(servers.base, "polling", "habari yako"))
    assert reply["text"].startswith("Habari") and reply["language"] == "sw"
    assert polling.upgrades == ["websocket"]  # a polling client is offered the upgrade
    assert polling.counts.http_requests >= 4  # handshake, connect, session request, message, polls


def test_websockets_refuse_foreign_origins_too(servers):
    async def attempt() -> bool:
        client = WireClient(servers.base, "websocket", origin="https://evil.example")
        try:
            await client.connect()
            return client.refused
        finally:
            await client.close()

    assert asyncio.run(attempt()) is True
