"""pressbot.timewindow: time expressions in a question -> an inclusive date window."""

from __future__ import annotations

import ast
import datetime as dt
from pathlib import Path

import pytest

import pressbot.timewindow as timewindow
from pressbot.timewindow import TimeWindow, parse_time_window, strip_time_expression, time_windows

D = dt.date
MAR_10_2025 = D(2025, 3, 10)  # a Monday
JAN_15_2025 = D(2025, 1, 15)
FEB_20_2025 = D(2025, 2, 20)
MAR_5_2024 = D(2024, 3, 5)

# (question, as_of, since, until, text found)
CASES = [
    # --- whole month ---
    ("What did the White House announce about Haiti in June 2021?", MAR_10_2025,
     D(2021, 6, 1), D(2021, 6, 30), "in June 2021"),
    ("Statements during June 2021 on vaccines", MAR_10_2025, D(2021, 6, 1), D(2021, 6, 30),
     "during June 2021"),
    ("June 2021 statements on Haiti", MAR_10_2025, D(2021, 6, 1), D(2021, 6, 30), "June 2021"),
    ("What was said in Jun. 2021?", MAR_10_2025, D(2021, 6, 1), D(2021, 6, 30), "in Jun. 2021"),
    ("IN SEPT. 2021, WHAT HAPPENED?", MAR_10_2025, D(2021, 9, 1), D(2021, 9, 30),
     "IN SEPT. 2021"),
    ("What happened in May 2023?", MAR_10_2025, D(2023, 5, 1), D(2023, 5, 31), "in May 2023"),
    ("Leap year: releases in February 2024", MAR_10_2025, D(2024, 2, 1), D(2024, 2, 29),
     "in February 2024"),
    ("Not a leap year: February 2023", MAR_10_2025, D(2023, 2, 1), D(2023, 2, 28),
     "February 2023"),
    ("What was announced in June of last year?", MAR_10_2025, D(2024, 6, 1), D(2024, 6, 30),
     "in June of last year"),
    # --- single day ---
    ("What did Biden say on January 22, 2024?", MAR_10_2025, D(2024, 1, 22), D(2024, 1, 22),
     "on January 22, 2024"),
    ("January 22, 2024 statement", MAR_10_2025, D(2024, 1, 22), D(2024, 1, 22),
     "January 22, 2024"),
    ("the 22 January 2024 readout", MAR_10_2025, D(2024, 1, 22), D(2024, 1, 22),
     "22 January 2024"),
    ("the 22nd of January, 2024", MAR_10_2025, D(2024, 1, 22), D(2024, 1, 22),
     "the 22nd of January, 2024"),
    ("releases dated 2024-01-22", MAR_10_2025, D(2024, 1, 22), D(2024, 1, 22), "2024-01-22"),
    ("the 2024-02-29 release", MAR_10_2025, D(2024, 2, 29), D(2024, 2, 29), "2024-02-29"),
    ("on Monday, January 22, 2024", MAR_10_2025, D(2024, 1, 22), D(2024, 1, 22),
     "on Monday, January 22, 2024"),
    ("What was said on January 6?", MAR_10_2025, D(2025, 1, 6), D(2025, 1, 6), "on January 6"),
    ("What was said on December 6?", MAR_10_2025, D(2024, 12, 6), D(2024, 12, 6),
     "on December 6"),
    # --- whole year (only with a temporal preposition) ---
    ("How many migrants arrived in 2023?", MAR_10_2025, D(2023, 1, 1), D(2023, 12, 31),
     "in 2023"),
    ("Sanctions during 2023", MAR_10_2025, D(2023, 1, 1), D(2023, 12, 31), "during 2023"),
    ("the summit of 2023", MAR_10_2025, D(2023, 1, 1), D(2023, 12, 31), "of 2023"),
    ("What changed in 2021 and 2022?", MAR_10_2025, D(2021, 1, 1), D(2022, 12, 31),
     "in 2021 and 2022"),
    ("in the 1990s", MAR_10_2025, D(1990, 1, 1), D(1999, 12, 31), "in the 1990s"),
    # --- relative to as_of ---
    ("What happened last February?", MAR_10_2025, D(2025, 2, 1), D(2025, 2, 28),
     "last February"),
    ("What happened last February?", FEB_20_2025, D(2024, 2, 1), D(2024, 2, 29),
     "last February"),
    ("What happened last December?", JAN_15_2025, D(2024, 12, 1), D(2024, 12, 31),
     "last December"),
    ("this past June", MAR_10_2025, D(2024, 6, 1), D(2024, 6, 30), "this past June"),
    ("What happened in May?", MAR_10_2025, D(2024, 5, 1), D(2024, 5, 31), "in May"),
    ("What happened in March?", MAR_10_2025, D(2025, 3, 1), D(2025, 3, 31), "in March"),
    ("news this month", MAR_10_2025, D(2025, 3, 1), MAR_10_2025, "this month"),
    ("news last month", MAR_10_2025, D(2025, 2, 1), D(2025, 2, 28), "last month"),
    ("news last month", JAN_15_2025, D(2024, 12, 1), D(2024, 12, 31), "last month"),
    ("news last month", MAR_5_2024, D(2024, 2, 1), D(2024, 2, 29), "last month"),
    ("news this year", MAR_10_2025, D(2025, 1, 1), MAR_10_2025, "this year"),
    ("news last year", JAN_15_2025, D(2024, 1, 1), D(2024, 12, 31), "last year"),
    ("news last week", MAR_10_2025, D(2025, 3, 3), D(2025, 3, 9), "last week"),
    ("news last week", JAN_15_2025, D(2025, 1, 6), D(2025, 1, 12), "last week"),
    ("news this week", D(2025, 3, 13), D(2025, 3, 10), D(2025, 3, 13), "this week"),
    ("What was said yesterday?", MAR_10_2025, D(2025, 3, 9), D(2025, 3, 9), "yesterday"),
    ("What was said yesterday?", D(2025, 1, 1), D(2024, 12, 31), D(2024, 12, 31), "yesterday"),
    ("What was said today?", MAR_10_2025, MAR_10_2025, MAR_10_2025, "today"),
    ("in the past 30 days", MAR_10_2025, D(2025, 2, 8), MAR_10_2025, "in the past 30 days"),
    ("in the past two weeks", MAR_10_2025, D(2025, 2, 24), MAR_10_2025,
     "in the past two weeks"),
    ("over the last 3 months", MAR_10_2025, D(2024, 12, 10), MAR_10_2025,
     "over the last 3 months"),
    ("in the past year", MAR_10_2025, D(2024, 3, 10), MAR_10_2025, "in the past year"),
    ("two months ago", MAR_10_2025, D(2025, 1, 1), D(2025, 1, 31), "two months ago"),
    ("last Monday", MAR_10_2025, D(2025, 3, 3), D(2025, 3, 3), "last Monday"),
    ("last quarter", MAR_10_2025, D(2024, 10, 1), D(2024, 12, 31), "last quarter"),
    # --- open-ended ---
    ("What has been said since March 2024?", MAR_10_2025, D(2024, 3, 1), None,
     "since March 2024"),
    ("announcements after March 2024", MAR_10_2025, D(2024, 4, 1), None, "after March 2024"),
    ("announcements before 2022", MAR_10_2025, None, D(2021, 12, 31), "before 2022"),
    ("announcements until June 2022", MAR_10_2025, None, D(2022, 6, 30), "until June 2022"),
    ("announcements through June 2022", MAR_10_2025, None, D(2022, 6, 30),
     "through June 2022"),
    ("since 2023", MAR_10_2025, D(2023, 1, 1), None, "since 2023"),
    ("after 2023", MAR_10_2025, D(2024, 1, 1), None, "after 2023"),
    ("before March 3, 2022", MAR_10_2025, None, D(2022, 3, 2), "before March 3, 2022"),
    ("by the end of 2022", MAR_10_2025, None, D(2022, 12, 31), "by the end of 2022"),
    ("since last month", MAR_10_2025, D(2025, 2, 1), None, "since last month"),
    # --- ranges ---
    ("sanctions between March and May 2022", MAR_10_2025, D(2022, 3, 1), D(2022, 5, 31),
     "between March and May 2022"),
    ("sanctions from March 2022 to May 2022", MAR_10_2025, D(2022, 3, 1), D(2022, 5, 31),
     "from March 2022 to May 2022"),
    ("from November to February 2023", MAR_10_2025, D(2022, 11, 1), D(2023, 2, 28),
     "from November to February 2023"),
    ("between 2021 and 2023", MAR_10_2025, D(2021, 1, 1), D(2023, 12, 31),
     "between 2021 and 2023"),
    ("troop levels 2021–2023", MAR_10_2025, D(2021, 1, 1), D(2023, 12, 31), "2021–2023"),
    ("between January 5 and January 20, 2024", MAR_10_2025, D(2024, 1, 5), D(2024, 1, 20),
     "between January 5 and January 20, 2024"),
    # --- parts of a month / year, quarters, halves, seasons ---
    ("at the end of July 2025", MAR_10_2025, D(2025, 7, 21), D(2025, 7, 31),
     "at the end of July 2025"),
    ("at the beginning of July 2025", MAR_10_2025, D(2025, 7, 1), D(2025, 7, 10),
     "at the beginning of July 2025"),
    ("at the start of February 2024", MAR_10_2025, D(2024, 2, 1), D(2024, 2, 10),
     "at the start of February 2024"),
    ("mid-July 2025", MAR_10_2025, D(2025, 7, 11), D(2025, 7, 20), "mid-July 2025"),
    ("in mid July 2025", MAR_10_2025, D(2025, 7, 11), D(2025, 7, 20), "in mid July 2025"),
    ("late February 2024", MAR_10_2025, D(2024, 2, 21), D(2024, 2, 29), "late February 2024"),
    ("early 2023", MAR_10_2025, D(2023, 1, 1), D(2023, 4, 30), "early 2023"),
    ("late 2023", MAR_10_2025, D(2023, 9, 1), D(2023, 12, 31), "late 2023"),
    ("mid-2023", MAR_10_2025, D(2023, 5, 1), D(2023, 8, 31), "mid-2023"),
    ("the first quarter of 2023", MAR_10_2025, D(2023, 1, 1), D(2023, 3, 31),
     "the first quarter of 2023"),
    ("revenue in Q1 2023", MAR_10_2025, D(2023, 1, 1), D(2023, 3, 31), "in Q1 2023"),
    ("2023 Q4 results", MAR_10_2025, D(2023, 10, 1), D(2023, 12, 31), "2023 Q4"),
    ("the second half of 2022", MAR_10_2025, D(2022, 7, 1), D(2022, 12, 31),
     "the second half of 2022"),
    ("in spring 2022", MAR_10_2025, D(2022, 3, 1), D(2022, 5, 31), "in spring 2022"),
    # a season without a year: the latest begun on or before as_of; "last": the latest ended
    ("What was announced in the fall?", FEB_20_2025, D(2024, 9, 1), D(2024, 11, 30), "in the fall"),
    ("How many crossings this winter?", JAN_15_2025, D(2024, 12, 1), JAN_15_2025, "this winter"),
    ("What did they say in the spring?", MAR_10_2025, D(2025, 3, 1), MAR_10_2025, "in the spring"),
    ("What was announced last summer?", MAR_10_2025, D(2024, 6, 1), D(2024, 8, 31), "last summer"),
    ("What changed last winter?", MAR_10_2025, D(2024, 12, 1), D(2025, 2, 28), "last winter"),
    ("¿Qué se anunció el verano pasado?", MAR_10_2025, D(2024, 6, 1), D(2024, 8, 31),
     "el verano pasado"),
    ("¿Qué se anunció en invierno?", MAR_10_2025, D(2024, 12, 1), D(2025, 2, 28), "en invierno"),
    # --- Spanish ---
    ("¿Qué anunció la Casa Blanca en junio de 2021?", MAR_10_2025, D(2021, 6, 1),
     D(2021, 6, 30), "en junio de 2021"),
    ("¿Qué se dijo desde marzo de 2024?", MAR_10_2025, D(2024, 3, 1), None,
     "desde marzo de 2024"),
    ("¿Cuántos migrantes llegaron en 2023?", MAR_10_2025, D(2023, 1, 1), D(2023, 12, 31),
     "en 2023"),
    ("el 22 de enero de 2024", MAR_10_2025, D(2024, 1, 22), D(2024, 1, 22),
     "el 22 de enero de 2024"),
    ("entre marzo y mayo de 2022", MAR_10_2025, D(2022, 3, 1), D(2022, 5, 31),
     "entre marzo y mayo de 2022"),
    ("a finales de julio de 2025", MAR_10_2025, D(2025, 7, 21), D(2025, 7, 31),
     "a finales de julio de 2025"),
    ("¿Qué pasó el mes pasado?", JAN_15_2025, D(2024, 12, 1), D(2024, 12, 31),
     "el mes pasado"),
    ("en los últimos 30 días", MAR_10_2025, D(2025, 2, 8), MAR_10_2025,
     "en los últimos 30 días"),
]


