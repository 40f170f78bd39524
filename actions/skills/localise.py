"""Facts the actions fill into responses, written the way the buyer reads them.

The domain's responses hold the sentences; this module writes the values that go into them:
dates and times in the customer's time zone, amounts in their currency's local form, tracking
milestones, reasons and places in the conversation's language. Dates, numbers and currencies come
from CLDR through Babel; the words (milestones, reasons, skill titles) from the glossary
(``bot/domain/glossary.yml``), the one home of the bot's terminology.

Which conventions: the conversation's **language** chooses the words; the customer's stored
**locale** chooses the region (number grouping, currency symbol, date order) and their **time
zone** the clock. When the two disagree (Amina, from Senegal, writes in English) the language wins
and the region is kept when CLDR knows the pair (``en`` + ``KE`` = ``en_KE``); otherwise the
language's default locale is used (``en_SN`` does not exist: ``en_GB``). Amounts keep the order's
currency and times the customer's clock whatever the language. Someone not identified yet gets the
default locale and time zone of the conversation's language (:data:`DEFAULTS`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone, tzinfo
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import pytz
import yaml
from babel import Locale, UnknownLocaleError
from babel.dates import format_datetime, format_timedelta
from babel.numbers import format_currency, get_currency_symbol

GLOSSARY_PATH = Path(__file__).resolve().parents[2] / "bot" / "domain" / "glossary.yml"
LANGUAGES = ("en", "fr", "sw")
# Conversation language -> (locale, time zone) of the market the bot serves in it.
DEFAULTS = {"en": ("en_GB", "Europe/London"), "fr": ("fr_SN", "Africa/Dakar"), "sw": ("sw_KE", "Africa/Nairobi")}
# Date and time joined as a person writes them; CLDR 47 has no "at" format for these languages.
AT_TIME = {"en": "{date} at {time}", "fr": "{date} à {time}", "sw": "{date}, saa {time}"}
# Times as written in French-speaking Africa ("14 h 19"); others: the locale's short time (24 h).
TIME_PATTERNS = {"fr": "H 'h' mm"}
_YEAR = re.compile(r"[,\s]*y+")
_LOCATION = re.compile(r"^(?P<place>.+?),\s*(?P<country>[A-Z]{2})$")


@lru_cache(maxsize=1)
def glossary() -> dict[str, Any]:
    return yaml.safe_load(GLOSSARY_PATH.read_text(encoding="utf-8"))


def _locale(name: str | None) -> Locale | None:
    try:
        return Locale.parse(name) if name else None
    except (ValueError, UnknownLocaleError):
        return None


def _zone(name: str | None) -> tzinfo | None:
    """The IANA zone from the system's database; pytz's bundled copy where the system has none
    (slim containers); None for an unknown name."""
    if not name:
        return None
    try:
        return ZoneInfo(name)
    except ZoneInfoNotFoundError:
        try:
            return pytz.timezone(name)
        except pytz.UnknownTimeZoneError:
            return None
    except ValueError:
        return None


def regional_locale(language: str, customer_locale: str | None = None) -> Locale:
    """The language's words with the customer's regional conventions where CLDR has the pair."""
    language = language if language in DEFAULTS else "en"
    stored = _locale(customer_locale)
    if stored is not None:
        if stored.language == language:
            return stored
        combined = _locale(f"{language}_{stored.territory}") if stored.territory else None
        if combined is not None:
            return combined
    return Locale.parse(DEFAULTS[language][0])


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)


@dataclass(frozen=True)
class Localiser:
    """Writes facts for one conversation: ``language`` (en/fr/sw) and the customer's region."""

    language: str
    customer_locale: str | None = None
    customer_time_zone: str | None = None
    locale: Locale = field(init=False)
    zone: tzinfo = field(init=False)

    def __post_init__(self) -> None:
        language = self.language if self.language in DEFAULTS else "en"
        object.__setattr__(self, "language", language)
        object.__setattr__(self, "locale", regional_locale(language, self.customer_locale))
        zone = _zone(self.customer_time_zone) or _zone(DEFAULTS[language][1])
        object.__setattr__(self, "zone", zone)

    # --- dates ------------------------------------------------------------------------------

    def _moment(self, value: Any) -> datetime | date | None:
        if value is None or value == "":
            return None
        if isinstance(value, str):
            value = datetime.fromisoformat(value) if "T" in value or " " in value else date.fromisoformat(value)
        if isinstance(value, datetime):
            return _aware(value).astimezone(self.zone)
        return value if isinstance(value, date) else None

    def _day_pattern(self, day: date) -> str:
        full = self.locale.date_formats["full"].pattern
        this_year = datetime.now(self.zone).year
        return full if day.year != this_year else _YEAR.sub("", full).strip(" ,")

    def day(self, value: Any) -> str:
        """"vendredi 4 décembre" (the year only when it is not this year), in the customer's zone."""
        moment = self._moment(value)
        if moment is None:
            return "-"
        day = moment.date() if isinstance(moment, datetime) else moment
        pattern = self._day_pattern(day)
        return format_datetime(datetime(day.year, day.month, day.day), pattern, locale=self.locale)

    def time(self, value: Any) -> str:
        moment = self._moment(value)
        if not isinstance(moment, datetime):
            return "-"
        pattern = TIME_PATTERNS.get(self.language) or self.locale.time_formats["short"].pattern
        return format_datetime(moment.replace(tzinfo=None), pattern, locale=self.locale)

    def when(self, value: Any) -> str:
        """Date and time on the customer's clock: "vendredi 4 décembre à 13 h 19"."""
        moment = self._moment(value)
        if not isinstance(moment, datetime):
            return self.day(moment)
        return AT_TIME[self.language].format(date=self.day(moment), time=self.time(moment))

    def retry_in(self, seconds: float) -> str:
        """"in 15 minutes", "dans 1 minute", "baada ya dakika 15" (CLDR plural rules)."""
        return format_timedelta(timedelta(seconds=max(60.0, seconds)), granularity="minute",
                                add_direction=True, locale=self.locale)

    # --- amounts ----------------------------------------------------------------------------

    def money(self, amount: Any, currency: str) -> str:
        """"11 450 F CFA", "Ksh 3,010", "£8.84": no decimals on a whole amount."""
        if amount is None or amount == "":
            return "-"
        value = Decimal(str(amount))
        if value == value.to_integral_value():
            pattern = re.sub(r"\.0+", "", self.locale.currency_formats["standard"].pattern)
            text = format_currency(value, currency, format=pattern, locale=self.locale, currency_digits=False)
        else:
            text = format_currency(value, currency, locale=self.locale)
        return _currency_spacing(text, get_currency_symbol(currency, locale=self.locale))

    # --- words ------------------------------------------------------------------------------

    def label(self, group: str, code: str | None, inline: bool = False) -> str:
        """The glossary's wording of a code (``milestone``, ``dispute_reason``...) in this language;
        ``inline``: inside a sentence ("motif : jamais reçue ou en retard"), not as a title."""
        labels = glossary()["labels"][group]
        entry = labels.get(code or "")
        if entry is None and group == "milestone":
            entry = labels["in_transit"]  # a scan we have no word for: the parcel is on its way
        if entry is None:  # every enum value has a label (tests/unit/test_glossary.py)
            raise KeyError(f"the glossary has no {group} label for {code!r}")
        text = entry[self.language]
        return text[:1].lower() + text[1:] if inline else text

    def place(self, location: str | None) -> str:
        """"Guangzhou, CN" -> "Guangzhou (Chine)": the country named in the conversation's language."""
        text = (location or "").strip()
        match = _LOCATION.match(text)
        if not match:
            return text or "-"
        country = Locale.parse(self.language).territories.get(match["country"], match["country"])
        return f"{match['place']} ({country})"


def _currency_spacing(text: str, symbol: str) -> str:
    """CLDR's currency spacing, which Babel does not apply: a symbol made of letters ("KES", "F CFA")
    is kept apart from the digits by a no-break space ("KES 3,010", not "KES3,010")."""
    if not symbol or symbol not in text:
        return text
    start = text.index(symbol)
    end = start + len(symbol)
    if end < len(text) and symbol[-1].isalpha() and text[end].isdigit():
        text = text[:end] + "\u00a0" + text[end:]
    if start > 0 and symbol[0].isalpha() and text[start - 1].isdigit():
        text = text[:start] + "\u00a0" + text[start:]
    return text
