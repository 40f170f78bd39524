"""Dependencies go one way: the Rasa side (bot/) may use actions/, actions/ never imports bot/.

actions/ is the action server and the order service; they must run, and be changed, without the Rasa
server's code. What both sides need lives in dependency-free modules of actions/ (order-number
format: actions/formats.py, identities and tokens: actions/identity.py, ticket notices: actions/notify.py).
"""

from __future__ import annotations

import ast

from tests.conftest import ROOT


def imported_modules(path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


def test_actions_never_import_bot():
    offenders = {
        str(path.relative_to(ROOT)): sorted(m for m in imported_modules(path) if m == "bot" or m.startswith("bot."))
        for path in (ROOT / "actions").rglob("*.py")
    }
    assert {path: mods for path, mods in offenders.items() if mods} == {}


def test_shared_modules_need_nothing_but_the_standard_library_and_pyjwt():
    allowed_third_party = {"jwt"}
    for name in ("formats.py", "identity.py", "notify.py"):
        modules = imported_modules(ROOT / "actions" / name)
        third_party = {m.split(".")[0] for m in modules} - {"__future__"} - set(__import__("sys").stdlib_module_names)
        assert third_party <= allowed_third_party, (name, third_party)


def test_the_order_service_has_no_rasa_import():
    for path in (ROOT / "actions" / "orders").rglob("*.py"):
        assert not {m for m in imported_modules(path) if m.split(".")[0] in ("rasa", "rasa_sdk")}, path