@pytest.mark.parametrize(("question", "as_of", "since", "until", "text"), CASES)
def test_parse_time_window(question, as_of, since, until, text):
    window = parse_time_window(question, as_of)
    assert window is not None, question
    assert (window.since, window.until, window.text) == (since, until, text)


NEGATIVES = [
    "Which countries may receive $180 million in assistance?",
    "Who may attend the summit?",
    "What was the $180 million package for?",
    "How were 180 million doses distributed?",
    "Were 10,000 troops deployed?",
    "What did the 2023 summit decide?",
    "How many 2023 migrants were resettled?",
    "Is the $2023 figure right?",
    "What is the population of 2000 villages?",
    "a rise of 2023%",
    "What did the FY2023 budget include?",
    "funding at 2023 levels",
    "the budget for 2024",
    "the 22nd amendment",
    "the third round of talks and 1st place",
    "What has the US said recently about Haiti?",
    "What did the January 6 committee find?",
    "the march on Washington",
    "What will happen next month?",
    "in the last few weeks",
    "What was announced on February 30, 2024?",
    "Who spoke with President Macron?",
    "What did FEMA do about the winter storm?",
    "the Summer Olympics team",
    "",
]


@pytest.mark.parametrize("question", NEGATIVES)
def test_no_time_window(question):
    assert parse_time_window(question, MAR_10_2025) is None


