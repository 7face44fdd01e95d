"""Time expressions in a question -> a date window (inclusive `since`/`until`).

`parse_time_window(question, as_of)` finds the time expression in a question and resolves it
against `as_of` (default: today; pass it explicitly for reproducible evals).
`strip_time_expression(question, window)` removes the expression so the lexical/dense query
is not polluted by date words.

How it works: hand-written regexes only (no dateparser: it is slow and over-eager). A
*point* is one calendar span ("June 2021", "22 January 2024", "Q1 2023", "last month",
"the past 30 days", ...). Three top-level shapes combine points:

* ``RANGE``   "between A and B", "from A to B", "A–B", "entre A y B", "de A a B",
              "desde A hasta B", "in A and B" / "in A or B" (the span covering both)
* ``MOD``     a modifier + a point: "in/during/on/of/at ..." (the span itself),
              "since/from ..." (open end), "after ..." (from the day after the span),
              "before/prior to ..." (up to the day before), "until/through/by ..." (up to its end)
* a strong point on its own: "June 2021", "January 22, 2024", "2024-01-22", "last week"

Every match is a candidate; the longest wins (ties: the leftmost), so one expression per
question is used, unless another names the question's source ("..., according to the June 2025
fact sheet"): the release that answers is from then. `TimeWindow.text` is that expression
exactly as written. `time_windows(text, as_of)` gives every expression of a text (a release's
sentence, read as of its date).

Choices (documented because they are judgement calls):

* Bare years are *weak*: "2023" is a window only after a temporal preposition -- in, during,
  throughout, of, since, from, before, after, until, till, through, by (Spanish en, en todo,
  en (todo) el, durante (todo el), de, desde, antes de, después de, hasta, a partir de) -- or
  in a range ("from 2021 to 2023",
  "2021–2023"). Adjectival years ("the 2023 summit"), amounts ("$2023", "2,023", "2023
  million", "2023%") and years that are not 1900-2099 never count, nor does a bare year
  directly followed by a lower-case plural, which reads as a count ("of 2000 villages",
  "in 2023 migrants"). "at/over/for 2023" do not count either ("funding at 2023 levels",
  "an increase over 2022", "the budget for 2024").
* Month names without a year are weak too: "May" is a month only after a preposition ("in May",
  "since May", ...) or with last/this ("last May"), a part ("early May", "the end of May") or a
  day ("on May 5"). So "which countries may receive ..." is not a window. Abbreviations
  ("Jun.", "Sept") count only next to a year, a day or early/mid/late.
* A month or day without a year means the most recent one on or before `as_of` ("in May"
  asked on 2025-03-10 -> May 2024; asked in May 2025 -> May 2025). "last <month>" is the most
  recent such month strictly before as_of's month ("last February" asked in February 2025 ->
  February 2024). A day-and-month without a year needs "on"/"el" ("on January 6"), so "the
  January 6 committee" is not a window.
* "last week/month/quarter/year" and "el mes pasado" are the previous *calendar* period
  (weeks run Monday-Sunday). "this week/month/quarter/year" run from the period's start to
  `as_of`. "the past/last N days/weeks/months/years" (and "the past week", "past month",
  "los últimos N días") are rolling: `as_of` minus N units .. `as_of`. "N days/weeks/months/
  years ago" is that day / calendar week / calendar month / calendar year.
* "since X" has no upper bound (`until=None`); "before X" has no lower bound.
* Fiscal years are the U.S. government's, October to September: "in fiscal year 2024", "FY24"
  (weak, like bare years: "the FY2023 budget" is no window), "last fiscal year".
* Parts of a month are thirds: beginning/start/early = 1-10, mid/middle = 11-20, end/late =
  21-last day. Parts of a year: early = Jan-Apr, mid = May-Aug, late/end = Sep-Dec.
  Quarters, halves (H1/H2) and seasons with a year (spring = Mar-May, summer = Jun-Aug,
  fall/autumn = Sep-Nov; northern-hemisphere meteorological seasons) are supported; winter
  with a year is not (it straddles two years and "winter 2022" is ambiguous). A season without
  a year, like a month, is the latest one begun on or before `as_of` ("this summer", "(in) the
  fall", "este verano"; winter = Dec-Feb); "last summer" / "el verano pasado" is the latest one
  ended before `as_of`. Decades: "the 1990s".
* Vague words ("recently", "lately", "the last few weeks") and the future ("next month") give
  None. Numeric dates other than ISO (2024-01-22, 2024/01/22) are not read: 01/02/2024 is
  ambiguous between US and European order.
* A range whose start is later than its end, or an impossible date (February 30), is ignored.
"""

from __future__ import annotations

import calendar
import dataclasses
import datetime
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

from dateutil.relativedelta import relativedelta

from pressbot.lexicon import (
    CURRENCY_CODES,
    CURRENCY_WORDS,
    MONTH_ABBREVIATIONS_EN,
    MONTHS,
    MONTHS_EN,
    NUMBERS_EN,
    NUMBERS_ES,
    ONE_ARTICLES,
    ORDINALS,
    SCALES,
    SYMBOL_CHARS,
    WEEKDAY_ABBREVIATIONS_EN,
    WEEKDAYS,
    YEAR,
    alternation,
)

