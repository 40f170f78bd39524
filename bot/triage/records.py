"""Reading inbound messages (CSV or JSONL) one row at a time, and writing triaged rows.

Nothing is loaded whole: readers yield one :class:`Inbound` (a message to triage) or one
:class:`Malformed` (a row that cannot be triaged, with its line number and why) per record, and
writers append and flush as they go. A malformed row is never dropped silently: the caller
reports every :class:`Malformed` it receives.

CSV: a header row names the columns (case-insensitive; ``text`` is required, aliases below),
quoted fields may span lines (e-mails), and a record's line number is the line it starts on.
JSONL: one JSON object per line.
"""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

# Accepted column / key names for each field, first one canonical.
FIELD_ALIASES: dict[str, tuple[str, ...]] = {
    "id": ("id", "message_id", "msg_id", "ticket_id"),
    "text": ("text", "message", "body", "content"),
    "sender": ("sender", "sender_id", "from", "user"),
    "email": ("email", "e_mail", "mail", "email_address"),
    "phone": ("phone", "phone_number", "mobile", "tel"),
    "channel": ("channel", "source"),
}
OPTIONAL_FIELDS = ("sender", "email", "phone", "channel")
MAX_TEXT_CHARS = 20_000  # longer texts are malformed (an attachment pasted as text, a bad export)
_SURROGATE = re.compile("[\ud800-\udfff]")


class InputError(Exception):
    """The whole input is unusable (missing file, no header, no text column)."""


@dataclass(frozen=True)
class Inbound:
    """One message to triage. ``line``: where it starts in the file (1-based), or its position."""

    line: int
    id: str
    text: str
    sender: str | None = None
    email: str | None = None
    phone: str | None = None
    channel: str | None = None


@dataclass(frozen=True)
class Malformed:
    line: int
    error: str
    id: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"line": self.line, "id": self.id, "error": self.error}


Record = Inbound | Malformed


def _canonical(name: str) -> str:
    return re.sub(r"[\s\-]+", "_", name.strip().lower())


def _field_for(column: str) -> str | None:
    key = _canonical(column)
    for field, aliases in FIELD_ALIASES.items():
        if key in aliases:
            return field
    return None


def _scalar(value: Any) -> str | None:
    """Optional fields: strings as given (stripped), numbers as text, anything else ignored."""
    if value is None or isinstance(value, (dict, list, bool)):
        return None
    text = str(value).strip()
    return text or None


def _invalid_utf8_error(raw: bytes, error: UnicodeDecodeError) -> str:
    return f"invalid UTF-8 (byte 0x{raw[error.start]:02x} at column {error.start + 1})"


def message_from_mapping(data: Any, line: int) -> Record:
    """A JSON object (JSONL line or HTTP request item) -> Inbound or Malformed."""
    if not isinstance(data, Mapping):
        return Malformed(line, f"not a JSON object ({type(data).__name__})")
    fields: dict[str, Any] = {}
    for key, value in data.items():
        field = _field_for(str(key))
        if field and field not in fields:
            fields[field] = value
    identifier = _scalar(fields.get("id"))
    if "text" not in fields or fields["text"] is None:
        return Malformed(line, "missing text", identifier)
    text = fields["text"]
    if not isinstance(text, str):
        return Malformed(line, f"text is not a string ({type(text).__name__})", identifier)
    return _checked(line, identifier, text, {f: _scalar(fields.get(f)) for f in OPTIONAL_FIELDS})


def _checked(line: int, identifier: str | None, text: str, optional: Mapping[str, str | None]) -> Record:
    if _SURROGATE.search(text) or any(_SURROGATE.search(v or "") for v in optional.values()) or (
        identifier and _SURROGATE.search(identifier)
    ):
        return Malformed(line, "invalid UTF-8 / Unicode (undecodable bytes or lone surrogates)",
                         _SURROGATE.sub("\ufffd", identifier) if identifier else None)
    if not text.strip():
        return Malformed(line, "empty text", identifier)
    if len(text) > MAX_TEXT_CHARS:
        return Malformed(line, f"text too long ({len(text)} characters, limit {MAX_TEXT_CHARS})", identifier)
    return Inbound(line=line, id=identifier or f"line-{line}", text=text, **optional)


class Reader:
    """Iterates the records of a file; ``lines_read`` tells how far it got (progress bars)."""

    lines_read: int = 0

    def __iter__(self) -> Iterator[Record]:  # pragma: no cover - interface
        raise NotImplementedError

    def close(self) -> None:  # pragma: no cover - interface
        pass


class JsonlReader(Reader):
    def __init__(self, path: Path) -> None:
        self._file: IO[bytes] = open(path, "rb")  # noqa: SIM115 - closed by close()
        self.lines_read = 0

    def __iter__(self) -> Iterator[Record]:
        for number, raw in enumerate(self._file, start=1):
            self.lines_read = number
            if number == 1 and raw.startswith(b"\xef\xbb\xbf"):
                raw = raw[3:]
            raw = raw.rstrip(b"\r\n")
            if not raw.strip():
                continue  # a blank line is not a record
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError as error:
                yield Malformed(number, _invalid_utf8_error(raw, error))
                continue
            try:
                data = json.loads(line)
            except json.JSONDecodeError as error:
                yield Malformed(number, f"bad JSON: {error.msg} (column {error.colno})")
                continue
            except RecursionError:
                yield Malformed(number, "bad JSON: nested too deeply")
                continue
            yield message_from_mapping(data, number)

    def close(self) -> None:
        self._file.close()


