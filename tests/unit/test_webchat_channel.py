"""The web chat's server side without servers: asset names and encodings, the language of a bot
message, and the socket.io transports a setting turns on."""

from __future__ import annotations

import gzip

import brotli

from bot.channels.socketio import SanicWebSocket, SocketIOInput, response_language
from bot.channels.webchat import Assets, accepted_encodings, etag_matches, make_asset


def test_accepted_encodings_follow_the_header():
    assert accepted_encodings("gzip, deflate, br") == {"gzip", "deflate", "br"}
    assert accepted_encodings("br;q=0, gzip;q=0.8") == {"gzip"}
    assert accepted_encodings("") == set()
    assert {"br", "gzip"} <= accepted_encodings("*")
    asset = make_asset("widget.js", b"var a = 1;\n" * 500)
    assert asset.encoding_for("gzip, br") == "br"
    assert asset.encoding_for("gzip") == "gzip"
    assert asset.encoding_for("br;q=0, gzip") == "gzip"
    assert asset.encoding_for("identity") == "identity"
    assert brotli.decompress(asset.bodies["br"]) == gzip.decompress(asset.bodies["gzip"]) == asset.bodies["identity"]


def test_asset_names_carry_the_content_hash():
    one = make_asset("widget.css", b".a { color: red; }")
    assert one.hashed_name == f"widget.{one.etag}.css" and len(one.etag) == 16
    assert make_asset("widget.css", b".a { color: blue; }").etag != one.etag
    assert "br" not in one.bodies  # too small to gain anything: served as is
    assert etag_matches(f'"{one.etag}-br"', one) and etag_matches(f'W/"{one.etag}"', one)
    assert not etag_matches('"0000"', one) and not etag_matches(None, one)


def test_entry_points_refer_to_hashed_names(tmp_path):
    (tmp_path / "index.html").write_text('<link href="static/style.css"><script src="widget.js"></script>')
    (tmp_path / "widget.js").write_text('load(prefix + "/static/widget.css", prefix + "/static/vendor.min.js");')
    (tmp_path / "style.css").write_text("body { margin: 0; }")
    (tmp_path / "widget.css").write_text(".sc-root { display: flex; }")
    (tmp_path / ".hidden").write_text("secret")
    vendor = tmp_path / "vendor.min.js"
    vendor.write_text("var io = 1;")
    assets = Assets(tmp_path, {"vendor.min.js": vendor})
    style = assets.get("style.css")[0]
    index = assets.get("index.html")[0].bodies["identity"].decode()
    assert f'href="static/{style.hashed_name}"' in index
    widget = assets.get("widget.js")[0].bodies["identity"].decode()
    assert assets.get("widget.css")[0].hashed_name in widget and assets.get("vendor.min.js")[0].hashed_name in widget
    assert assets.get(style.hashed_name) == (style, True) and assets.get("style.css") == (style, False)
    assert assets.get(".hidden") is None and assets.missing == []
    assert Assets(tmp_path, {"socket.io.min.js": tmp_path / "absent.js"}).missing == ["socket.io.min.js"]


def test_bot_messages_say_their_language():
    condition = [{"type": "slot", "name": "language", "value": "sw"}]
    assert response_language({"text": "Habari", "condition": condition}) == "sw"
    assert response_language({"text": "x", "condition": [{"type": "slot", "name": "other", "value": "fr"}]}) is None
    assert response_language({"text": "built by an action"}) is None


def test_websockets_are_on_unless_turned_off():
    async def ignore(_message):
        return None

    on = SocketIOInput.from_credentials({"session_persistence": True})
    on.blueprint(ignore)
    assert on.sio.eio.transports == ["polling", "websocket"] and on.sio.eio.allow_upgrades
    assert on.sio.eio._async["websocket"] is SanicWebSocket
    off = SocketIOInput.from_credentials({"websockets": "false"})
    off.blueprint(ignore)
    assert off.sio.eio.transports == ["polling"] and not off.sio.eio.allow_upgrades
