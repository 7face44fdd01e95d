"""Publication dates: datelines at the top of a text, and metadata values. Never invented."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest

from ingest.dates import find_dateline, parse_date_value

SEED_START = """\
Mexico and the U. S. continue migration talks

Mexico City, Mexico — Mexico and the U.S. have resumed talks that began in December at the \
National Palace. Talks were resumed regarding greater collaboration to confront migratory flows.

In order to continue this high-level dialogue, both delegations agreed to hold a new meeting in \
February.
"""


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Mexico City, January 22, 2024\n\nThe Secretary...", date(2024, 1, 22)),
        ("WASHINGTON, D.C. — March 3, 2023 — The President signed", date(2023, 3, 3)),
        ("WASHINGTON, DC, Sept. 5, 2022 (AP) –", date(2022, 9, 5)),
        ("22 de enero de 2024", date(2024, 1, 22)),
        ("Ciudad de México, 22 de enero de 2024.", date(2024, 1, 22)),
        ("Ciudad de México, a 1° de febrero del 2024", date(2024, 2, 1)),
        ("lunes 22 de enero de 2024", date(2024, 1, 22)),
        ("Monday, January 22, 2024", date(2024, 1, 22)),
        ("Posted on January 5, 2021", date(2021, 1, 5)),
        ("LONDON, 14 February 2023 - The Minister", date(2023, 2, 14)),
        ("2024-01-22\nBody", date(2024, 1, 22)),
        # the mañaneras layout: title, publisher, date line
        (
            "Versión estenográfica de la conferencia de prensa\nPresidencia de la República\n02 de enero de 2024\n---",
            date(2024, 1, 2),
        ),
    ],
)
def test_datelines(text: str, expected: date) -> None:
    assert find_dateline(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        SEED_START,  # "December" and "February" without a year, and no dateline: undated
        "On October 1, 2024, Iran launched over 200 ballistic missiles at Israel.",
        "The President first declared an emergency on February 15, 2019, and again.",
        "Versión estenográfica. Conferencia de prensa del presidente del 2 de enero de 2024.",
        "Title\nSubtitle\nLine three\nLine four\nLine five\nMexico City, January 22, 2024",
        "February 30, 2024",  # not a real day
        "",
    ],
)
def test_no_date_is_invented(text: str) -> None:
    assert find_dateline(text) is None


def test_a_date_deep_in_the_body_is_ignored() -> None:
    body = "Mexico and the U.S. continue talks\n\n" + "Paragraph text.\n\n" * 10
    assert find_dateline(body + "Mexico City, January 22, 2024") is None


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2021-05-20T22:14:56+00:00", date(2021, 5, 20)),
        ("2021-01-15 16:17:00-05:00", date(2021, 1, 15)),  # the written date, no UTC shift
        ("2024-01-22Z", date(2024, 1, 22)),
        ("2024-01-22", date(2024, 1, 22)),
        (date(2024, 1, 22), date(2024, 1, 22)),
        (datetime(2021, 1, 15, 23, 0, tzinfo=timezone(timedelta(hours=-5))), date(2021, 1, 15)),
        ("Mon, 22 Jan 2024 10:00:00 GMT", date(2024, 1, 22)),
        (1705900000, date(2024, 1, 22)),
        (1705900000000, date(2024, 1, 22)),  # epoch milliseconds
        ("22 de enero de 2024", date(2024, 1, 22)),
        ("January 22, 2024", date(2024, 1, 22)),
        ("22/01/2024", date(2024, 1, 22)),
        ("01/22/2024", date(2024, 1, 22)),
        ("2024.01.22 10:00", date(2024, 1, 22)),
    ],
)
def test_parse_date_value(value: object, expected: date) -> None:
    assert parse_date_value(value) == expected


@pytest.mark.parametrize(
    "value", [None, "", "yesterday", "garbage", "01/02/2024", "2024-13-45", True, [], "3 days ago"]
)
def test_unclear_values_give_none(value: object) -> None:
    assert parse_date_value(value) is None
