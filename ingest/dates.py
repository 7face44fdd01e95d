"""Publication dates: parsing metadata values, and finding a dateline at the top of a text.

A wrong date is worse than none (date filters would hide the release), so the dateline finder
is deliberately narrow: only the first few lines, and only a date in dateline position
("Mexico City, January 22, 2024", "WASHINGTON, D.C. — March 3, 2023", "22 de enero de 2024").
A date mentioned inside a sentence ("On October 1, 2024, Iran launched...") is not taken.
"""

from __future__ import annotations

import logging
import re
from datetime import UTC, date, datetime
from email.utils import parsedate_to_datetime
from typing import Any

from pressbot.lexicon import MONTH_ABBREVIATIONS_EN, MONTHS_EN, MONTHS_ES, WEEKDAYS, WEEKDAYS_ES, YEAR, alternation

logger = logging.getLogger(__name__)

# English datelines take full and abbreviated names ("Jan. 22, 2024"), Spanish ones full names
_EN_MONTHS = {**MONTHS_EN, **MONTH_ABBREVIATIONS_EN}
_ES_MONTHS = MONTHS_ES

_EN = alternation(_EN_MONTHS)
_ES = alternation(_ES_MONTHS)
_YEAR = rf"(?P<y>{YEAR})"

# "January 22, 2024", "Jan. 22 2024"
_RE_MDY = re.compile(rf"\b(?P<m>{_EN})\.?\s+(?P<d>\d{{1,2}})(?:st|nd|rd|th)?,?\s+{_YEAR}\b", re.I)
# "22 January 2024"
_RE_DMY = re.compile(rf"\b(?P<d>\d{{1,2}})(?:st|nd|rd|th)?\s+(?P<m>{_EN})\.?,?\s+{_YEAR}\b", re.I)
# "22 de enero de 2024", "1° de enero del 2024"
_RE_ES = re.compile(rf"\b(?P<d>\d{{1,2}})\s*[°º]?\s+de\s+(?P<m>{_ES})\s+(?:de|del)\s+{_YEAR}\b", re.I)
# "2024-01-22"
_RE_ISO = re.compile(rf"\b{_YEAR}-(?P<m>\d\d)-(?P<d>\d\d)\b")

_DATE_PATTERNS = (_RE_MDY, _RE_DMY, _RE_ES, _RE_ISO)

# What may stand before a date on a dateline: place names, weekdays, a "Published" label,
# ending in a separator. Lower-case words are allowed only from this list (Spanish place
# names and datelines use them: "Ciudad de México, a 22 de enero de 2024").
_CONNECTORS = {
    "de", "del", "la", "las", "los", "el", "y", "a", "en", "on", "of", "the", "d.c.",
    *WEEKDAYS_ES,
}  # fmt: skip
_LABEL = re.compile(
    r"(?:posted|published|released|date|dated|publicado|publicada|fecha)(?:\s+(?:on|el))?\s*:?$",
    re.I,
)
_WEEKDAY_END = re.compile(rf"(?:{alternation(WEEKDAYS)})$", re.I)
_SEPARATORS = ",—–-|:·•/("
_MAX_PREFIX = 80
DATELINE_LINES = 5


def _month(value: str) -> int:
    if value.isdigit():
        return int(value)
    key = value.lower().rstrip(".")
    return _EN_MONTHS.get(key) or _ES_MONTHS[key]


def _make_date(m: re.Match[str]) -> date | None:
    try:
        return date(int(m.group("y")), _month(m.group("m")), int(m.group("d")))
    except (ValueError, KeyError):
        return None


def _prefix_ok(prefix: str) -> bool:
    """Is this text before a date what a dateline has there (a place, a weekday, a label)?"""
    p = prefix.strip()
    if not p:
        return True
    if len(p) > _MAX_PREFIX:
        return False
    p = re.sub(r"(?<=[,—–-])\s*a$", "", p)  # "Ciudad de México, a 22 de enero"
    if _LABEL.search(p) or _WEEKDAY_END.search(p):
        pass
    elif p[-1] not in _SEPARATORS:
        return False  # "On October 1, 2024": a date inside a sentence
    words = re.findall(r"[^\W\d_][\w.’']*", p)
    return all(w[0].isupper() or w.lower() in _CONNECTORS or _LABEL.fullmatch(w) for w in words)


def find_dateline(text: str, *, max_lines: int = DATELINE_LINES) -> date | None:
    """The date of a dateline in the first `max_lines` non-empty lines, else None."""
    seen = 0
    for line in text.split("\n"):
        line = line.strip()
        if not line:
            continue
        seen += 1
        if seen > max_lines:
            break
        head = line[: _MAX_PREFIX + 40]
        found: list[re.Match[str]] = []
        for pattern in _DATE_PATTERNS:
            found.extend(m for m in pattern.finditer(head))
        for m in sorted(found, key=lambda m: m.start()):
            if _prefix_ok(head[: m.start()]):
                d = _make_date(m)
                if d is not None:
                    return d
    return None


def parse_date_value(value: Any) -> date | None:
    """A metadata value (YAML date, ISO string, RFC 2822, epoch, "22 de enero de 2024") to a
    date; None when it is not clearly a date. The date is the one written (no tz shift)."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, int | float):
        seconds = value / 1000 if value > 1e11 else value  # epoch milliseconds
        try:
            return datetime.fromtimestamp(seconds, tz=UTC).date()
        except (OverflowError, OSError, ValueError):
            return None
    s = str(value).strip()
    if not s:
        return None
    iso = re.match(rf"^({YEAR}-\d\d-\d\d)(?:[T ][\d:.]+(?:Z|[+-]\d\d:?\d\d)?)?$", s)
    if iso:
        try:
            return date.fromisoformat(iso.group(1))
        except ValueError:
            return None
    try:
        return parsedate_to_datetime(s).date()  # RSS pubDate: "Mon, 22 Jan 2024 10:00:00 GMT"
    except (TypeError, ValueError, IndexError):
        pass
    for pattern in _DATE_PATTERNS:
        m = pattern.search(s)
        if m:
            return _make_date(m)
    slashed = re.fullmatch(rf"(\d{{1,2}})[/.](\d{{1,2}})[/.]({YEAR})", s)
    if slashed:
        return _day_month_order(*map(int, slashed.groups()))
    return _dateparser(s)


def _day_month_order(a: int, b: int, year: int) -> date | None:
    """22/01/2024 is day-first, 01/22/2024 month-first; 01/02/2024 is ambiguous: None."""
    if a > 12 >= b:
        day, month = a, b
    elif b > 12 >= a:
        day, month = b, a
    else:
        return None
    try:
        return date(year, month, day)
    except ValueError:
        return None


def _dateparser(s: str) -> date | None:
    """Last resort for odd absolute formats ("2024.01.22 10:00"); relative ones are refused."""
    if len(s) > 60 or not re.search(r"\d{4}", s):
        return None
    import dateparser  # slow import, rarely needed

    parsed = dateparser.parse(
        s,
        settings={"STRICT_PARSING": True, "PARSERS": ["custom-formats", "absolute-time"]},
    )
    if parsed is None:
        logger.debug("unparsed date value %r", s)
        return None
    return parsed.date()