STRIPS = [
    ("What did the White House announce about Haiti in June 2021?",
     "What did the White House announce about Haiti?"),
    ("In June 2021, what did the White House say about Haiti?",
     "What did the White House say about Haiti?"),
    ("What sanctions were announced between March and May 2022 against Russia?",
     "What sanctions were announced against Russia?"),
    ("What was said about NATO last month, and why?", "What was said about NATO, and why?"),
    ("¿Qué anunció la Casa Blanca en junio de 2021?", "¿Qué anunció la Casa Blanca?"),
    ("Aid to Ukraine since March 2024", "Aid to Ukraine"),
    ("Who may receive aid?", "Who may receive aid?"),  # no window: unchanged
    ("June 2021?", "June 2021?"),  # nothing would be left: unchanged
]


@pytest.mark.parametrize(("question", "expected"), STRIPS)
def test_strip_time_expression(question, expected):
    window = parse_time_window(question, MAR_10_2025)
    assert strip_time_expression(question, window) == expected


def test_strip_with_none_or_foreign_window():
    q = "What did the White House say?"
    assert strip_time_expression(q, None) == q
    assert strip_time_expression(q, TimeWindow(D(2021, 6, 1), D(2021, 6, 30), "in June 2021")) == q


def test_label_and_json():
    w = parse_time_window("in June 2021", MAR_10_2025)
    assert w.label() == "1 June 2021 – 30 June 2021"
    assert w.to_json() == {"since": "2021-06-01", "until": "2021-06-30", "text": "in June 2021"}
    w = parse_time_window("since March 2024", MAR_10_2025)
    assert w.label() == "since 1 March 2024"
    assert w.to_json() == {"since": "2024-03-01", "until": None, "text": "since March 2024"}
    w = parse_time_window("before 2023", MAR_10_2025)
    assert w.label() == "until 31 December 2022"
    assert parse_time_window("on January 22, 2024", MAR_10_2025).label() == "22 January 2024"


