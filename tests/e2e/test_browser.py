"""The web chat in a real browser: Debian's Chromium (headless) driven by playwright-core.

``tests/e2e/browser/chat.mjs`` chats in French, Swahili and English against the ``servers``
fixture, clicks buttons, signs in and out as demo customers and files a cancellation; this test
then checks what the visitor saw (the chat's texts in their language, the transport, nothing of a
signed-out customer left in the browser) and the order database. What it needs comes from the
``browser`` fixture (tests/e2e/conftest.py): Debian's Chromium and the pinned playwright-core
(``make services``), the widget's socket.io client (``make setup``); a missing one fails the test
in CI, where a browser test that did not run must not pass. Never ``npx playwright install``: the
browser is Debian's.

Screenshots (one per language) go to the test's temporary directory; with
``UPDATE_SCREENSHOTS=1``, or when they are missing, also to ``bot/web/screenshots/`` for the README.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess

import pytest
from dotenv import dotenv_values

from actions.orders.db import make_engine, session_factory
from actions.orders.service import OrderService
from tests.conftest import ROOT

pytestmark = pytest.mark.needs_servers

SCRIPT = ROOT / "tests" / "e2e" / "browser" / "chat.mjs"
README_SHOTS = ROOT / "bot" / "web" / "screenshots"
LANGUAGES = ("fr", "sw", "en")


def order_to_cancel(service: OrderService, amina: int) -> str:
    """Amina's order 03 (awaiting shipment), or 02 if another test already asked to cancel 03."""
    for number in ("8170034500000003", "8170034500000002"):
        order = service.get_order(order_number=number, customer_id=amina)
        if order is not None and order.cancellation_state == "none" and order.status != "cancelled":
            return number
    pytest.fail("Amina's orders 03 and 02 are no longer cancellable in the shared e2e database")


def embed_origin(servers) -> str:
    """A web site allowed to embed the chat: the first of CORS_ORIGINS (not the bot server)."""
    origins = servers.env.get("CORS_ORIGINS") or dotenv_values(ROOT / ".env.example").get("CORS_ORIGINS") or ""
    others = [o.strip() for o in origins.split(",") if o.strip() and o.strip().rstrip("/") != servers.base]
    if not others:
        pytest.fail("CORS_ORIGINS names no web site other than the bot server: nothing to embed the chat in")
    return others[0]