__all__ = ["TimeWindow", "parse_time_window", "strip_time_expression", "time_windows"]

_ONE_DAY = datetime.timedelta(days=1)

_LABEL_MONTHS = {number: name.title() for name, number in MONTHS_EN.items()}


@dataclass(frozen=True)
class TimeWindow:
    """An inclusive date window; either end may be open (None), never both."""

    since: datetime.date | None
    until: datetime.date | None
    text: str
    # it dates the question's source ("according to the June 2025 fact sheet"), not what is asked
    dates_source: bool = False

    def label(self) -> str:
        """Human description: "1 June 2021 – 30 June 2021", "since 1 March 2024", ..."""
        if self.since and self.until:
            if self.since == self.until:
                return _fmt(self.since)
            return f"{_fmt(self.since)} – {_fmt(self.until)}"
        if self.since:
            return f"since {_fmt(self.since)}"
        if self.until:
            return f"until {_fmt(self.until)}"
        return "any time"

    def to_json(self) -> dict[str, str | None]:
        return {
            "since": self.since.isoformat() if self.since else None,
            "until": self.until.isoformat() if self.until else None,
            "text": self.text,
        }


def _fmt(d: datetime.date) -> str:
    return f"{d.day} {_LABEL_MONTHS[d.month]} {d.year}"


# --- vocabulary -------------------------------------------------------------------------

_MONTHS_FULL = MONTHS
_MONTHS_ABBR = MONTH_ABBREVIATIONS_EN
_MONTHS = {**_MONTHS_FULL, **_MONTHS_ABBR}
_WEEKDAYS_FULL = WEEKDAYS
_WEEKDAYS_ABBR = WEEKDAY_ABBREVIATIONS_EN
# "the past 30 days", "three weeks ago", "a week ago", "hace una semana"
_NUMBER_WORDS = {**ONE_ARTICLES, **NUMBERS_EN, **NUMBERS_ES}
# a regex alternation of literal words, longest first (so "june" is tried before "jun")
_alt = alternation


# --- regex fragments ----------------------------------------------------------------------
# Fragments carry named groups for the resolvers; `_unname` turns them into plain groups when
# they are combined into the big alternation (Python forbids duplicate group names).

# Any month name: full or abbreviated ("Jun.", "Sept"), English or Spanish.
_MONTH = rf"(?:{_alt(_MONTHS)})\b\.?"
# Full month names only (for the year-less, weak forms: "in May", "last February").
_MONTH_FULL = rf"(?:{_alt(_MONTHS_FULL)})\b"
# An optional weekday in front of a full date: "Monday, January 22, 2024", "lunes 22 de ...".
_WEEKDAY_PREFIX = rf"(?:(?:{_alt([*_WEEKDAYS_FULL, *_WEEKDAYS_ABBR])})\b\.?,?\s+)?"
# A year 1900-2099 that is not part of an amount or another number:
#   not after a word char, currency sign, or number punctuation ("$2023", "1,2023", "FY2023");
#   not before a word char or "%", nor before ".5" / ",000" / "/22" / "-22" (a 2021-22 season);
#   not followed by a scale or unit word ("2023 million", "2023 percent").
_YEAR_RAW = (
    rf"(?<![\w{SYMBOL_CHARS}.,/]){YEAR}"
    r"(?![\w%]|[.,/]\d|-\d\d\b(?!-))"
    rf"(?!\s*(?:per\s*cent|por\s+ciento|percent|(?:{_alt([*SCALES, *CURRENCY_WORDS, *CURRENCY_CODES])})\b))"
)
# A year, or a relative one: "2021", "this year", "last year", "este año", "el año pasado".
_YEAR_REF = (
    rf"(?:(?P<y>{_YEAR_RAW})|(?P<yrel>this|last|este)\s+(?:year|año)\b"
    r"|(?:el\s+)?(?P<ypas>año)\s+pasado\b)"
)
_DAY = r"(?P<d>3[01]|[12]\d|0?[1-9])(?!\d)(?:st|nd|rd|th|º|°|ª)?\b"
# "the" before a day only when it is an ordinal: "the 22nd of January", not "the 22 January
# 2024 readout" (where "the" belongs to "readout")
_THE_ORDINAL = r"(?:the\s+(?=\d{1,2}(?:st|nd|rd|th)\b))?"
_OF = r"(?:of\s+|de(?:l)?\s+)?"  # "June of 2021", "junio de 2021", "junio del 2021"
# Parts of a month / year. Group names tell which third: p1 = beginning, p2 = middle, p3 = end.
_PART = (
    r"(?:(?:the\s+)?(?:very\s+)?(?:(?P<p1>beginning|start)|(?P<p2>middle)|(?P<p3>end|close))"
    r"\s+of\s+(?:the\s+month\s+of\s+)?"
    r"|(?P<p1e>early)\s+|(?P<p2e>mid)(?:-|\s*)|(?P<p3e>late)\s+"
    r"|(?:a\s+)?(?:(?P<p1s>principios|comienzos|inicios)|(?P<p2s>mediados)"
    r"|(?P<p3s>finales|fines))\s+de(?:l)?\s+)"
)
_NUM = rf"(?P<n>\d{{1,3}}|{_alt(_NUMBER_WORDS)})"
_UNIT_EN = r"(?P<unit>days?|weeks?|months?|years?|hours?)\b"
_UNIT_ES = r"(?P<unit>d[ií]as?|semanas?|mes(?:es)?|años?|horas?)\b"