def test_every_time_a_text_names_read_as_of_its_date():
    text = "Agents caught 8,725 migrants last month, down from 62,000 in May 2024."
    found = [(w.since, w.until, w.text) for w in time_windows(text, D(2025, 6, 20))]
    assert found == [
        (D(2024, 5, 1), D(2024, 5, 31), "in May 2024"),  # the longest first
        (D(2025, 5, 1), D(2025, 5, 31), "last month"),
    ]
    assert list(time_windows("The program reached 6,070 people.", MAR_10_2025)) == []
    # overlapping readings of one expression count once: "June 2021" inside "in June 2021"
    assert [w.text for w in time_windows("It began in June 2021.", MAR_10_2025)] == ["in June 2021"]


def test_spanish_whole_year_forms():
    for q in ("¿Cuántos homicidios hubo en todo 2024?", "¿Cuántos durante todo el 2024?", "¿Cuántos en el 2024?"):
        w = parse_time_window(q, MAR_10_2025)
        assert (w.since, w.until) == (D(2024, 1, 1), D(2024, 12, 31)), q


def test_fiscal_years_run_october_to_september():
    w = parse_time_window("How many traces did Mexico submit in fiscal year 2024?", MAR_10_2025)
    assert (w.since, w.until, w.text) == (D(2023, 10, 1), D(2024, 9, 30), "in fiscal year 2024")
    assert parse_time_window("Apprehensions in FY25?", MAR_10_2025).since == D(2024, 10, 1)
    assert parse_time_window("What did the FY2023 budget include?", MAR_10_2025) is None  # a name, not a time
    assert parse_time_window("Seizures last fiscal year?", D(2025, 11, 2)).until == D(2025, 9, 30)
    assert parse_time_window("Seizures last fiscal year?", D(2025, 9, 2)).until == D(2024, 9, 30)
    found = [(w.since, w.until) for w in time_windows("12,000 traces in the first half of FY 23", D(2023, 6, 1))]
    assert found == [(D(2022, 10, 1), D(2023, 9, 30))]


