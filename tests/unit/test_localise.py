"""Facts written the way the buyer reads them (actions/skills/localise.py): CLDR dates in the
customer's time zone, local amounts, plural rules, and which region wins when the conversation's
language is not the customer's."""

from __future__ import annotations

from datetime import date, datetime, timezone
from decimal import Decimal

import pytest

from actions.skills.localise import Localiser

NBSP, NNBSP = "\u00a0", "\u202f"  # CLDR's no-break spaces: 11 450 F CFA never breaks across lines
# 13:19 UTC on a Wednesday of another year (the year is written only when it is not this year).
MOMENT = datetime(2030, 12, 4, 13, 19, tzinfo=timezone.utc)
AMINA = ("fr_SN", "Africa/Dakar")
WANJIKU = ("sw_KE", "Africa/Nairobi")
OLIVER = ("en_GB", "Europe/London")


def plain(text: str) -> str:
    return text.replace(NBSP, " ").replace(NNBSP, " ")


@pytest.mark.parametrize(("language", "region", "when", "money"), [
    ("fr", AMINA, "mercredi 4 décembre 2030 à 13 h 19", ("11 450 F CFA", Decimal("11450"), "XOF")),
    ("sw", WANJIKU, "Jumatano, 4 Desemba 2030, saa 16:19", ("Ksh 3,010", Decimal("3010.00"), "KES")),
    ("en", OLIVER, "Wednesday, 4 December 2030 at 13:19", ("£8.84", Decimal("8.84"), "GBP")),
])
def test_each_market_reads_its_own_conventions(language, region, when, money):
    loc = Localiser(language, *region)
    assert loc.when(MOMENT) == when
    assert loc.when(MOMENT.isoformat()) == when  # as it comes out of Result.data
    expected, amount, currency = money
    assert plain(loc.money(amount, currency)) == expected
    assert NBSP in loc.money(amount, currency) or currency == "GBP"  # the amount never wraps


def test_the_year_is_written_only_when_it_is_not_this_year():
    loc = Localiser("fr", *AMINA)
    this_year = MOMENT.replace(year=datetime.now(timezone.utc).year)
    assert str(this_year.year) not in loc.day(this_year)
    assert loc.day(date(2030, 1, 2)) == "mercredi 2 janvier 2030"


def test_dates_follow_the_customers_clock_across_midnight():
    late = datetime(2030, 12, 4, 22, 30, tzinfo=timezone.utc)  # already Thursday in Nairobi
    assert Localiser("sw", *WANJIKU).day(late) == "Alhamisi, 5 Desemba 2030"
    assert Localiser("fr", *AMINA).day(late) == "mercredi 4 décembre 2030"
    summer = datetime(2030, 7, 1, 9, 0, tzinfo=timezone.utc)
    assert Localiser("en", *OLIVER).time(summer) == "10:00"  # British Summer Time


def test_conversation_language_chooses_the_words_the_customer_the_region_and_clock():
    amina_in_english = Localiser("en", *AMINA)  # no en_SN in CLDR: English default region
    assert str(amina_in_english.locale) == "en_GB"
    assert amina_in_english.when(datetime(2030, 12, 4, 23, 30, tzinfo=timezone.utc)).endswith("at 23:30")
    assert plain(amina_in_english.money(Decimal("11450"), "XOF")) == "F CFA 11,450"
    wanjiku_in_english = Localiser("en", *WANJIKU)  # en_KE exists: Kenyan conventions in English
    assert str(wanjiku_in_english.locale) == "en_KE"
    assert plain(wanjiku_in_english.money(Decimal("3010"), "KES")) == "Ksh 3,010"
    assert wanjiku_in_english.when(MOMENT) == "Wednesday, 4 December 2030 at 16:19"


def test_someone_not_identified_gets_the_defaults_of_the_language():
    assert Localiser("sw").when(MOMENT) == "Jumatano, 4 Desemba 2030, saa 16:19"
    assert Localiser("fr", "xx_YY", "Mars/Olympus").when(MOMENT) == "mercredi 4 décembre 2030 à 13 h 19"


@pytest.mark.parametrize(("language", "one", "many"), [
    ("en", "in 1 minute", "in 15 minutes"),
    ("fr", "dans 1 minute", "dans 15 minutes"),
    ("sw", "baada ya dakika 1", "baada ya dakika 15"),
])
def test_waits_use_the_plural_rules_of_the_language(language, one, many):
    loc = Localiser(language)
    assert (loc.retry_in(60), loc.retry_in(900)) == (one, many)


def test_words_come_from_the_glossary():
    fr = Localiser("fr")
    assert fr.label("milestone", "customs_cleared") == "Dédouané"
    assert fr.label("milestone", "a_scan_nobody_knows") == fr.label("milestone", "in_transit")
    assert fr.label("dispute_reason", "not_received", inline=True) == "jamais reçue ou en retard"
    assert Localiser("sw").place("Guangzhou, CN") == "Guangzhou (Uchina)"
    assert fr.place("Dakar, SN") == "Dakar (Sénégal)"
    with pytest.raises(KeyError):
        fr.label("dispute_reason", "not_a_reason")


def test_time_zones_without_the_systems_database(monkeypatch):
    """Slim containers have no /usr/share/zoneinfo: pytz's copy gives the same clock."""
    import actions.skills.localise as localise

    def missing(name):
        raise localise.ZoneInfoNotFoundError(name)

    summer = datetime(2030, 7, 1, 9, 0, tzinfo=timezone.utc)
    expected = Localiser("en", *OLIVER).when(summer)
    monkeypatch.setattr(localise, "ZoneInfo", missing)
    assert Localiser("en", *OLIVER).when(summer) == expected == "Monday, 1 July 2030 at 10:00"