def test_web_chat_in_a_real_browser(servers, browser, tmp_path):
    service = OrderService(session_factory(make_engine(servers.database_url)))
    amina = service.verify_owner(order_number="8170034500000003", contact="amina.diallo@example.com")
    number = order_to_cancel(service, amina)
    shots = tmp_path / "screenshots"
    result_file = tmp_path / "result.json"
    run = subprocess.run(
        ["node", str(SCRIPT)],
        env={
            **os.environ,
            "PLAYWRIGHT_CORE_DIR": str(browser.playwright_core),
            "CHROMIUM": browser.chromium,
            "BASE_URL": servers.base,
            "SCREENSHOT_DIR": str(shots),
            "RESULT_FILE": str(result_file),
            "ORDER_TO_CANCEL": number,
            "EMBED_ORIGIN": embed_origin(servers),
            "PLAYWRIGHT_BROWSERS_PATH": str(tmp_path / "no-downloaded-browsers"),
        },
        cwd=ROOT, capture_output=True, text=True, timeout=420,
    )
    result = json.loads(result_file.read_text()) if result_file.exists() else {}
    assert run.returncode == 0, f"{run.stderr[-4000:]}\n{json.dumps(result, indent=1)[:4000]}"

    # Nothing was fetched from the internet (the widget and its assets come from the bot server),
    # and nothing went wrong in the page (a CSP violation, a script error).
    assert result["external_requests"] == []
    assert result["console_errors"] == []

    fr, sw, en = (result["scenarios"][lang] for lang in LANGUAGES)
    # Another site embeds the one line: a floating button, opened and closed from the keyboard.
    embed = result["scenarios"]["embed"]
    assert embed["launcher"] == "Contacter le service client" and embed["expanded_before"] == "false"
    assert embed["focused_after_open"] == "sc-input" and embed["focused_after_close"] == "sc-launcher"
    assert embed["expanded_after"] == "false" and embed["transport"] == "websocket"
    assert "Bonjour" in embed["greeting"] and "Avec plaisir" in embed["answer"]
    assert embed["page_io"] == "undefined"  # the socket.io client leaves no global behind
    assert number in fr["filed"] and "référence" in fr["filed"]
    assert fr["user_sees_button_title"] == 1
    assert fr["same_session"] is True and "Avec plaisir" in fr["after_reload"]
    assert "imeshatumwa" in sw["status"]
    assert "e-mail address or phone number" in en["asks_proof"] and "shipped" in en["status"]
    assert "français" in en["switched_to_french"] and "English" in en["switched_back"]

    # The chat's own texts are in the visitor's language (browser first), with labels for
    # assistive technology, and the page around it follows.
    assert fr["chrome"] == {
        "lang": "fr", "page_lang": "fr", "title": "Service client Marketplace",
        "placeholder": "Écrivez votre message…", "input_label": "Votre message", "send": "Envoyer",
        "log_label": "Conversation avec le service client", "log_live": "polite",
        "heading": "Discutez avec le service client",
        "who": "Non connecté\u00a0: l'assistant demande l'e-mail ou le téléphone du compte avant d'afficher une commande.",
        "document_title": "Centre d'aide · Service client Marketplace",
    }
    assert fr["chrome_after_reload"]["placeholder"] == "Écrivez votre message…"
    # A lost connection is said in the visitor's language, on either transport, until it is back.
    assert fr["connection_lost"] == {"status": "reconnecting", "text": "Connexion perdue. Reconnexion en cours…",
                                     "after": "ready"}
    assert sw["connection_lost"] == {"status": "reconnecting", "text": "Mtandao umekatika. Tunaunganisha tena…",
                                     "after": "ready"}
    assert (sw["chrome"]["lang"], sw["chrome"]["placeholder"], sw["chrome"]["send"]) == ("sw", "Andika ujumbe…", "Tuma")
    assert sw["chrome"]["title"] == "Huduma kwa wateja" and sw["chrome"]["heading"] == "Ongea na huduma kwa wateja"
    assert sw["chrome_signed_in"]["who"].startswith("Umeingia kama Wanjiku")
    assert (en["chrome"]["lang"], en["chrome"]["placeholder"], en["chrome"]["send"]) == ("en", "Type your message…", "Send")
    # The language buttons switch the texts at once; a French message switches them too.
    assert en["chrome_after_french_button"]["send"] == "Envoyer"
    assert en["chrome_after_french_button"]["heading"] == "Discutez avec le service client"
    assert en["chrome_after_english_button"]["send"] == "Send"
    assert "Avec plaisir" in en["french_answer"] and en["chrome_after_french_message"]["lang"] == "fr"

    # Websockets where the network allows them; long-polling where it refuses them.
    assert fr["transport"] == "websocket"
    assert sw["transport"] == "polling"

    # Sign-out starts a new conversation and leaves nothing of the customer in the browser.
    out = fr["signed_out"]
    assert "expédiée" in fr["order_shown"] and "Cainiao" in fr["order_carrier"]
    assert out["token"] is None and out["new_session"] != out["old_session"]
    assert set(out["stored"]["local"]) == {"support-chat"} and out["stored"]["session"] == {}
    assert out["messages_on_screen"] == 1  # the new greeting
    assert out["who"].startswith("Non connecté")
    assert "adresse e-mail ou le numéro de téléphone" in fr["after_sign_out"]

    # Bot text is text: no element from its HTML, no script run, only http(s) links.
    rendering = fr["rendering"]
    assert rendering["images"] == 0 and rendering["pwned"] is None
    assert '<img src=x onerror="window.pwned=1">' in rendering["text"]
    assert rendering["strong"] == ["gras"]
    assert rendering["links"] == [["aide", "https://example.com/aide", "noopener noreferrer nofollow"]]

    # The cancellation is in the database: a pending request for Amina's order, reason as chosen.
    order = service.get_order(order_number=number, customer_id=amina)
    assert order.cancellation_state == "awaiting_seller"
    assert order.cancellation.status == "pending_seller" and order.cancellation.reason == "no_longer_needed"

    for lang in LANGUAGES:
        shot = shots / f"webchat-{lang}.png"
        assert shot.stat().st_size > 10_000
        if os.environ.get("UPDATE_SCREENSHOTS") == "1" or not (README_SHOTS / shot.name).exists():
            README_SHOTS.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(shot, README_SHOTS / shot.name)