def test_the_date_a_question_gives_its_source_by_is_the_window():
    q = "What overstay rate did Chad have in fiscal year 2023, according to the June 2025 fact sheet?"
    w = parse_time_window(q, MAR_10_2025)
    assert (w.since, w.until, w.dates_source) == (D(2025, 6, 1), D(2025, 6, 30), True)
    assert parse_time_window("What rate did Chad have in fiscal year 2023?", MAR_10_2025).since == D(2022, 10, 1)


def test_window_is_frozen():
    w = parse_time_window("in 2023", MAR_10_2025)
    with pytest.raises(AttributeError):
        w.since = None  # type: ignore[misc]


def test_as_of_defaults_to_today():
    before = dt.date.today()
    w = parse_time_window("What happened today?")
    after = dt.date.today()
    assert w is not None and w.since == w.until and before <= w.since <= after


def test_as_of_accepts_datetime():
    w = parse_time_window("yesterday", dt.datetime(2025, 3, 1, 23, 59))
    assert (w.since, w.until) == (D(2025, 2, 28), D(2025, 2, 28))


def test_longest_expression_wins():
    w = parse_time_window("the 2023 summit, held at the end of July 2025", MAR_10_2025)
    assert w.text == "at the end of July 2025"


def test_dateparser_not_in_hot_path():
    tree = ast.parse(Path(timewindow.__file__).read_text(encoding="utf-8"))
    imported = {
        alias.name.split(".")[0]
        for node in ast.walk(tree)
        if isinstance(node, ast.Import | ast.ImportFrom)
        for alias in (node.names if isinstance(node, ast.Import) else [ast.alias(node.module)])
    }
    assert "dateparser" not in imported
