"""Streaming readers and writers: every malformed row is reported with its line, nothing is
loaded whole."""

from __future__ import annotations

import csv
import json

import pytest

from bot.triage.cli import batches, companion
from bot.triage.records import (
    CsvReader,
    Inbound,
    InputError,
    Malformed,
    count_lines,
    message_from_mapping,
    open_reader,
    open_writer,
)
from tests.triage.conftest import DATA


def read(path, fmt=None):
    reader = open_reader(path, fmt)
    try:
        return list(reader)
    finally:
        reader.close()


def malformed(records):
    return {(r.line, r.id): r.error for r in records if isinstance(r, Malformed)}


def test_csv_inbox_multiline_emails_and_every_malformed_row_with_its_line():
    records = read(DATA / "inbox.csv")
    messages = [r for r in records if isinstance(r, Inbound)]
    assert len(messages) == 28
    first = messages[0]
    assert (first.line, first.id, first.channel, first.sender) == (2, "em-en-001", "email", "oliver.smith@example.co.uk")
    assert first.text.startswith("Hello,\n\nI placed order 8170 0877") and first.text.endswith("Oliver Smith")
    assert first.email is None and first.phone is None  # empty cells are absent, not ""
    # a record's line is the line it starts on, after multi-line e-mails
    assert messages[1].line == 9 and messages[1].id == "form-en-002"
    bad = malformed(records)
    assert set(bad) == {(44, "bad-028"), (45, "bad-029"), (46, "bad-030"), (48, "bad-031")}
    assert bad[(44, "bad-028")] == bad[(48, "bad-031")] == "empty text"
    assert bad[(45, "bad-029")].startswith("wrong column count: 4 fields, the header has 6")
    assert "invalid UTF-8" in bad[(46, "bad-030")]
    assert messages[-1].id == "chat-en-032" and messages[-1].line == 49  # the blank line 47 is no record


def test_jsonl_inbox_every_malformed_line():
    records = read(DATA / "inbox.jsonl")
    assert len([r for r in records if isinstance(r, Inbound)]) == 23
    bad = {r.line: (r.id, r.error) for r in records if isinstance(r, Malformed)}
    assert sorted(bad) == [3, 8, 12, 15, 18, 20]
    assert bad[3][1].startswith("bad JSON")
    assert bad[8] == ("bad-j2", "missing text")
    assert bad[12] == ("bad-j3", "empty text")
    assert bad[15][1].startswith("invalid UTF-8 (byte 0xe7")
    assert bad[18][1] == "not a JSON object (list)"
    assert bad[20] == ("bad-j5", "text is not a string (int)")


def test_mapping_fields_aliases_and_surrogates():
    record = message_from_mapping({"Message_ID": 42, "Body": "hi", "E-mail": " a@b.co ", "Source": "form"}, 7)
    assert record == Inbound(line=7, id="42", text="hi", email="a@b.co", channel="form")
    assert message_from_mapping({"text": "hi"}, 3).id == "line-3"
    lone = message_from_mapping(json.loads('{"id": "x", "text": "bad \\udc80 char"}'), 1)
    assert isinstance(lone, Malformed) and "invalid UTF-8" in lone.error
    assert message_from_mapping({"id": "x", "text": None}, 1).error == "missing text"


def test_csv_unterminated_quote_is_reported_not_swallowed(tmp_path):
    path = tmp_path / "m.csv"
    path.write_text('id,text\n1,"hello\n2,world\n3,again\n', encoding="utf-8")
    records = read(path)
    assert [type(r) for r in records] == [Malformed]
    assert records[0].line == 2 and "unreadable CSV record" in records[0].error and "lines 2-" in records[0].error


def test_csv_quote_error_mid_file_keeps_reading(tmp_path):
    path = tmp_path / "m.csv"
    path.write_text('id,text\n1,"ok" broken\n2,fine\n', encoding="utf-8")
    records = read(path)
    assert isinstance(records[0], Malformed) and records[0].line == 2
    assert isinstance(records[-1], Inbound) and records[-1].id == "2"


def test_csv_without_text_column_or_header_is_unusable(tmp_path):
    (tmp_path / "a.csv").write_text("id,subject\n1,hello\n", encoding="utf-8")
    (tmp_path / "b.csv").write_bytes(b"")
    with pytest.raises(InputError, match="no text column"):
        CsvReader(tmp_path / "a.csv")
    with pytest.raises(InputError, match="empty"):
        CsvReader(tmp_path / "b.csv")
    with pytest.raises(InputError, match="no such file"):
        open_reader(tmp_path / "missing.csv")


def test_reader_streams_ten_thousand_rows(tmp_path):
    """The first record comes out long before the file is read: nothing is loaded whole."""
    path = tmp_path / "big.jsonl"
    with open(path, "w", encoding="utf-8") as handle:
        for i in range(10_000):
            handle.write(json.dumps({"id": f"m{i}", "text": f"where is my order 81700877000000{i % 19 + 1:02d}"}) + "\n")
    reader = open_reader(path)
    records = iter(reader)
    first = next(records)
    assert first.id == "m0" and reader._file.tell() < path.stat().st_size / 10
    runs = batches(records, 32)
    assert len(next(runs)) == 32 and reader.lines_read < 100
    assert sum(len(run) for run in runs) == 10_000 - 1 - 32
    reader.close()
    assert count_lines(path) == 10_000


def test_writers_csv_and_jsonl(tmp_path):
    row = {"id": "=HYPERLINK(\"x\")", "line": 3, "language": "fr", "orders": ["8170034500000007", "8170034500000008"],
           "ownership": {"8170034500000007": "yes", "8170034500000008": "no"}, "priority_reasons": [],
           "reply": "Bonjour,\nligne 2"}
    for name in ("out.csv", "out.jsonl"):
        writer = open_writer(tmp_path / "sub" / name)
        writer.write([row])
        writer.close()
    with open(tmp_path / "sub" / "out.csv", encoding="utf-8", newline="") as handle:
        (written,) = list(csv.DictReader(handle))
    assert written["id"] == "'=HYPERLINK(\"x\")"  # no formula in a spreadsheet
    assert written["orders"] == "8170034500000007;8170034500000008"
    assert written["ownership"] == "8170034500000007=yes;8170034500000008=no"
    assert written["reply"] == "Bonjour,\nligne 2" and written["verified_by"] == ""
    (line,) = (tmp_path / "sub" / "out.jsonl").read_text(encoding="utf-8").splitlines()
    assert json.loads(line)["orders"] == row["orders"] and json.loads(line)["id"] == row["id"]
    with pytest.raises(InputError, match=r"\.csv or \.jsonl"):
        open_writer(tmp_path / "out.txt")
    assert companion(tmp_path / "x.triaged.csv", ".summary.json").name == "x.triaged.summary.json"
