"""Command line: ``python -m actions.orders migrate|seed|deadlines [--loop SECONDS]|demo-table``."""

from __future__ import annotations

import argparse
import signal
import sys
import time
from collections.abc import Sequence
from datetime import datetime
from types import FrameType

from .clock import utcnow
from .db import database_url, make_engine, session_factory
from .demo import demo_table_markdown, seed
from .schema import migrate
from .service import OrderService
from .views import DeadlineOutcome


def _describe(outcome: DeadlineOutcome) -> str:
    refund = outcome.refund
    return (
        f"auto-approved cancellation of order {outcome.order_number} "
        f"(customer {outcome.customer_id}, {outcome.preferred_language}): refund "
        f"{refund.amount} {refund.currency} expected by {refund.expected_by}"
    )


def _stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _run_deadlines(service: OrderService, *, report_idle: bool) -> None:
    outcomes = service.process_deadlines()
    now = _stamp(utcnow())
    if not outcomes and report_idle:
        print(f"{now} deadlines: nothing due", flush=True)
    for outcome in outcomes:
        print(f"{now} deadlines: {_describe(outcome)}", flush=True)


class _Stop(BaseException):
    """SIGTERM: leave the loop (a BaseException, so the loop's error handler lets it through)."""


def _raise_stop(_signum: int, _frame: FrameType | None) -> None:
    raise _Stop


def _loop(service: OrderService, seconds: float) -> None:
    signal.signal(signal.SIGTERM, _raise_stop)
    print(f"deadline job: every {seconds:g} s, Ctrl-C to stop", flush=True)
    try:
        while True:
            try:
                _run_deadlines(service, report_idle=False)
            except Exception as exc:  # keep the loop alive over a transient database error
                print(f"{_stamp(utcnow())} deadlines: error: {exc!r}", file=sys.stderr, flush=True)
            time.sleep(seconds)
    except (KeyboardInterrupt, _Stop):
        print("deadline job stopped", flush=True)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m actions.orders", description=__doc__)
    parser.add_argument("--url", help="database URL (default: DATABASE_URL or var/orders.db)")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("migrate", help="upgrade the database schema to the latest revision")
    commands.add_parser("seed", help="migrate, then (re)load the demo customers and orders")
    deadlines = commands.add_parser("deadlines", help="approve cancellations past their 72 h deadline")
    deadlines.add_argument("--loop", type=float, metavar="SECONDS", help="run every SECONDS until stopped")
    commands.add_parser("demo-table", help="print the demo orders as a Markdown table")
    args = parser.parse_args(argv)

    if args.command == "demo-table":
        print(demo_table_markdown())
        return 0
    url = args.url or database_url()
    migrate(url)
    if args.command == "migrate":
        print(f"database schema up to date ({make_engine(url).url.render_as_string(hide_password=True)})")
        return 0
    engine = make_engine(url)
    try:
        sessions = session_factory(engine)
        if args.command == "seed":
            print(f"demo data loaded: {seed(sessions)} orders")
            return 0
        service = OrderService(sessions)
        if args.loop:
            _loop(service, args.loop)
        else:
            _run_deadlines(service, report_idle=True)
        return 0
    finally:
        engine.dispose()