class CsvReader(Reader):
    def __init__(self, path: Path) -> None:
        # surrogateescape: undecodable bytes survive decoding as lone surrogates, so the row they
        # are in is reported (with its line number) instead of failing the whole file.
        self._file = open(path, encoding="utf-8-sig", errors="surrogateescape", newline="")  # noqa: SIM115
        self._reader = csv.reader(self._file, strict=True)
        self.lines_read = 0
        self._columns: list[str | None] = []
        self._header_width = 0
        self._read_header()

    def _read_header(self) -> None:
        while True:
            try:
                header = next(self._reader)
            except StopIteration:
                raise InputError("the CSV file is empty (no header row)") from None
            except csv.Error as error:
                raise InputError(f"line {self._reader.line_num}: unreadable CSV header ({error})") from None
            self.lines_read = self._reader.line_num
            if any(cell.strip() for cell in header):
                break
        if any(_SURROGATE.search(cell) for cell in header):
            raise InputError(f"line {self.lines_read}: the CSV header is not valid UTF-8")
        self._columns = []
        for column in header:
            field = _field_for(column)
            self._columns.append(field if field not in self._columns else None)
        self._header_width = len(header)
        if "text" not in self._columns:
            names = ", ".join(FIELD_ALIASES["text"])
            raise InputError(f"the CSV header has no text column (one of: {names}); found: {', '.join(header)}")

    def __iter__(self) -> Iterator[Record]:
        while True:
            start = self._reader.line_num + 1
            try:
                row = next(self._reader)
            except StopIteration:
                return
            except csv.Error as error:
                self.lines_read = self._reader.line_num
                end = self._reader.line_num
                span = f" (lines {start}-{end})" if end > start else ""
                yield Malformed(start, f"unreadable CSV record: {error}{span}")
                continue
            self.lines_read = self._reader.line_num
            if not row or not any(cell.strip() for cell in row):
                continue  # blank line
            values = dict(zip(self._columns, row, strict=False))
            identifier = (values.get("id") or "").strip() or None
            if len(row) != self._header_width:
                yield Malformed(
                    start, f"wrong column count: {len(row)} fields, the header has {self._header_width}",
                    _SURROGATE.sub("\ufffd", identifier) if identifier else None,
                )
                continue
            optional = {f: (values.get(f) or "").strip() or None for f in OPTIONAL_FIELDS}
            yield _checked(start, identifier, values.get("text") or "", optional)

    def close(self) -> None:
        self._file.close()


def input_format(path: Path, explicit: str | None = None) -> str:
    """``csv`` or ``jsonl``: the explicit choice, else the extension, else the first byte."""
    if explicit and explicit != "auto":
        return explicit
    suffix = path.suffix.lower()
    if suffix == ".csv":
        return "csv"
    if suffix in {".jsonl", ".ndjson"}:
        return "jsonl"
    with open(path, "rb") as handle:
        head = handle.read(4096).lstrip(b"\xef\xbb\xbf \t\r\n")
    return "jsonl" if head.startswith(b"{") else "csv"


def open_reader(path: Path, fmt: str | None = None) -> Reader:
    if not path.is_file():
        raise InputError(f"no such file: {path}")
    return JsonlReader(path) if input_format(path, fmt) == "jsonl" else CsvReader(path)


def count_lines(path: Path) -> int:
    """Number of lines, read in blocks (for the progress bar's total; nothing kept)."""
    count, last = 0, b""
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            count += block.count(b"\n")
            last = block
    return count + (1 if last and not last.endswith(b"\n") else 0)


# --- output ------------------------------------------------------------------------------

OUTPUT_FIELDS = (
    "id", "line", "language", "language_confidence", "intent", "confidence", "queue", "priority",
    "priority_reasons", "orders", "owned", "ownership", "verified_by", "reply_key", "reply",
)
# A cell starting with one of these is a formula in spreadsheet programs; ids come from outside.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _csv_cell(field: str, value: Any) -> str:
    if value is None:
        return ""
    if field == "ownership" and isinstance(value, Mapping):
        return ";".join(f"{number}={owned}" for number, owned in value.items())
    if isinstance(value, (list, tuple)):
        return ";".join(str(v) for v in value)
    text = str(value)
    if field == "id" and text.startswith(_FORMULA_START):
        return "'" + text
    return text


class Writer:
    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._file: IO[str] = open(path, "w", encoding="utf-8", newline="")  # noqa: SIM115
        self.rows = 0

    def write(self, rows: Iterable[Mapping[str, Any]]) -> None:
        for row in rows:
            self._write(row)
            self.rows += 1
        self._file.flush()

    def _write(self, row: Mapping[str, Any]) -> None:  # pragma: no cover - interface
        raise NotImplementedError

    def close(self) -> None:
        self._file.close()


class JsonlWriter(Writer):
    def _write(self, row: Mapping[str, Any]) -> None:
        self._file.write(json.dumps({f: row.get(f) for f in OUTPUT_FIELDS}, ensure_ascii=False) + "\n")


class CsvWriter(Writer):
    def __init__(self, path: Path) -> None:
        super().__init__(path)
        self._csv = csv.writer(self._file)
        self._csv.writerow(OUTPUT_FIELDS)

    def _write(self, row: Mapping[str, Any]) -> None:
        self._csv.writerow([_csv_cell(f, row.get(f)) for f in OUTPUT_FIELDS])


def output_format(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix == ".csv":
        return "csv"
    if suffix in {".jsonl", ".ndjson"}:
        return "jsonl"
    raise InputError(f"output must end in .csv or .jsonl: {path}")


def open_writer(path: Path) -> Writer:
    return CsvWriter(path) if output_format(path) == "csv" else JsonlWriter(path)


__all__ = [
    "CsvReader", "CsvWriter", "Inbound", "InputError", "JsonlReader", "JsonlWriter", "Malformed",
    "OUTPUT_FIELDS", "Record", "count_lines", "input_format", "message_from_mapping", "open_reader",
    "open_writer", "output_format",
]
