"""Each refusal of the running servers: API token, CORS, socket.io origins, sender ids, request
size limits, forged or expired website tokens, and the action server bound to localhost."""

from __future__ import annotations

import json
import socket
import time
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import urlsplit

import jwt
import pytest
from dotenv import dotenv_values

from tests.conftest import ROOT
from tests.e2e.conftest import JWT_SECRET

pytestmark = pytest.mark.needs_servers

DEFAULTS = dotenv_values(ROOT / ".env.example")


def setting(servers, key: str) -> str:
    return servers.env.get(key) or DEFAULTS.get(key) or ""


def request(url: str, method: str = "GET", body: bytes | None = None, headers: dict | None = None):
    req = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=30) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


# --- HTTP API token -----------------------------------------------------------------------------

@pytest.mark.parametrize(
    "method, path, body",
    [
        ("GET", "/status", None),
        ("GET", "/domain", None),
        ("POST", "/model/parse", {"text": "hello"}),
        ("GET", "/conversations/someone/tracker", None),
        ("POST", "/conversations/someone/messages", {"text": "hi", "sender": "user"}),
        ("POST", "/conversations/someone/trigger_intent", {"name": "greet"}),
        ("PUT", "/model", {"model_file": "/etc/passwd"}),
    ],
)
def test_http_api_needs_the_token(servers, method, path, body):
    data = json.dumps(body).encode() if body is not None else None
    headers = {"Content-Type": "application/json"}
    assert request(f"{servers.base}{path}", method, data, headers)[0] == 401
    assert request(f"{servers.base}{path}?token=wrong-{servers.token}", method, data, headers)[0] == 401


def test_http_api_answers_with_the_token(servers):
    status, _, body = request(f"{servers.base}/status?token={servers.token}")
    assert status == 200 and "model_file" in json.loads(body)


# --- CORS -----------------------------------------------------------------------------------------

