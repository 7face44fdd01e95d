"""The direct answer: one line that opens an extractive answer with what was asked, taken from
the quoted sentence that states it ("Guatemala, Honduras, El Salvador, ... and Haiti [1]",
"4,300 asylum officers [1]", "$578 million [2]"), before the quotes that support it.

Every span of the line is a verbatim piece of the sentence it comes from, and the citation
check keeps the line only when a sentence of the passage it cites holds each span
(`citations.holds_spans`): the line never says what the cited text does not.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from pressbot.asked import Asked
from pressbot.lexical import lexical_tokens, number_values
from pressbot.lexicon import (
    CURRENCY_CODES,
    CURRENCY_WORDS,
    MONTHS,
    SCALE_ABBREVIATIONS,
    SCALES,
    SYMBOL,
    SYMBOL_CHARS,
    YEAR,
    alternation,
)
from pressbot.places import countries

_SCALE = rf"(?:\s+(?:{alternation(SCALES)})\b|(?:{alternation(SCALE_ABBREVIATIONS)})\b)?"
_MONTH_NAMES = alternation(MONTHS)
# spans of each kind, longest forms first
_SPANS: dict[str, re.Pattern[str]] = {
    "amount": re.compile(
        rf"(?:(?:more than|over|nearly|almost|about|approximately|up to|at least)\s+)?"
        rf"(?:{SYMBOL}\s?\d[\d,.]*\d{_SCALE}|{SYMBOL}\s?\d{_SCALE}|\b(?:{alternation(CURRENCY_CODES)})\s?\d[\d,.]*{_SCALE}"
        rf"|\b\d[\d,.]*{_SCALE}\s+(?:de\s+)?(?:{alternation([*CURRENCY_WORDS, *CURRENCY_CODES])})\b)",
        re.IGNORECASE,
    ),
    "share": re.compile(
        r"\b\d[\d,.]*\s?(?:%|percent\b|per cent\b|percentage points?\b|por ciento\b)"
        r"|\b(?:half|one-third|two-thirds|one-quarter|three-quarters)\b",
        re.IGNORECASE,
    ),
    "date": re.compile(
        rf"\b(?:{_MONTH_NAMES})\.?\s+\d{{1,2}}(?:st|nd|rd|th)?(?:,?\s+{YEAR})?\b"
        rf"|\b\d{{1,2}}\s+(?:de\s+)?(?:{_MONTH_NAMES})(?:,?\s+(?:de\s+)?{YEAR})?\b"
        rf"|\b(?:{_MONTH_NAMES})\s+(?:of\s+|de\s+)?{YEAR}\b",
        re.IGNORECASE,
    ),
}
# a count: a number and the words that name what it counts ("4,300 asylum officers")
_COUNT = re.compile(
    r"\b(?:(?:more than|over|nearly|almost|about|approximately|at least|some)\s+)?"
    rf"(?<![{SYMBOL_CHARS}\d.,])\d[\d,.]*(?:\s+(?:{alternation(SCALES)}))?(?![\d%])"
    r"(?P<rest>(?:\s+(?:[A-Z]\.)+|\s+[\w'’-]+){0,4})",
    re.IGNORECASE,
)
_NAME = re.compile(r"\b[A-Z][\w'’.-]*(?:\s+(?:and\s+|y\s+|of\s+|de\s+|del\s+|the\s+)?[A-Z][\w'’.-]*)*")
_YEAR = re.compile(YEAR)
MAX_PLACES = 12
_FUNCTION_WORDS = frozenset({
    "of", "in", "to", "and", "the", "a", "an", "for", "per", "by", "on", "at", "from", "with", "or", "as", "than",
    "that", "which", "who", "de", "en", "y",
})  # fmt: skip
_BEFORE = 2  # words before a number that may say what it counts ("additional 4,300 officers")


def direct_spans(asked: Asked, sentence: str) -> tuple[str, ...]:
    """The pieces of the sentence that answer what `asked` asks for; () when the kind asked has
    no short answer (an open question), or the sentence states none, or several that nothing
    here tells apart ("following up on their May 26 call and the May 31 visit": which date?)."""
    kind = asked.kind
    if kind == "place":
        return _places(sentence, asked.places)
    if kind in _SPANS:
        return _only([_trim(m.group(0)) for m in _SPANS[kind].finditer(sentence)], asked.given)
    if kind == "count":
        return _count(sentence, asked)
    if kind == "number":  # "how much", "by what percentage": a share, else a sum, else a number and its unit
        for spans in (
            [_trim(m.group(0)) for m in _SPANS["share"].finditer(sentence)],
            [_trim(m.group(0)) for m in _SPANS["amount"].finditer(sentence)],
            [_with_unit(m) for m in _COUNT.finditer(sentence)],
        ):
            if [s for s in spans if _states_other(s, asked.given)]:
                return _only(spans, asked.given)
    return ()


def line_of(spans: Sequence[str]) -> str:
    """'A', 'A and B', 'A, B and C'."""
    return spans[0] if len(spans) == 1 else ", ".join(spans[:-1]) + " and " + spans[-1]


def _trim(span: str) -> str:
    """Without the punctuation around it; a full stop stays after an abbreviation ("74 U.S.")."""
    span = span.strip(" ,;:")
    return span[:-1] if span.endswith(".") and not re.search(r"\b[A-Z]\.$", span) else span


def _states_other(span: str, given: frozenset[str]) -> bool:
    """The span states a figure other than the question's own numbers, and is not a bare year."""
    values = number_values(span)
    return not (values and values <= given) and not _YEAR.fullmatch(span)


