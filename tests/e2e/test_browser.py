"""The web chat in a real browser: Debian's Chromium (headless) driven by playwright-core.

``tests/e2e/browser/chat.mjs`` chats in French, Swahili and English against the ``servers``
fixture, clicks buttons, signs in as demo customers and files a cancellation; this test then
checks the order database. What it needs is installed when missing:

* the widget (``npm ci --prefix bot/web``, normally done by ``make setup``);
* Chromium: ``apt-get install -y chromium`` (as root; otherwise the test is skipped, and fails in
  CI, where ``CI`` is set: a browser test must not pass by not running);
* playwright-core from the npm registry, into a cache directory (``PLAYWRIGHT_CORE_CACHE``,
  default ``~/.cache/support-assistant/playwright``); never ``npx playwright install``: the
  browser is Debian's.

Screenshots (one per language) go to the test's temporary directory; with
``UPDATE_SCREENSHOTS=1``, or when they are missing, also to ``bot/web/screenshots/`` for the README.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from actions.orders.db import make_engine, session_factory
from actions.orders.service import OrderService
from tests.conftest import ROOT

pytestmark = pytest.mark.needs_servers

PLAYWRIGHT_VERSION = os.environ.get("PLAYWRIGHT_CORE_VERSION", "1.65.1")
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
SCRIPT = ROOT / "tests" / "e2e" / "browser" / "chat.mjs"
README_SHOTS = ROOT / "bot" / "web" / "screenshots"
LANGUAGES = ("fr", "sw", "en")


def unavailable(reason: str) -> None:
    """A missing prerequisite skips the test on a developer's machine and fails it in CI."""
    if os.environ.get("CI"):
        pytest.fail(f"{reason} (CI is set: browser tests must run)")
    pytest.skip(reason)


def ensure_chromium() -> str:
    if Path(CHROMIUM).exists():
        return CHROMIUM
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        unavailable(f"{CHROMIUM} is missing and cannot be installed here (needs root and apt-get)")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run(["apt-get", "update", "-qq"], check=True, env=env, timeout=600)
    subprocess.run(["apt-get", "install", "-y", "-qq", "chromium"], check=True, env=env, timeout=900)
    return CHROMIUM


def ensure_playwright_core() -> Path:
    cache = Path(os.environ.get("PLAYWRIGHT_CORE_CACHE") or Path.home() / ".cache" / "support-assistant" / "playwright")
    package = cache / "node_modules" / "playwright-core"
    if (package / "package.json").exists():
        installed = json.loads((package / "package.json").read_text()).get("version")
        if installed == PLAYWRIGHT_VERSION:
            return package
    if not shutil.which("npm") or not shutil.which("node"):
        unavailable("node and npm are needed for the browser test")
    cache.mkdir(parents=True, exist_ok=True)
    if not (cache / "package.json").exists():
        (cache / "package.json").write_text('{"name": "support-assistant-browser-test", "private": true}\n')
    subprocess.run(
        ["npm", "install", "--no-audit", "--no-fund", "--ignore-scripts", "--no-save",
         f"playwright-core@{PLAYWRIGHT_VERSION}"],
        cwd=cache, check=True, timeout=600, capture_output=True,
    )
    return package


def order_to_cancel(service: OrderService, amina: int) -> str:
    """Amina's order 03 (awaiting shipment), or 02 if another test already asked to cancel 03."""
    for number in ("8170034500000003", "8170034500000002"):
        order = service.get_order(order_number=number, customer_id=amina)
        if order is not None and order.cancellation_state == "none" and order.status != "cancelled":
            return number
    pytest.fail("Amina's orders 03 and 02 are no longer cancellable in the shared e2e database")


def ensure_widget() -> None:
    """The rasa-webchat bundle the server serves (make setup installs it: npm ci --prefix bot/web)."""
    if (ROOT / "bot" / "web" / "node_modules" / "rasa-webchat" / "lib" / "index.js").exists():
        return
    if not shutil.which("npm"):
        unavailable("npm is needed to install the web chat widget")
    subprocess.run(["npm", "ci", "--prefix", str(ROOT / "bot" / "web")], check=True, timeout=600,
                   capture_output=True)


def test_web_chat_in_a_real_browser(servers, tmp_path):
    ensure_widget()
    chromium = ensure_chromium()
    playwright_core = ensure_playwright_core()
    service = OrderService(session_factory(make_engine(servers.database_url)))
    amina = service.verify_owner(order_number="8170034500000003", contact="amina.diallo@example.com")
    number = order_to_cancel(service, amina)
    shots = tmp_path / "screenshots"
    result_file = tmp_path / "result.json"
    run = subprocess.run(
        ["node", str(SCRIPT)],
        env={
            **os.environ,
            "PLAYWRIGHT_CORE_DIR": str(playwright_core),
            "CHROMIUM": chromium,
            "BASE_URL": servers.base,
            "SCREENSHOT_DIR": str(shots),
            "RESULT_FILE": str(result_file),
            "ORDER_TO_CANCEL": number,
            "PLAYWRIGHT_BROWSERS_PATH": str(tmp_path / "no-downloaded-browsers"),
        },
        cwd=ROOT, capture_output=True, text=True, timeout=420,
    )
    result = json.loads(result_file.read_text()) if result_file.exists() else {}
    assert run.returncode == 0, f"{run.stderr[-4000:]}\n{json.dumps(result, indent=1)[:4000]}"

    # Nothing was fetched from the internet (the widget and its assets come from the bot server).
    assert result["external_requests"] == []

    fr, sw, en = (result["scenarios"][lang] for lang in LANGUAGES)
    assert number in fr["filed"] and "référence" in fr["filed"]
    assert fr["same_session"] is True and "Avec plaisir" in fr["after_reload"]
    assert "imeshatumwa" in sw["status"]
    assert "e-mail address or phone number" in en["asks_proof"] and "shipped" in en["status"]
    assert "français" in en["switched_to_french"] and "English" in en["switched_back"]

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
