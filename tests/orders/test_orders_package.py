"""Package-level checks: CLI, get_service(), contact normalisation, no Rasa dependency."""

from __future__ import annotations

import ast
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import actions.orders
from actions.orders import cli
from actions.orders.contacts import (
    could_be_contact,
    normalize_order_number,
    normalize_phone,
    phone_candidates,
)

PACKAGE = Path(actions.orders.__file__).resolve().parent
REPO = PACKAGE.parents[1]


def test_no_rasa_import_anywhere() -> None:
    for path in PACKAGE.rglob("*.py"):
        tree = ast.parse(path.read_text(), filename=str(path))
        for node in ast.walk(tree):
            names = (
                [a.name for a in node.names]
                if isinstance(node, ast.Import)
                else ([node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            )
            assert not any(n.split(".")[0] in {"rasa", "rasa_sdk"} for n in names), path


@pytest.mark.parametrize(
    ("raw", "country", "expected"),
    [
        ("+254 712 345 678", None, "+254712345678"),
        ("0712 345 678", "KE", "+254712345678"),
        ("(0)7700-900123", "GB", "+447700900123"),
        ("77 123 45 67", "SN", "+221771234567"),
        ("00 221 77 123 45 67", None, "+221771234567"),
        ("0712345678", None, None),  # local number, country unknown
        ("call me", "KE", None),
        ("+12", None, None),
    ],
)
def test_normalize_phone(raw: str, country: str | None, expected: str | None) -> None:
    assert normalize_phone(raw, country) == expected


def test_phone_candidates_accept_international_without_plus() -> None:
    assert "+254712345678" in phone_candidates("254712345678", "KE")


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("8170034500000003", "8170034500000003"),
        (" 8170 0345 0000 0003 ", "8170034500000003"),
        ("8170-0345-0000-0003", "8170034500000003"),
        ("#8170034500000003", "8170034500000003"),
        ("817003450000000", None),
        ("81700345000000033", None),
        ("８１７００３４５００００００３", None),  # full-width digits are not ASCII digits
        ("817003450000000x", None),
    ],
)
def test_normalize_order_number(raw: str, expected: str | None) -> None:
    assert normalize_order_number(raw) == expected


def test_cli_migrate_seed_deadlines(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    assert cli.main(["--url", url, "migrate"]) == 0
    assert cli.main(["--url", url, "seed"]) == 0
    assert "57 orders" in capsys.readouterr().out
    assert cli.main(["--url", url, "deadlines"]) == 0
    out = capsys.readouterr().out
    assert out.count("auto-approved") == 3 and "8170087700000005" in out
    assert cli.main(["--url", url, "deadlines"]) == 0
    assert "nothing due" in capsys.readouterr().out
    assert cli.main(["demo-table"]) == 0
    assert capsys.readouterr().out.startswith("| Order number |")


def test_deadline_loop_runs_until_stopped(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'loop.db'}"
    cli.main(["--url", url, "seed"])
    env = {**os.environ, "DATABASE_URL": url}
    process = subprocess.Popen(
        [sys.executable, "-m", "actions.orders", "deadlines", "--loop", "0.2"],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        time.sleep(2.5)
    finally:
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=20)
    assert process.returncode == 0, err
    assert out.count("auto-approved") == 3 and "nothing due" not in out and "stopped" in out


def test_get_service_checks_the_schema_and_does_not_migrate(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    url = f"sqlite:///{tmp_path / 'svc.db'}"
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.setattr(actions.orders, "_service", None)
    with pytest.raises(actions.orders.SchemaNotCurrent, match="python -m actions.orders migrate"):
        actions.orders.get_service()
    actions.orders.migrate(url, "0001_initial")
    with pytest.raises(actions.orders.SchemaNotCurrent):  # an old revision is refused too
        actions.orders.get_service()
    actions.orders.migrate(url)
    service = actions.orders.get_service()
    assert actions.orders.get_service() is service
    assert service.list_orders(customer_id=1) == []
    assert service.customer_for_identity(channel="telegram", external_id="100001") is None


def test_default_database_is_in_repo_var(monkeypatch: pytest.MonkeyPatch) -> None:
    from actions.orders import db

    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.setattr(db, "load_dotenv", lambda *a, **k: False)
    assert db.database_url() == f"sqlite:///{REPO / 'var' / 'orders.db'}"


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("sqlite:///var/orders.db", f"sqlite:///{REPO / 'var' / 'orders.db'}"),
        ("sqlite:////tmp/x.db", "sqlite:////tmp/x.db"),
        ("sqlite://", "sqlite://"),
        ("postgresql+psycopg2://u:p%40ss@db:5432/orders", "postgresql+psycopg2://u:p%40ss@db:5432/orders"),
    ],
)
def test_relative_sqlite_paths_are_from_the_repo_root(url: str, expected: str) -> None:
    from actions.orders.db import resolve_url

    assert resolve_url(url) == expected


def test_references_read_back() -> None:
    from actions.orders.contacts import parse_reference, reference

    assert reference("cancellation", 13) == "C-000013" and reference("dispute", 7) == "D-000007"
    assert parse_reference("cancellation", " c-000013 ") == 13
    assert parse_reference("dispute", "C-000013") is None and parse_reference("dispute", "D-12a") is None


@pytest.mark.parametrize("text, expected", [
    ("oliver.smith@example.co.uk", True), ("oliver@gmail", True), ("0712 345 678", True), ("77 123 45 67", True),
    ("+44 7700 900123", True), ("the item is broken", False), ("sijui", False), ("123", False), ("", False),
])
def test_what_could_be_an_email_or_phone(text, expected):
    """Only these are checked against an account; other words at the contact question are not an attempt."""
    assert could_be_contact(text) is expected
