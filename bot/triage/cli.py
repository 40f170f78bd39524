"""Triage a file of inbound messages (e-mails, contact-form posts, exported chats).

    python -m bot.triage MESSAGES.csv|.jsonl [--out OUT.csv|.jsonl] [--model models/x.tar.gz] [--tickets]

Input: CSV with a header (id, text, optional sender / email / phone / channel) or JSONL (one
object per line, same keys). Output (by OUT's extension; default results/triage/<name>.triaged.<ext>):
one row per message with its language, intent and confidence, order numbers, whether the sender
owns them, priority, queue and a suggested first reply; next to it OUT's name with
``.summary.json`` (counts, malformed rows) and ``.chart.png``. Malformed rows (bad JSON, missing
or empty text, invalid UTF-8, wrong column count) are reported on stderr with their line number,
listed in the summary and skipped. Nothing is written to the order database, unless ``--tickets``:
then each message that needs a person gets a support ticket in the agents' queue, once per message
id (``bot/triage/tickets.py``).

Exit status: 0 done, 1 some rows failed (or were malformed, with --strict), 2 unusable input.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from bot.triage.records import Inbound, InputError, Malformed, Record, count_lines, open_reader, open_writer
from bot.triage.records import output_format as _output_format

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_BATCH = 32
MAX_CONSECUTIVE_FAILURES = 25


def default_output(input_path: Path) -> Path:
    suffix = ".csv" if input_path.suffix.lower() == ".csv" else ".jsonl"
    return ROOT / "results" / "triage" / f"{input_path.stem}.triaged{suffix}"


def companion(out: Path, suffix: str) -> Path:
    """``dir/name.csv`` -> ``dir/name<suffix>`` (the summary and the chart)."""
    return out.with_name(out.name[: -len(out.suffix)] + suffix if out.suffix else out.name + suffix)


def batches(records: Iterator[Record], size: int) -> Iterator[list[Record]]:
    """Runs of records holding at most ``size`` messages (malformed ones ride along)."""
    batch: list[Record] = []
    messages = 0
    for record in records:
        batch.append(record)
        if isinstance(record, Inbound):
            messages += 1
            if messages >= size:
                yield batch
                batch, messages = [], 0
    if batch:
        yield batch


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bot.triage", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("input", help="messages file (.csv or .jsonl)")
    parser.add_argument("--out", help="output file (.csv or .jsonl)")
    parser.add_argument("--format", choices=("auto", "csv", "jsonl"), default="auto", help="input format")
    parser.add_argument("--model", help="model archive (default: newest in models/)")
    parser.add_argument("--batch-size", type=int, default=DEFAULT_BATCH, help="messages parsed together")
    parser.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None,
                        help="progress bar on stderr (default: when stderr is a terminal)")
    parser.add_argument("--no-chart", action="store_true", help="skip the PNG chart")
    parser.add_argument("--strict", action="store_true", help="exit with 1 when any row was malformed")
    parser.add_argument("--tickets", action="store_true",
                        help="file a support ticket (agent console queue) for each message that needs a person: "
                             "queue human or priority urgent/high; once per message id")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    input_path = Path(args.input)
    out = Path(args.out) if args.out else default_output(input_path)
    try:
        _output_format(out)
        reader = open_reader(input_path, args.format)
    except (InputError, OSError) as error:
        print(f"triage: {error}", file=sys.stderr)
        return 2

    from bot.triage import nlu
    from bot.triage.engine import Triager
    from bot.triage.replies import Replies
    from bot.triage.report import Summary, write_chart, write_summary
    from bot.triage.tickets import TicketCounts, file_ticket

    try:
        model = Path(args.model) if args.model else nlu.newest_model()
    except FileNotFoundError as error:
        reader.close()
        print(f"triage: {error}", file=sys.stderr)
        return 2
    nlu.quiet_rasa()
    print(f"triage: loading model {model.name}; reading {input_path}", file=sys.stderr)
    agent = nlu.load_agent(str(model))
    triager = Triager(Replies.load())
    summary = Summary()
    tickets = TicketCounts() if args.tickets else None

    from tqdm import tqdm

    total_lines = count_lines(input_path)
    bar = tqdm(total=total_lines, unit="line", desc="triage", file=sys.stderr, dynamic_ncols=True,
               disable=(not args.progress) if args.progress is not None else None, mininterval=0.5)

    def report(kind: str, record: Malformed) -> None:
        where = f"line {record.line}" + (f" (id {record.id})" if record.id else "")
        tqdm.write(f"triage: {where}: {kind}{record.error}", file=sys.stderr)

    writer = open_writer(out)
    started = time.monotonic()
    consecutive_failures = 0
    interrupted = False
    try:
        for batch in batches(iter(reader), max(1, args.batch_size)):
            messages = [r for r in batch if isinstance(r, Inbound)]
            parses = iter(nlu.parse_batch(agent, [nlu.prepare_text(m.text) for m in messages]))
            rows = []
            for record in batch:
                if isinstance(record, Malformed):
                    summary.add_malformed(record)
                    report("skipped, ", record)
                    continue
                parse = next(parses)
                try:
                    row, owner = triager.triage_with_owner(record, parse)
                    if tickets is not None:
                        file_ticket(triager.service(), record, row, owner, tickets)
                except Exception as error:  # noqa: BLE001 - reported per row, the run goes on
                    failure = Malformed(record.line, f"{type(error).__name__}: {error}", record.id)
                    summary.add_failed(failure)
                    report("FAILED, ", failure)
                    consecutive_failures += 1
                    if consecutive_failures >= MAX_CONSECUTIVE_FAILURES:
                        raise RuntimeError(
                            f"{consecutive_failures} rows failed in a row; stopping (last: {error})"
                        ) from error
                    continue
                consecutive_failures = 0
                rows.append(row)
                summary.add(row)
            writer.write(rows)
            bar.update(reader.lines_read - bar.n)
            bar.set_postfix(triaged=summary.triaged, malformed=summary.malformed_count, refresh=False)
    except KeyboardInterrupt:
        interrupted = True
    except RuntimeError as error:
        print(f"triage: {error}", file=sys.stderr)
        return 1
    finally:
        bar.close()
        writer.close()
        reader.close()

    seconds = time.monotonic() - started
    data: dict[str, Any] = summary.to_dict(
        input=str(input_path),
        output=str(out),
        model=model.name,
        finished_at=datetime.now(timezone.utc).isoformat(timespec="seconds"),
        interrupted=interrupted,
        seconds=round(seconds, 2),
        messages_per_second=round(summary.triaged / seconds, 1) if seconds > 0 else 0.0,
    )
    if tickets is not None:
        data["tickets"] = tickets.to_dict()
    summary_path = companion(out, ".summary.json")
    write_summary(summary_path, data)
    print(summary.text(data))
    if tickets is not None:
        print(f"  tickets   {tickets.filed} filed, {tickets.already_filed} already filed"
              + (f", {tickets.failed} refused" if tickets.failed else ""))
    print(f"  output    {out}")
    print(f"  summary   {summary_path}")
    if not args.no_chart:
        chart_path = companion(out, ".chart.png")
        with nlu.silenced():
            write_chart(chart_path, data)
        print(f"  chart     {chart_path}")
    if interrupted:
        print("triage: interrupted; the output holds the rows triaged so far", file=sys.stderr)
        return 130
    if summary.failed_count or (args.strict and summary.malformed_count):
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