def _only(spans: list[str], given: frozenset[str]) -> tuple[str, ...]:
    """The one span stating something other than the question's own figures; () if not one."""
    found = list(dict.fromkeys(s for s in spans if _states_other(s, given)))
    return (found[0],) if len(found) == 1 else ()


def _number_of(m: re.Match[str]) -> str:
    return _trim(m.group(0)[: m.start("rest") - m.start()])


def _with_unit(m: re.Match[str]) -> str:
    """The number and the word after it when that names a unit ("30 pounds", "47 companies")."""
    after = m.group("rest").split()[:1]
    unit = after and after[0].islower() and after[0].isalpha() and after[0] not in _FUNCTION_WORDS
    return " ".join([_number_of(m), *(after if unit else [])])


def _count(sentence: str, asked: Asked) -> tuple[str, ...]:
    """The number that counts what is asked: of the numbers in the sentence, the one with the
    most counted words around it (two before, four after), with those words ("an additional
    4,300 Asylum Officers" for "How many additional asylum officers ...?"); without counted
    words, the only number."""
    if not asked.counted:
        return _only([_number_of(m) for m in _COUNT.finditer(sentence)], asked.given)
    best: list[tuple[int, str]] = []
    for m in _COUNT.finditer(sentence):
        number = _number_of(m)
        if not _states_other(number, asked.given):
            continue
        before = sentence[: m.start()].split()[-_BEFORE:]
        after = m.group("rest").split()
        hit_before = [i for i, w in enumerate(before) if set(lexical_tokens(w)) & asked.counted]
        hit_after = [i for i, w in enumerate(after) if set(lexical_tokens(w)) & asked.counted]
        if not hit_after:  # what it counts follows it: "4,300 officers", not "officers, 4,300"
            continue
        words = [*before[hit_before[0] :]] if hit_before else []
        span = _trim(" ".join([*words, number, *after[: hit_after[-1] + 1]]))
        best.append((len(hit_before) + len(hit_after), span))
    top = max((n for n, _ in best), default=0)
    winners = [span for n, span in best if n == top]
    return (winners[0],) if len(winners) == 1 else ()


def _places(sentence: str, asked_places: frozenset[str]) -> tuple[str, ...]:
    """The countries the sentence names, as it names them, in its order, other than those the
    question names itself."""
    out: list[str] = []
    seen: set[str] = set()
    for m in _NAME.finditer(sentence):
        for part in re.split(r"\s+(?:and|y)\s+", m.group(0)):
            codes = countries(part)
            if codes and not codes <= asked_places | seen:
                seen |= codes
                out.append(part.strip(" .,"))
    return tuple(out[:MAX_PLACES])