# After a bare year, a lower-case plural word makes it a count ("in 2000 villages", "of 2023
# migrants"); a few common words ending in -s are not plurals.
_NOT_PLURAL = (
    "this", "does", "across", "versus", "unless", "always", "perhaps", "regardless",
    "whereas", "besides", "towards", "afterwards", "sometimes", "thus", "plus", "less",
    "ambos", "después", "despues", "antes", "entonces", "mientras", "pues",
)
_NOT_A_COUNT = rf"(?!\s+(?-i:(?!(?:{_alt(_NOT_PLURAL)})\b)[a-záéíóúñ][\w]{{2,}}s\b))"

_NAMED_GROUP = re.compile(r"\(\?P<\w+>")


def _unname(fragment: str) -> str:
    return _NAMED_GROUP.sub("(?:", fragment)


# --- resolvers ----------------------------------------------------------------------------


@dataclass(frozen=True)
class _Span:
    start: datetime.date
    end: datetime.date
    # "strong" stands alone; "year" / "month" / "day" are the weak, year-less or bare forms
    # that need a preposition (see _WEAK_OK).
    kind: str = "strong"
    explicit_year: bool = True


def _month_span(year: int, month: int) -> tuple[datetime.date, datetime.date]:
    return (
        datetime.date(year, month, 1),
        datetime.date(year, month, calendar.monthrange(year, month)[1]),
    )


def _g(m: re.Match[str], name: str) -> str | None:
    return m.groupdict().get(name)


def _year(m: re.Match[str], as_of: datetime.date) -> int | None:
    if y := _g(m, "y"):
        return int(y)
    if rel := _g(m, "yrel"):
        return as_of.year - (rel.lower() == "last")
    if _g(m, "ypas"):
        return as_of.year - 1
    return None


def _known_year(m: re.Match[str], as_of: datetime.date) -> int:
    """The year of a form whose pattern requires one ("June 2021", "Q1 last year")."""
    year = _year(m, as_of)
    if year is None:
        raise AssertionError("no year group matched")
    return year


def _month_no(text: str) -> int:
    return _MONTHS[text.lower().rstrip(".")]


def _recent_year_for(month: int, day: int, as_of: datetime.date) -> int:
    """Year of the most recent (month, day) on or before as_of."""
    return as_of.year if (month, day) <= (as_of.month, as_of.day) else as_of.year - 1


def _part(m: re.Match[str]) -> int:
    for third in (1, 2, 3):
        if any(_g(m, f"p{third}{suffix}") for suffix in ("", "e", "s")):
            return third
    raise AssertionError("no part group matched")


def _n(m: re.Match[str]) -> int:
    raw = m.group("n").lower()
    return int(raw) if raw.isdigit() else _NUMBER_WORDS[raw]


def _unit(m: re.Match[str]) -> str:
    u = m.group("unit").lower()
    for prefix, unit in (("d", "day"), ("w", "week"), ("sem", "week"), ("mon", "month"),
                         ("mes", "month"), ("y", "year"), ("a", "year"), ("h", "hour"),
                         ("q", "quarter"), ("tri", "quarter")):
        if u.startswith(prefix):
            return unit
    raise AssertionError(u)


def _week_start(d: datetime.date) -> datetime.date:
    return d - datetime.timedelta(days=d.weekday())