def test_cors_allows_only_the_configured_origins(servers):
    allowed = setting(servers, "CORS_ORIGINS").split(",")[0].strip()
    assert allowed
    preflight = {"Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "content-type"}
    for path in ("/webhooks/rest/webhook", "/model/parse"):
        _, headers, _ = request(f"{servers.base}{path}", "OPTIONS", headers={"Origin": allowed, **preflight})
        assert headers.get("Access-Control-Allow-Origin") == allowed
        _, headers, _ = request(f"{servers.base}{path}", "OPTIONS",
                                headers={"Origin": "https://evil.example", **preflight})
        assert "Access-Control-Allow-Origin" not in headers, headers
    body = json.dumps({"sender": "cors-check", "message": "hello"}).encode()
    _, headers, _ = request(f"{servers.base}/webhooks/rest/webhook", "POST", body,
                            {"Content-Type": "application/json", "Origin": "https://evil.example"})
    assert "Access-Control-Allow-Origin" not in headers


def _socket_session(base: str, origin: str) -> str:
    """Opens a socket.io session over engine.io's polling transport and asks to continue conversation "100003" (a Telegram user's): returns the session id the
    server confirms, or "refused"."""
    url = f"{base}/socket.io/?EIO=4&transport=polling"
    headers = {"Origin": origin, "Content-Type": "text/plain;charset=UTF-8"}

    def poll(sid: str) -> str:
        return request(f"{url}&sid={sid}", headers=headers)[2].decode()

    status, _, body = request(url, headers=headers)
    assert status == 200, body
    sid = json.loads(body.decode()[1:])["sid"]  # "0{...}": engine.io open packet
    request(f"{url}&sid={sid}", "POST", b"40", headers)  # socket.io CONNECT to "/"
    answer = poll(sid)
    if answer.startswith("44"):  # CONNECT_ERROR
        return "refused"
    assert answer.startswith("40"), answer
    request(f"{url}&sid={sid}", "POST", b'42["session_request",{"session_id":"100003"}]', headers)
    for _ in range(5):
        for packet in poll(sid).split("\x1e"):
            if packet.startswith('42["session_confirm"'):
                request(f"{url}&sid={sid}", "POST", b"1", headers)  # engine.io close
                return json.loads(packet[2:])[1]
    raise AssertionError("no session_confirm")


def test_socketio_refuses_foreign_origins_and_chosen_session_ids(servers):
    assert _socket_session(servers.base, "https://evil.example") == "refused"
    session_id = _socket_session(servers.base, servers.base)
    assert session_id != "100003" and len(session_id) == 32  # a fresh id, not the one asked for
    # polling clients are offered websockets (bot/channels/socketio.py; origin checks:
    # tests/e2e/test_webchat_http.py)
    _, _, body = request(f"{servers.base}/socket.io/?EIO=4&transport=polling", headers={"Origin": servers.base})
    assert json.loads(body.decode()[1:])["upgrades"] == ["websocket"]


def test_rest_refuses_sender_ids_of_the_messaging_channels(servers):
    for sender in ("100003", "whatsapp:+254712345678", "+447700900123", "U0OLIVER"):
        status, reply = servers.post("/webhooks/rest/webhook", {"sender": sender, "message": "where is my order"})
        assert status == 400, (sender, reply)
    assert servers.post("/webhooks/rest/webhook", {"sender": "web-visitor-1", "message": "hello"})[0] == 200


# --- request size ---------------------------------------------------------------------------------

def declared_body_status(url: str, size: int) -> tuple[int, str]:
    """Status and head of the answer to a POST that declares a body of `size` bytes (only its
    start is sent: the server must refuse before reading it)."""
    parts = urlsplit(url)
    with socket.create_connection((parts.hostname, parts.port), timeout=30) as conn:
        conn.sendall(
            f"POST {parts.path} HTTP/1.1\r\nHost: {parts.netloc}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {size}\r\n\r\n".encode() + b"{" + b" " * 1024
        )
        head = conn.recv(4096).decode(errors="replace")
    return int(head.split()[1]), head


def test_request_size_limits(servers):
    rasa_limit = int(setting(servers, "RASA_REQUEST_MAX_SIZE"))
    action_limit = int(setting(servers, "ACTION_REQUEST_MAX_SIZE"))
    assert declared_body_status(f"{servers.base}/webhooks/rest/webhook", rasa_limit + 1)[0] == 413
    big = json.dumps({"sender": "size-check", "message": "x" * (rasa_limit + 10)}).encode()
    assert request(f"{servers.base}/webhooks/rest/webhook", "POST", big, {"Content-Type": "application/json"})[0] == 413
    action = f"http://127.0.0.1:{servers.env['ACTION_PORT']}/webhook"
    status, head = declared_body_status(action, action_limit + 1)
    # rasa_sdk's catch-all exception handler answers Sanic's PayloadTooLarge with 500: refused all the same.
    assert status == 413 or (status == 500 and "exceeds the size limit" in head), head
    # a normal message still works
    assert servers.post("/webhooks/rest/webhook", {"sender": "size-check", "message": "hello"})[0] == 200


# --- who is talking --------------------------------------------------------------------------------

OLIVER = 3  # customer 3: Oliver, owner of 8170087700000006
QUESTION = "where is my order 8170087700000006"


def token(servers, customer: int = OLIVER, ttl: int = 600, **changes) -> str:
    """The token the website would issue, with one thing changed (a claim, the secret, the algorithm)."""
    now = int(time.time())
    claims = {"sub": str(customer), "aud": setting(servers, "AUTH_JWT_AUDIENCE"),
              "iss": setting(servers, "AUTH_JWT_ISSUER"), "iat": now, "exp": now + ttl}
    secret, algorithm = changes.pop("secret", JWT_SECRET), changes.pop("algorithm", "HS256")
    claims.update(changes)
    return jwt.encode({k: v for k, v in claims.items() if v is not None}, secret, algorithm=algorithm)


def answered(text: str) -> bool:
    return "tracking number" in text and "e-mail address or phone number" not in text


def asked_who(text: str) -> bool:
    return "e-mail address or phone number" in text and "tracking number" not in text


def test_a_website_token_identifies_the_customer(servers):
    text = servers.text(servers.say(f"token-ok-{time.time_ns()}", QUESTION, auth_token=token(servers)))
    assert answered(text), text


@pytest.mark.parametrize("case", ["wrong secret", "expired", "no expiry", "none algorithm", "wrong audience",
                                  "no audience", "wrong issuer", "no issuer"])
def test_forged_or_expired_website_tokens_are_not_trusted(servers, case):
    now = int(time.time())
    forged = token(servers, **{
        "wrong secret": {"secret": "not-the-secret-" + JWT_SECRET},
        "expired": {"exp": now - 60, "iat": now - 660},
        "no expiry": {"exp": None},
        "none algorithm": {"secret": None, "algorithm": "none"},
        "wrong audience": {"aud": "another-service"},
        "no audience": {"aud": None},
        "wrong issuer": {"iss": "https://evil.example"},
        "no issuer": {"iss": None},
    }[case])
    replies = servers.say(f"forged-{case.replace(' ', '-')}-{now}", QUESTION, auth_token=forged)
    text = servers.text(replies)
    assert asked_who(text), text  # asked to prove it, nothing revealed


def test_token_expiring_mid_conversation_makes_the_visitor_anonymous_again(servers):
    sender = f"token-expiry-{time.time_ns()}"
    short = token(servers, ttl=5)
    expires = time.time() + 5
    first = servers.text(servers.say(sender, QUESTION, auth_token=short))
    assert answered(first), first
    time.sleep(max(0.0, expires - time.time()) + 1.5)
    # The page still sends the same token: it has expired, so nobody is signed in any more.
    again = servers.text(servers.say(sender, QUESTION, auth_token=short))
    assert asked_who(again), again


def test_sign_out_leaves_nothing_verified_behind(servers):
    """The shared computer: a signed-in customer, then the next visitor in the same conversation."""
    sender = f"sign-out-{time.time_ns()}"
    signed_in = servers.text(servers.say(sender, QUESTION, auth_token=token(servers)))
    assert answered(signed_in), signed_in
    after = servers.text(servers.say(sender, QUESTION))  # no token: signed out
    assert asked_who(after), after
    # Someone else's valid token identifies that someone else, not the earlier customer.
    amina = servers.text(servers.say(sender, QUESTION, auth_token=token(servers, customer=1)))
    assert "tracking number" not in amina, amina


def test_verification_made_before_a_sign_in_does_not_outlive_the_sign_out(servers):
    sender = f"verify-sign-in-out-{time.time_ns()}"
    assert "e-mail address or phone number" in servers.text(servers.say(sender, QUESTION))
    verified = servers.text(servers.say(sender, "oliver.smith@example.co.uk"))
    assert "tracking number" in verified, verified
    assert answered(servers.text(servers.say(sender, QUESTION)))  # the verification holds meanwhile
    assert answered(servers.text(servers.say(sender, QUESTION, auth_token=token(servers))))  # signs in
    after = servers.text(servers.say(sender, QUESTION))  # signs out
    assert asked_who(after), after


def test_a_message_cannot_pass_itself_off_as_a_reminder(servers):
    """A reminder's turn is judged on the user's previous message; a client that marks its own
    message as external must not get the identity of the message before it."""
    sender = f"fake-external-{time.time_ns()}"
    assert answered(servers.text(servers.say(sender, QUESTION, auth_token=token(servers))))
    status, replies = servers.post("/webhooks/rest/webhook", {"sender": sender, "message": f"EXTERNAL: {QUESTION}",
                                                              "metadata": {"is_external": True}})
    assert status == 200 and asked_who(servers.text(replies)), replies


# --- action server -----------------------------------------------------------------------------------

def listening_addresses(port: int) -> set[str]:
    """Local addresses listening on `port` (from /proc/net/tcp and tcp6)."""
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        path = Path(table)
        if not path.exists():
            continue
        for line in path.read_text().splitlines()[1:]:
            fields = line.split()
            address, hex_port = fields[1].rsplit(":", 1)
            if int(hex_port, 16) == port and fields[3] == "0A":  # LISTEN
                if len(address) == 8:
                    found.add(socket.inet_ntop(socket.AF_INET, bytes.fromhex(address)[::-1]))
                else:
                    raw = bytes.fromhex(address)
                    found.add(socket.inet_ntop(socket.AF_INET6, b"".join(raw[i:i + 4][::-1] for i in range(0, 16, 4))))
    return found


def test_action_server_listens_on_localhost_only(servers):
    port = int(servers.env["ACTION_PORT"])
    assert setting(servers, "ACTION_HOST") == "127.0.0.1"
    assert listening_addresses(port) == {"127.0.0.1"}
    others = {info[4][0] for info in socket.getaddrinfo(socket.gethostname(), None, socket.AF_INET)} - {"127.0.0.1"}
    for address in others:
        if address.startswith("127."):
            continue
        with pytest.raises(OSError):
            socket.create_connection((address, port), timeout=3).close()


# --- web chat page ------------------------------------------------------------------------------------

def test_web_chat_page_loads_nothing_from_elsewhere(servers):
    status, headers, body = request(f"{servers.base}/webhooks/webchat/")
    assert status == 200, body[:300]
    policy = headers.get("Content-Security-Policy", "")
    assert "default-src 'none'" in policy and "script-src 'self'" in policy
    assert headers.get("X-Content-Type-Options") == "nosniff"
    assert b"http://" not in body and b"https://" not in body
    assert request(f"{servers.base}/webhooks/webchat/static/..%2F..%2Fchannels%2Fwebchat.py")[0] == 404
    assert request(f"{servers.base}/webhooks/webchat/static/.npmrc")[0] == 404
