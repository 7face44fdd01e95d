"""The one table of date, number and money words (pressbot/lexicon.py), and what each reader of it
gains from reading the whole table: words that only some of the old copies had."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from ingest.dates import find_dateline
from pressbot.asked import Asked, states_kind
from pressbot.direct import direct_spans
from pressbot.glossary import default_glossary
from pressbot.lexicon import MONTH_ABBREVIATIONS_EN, MONTHS_EN, MONTHS_ES, WEEKDAYS_EN, WEEKDAYS_ES, alternation
from pressbot.timewindow import parse_time_window


def test_alternation_tries_the_longest_word_first_and_escapes_each() -> None:
    m = re.match(rf"(?:{alternation(['jun', 'june'])})", "june 2024")
    assert m is not None and m.group(0) == "june"
    assert re.fullmatch(alternation(["us$"]), "us$") and not re.fullmatch(alternation(["us$"]), "us")


@pytest.mark.parametrize("table", [MONTHS_EN, MONTHS_ES])
def test_every_language_names_each_month(table: dict[str, int]) -> None:
    assert set(table.values()) == set(range(1, 13))
    assert set(MONTH_ABBREVIATIONS_EN.values()) == set(range(1, 13)) - {5}  # "may" is the full name


@pytest.mark.parametrize("table", [WEEKDAYS_EN, WEEKDAYS_ES])
def test_every_language_names_each_weekday(table: dict[str, int]) -> None:
    assert set(table.values()) == set(range(7))


def test_a_sum_in_thousands_of_a_currency_is_an_amount() -> None:
    assert states_kind("amount", "Se invertirán 5 mil dólares en la región.")
    # pesos are money, not a count of people
    assert not states_kind("count", "Cada familia recibió 1,200 pesos.")


def test_the_direct_count_keeps_the_whole_spanish_scale() -> None:
    asked = Asked.of("¿Cuántos adultos mayores reciben la pensión?", None, None)
    sentence = "La pensión llega a más de 12 millones de adultos mayores."
    assert direct_spans(asked, sentence) == ("12 millones de adultos mayores",)


def test_an_amount_span_ends_at_its_currency_word() -> None:
    asked = Asked.of("How much did the program cost?", None, None)
    assert direct_spans(asked, "The program cost 2 billion euros in 2025, European officials said.") == (
        "2 billion euros",
    )


def test_any_number_word_counts_in_a_rolling_window() -> None:
    w = parse_time_window("What was announced in the past forty days?", dt.date(2025, 3, 10))
    assert w is not None and (w.since, w.until) == (dt.date(2025, 1, 29), dt.date(2025, 3, 10))


def test_a_dateline_may_name_its_weekday_without_the_accent() -> None:
    assert find_dateline("Ciudad de México, miercoles 3 de mayo de 2023\nTexto.") == dt.date(2023, 5, 3)


def test_the_glossary_renders_spanish_scales_by_their_value() -> None:
    rendering = default_glossary().render("¿Cuántos billones de pesos costaría la condonación?")
    assert rendering is not None and rendering.dense == "how many trillion?"  # a billón is 10**12