def _quarter_start(d: datetime.date) -> datetime.date:
    return datetime.date(d.year, 3 * ((d.month - 1) // 3) + 1, 1)


def _r_iso(m: re.Match[str], as_of: datetime.date, hint: int | None) -> _Span:
    d = datetime.date(int(m.group("y")), int(m.group("m")), int(m.group("d")))
    return _Span(d, d)


def _r_date(m: re.Match[str], as_of: datetime.date, hint: int | None) -> _Span:
    d = datetime.date(_known_year(m, as_of), _month_no(m.group("mon")), int(m.group("d")))
    return _Span(d, d)


def _r_day_bare(m: re.Match[str], as_of: datetime.date, hint: int | None) -> _Span | None:
    month, day = _month_no(m.group("mon")), int(m.group("d"))
    if hint is not None:
        d = datetime.date(hint, month, day)
        return _Span(d, d, "day", False)
    year = _recent_year_for(month, day, as_of)
    for y in range(year, year - 8, -1):  # 29 February: step back to a leap year
        try:
            d = datetime.date(y, month, day)
        except ValueError:
            continue
        return _Span(d, d, "day", False)
    return None


def _r_month_year(m: re.Match[str], as_of: datetime.date, hint: int | None) -> _Span:
    return _Span(*_month_span(_known_year(m, as_of), _month_no(m.group("mon"))))


def _r_month_bare(m: re.Match[str], as_of: datetime.date, hint: int | None) -> _Span:
    month = _month_no(m.group("mon"))
    year = hint if hint is not None else _recent_year_for(month, 1, as_of)
    return _Span(*_month_span(year, month), "month", False)


def _r_part_month(m: re.Match[str], as_of: datetime.date, hint: int | None) -> _Span:
    month = _month_no(m.group("mon"))
    year = _year(m, as_of)
    explicit = year is not None
    if year is None:
        year = hint if hint is not None else _recent_year_for(month, 1, as_of)
    first, last = _month_span(year, month)
    third = _part(m)
    start = first.replace(day=1 + 10 * (third - 1))
    end = last if third == 3 else first.replace(day=10 * third)
    return _Span(start, end, "strong", explicit)


def _r_part_year(m: re.Match[str], as_of: datetime.date, hint: int | None) -> _Span:
    year, third = _known_year(m, as_of), _part(m)
    return _Span(
        datetime.date(year, 4 * third - 3, 1), _month_span(year, 4 * third)[1]
    )


# a quarter's or a half's number ("the last half" is the second: see _r_half)
_ORDINALS = {**{w: n for w, n in ORDINALS.items() if n <= 4}, "last": 4, "final": 4}


def _r_quarter(m: re.Match[str], as_of: datetime.date, hint: int | None) -> _Span:
    qd, word = _g(m, "qd"), _g(m, "qn") or _g(m, "qn2") or ""
    q = int(qd) if qd else _ORDINALS[word.lower()]
    year = _known_year(m, as_of)
    return _Span(datetime.date(year, 3 * q - 2, 1), _month_span(year, 3 * q)[1])


def _r_fiscal(m: re.Match[str], as_of: datetime.date, hint: int | None) -> _Span:
    """The U.S. federal fiscal year: FY2024 runs from 1 October 2023 to 30 September 2024."""
    if fy := _g(m, "fy"):
        year = int(fy) + (2000 if len(fy) == 2 else 0)
        return _Span(datetime.date(year - 1, 10, 1), datetime.date(year, 9, 30), "year")
    current = as_of.year + (as_of.month >= 10)
    year = current + {"this": 0, "next": 1}.get(m.group("fyrel").lower(), -1)
    return _Span(datetime.date(year - 1, 10, 1), datetime.date(year, 9, 30))


def _r_half(m: re.Match[str], as_of: datetime.date, hint: int | None) -> _Span:
    hd, word = _g(m, "hd"), _g(m, "hn") or _g(m, "hn2") or ""
    h = int(hd) if hd else min(_ORDINALS[word.lower()], 2)  # "the last half" = the second
    year = _known_year(m, as_of)
    return _Span(datetime.date(year, 6 * h - 5, 1), _month_span(year, 6 * h)[1])


_SEASONS = {"spring": 3, "primavera": 3, "summer": 6, "verano": 6, "fall": 9, "autumn": 9,
            "otoño": 9, "otono": 9, "winter": 12, "invierno": 12}
_SEASON_WORD = r"(?P<s>spring|summer|fall|autumn|winter|primavera|verano|oto[ñn]o|invierno)"


def _r_season(m: re.Match[str], as_of: datetime.date, hint: int | None) -> _Span:
    first, year = _SEASONS[m.group("s").lower()], _known_year(m, as_of)
    return _Span(datetime.date(year, first, 1), _month_span(year, first + 2)[1])


def _season_at(first: int, year: int) -> tuple[datetime.date, datetime.date]:
    """The season of three months starting in month `first` of `year` (winter runs into the next year)."""
    last = first + 2
    return datetime.date(year, first, 1), _month_span(year + (last - 1) // 12, (last - 1) % 12 + 1)[1]


def _r_season_bare(m: re.Match[str], as_of: datetime.date, hint: int | None) -> _Span:
    """this summer, (in) the fall, este verano: the latest begun on or before as_of; last
    summer, el verano pasado: the latest ended before as_of."""
    first = _SEASONS[m.group("s").lower()]
    year = hint if hint is not None else as_of.year if first <= as_of.month else as_of.year - 1
    start, end = _season_at(first, year)
    if _g(m, "slast") or _g(m, "spas"):
        while end >= as_of:
            start, end = _season_at(first, start.year - 1)
    return _Span(start, min(end, as_of) if start <= as_of <= end else end)


def _r_decade(m: re.Match[str], as_of: datetime.date, hint: int | None) -> _Span:
    y = int(m.group("dec"))
    return _Span(datetime.date(y, 1, 1), datetime.date(y + 9, 12, 31))


def _r_today(m: re.Match[str], as_of: datetime.date, hint: int | None) -> _Span:
    return _Span(as_of, as_of)


def _r_yesterday(m: re.Match[str], as_of: datetime.date, hint: int | None) -> _Span:
    return _Span(as_of - _ONE_DAY, as_of - _ONE_DAY)


def _calendar_period(unit: str, as_of: datetime.date, back: int) -> tuple[datetime.date, datetime.date]:
    """(start, end) of the calendar `unit` that is `back` units before the one holding as_of."""
    if unit == "day":
        d = as_of - datetime.timedelta(days=back)
        return d, d
    if unit == "week":
        start = _week_start(as_of) - datetime.timedelta(weeks=back)
        return start, start + datetime.timedelta(days=6)
    if unit == "month":
        start = as_of.replace(day=1) - relativedelta(months=back)
        return _month_span(start.year, start.month)
    if unit == "quarter":
        start = _quarter_start(as_of) - relativedelta(months=3 * back)
        return start, start + relativedelta(months=3) - _ONE_DAY
    start = datetime.date(as_of.year - back, 1, 1)
    return start, start.replace(month=12, day=31)


def _r_this_last(m: re.Match[str], as_of: datetime.date, hint: int | None) -> _Span:
    """this/last/past week|month|quarter|year, este mes, el mes pasado, ..."""
    unit = _unit(m)
    which = (_g(m, "which") or "").lower()
    if which == "past":  # "past week" without a number: rolling
        return _rolling(unit, 1, as_of)
    if which in ("this", "este", "esta"):
        start, _ = _calendar_period(unit, as_of, 0)
        return _Span(start, as_of)
    return _Span(*_calendar_period(unit, as_of, 1))


def _rolling(unit: str, n: int, as_of: datetime.date) -> _Span:
    if unit == "hour":
        unit, n = "day", -(-n // 24)
    return _Span(as_of - relativedelta(**{unit + "s": n}), as_of)


def _r_rolling(m: re.Match[str], as_of: datetime.date, hint: int | None) -> _Span:
    return _rolling(_unit(m), _n(m) if _g(m, "n") else 1, as_of)


def _r_ago(m: re.Match[str], as_of: datetime.date, hint: int | None) -> _Span | None:
    unit = _unit(m)
    if unit == "hour":
        return None
    return _Span(*_calendar_period(unit, as_of, _n(m)))


def _r_last_month_name(m: re.Match[str], as_of: datetime.date, hint: int | None) -> _Span:
    month = _month_no(m.group("mon"))
    which = (_g(m, "which") or "").lower()
    # "this June": this year's; otherwise the most recent such month before as_of's month
    year = as_of.year if which == "this" or month < as_of.month else as_of.year - 1
    return _Span(*_month_span(year, month))


def _r_last_weekday(m: re.Match[str], as_of: datetime.date, hint: int | None) -> _Span:
    back = (as_of.weekday() - _WEEKDAYS_FULL[m.group("wd").lower()]) % 7 or 7
    d = as_of - datetime.timedelta(days=back)
    return _Span(d, d)


def _r_year_bare(m: re.Match[str], as_of: datetime.date, hint: int | None) -> _Span:
    y = int(m.group("y"))
    return _Span(datetime.date(y, 1, 1), datetime.date(y, 12, 31), "year")


_Resolver = Callable[[re.Match[str], datetime.date, int | None], _Span | None]

# (fragment, resolver, strong). Order matters: the alternation tries these in order, so more
# specific / longer forms come first and the weak catch-alls come last.
_POINTS: list[tuple[str, _Resolver, bool]] = [
    # 2024-01-22, 2024/01/22
    (rf"(?P<y>{_YEAR_RAW})[-/](?P<m>1[0-2]|0?[1-9])[-/](?P<d>3[01]|[12]\d|0?[1-9])(?!\d)",
     _r_iso, True),
    # 22 January 2024, 22nd of January, 2024, lunes 22 de enero de 2024
    (rf"{_WEEKDAY_PREFIX}{_THE_ORDINAL}{_DAY}\s+(?:of\s+|de\s+)?(?P<mon>{_MONTH}),?\s+{_OF}"
     rf"{_YEAR_REF}", _r_date, True),
    # January 22, 2024; Jan. 22nd 2024; Monday, January 22, 2024
    (rf"{_WEEKDAY_PREFIX}(?P<mon>{_MONTH})\s+{_DAY},?\s+{_YEAR_REF}", _r_date, True),
    # the end of July 2025, mid-July, early May, a finales de julio de 2025
    (rf"{_PART}(?P<mon>{_MONTH_FULL}|{_MONTH})(?:,?\s+{_OF}{_YEAR_REF})?", _r_part_month, True),
    # early 2023, mid-2023, the end of 2023, late last year, finales de 2023
    (rf"{_PART}{_YEAR_REF}", _r_part_year, True),
    # Q1 2023, Q1 of 2023, the first quarter of 2023, el primer trimestre de 2023
    (rf"(?:the\s+|el\s+)?(?:(?P<qn>first|second|third|fourth|1st|2nd|3rd|4th|last|final)\s+"
     rf"quarter\s+{_OF}|(?P<qn2>primer|segundo|tercer|cuarto)\s+trimestre\s+{_OF}"
     rf"|q(?P<qd>[1-4])[\s-]*(?:of\s+)?){_YEAR_REF}", _r_quarter, True),
    # 2023 Q1, 2023-Q1
    (rf"(?P<y>{_YEAR_RAW})[\s-]*q(?P<qd>[1-4])\b", _r_quarter, True),
    # H1 2023, the first half of 2023, el primer semestre de 2023
    (rf"(?:the\s+|el\s+)?(?:(?:(?P<hn>first|second|1st|2nd|last)\s+half|(?P<hn2>primer|segundo)"
     rf"\s+semestre)\s+{_OF}|h(?P<hd>[12])\s*(?:of\s+)?){_YEAR_REF}", _r_half, True),
    # last fiscal year (the U.S. government's, October to September)
    (r"(?P<fyrel>this|last|past|previous|next)\s+fiscal\s+year\b", _r_fiscal, True),
    # spring 2022, the summer of 2022, el verano de 2022
    (rf"(?:the\s+|el\s+)?(?P<s>spring|summer|fall|autumn|primavera|verano|oto[ñn]o)\s+{_OF}"
     rf"{_YEAR_REF}", _r_season, True),
    # this summer, last fall, this past winter, este verano, el verano pasado
    (rf"(?:(?P<sthis>this|este)\s+(?!past\b)|(?P<slast>this\s+past|last|past)\s+)(?:the\s+)?{_SEASON_WORD}\b",
     _r_season_bare, True),
    (rf"(?:el\s+)?{_SEASON_WORD}\s+(?P<spas>pasado)\b", _r_season_bare, True),
    # the 1990s
    (r"(?:the\s+)?(?P<dec>(?:19|20)\d0)'?s\b", _r_decade, True),
    # June 2021, Jun. 2021, June of 2021, junio de 2021, June last year
    (rf"(?P<mon>{_MONTH}),?\s+{_OF}{_YEAR_REF}", _r_month_year, True),
    # today / yesterday
    (r"(?:today|hoy)\b", _r_today, True),
    (r"(?:yesterday|ayer)\b", _r_yesterday, True),
    # in the past 30 days, the last 3 months, over the past two weeks, los últimos 30 días
    (rf"(?:the\s+)?(?:past|last|previous|preceding)\s+{_NUM}\s+{_UNIT_EN}", _r_rolling, True),
    (r"the\s+(?:past|last)\s+(?P<unit>day|week|month|year)\b", _r_rolling, True),
    (rf"(?:los\s+|las\s+)?[uú]ltim[oa]s\s+{_NUM}\s+{_UNIT_ES}", _r_rolling, True),
    (r"(?:el\s+|la\s+)?[uú]ltim[oa]\s+(?P<unit>semana|mes|año)\b", _r_rolling, True),
    # 3 weeks ago, hace 3 semanas
    (rf"{_NUM}\s+{_UNIT_EN}\s+ago\b", _r_ago, True),
    (rf"hace\s+{_NUM}\s+{_UNIT_ES}", _r_ago, True),
    # last/this past/this February; el pasado marzo, marzo pasado
    (rf"(?:(?P<which>this)\s+(?!past\b)|(?:this\s+past|last|past)\s+)(?P<mon>{_MONTH_FULL})",
     _r_last_month_name, True),
    (rf"(?:el\s+)?pasado\s+(?:mes\s+de\s+)?(?P<mon>{_MONTH_FULL})", _r_last_month_name, True),
    (rf"(?P<mon>{_MONTH_FULL})\s+pasado\b", _r_last_month_name, True),
    # last Monday, el lunes pasado
    (rf"(?:last|this\s+past)\s+(?P<wd>{_alt(_WEEKDAYS_FULL)})\b", _r_last_weekday, True),
    (rf"el\s+(?P<wd>{_alt(_WEEKDAYS_FULL)})\s+pasado\b", _r_last_weekday, True),
    # this week, last month, past year, este mes, esta semana, el año pasado
    (r"(?P<which>this|last|past|este|esta)\s+(?P<unit>week|month|quarter|year|semana|mes|"
     r"año|trimestre)\b", _r_this_last, True),
    (r"(?:el\s+|la\s+)?(?P<unit>semana|mes|año|trimestre)\s+pasad[oa]\b", _r_this_last, True),
    # --- weak forms: only after a preposition or inside a range ---
    # (on) January 22, (el) 22 de enero, (on) the 22nd of January
    (rf"{_THE_ORDINAL}{_DAY}\s+(?:of\s+|de\s+)?(?P<mon>{_MONTH_FULL})", _r_day_bare, False),
    (rf"(?P<mon>{_MONTH_FULL})\s+{_DAY}", _r_day_bare, False),
    # (in) May
    (rf"(?P<mon>{_MONTH_FULL})", _r_month_bare, False),
    # (in) the summer, (en) verano
    (rf"(?:the\s+|el\s+)?{_SEASON_WORD}\b", _r_season_bare, False),
    # (in) fiscal year 2024, (in) FY2024, (of) FY 24 -- but not "the FY2023 budget"
    (r"(?:fiscal\s+year|fiscal|FY)\s*(?P<fy>(?:19|20)\d\d|\d\d)(?![\w%]|[.,]\d)", _r_fiscal, False),
    # (in) 2023, (in) the year 2023, (en) el año 2023 -- but not a count: "of 2000 villages"
    (rf"(?:the\s+year\s+|el\s+año\s+)?(?P<y>{_YEAR_RAW}){_NOT_A_COUNT}", _r_year_bare, False),
]


_POINT_RES = [(re.compile(frag, re.IGNORECASE), resolve) for frag, resolve, _ in _POINTS]


def _resolve_point(text: str, as_of: datetime.date, hint: int | None = None) -> _Span | None:
    """Resolve one point (a substring matched by the alternation) to its span."""
    for pattern, resolve in _POINT_RES:
        if m := pattern.fullmatch(text):
            try:
                return resolve(m, as_of, hint)
            except ValueError:  # 30 February, year 0, ...
                return None
    return None


# --- top-level shapes ---------------------------------------------------------------------

_PT_ALL = "|".join(_unname(frag) for frag, _, _ in _POINTS)
_PT_STRONG = "|".join(_unname(frag) for frag, _, strong in _POINTS if strong)
_START = r"(?<![\w$€£¥])"  # an expression starts at a word start, never inside an amount
_END = r"(?!\w)"

# Modifier words -> what they do to the span they precede.
_MODIFIERS = {
    "in": "in", "during": "in", "on": "in", "at": "in", "throughout": "in", "over": "in",
    "within": "in", "of": "in", "en": "in", "durante": "in", "el": "in", "de": "in",
    "a lo largo de": "in", "a lo largo del": "in", "en el": "in", "en todo": "in", "en todo el": "in",
    "durante el": "in", "durante todo": "in", "durante todo el": "in",
    "since": "since", "from": "since", "starting": "since", "starting in": "since",
    "starting from": "since", "starting on": "since", "beginning": "since",
    "beginning in": "since", "desde": "since", "a partir de": "since",
    "after": "after", "later than": "after", "después de": "after", "despues de": "after",
    "before": "before", "prior to": "before", "earlier than": "before", "antes de": "before",
    "until": "until", "till": "until", "through": "until", "thru": "until", "up to": "until",
    "up until": "until", "by": "until", "hasta": "until",
}
# The weak forms (bare year, year-less month, year-less day) only count after these.
_YEAR_OK = frozenset(_MODIFIERS) - {"on", "at", "over", "within", "el"}
_MONTH_OK = _YEAR_OK - {"of", "by", "de"}
_DAY_OK = _MONTH_OK | {"on", "el", "by"}
_WEAK_OK = {"year": _YEAR_OK, "month": _MONTH_OK, "day": _DAY_OK}



def _words_re(words: Iterable[str]) -> str:
    """Alternation of (possibly multi-word) phrases, any whitespace between the words."""
    return _alt(words).replace(r"\ ", r"\s+")


def _mod_key(text: str) -> str:
    return " ".join(text.lower().split())


# "in June 2021", "since March 2024", "at the end of July 2025", "before 2022"
_MOD_RE = re.compile(
    rf"{_START}(?P<mod>{_words_re(_MODIFIERS)})\s+(?P<pt>{_PT_ALL}){_END}", re.IGNORECASE
)
# A point on its own: "June 2021", "January 22, 2024", "last week", "Q1 2023"
_STRONG_RE = re.compile(rf"{_START}(?P<pt>{_PT_STRONG}){_END}", re.IGNORECASE)
# "between March and May 2022", "from 2021 to 2023", "2021–2023", "de marzo a mayo de 2022"
_OPENERS = ("between", "entre", "from", "since", "starting from", "starting in", "desde", "de")
_RANGE_RE = re.compile(
    rf"{_START}(?:(?P<pre>in|during|over|throughout|en|durante)\s+)?"
    rf"(?:(?P<open>{_words_re(_OPENERS)})\s+)?"
    rf"(?P<a>{_PT_ALL})"
    r"(?:\s*(?P<dash>[-–—])\s*|\s+(?P<conn>and|&|or|to|until|till|thru|through|y|o|al|a|hasta)\s+)"
    rf"(?P<b>{_PT_ALL}){_END}",
    re.IGNORECASE,
)


def _from_modifier(m: re.Match[str], as_of: datetime.date) -> TimeWindow | None:
    mod = _mod_key(m.group("mod"))
    span = _resolve_point(m.group("pt"), as_of)
    if span is None:
        return None
    if span.kind != "strong" and mod not in _WEAK_OK[span.kind]:
        return None
    action = _MODIFIERS[mod]
    text = m.group(0)
    if action == "since":
        return TimeWindow(span.start, None, text)
    if action == "after":
        return TimeWindow(span.end + _ONE_DAY, None, text)
    if action == "before":
        return TimeWindow(None, span.start - _ONE_DAY, text)
    if action == "until":
        return TimeWindow(None, span.end, text)
    return TimeWindow(span.start, span.end, text)


def _from_point(m: re.Match[str], as_of: datetime.date) -> TimeWindow | None:
    span = _resolve_point(m.group("pt"), as_of)
    return TimeWindow(span.start, span.end, m.group(0)) if span else None


def _from_range(m: re.Match[str], as_of: datetime.date) -> TimeWindow | None:
    opener = _mod_key(m.group("open") or "")
    conn = (m.group("conn") or m.group("dash")).lower()
    between = opener in ("between", "entre")
    # "between" goes with "and"/"y"; "and"/"or" need "between" or a leading "in" ("in 2021
    # and 2022" covers both years); Spanish "a" needs "de"/"desde"
    listing = conn in ("and", "&", "y", "or", "o")
    if between and not listing:
        return None
    if listing and not (between or (m.group("pre") and not opener)):
        return None
    if conn in ("a", "al") and opener not in ("de", "desde"):
        return None
    if opener == "de" and conn not in ("a", "al", "hasta", "-", "–", "—"):
        return None
    a_text, b_text = m.group("a"), m.group("b")
    a, b = _resolve_point(a_text, as_of), _resolve_point(b_text, as_of)
    if a is None or b is None:
        return None
    if not opener and not (a.explicit_year or b.explicit_year):
        return None  # "March - May": too weak without an opener or a year
    # A side without a year borrows the other side's: "between March and May 2022".
    if not a.explicit_year and b.explicit_year:
        a = _resolve_point(a_text, as_of, b.start.year)
        if a is not None and a.start > b.start:
            a = _resolve_point(a_text, as_of, b.start.year - 1)  # "from November to March 2023"
    elif not b.explicit_year:
        b = _resolve_point(b_text, as_of, a.start.year)
        if b is not None and b.end < a.start:
            b = _resolve_point(b_text, as_of, a.start.year + 1)
    if a is None or b is None or a.start > b.end:
        return None
    return TimeWindow(a.start, b.end, m.group(0))


_SHAPES = (
    (_RANGE_RE, _from_range),
    (_MOD_RE, _from_modifier),
    (_STRONG_RE, _from_point),
)


def parse_time_window(
    question: str, as_of: datetime.date | None = None
) -> TimeWindow | None:
    """The date window a question asks about, or None when it names no (clear) time.

    `as_of` anchors relative expressions ("last month"); it defaults to today.
    """
    windows = list(time_windows(question, as_of))
    if len(windows) > 1 and (source := _SOURCE_CLAUSE.search(question)):
        # "What rate did Chad have in fiscal year 2023, according to the June 2025 fact sheet?":
        # the date the question gives its source by is the date of the release that answers
        for window in windows:
            if question.find(window.text, source.start()) >= 0:
                return dataclasses.replace(window, dates_source=True)
    return windows[0] if windows else None


_SOURCE_CLAUSE = re.compile(
    r"\b(?:according to|as reported (?:in|by)|said in|seg[uú]n|de acuerdo con)\b", re.IGNORECASE
)


def time_windows(text: str, as_of: datetime.date | None = None) -> Iterator[TimeWindow]:
    """Every time a text names, none overlapping another: the longest expression first (it is
    the most specific), ties to the leftmost. A release's sentence read `as_of` its date says
    which period its "last month" is."""
    if as_of is None:
        as_of = datetime.date.today()
    elif isinstance(as_of, datetime.datetime):
        as_of = as_of.date()
    candidates = [(m, handler) for pattern, handler in _SHAPES for m in pattern.finditer(text)]
    candidates.sort(key=lambda c: (c[0].start() - c[0].end(), c[0].start()))
    taken: list[tuple[int, int]] = []
    for m, handler in candidates:
        if any(m.start() < end and start < m.end() for start, end in taken):
            continue
        window = handler(m, as_of)
        if window is not None and (window.since is not None or window.until is not None):
            taken.append((m.start(), m.end()))
            yield window


_SPACE_BEFORE_PUNCT = re.compile(r"\s+([?.!,;:])")
_DOUBLE_PUNCT = re.compile(r"([,;:])\s*([?.!,;:])")
_LEADING_PUNCT = re.compile(r"^([¿¡]?)\s*[,;:]\s*")


def strip_time_expression(question: str, window: TimeWindow | None) -> str:
    """The question without the time expression (for the lexical/dense query).

    "What did the White House announce about Haiti in June 2021?" ->
    "What did the White House announce about Haiti?". When nothing would be left but
    punctuation, or the expression is not in the question, the question is returned as is.
    """
    if window is None or not window.text:
        return question
    start = question.find(window.text)
    if start < 0:
        start = question.lower().find(window.text.lower())
    if start < 0:
        return question
    out = question[:start] + " " + question[start + len(window.text):]
    out = " ".join(out.split())
    out = _SPACE_BEFORE_PUNCT.sub(r"\1", out)
    out = _DOUBLE_PUNCT.sub(lambda m: m.group(2) if m.group(2) in "?.!" else m.group(1), out)
    out = _LEADING_PUNCT.sub(r"\1", out).strip()
    if not any(c.isalnum() for c in out):
        return question
    # "In June 2021, what did ..." -> "What did ..."
    first = next(i for i, c in enumerate(out) if c.isalnum())
    if question.lstrip("¿¡ ")[:1].isupper() and out[first].islower():
        out = out[:first] + out[first].upper() + out[first + 1:]
    return out
