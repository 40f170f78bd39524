"""Normalising what customers type: e-mail addresses, phone numbers and order numbers."""

from __future__ import annotations

import re

from actions.formats import ORDER_NUMBER_DIGITS as ORDER_NUMBER_LENGTH  # noqa: F401 - re-exported
from actions.formats import normalize_order_number  # noqa: F401 - re-exported

E164 = re.compile(r"^\+[1-9]\d{7,14}$")
_PHONE_NOISE = re.compile(r"[\s\-().\u00a0/]")

# ISO 3166 country -> (calling code, trunk prefix dialled before national numbers at home).
# Only the markets this assistant serves; unknown countries accept international formats only.
CALLING_CODES: dict[str, tuple[str, str]] = {
    "SN": ("221", ""),
    "CI": ("225", ""),
    "ML": ("223", ""),
    "BF": ("226", ""),
    "CM": ("237", ""),
    "FR": ("33", "0"),
    "BE": ("32", "0"),
    "KE": ("254", "0"),
    "TZ": ("255", "0"),
    "UG": ("256", "0"),
    "RW": ("250", "0"),
    "NG": ("234", "0"),
    "GH": ("233", "0"),
    "ZA": ("27", "0"),
    "GB": ("44", "0"),
    "IE": ("353", "0"),
}


def normalize_email(raw: str) -> str:
    return raw.strip().lower()


def looks_like_email(raw: str) -> bool:
    return "@" in raw


CONTACT_MIN_DIGITS = 7  # the shortest local phone number we accept (Senegal's 9, Kenya's 10)


def could_be_contact(raw: str) -> bool:
    """An e-mail address or a phone number, well or badly typed: worth checking against an
    account. Anything else ("the item is broken") is not an attempt at one."""
    return looks_like_email(raw) or sum(ch.isdigit() for ch in raw) >= CONTACT_MIN_DIGITS


def phone_candidates(raw: str, country: str | None = None) -> list[str]:
    """Every E.164 reading of ``raw``, most plausible first.

    ``+254 712 345 678``, ``00254712345678`` and ``254712345678`` are international;
    ``0712345678`` (Kenya, trunk prefix 0) or ``77 123 45 67`` (Senegal, no trunk prefix) are
    local numbers of ``country``.
    """
    text = _PHONE_NOISE.sub("", raw.strip())
    if text.startswith("00"):
        text = "+" + text[2:]
    if text.startswith("+"):
        return [text] if E164.match(text) else []
    if not text.isdigit():
        return []
    found: list[str] = []
    calling_code, trunk = CALLING_CODES.get((country or "").upper(), ("", ""))
    if calling_code:
        if trunk and text.startswith(trunk):
            found.append(f"+{calling_code}{text[len(trunk) :]}")
        if text.startswith(calling_code):
            found.append(f"+{text}")
        if not (trunk and text.startswith(trunk)):
            found.append(f"+{calling_code}{text}")
    else:
        found.append(f"+{text}")
    unique = dict.fromkeys(c for c in found if E164.match(c))
    return list(unique)


def normalize_phone(raw: str, country: str | None = None) -> str | None:
    """The most plausible E.164 form of ``raw``, or None when it is not a phone number."""
    candidates = phone_candidates(raw, country)
    return candidates[0] if candidates else None


TICKET_PREFIX = "T-"


def ticket_number(ticket_id: int) -> str:
    return f"{TICKET_PREFIX}{ticket_id:06d}"


def parse_ticket_number(raw: str) -> int | None:
    text = raw.strip().upper()
    if text.startswith(TICKET_PREFIX):
        text = text[len(TICKET_PREFIX) :]
    return int(text) if text.isdigit() and text.isascii() else None


# Readable references of what a buyer files, to quote to an agent: a letter for the kind, then the
# row id on six digits (``C-000013``), like ticket numbers. Language-neutral on purpose.
REFERENCE_PREFIXES = {"cancellation": "C-", "dispute": "D-"}


def reference(kind: str, row_id: int) -> str:
    return f"{REFERENCE_PREFIXES[kind]}{row_id:06d}"


def parse_reference(kind: str, raw: str) -> int | None:
    """``"c-000013"`` / ``"C-13"`` -> 13 for kind ``cancellation``; None for anything else."""
    text = raw.strip().upper()
    prefix = REFERENCE_PREFIXES[kind]
    if not text.startswith(prefix):
        return None
    digits = text[len(prefix) :]
    return int(digits) if digits.isdigit() and digits.isascii() else None


def normalize_channel(channel: str) -> str:
    return channel.strip().lower()


def normalize_external_id(channel: str, external_id: str) -> str:
    """Channel ids as stored: Twilio's ``whatsapp:+2547...`` sender becomes ``+2547...``."""
    text = str(external_id).strip()
    prefix = f"{channel}:"
    return text[len(prefix) :] if text.lower().startswith(prefix) else text
