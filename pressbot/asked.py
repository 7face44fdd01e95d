"""What a question asks for, and whether a sentence states it.

The extractive answerer (pressbot/extractive.py) quotes a sentence only when it can answer: it
states the kind of answer asked for (a count for "how many", a sum of money for "how much
money", a date for "when", a percentage for "what share", a country for "which country"), with
a value other than the ones the question gives itself; a count of the thing asked ("26,000
jobs" does not answer "how many Guatemalans"); a figure stated for the period asked ("how many in
2022?" is not answered by a 2023 release's total without a year); the role a "Who is X's
ambassador to Y?" names, whole; from a release that states the numbers the question names ("the
1944 Water Treaty") and, when the question names a country, that names it rather than only
others. Everything here is read off the words: no model, so a sentence that states all that
about something slightly different still passes.
"""

from __future__ import annotations

import datetime as dt
import functools
import itertools
import os
import re
from collections.abc import Set as AbstractSet
from dataclasses import dataclass

from pressbot.lexical import lexical_tokens, number_values, without_numbers
from pressbot.lexicon import (
    CURRENCY_CODES,
    CURRENCY_WORDS,
    MONTHS,
    NUMBERS_EN,
    NUMBERS_ES,
    ORDINALS,
    SCALE_ABBREVIATIONS,
    SCALES,
    SYMBOL,
    SYMBOL_CHARS,
    YEAR,
    alternation,
)
from pressbot.places import countries
from pressbot.timewindow import TimeWindow, time_windows
from pressbot.types import Passage

_NUMERIC_Q = re.compile(
    r"\b(how many|how much|what (share|percentage|percent|proportion|number|amount|value|total|sum|cost|rate)"
    r"|what (is|was|were|are|will be) the (total |overall )?(number|amount|sum|total) of"
    r"|cu[aá]nt[oa]s?)\b",
    re.IGNORECASE,
)
# "What share of ...?", "What was Venezuela's inflation rate?", "What tariff rate applies ...?"
_SHARE_Q = re.compile(r"^\W*what\b[^?]{0,40}?\b(share|rate|percentage|proportion)\b", re.IGNORECASE)
_SHARE = re.compile(
    r"\d\s?%|\b(percent|per cent|por ciento|percentage points?|half|one-third|two-thirds|one-quarter"
    r"|three-quarters|majority|mitad|tercio)\b|\b(a|one|two|three) (third|quarter|fifth)s?\b|\bper \d"
    r"|\b\d[\d,.]* (out )?of (every )?\d"
    r"|\bone in (every )?(two|three|four|five|ten|\d+)\b",
    re.IGNORECASE,
)
_COUNT_Q = re.compile(r"\bhow many\b|\bcu[aá]nt[oa]s\b", re.IGNORECASE)
_DATE_Q = re.compile(
    r"^\W*(when|until when|since when|cu[aá]ndo|desde cu[aá]ndo|hasta cu[aá]ndo)\b"
    r"|\b(what|which|on what|qu[eé]) (date|day|year|month|d[ií]a|fecha|año)\b",
    re.IGNORECASE,
)
# Number words that state a count or an amount; not "uno" (mostly a pronoun: "uno de los") nor
# "once" (an English word), and the multiples that state a figure too ("doubled")
_NUMBER_WORDS = alternation(
    [*NUMBERS_EN, *(w for w in NUMBERS_ES if w not in {"uno", "once"}), *(w for w in SCALES if " " not in w)]
    + ["half", "double", "doubled", "tripled"]
)
# a number, not an ordinal ("the 21st century") nor a pronoun ("one of the events")
_NUMBER = re.compile(
    rf"\d[\d,.]*(?![\d,.]|(?:st|nd|rd|th)\b)|\b(?!one (?:of|another)\b)({_NUMBER_WORDS})\b", re.IGNORECASE
)
_YEAR = re.compile(YEAR)
_MONTH_NAMES = alternation(MONTHS)
_SCALE = alternation(SCALES)  # "180 million", "180 mil millones"
_CURRENCY = alternation([*CURRENCY_WORDS, *CURRENCY_CODES])  # after the amount: "180 millones de dólares"
# a bare whole number after a capitalised word (not a month: "March 2025" is a date) or before one,
# or joined to a word by a hyphen; not money ("$180") nor a share ("4%")
_NAMED_NUMBER = re.compile(
    rf"(?<![\w{SYMBOL_CHARS}.,-])(?!(?i:{_MONTH_NAMES})\b)[A-Z][\w.]*\s+(?P<a>\d+)(?![\w.,%-])"
    rf"(?!\s+(?:{_SCALE}|percent)\b)"
    rf"|(?<![\w{SYMBOL_CHARS}.,-])(?P<b>\d+)(?![\w.,%-])(?=\s+[A-Z])"
    r"|(?<=[A-Za-z]-)(?P<c>\d+)\b|\b(?P<d>\d+)(?=-[A-Za-z])"
)
_PLACE_Q = re.compile(r"\b(which|what)( \w+)? (country|countries|nations?)\b|\bqu[eé] pa[ií]s(es)?\b", re.IGNORECASE)
_DAY_OF_MONTH = re.compile(rf"\b({_MONTH_NAMES})\.? \d{{1,2}}\b|\b\d{{1,2}} (de )?({_MONTH_NAMES})\b", re.IGNORECASE)
_MONEY = re.compile(
    rf"{SYMBOL}\s?\d[\d,.]*(\s*({_NUMBER_WORDS}|{alternation(SCALE_ABBREVIATIONS)})\b)?"
    rf"|\b\d[\d,.]*\s*({_NUMBER_WORDS})?\s*(de\s+)?({_CURRENCY})\b",
    re.IGNORECASE,
)
# "U.S." is one word: "how many U.S. convictions" counts convictions made in the U.S.
_COUNTED = re.compile(r"\b(?:how many|cu[aá]nt[oa]s)\s+((?:(?:[A-Z]\.)+\s+|[\w’'-]+\s+){0,5}[\w’'-]+)", re.IGNORECASE)
_COUNTED_WORDS = 3  # "how many Cubans received humanitarian | parole"
_OF_THE = frozenset({
    "the", "these", "those", "them", "its", "their", "his", "her", "our", "los", "las", "ellos", "ellas",
})  # fmt: skip
# where the counted words end: an auxiliary, a preposition ("officers | of the police")
_COUNTED_STOP = frozenset({
    "did", "do", "does", "were", "was", "are", "is", "have", "has", "had", "will", "would", "can", "could",
    "should", "may", "might", "of", "in", "on", "at", "for", "from", "to", "by", "with", "under", "over",
    "during", "since", "per", "that", "who", "which",
    "de", "en", "se", "ha", "han", "hay", "hubo", "fueron", "son", "por", "para", "con",
})  # fmt: skip
_COUNTED_WINDOW = 4  # words after a number that may name what it counts
_PEOPLE = frozenset(lexical_tokens("people persons individuals personas"))
# "Who is Mexico's ambassador to Guatemala?": a question for whoever holds a role
# (the role opens with an article or a name; "Who was named the envoy?" is _ROLE_GIVEN_Q's)
_ROLE_Q = re.compile(
    r"^\W*(?i:who|qui[eé]n(?:es)?)\s+(?i:is|was|are|were|es|era|fue|son)\s+"
    r"(?P<role>(?:(?i:the|a|an|el|la|los|las)\s|[A-Z])[^?]+)\??\s*$"
)
# "Whom did FEMA appoint as Federal Coordinating Officer?", "Who was named the Special Envoy?"
_ROLE_GIVEN_Q = re.compile(
    r"^\W*(?i:who|whom)\b[^?]*?\b(?i:as|named|appointed|nominated|designated)\s+"
    r"(?P<role>(?:(?i:the|a|an)\s|[A-Z])[^?]+)\??\s*$"
)
# the role ends where a clause about when or which begins: "the U.S. ambassador to Costa Rica | when
# the arrangement was announced"
_ROLE_END = re.compile(
    r",|\s(?:when|while|after|before|during|since|until|who|that|which|whose|according|as of|at the time|cuando"
    r"|mientras|después|antes|durante|desde|hasta|que|quien|según)\b",
    re.IGNORECASE,
)
_US = re.compile(r"\bU\.\s?S\.(?:\s?A\.)?|\bUSA?\b")
_ROLE_WORDS = 5  # a role is a short phrase: "the U.S. ambassador to Costa Rica", not what follows it
_ROLE_SLACK = 2  # other words among the role's own: "the Ambassador of Colombia, Mr. X, to the United States"
_GIVEN = "\x00"  # where a number the question states was: with its currency, it states nothing
_GIVEN_CURRENCY = re.compile(rf"{SYMBOL}?\s?\x00(\s*(de\s+)?({_CURRENCY})\b)?", re.IGNORECASE)
# a link: it points to an answer, it does not give one (nor a date: ".../2021/07/strategy.pdf")
URL = re.compile(r"\bhttps?://\S+|\bwww\.\S+", re.IGNORECASE)
_DATE = re.compile(rf"\b({_MONTH_NAMES})\b|\b{YEAR}\b|\b\d{{1,2}}/\d{{1,2}}/\d{{2,4}}\b", re.IGNORECASE)
_MONEY_Q = re.compile(
    r"\bhow much\b.*\b(money|fund\w*|financ\w*|assistance|aid|relief|invest\w*|cost\w*|pa(y|id)|spen[dt]|budget|"
    r"contribut\w*|grant\w*|disburs\w*|loan\w*|dollars?)\b|\bcu[aá]nto dinero\b"
    # "What is the estimated cost of ...?", "What was the value of ...?"
    r"|^\W*what\b[^?]{0,40}?\b(costs?|prices?|budgets?|value of|spending)\b",
    re.IGNORECASE,
)
# a sum of money: "$578 million", "180 millones de dólares", "USD 5 million", "billions of dollars";
# not "4 million tons" nor "15 million visitors"
_AMOUNT = re.compile(
    rf"{SYMBOL}\s?\d|\b\d[\d,.]*\s*({_SCALE})?\s*(de\s+)?({_CURRENCY})\b|\b({alternation(CURRENCY_CODES)})\s?\d"
    # "miles" (thousands) is no scale after a digit: "5 miles" is a distance
    rf"|\b({alternation(w for w in SCALES if w.endswith('s'))}|miles) (of|de) ({alternation(CURRENCY_WORDS)})\b",
    re.IGNORECASE,
)


def named_numbers(question: str) -> set[str]:
    """The numbers that are part of a name in the question ("the 1944 Water Treaty", "Section 353",
    "COVID-19"), canonical. A release that never states one is about something else: another
    treaty, another section."""
    found: set[str] = set()
    for m in _NAMED_NUMBER.finditer(question):
        found |= number_values(m.group("a") or m.group("b") or m.group("c") or m.group("d"))
    return found


# an ordinal that picks one of a series ("the second meeting", "the Ninth Summit"); not the
# first (too common to pick: "for the first time") nor one of a time ("the second quarter")
_SERIES_ORDINAL = re.compile(
    rf"\b({alternation(w for w, n in ORDINALS.items() if n > 1)})\b(?![-\s]+(?:quarter|half|semester|week|"
    r"month|year|day|time|largest|biggest|highest|most|trimestre|semestre|semana|mes|año|vez)\b)",
    re.IGNORECASE,
)
_ORDINAL_FORMS = {n: [w for w, v in ORDINALS.items() if v == n] for n in set(ORDINALS.values())}


def series_ordinals(question: str) -> frozenset[int]:
    """The ordinals of a series the question names: a release that never states one ("the first
    meeting took place ...") is about another of the series."""
    return frozenset(ORDINALS[m.group(1).lower()] for m in _SERIES_ORDINAL.finditer(question))


@functools.cache
def ordinal_tokens(n: int) -> frozenset[str]:
    """Every form of the ordinal, as lexical tokens: "segunda" asks for "second" or "2nd" too."""
    return frozenset(t for w in _ORDINAL_FORMS[n] for t in lexical_tokens(w))


# asks for several things: "Which ...", "List ...", "Who was on the delegation?", "Who were the members ...?"
_LIST_Q = re.compile(
    r"^\s*(which|what|list|name|cu[aá]l(es)?|qu[eé])\b|\b(which|list)\b"
    r"|^\W*(who|whom|qui[eé]nes)\b[^?]*\b(delegation|delegaci[oó]n|members?|miembros|participants?|attendees|delegates"
    r"|team|panel|board|cabinet|nominees)\b",
    re.IGNORECASE,
)


# "for a Guatemalan trafficker and for a Honduran family": targets of their own, each of which
# a release may answer for alone (not "for Venezuelan refugees and migrants in Peru")
_SEPARATE_TARGETS = re.compile(r"\b(?:and|y)\s+(?:for|in|to|of|from|with|para|en|a|de|con)\b", re.IGNORECASE)


def asks_for_list(question: str) -> bool:
    return bool(_LIST_Q.search(question))


_NEXT_PART = re.compile(
    r",?\s+(?:and|y)\s+(?=(?:how|what|which|who|whom|when|where|why|cu[aá]nt\w*|qu[eé]|qui[eé]n|cu[aá]ndo|d[oó]nde)\b)",
    re.IGNORECASE,
)


def question_parts(question: str) -> list[str]:
    """The questions a question asks: "How much ..., and how many ...?" is two."""
    parts = [p.strip(" ,;?¿") for p in _NEXT_PART.split(question)]
    # "Which countries and which companies joined?" asks one thing of two subjects
    return parts if len(parts) > 1 and all(len(p.split()) >= 3 for p in parts) else [question]


# "Who led the delegation?", "¿Quién encabezó la delegación?": whoever the sentence says leads it
_LEADER_Q = re.compile(
    r"^\W*(who|qui[eé]n(es)?)\b[^?]*?\b(led|leads?|leading|head(s|ed)?|chair(s|ed)?|encabez\w*|presidi\w*"
    r"|lider\w*|dirigi\w*)\b",
    re.IGNORECASE,
)
_LEADS = re.compile(
    r"\b(led|leads?|leading|head(s|ed)?|chair(s|ed|man|woman|person)?|co-?chair\w*|encabez\w*|presidi\w*"
    r"|lider\w*|dirigi\w*)\b",
    re.IGNORECASE,
)

# The kinds of answer a question asks for, in the order they are tried: the first whose pattern
# the question matches. Each has a rule of its own (pressbot/rules.py, "kind:<name>").
KINDS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("date", _DATE_Q),  # when, since when, on what date
    ("amount", _MONEY_Q),  # how much money, what cost
    ("count", _COUNT_Q),  # how many
    ("share", _SHARE_Q),  # what share, rate, percentage
    ("number", _NUMERIC_Q),  # other how-much and what-number questions
    ("place", _PLACE_Q),  # which country
    ("leader", _LEADER_Q),  # who led, headed, chaired
)


def answer_kind(question: str) -> str | None:
    """The kind of answer the question asks for (`KINDS`), None for an open question."""
    return next((kind for kind, pattern in KINDS if pattern.search(question)), None)


def states_kind(
    kind: str,
    sentence: str,
    given: AbstractSet[str] = frozenset(),
    counted: frozenset[str] = frozenset(),
    places: frozenset[str] = frozenset(),
) -> bool:
    """The sentence states the kind of answer asked for, with a value other than the `given` ones
    (the canonical numbers the question itself states: "$180 million" does not answer "How much
    did the U.S. give to the $180 million program?"); a count, of what is `counted` when that is
    known ("26,000 jobs" does not answer "How many Guatemalans were deported?"); a country other
    than the `places` the question names."""
    sentence = URL.sub(" ", sentence)  # ".../2021/07/strategy.pdf" states neither a date nor a count
    if kind == "place":
        return bool(countries(sentence) - places)
    if kind == "leader":
        return bool(_LEADS.search(sentence))
    if given:
        sentence = _GIVEN_CURRENCY.sub(" ", without_numbers(sentence, given, _GIVEN))
    if kind == "date":
        return bool(_DATE.search(sentence))
    if kind == "amount":
        return bool(_AMOUNT.search(sentence))
    if kind == "share":
        return bool(_SHARE.search(sentence))
    # a date is not the number asked for, nor a sum of money the count: "How many migrants ...?"
    # is answered neither by "on July 29, 2021" nor by "$2.6 million in boat engines"
    sentence = _DAY_OF_MONTH.sub(" ", sentence)
    if kind == "count":
        sentence = _MONEY.sub(" ", sentence)
    return any(
        not _YEAR.fullmatch(m.group(0).strip(".,")) and (not counted or _counts(sentence[m.end() :], counted))
        for m in _NUMBER.finditer(sentence)
    )


def counted_terms(question: str) -> frozenset[str]:
    """What "how many" counts, as lexical tokens: "How many officers of the Haitian National
    Police ...?" counts officers; the words after it up to a verb's auxiliary or a preposition."""
    m = _COUNTED.search(question)
    if not m:
        return frozenset()
    words: list[str] = []
    head = m.group(1).split()
    if head and head[0].lower() == "of":  # "how many of the 20 participants" counts participants
        head = list(itertools.dropwhile(lambda w: w.lower() in _OF_THE or _NUMBER.fullmatch(w), head[1:]))
    for w in head[:_COUNTED_WORDS]:
        if w.lower() in _COUNTED_STOP:
            break
        words.append(w)
    return frozenset(lexical_tokens(" ".join(words)))


def _counts(after: str, counted: frozenset[str]) -> bool:
    """The words right after a number name what is counted ("5,000 civilian police", "12 mil 498
    migrantes"); one word of a kind as the other ("Cubans" and "Cuba") will do, and people may be
    counted under any name."""
    if counted & _PEOPLE:
        return True  # "how many people" are counted as members, officials, migrants, children, ...
    following = lexical_tokens(" ".join(after.split()[:_COUNTED_WINDOW]))
    return any(_same_word(a, b) for a in counted for b in following)


def role_terms(question: str) -> tuple[str, ...]:
    """The words of the role a "Who is ...?" question asks about ("mexico", "ambassador",
    "guatemala"), or () for other questions."""
    m = _ROLE_Q.match(question) or _ROLE_GIVEN_Q.match(question)
    if not m:
        return ()
    role = _ROLE_END.split(m.group("role"), maxsplit=1)[0]
    return tuple(dict.fromkeys(_role_tokens(role)))[:_ROLE_WORDS]


def _role_tokens(text: str) -> list[str]:
    # "U.S." and "United States" are one name; one-letter tokens (the possessive's "s") are none
    return [t for t in lexical_tokens(_US.sub(" United States ", text)) if len(t) > 1]


def states_role(sentence: str, role: tuple[str, ...]) -> bool:
    """The sentence names the whole role together: "Mexico's ambassador to Guatemala" is not
    answered by "Ambassador Roberta Jacobson will travel to Mexico", nor by a list that names an
    ambassador to Costa Rica and, further on, Colombia's foreign minister."""
    tokens = _role_tokens(sentence)
    hits = [[i for i, t in enumerate(tokens) if _same_word(r, t)] for r in role]
    if not all(hits):
        return False
    # the shortest stretch of the sentence holding one of each: a window sweep over their positions
    events = sorted((i, k) for k, positions in enumerate(hits) for i in positions)
    count: dict[int, int] = {}
    start = 0
    best = len(tokens)
    for i, k in events:
        count[k] = count.get(k, 0) + 1
        while len(count) == len(role):
            j, kj = events[start]
            best = min(best, i - j + 1)
            count[kj] -= 1
            if not count[kj]:
                del count[kj]
            start += 1
    return best <= len(role) + _ROLE_SLACK


def _same_word(a: str, b: str) -> bool:
    """Stems of one word: equal, or one extends the other ("cuba"/"cuban", "mexico"/"mexican")."""
    if a == b:
        return True
    common = len(os.path.commonprefix([a, b]))
    return common >= 4 and common >= min(len(a), len(b)) - 1


@dataclass(frozen=True)
class Asked:
    """What a sentence must state to answer the question (the module docstring says why)."""

    kind: str | None
    given: frozenset[str]  # the numbers the question states
    named: frozenset[str]  # the numbers that are part of a name in it
    counted: frozenset[str]  # what "how many" counts
    role: tuple[str, ...]  # the role "Who is ...?" asks about
    places: frozenset[str]  # the countries it names
    ordinals: frozenset[int]  # the ordinals of a series it names ("the second meeting")
    every_place: bool  # a release must name every country it names, not only one
    wants_list: bool  # it asks for several things: an enumeration answers it best
    period: tuple[dt.date, dt.date] | None
    focus_re: re.Pattern[str] | None

    @classmethod
    def of(
        cls,
        question: str,
        focus_re: re.Pattern[str] | None,
        period: tuple[dt.date, dt.date] | None,
        off: AbstractSet[str] = frozenset(),
    ) -> Asked:
        """What the question asks; `off` names rules (pressbot/rules.py) left out, for ablations."""
        # the first part's kind: "What percentage drop ..., and how many people ...?" asks first for
        # a share (the engine looks for each later part's answer on its own)
        kind = answer_kind(question if "parts" in off else question_parts(question)[0])
        if f"kind:{kind}" in off:
            kind = None
        return cls(
            kind,
            frozenset() if "given" in off else frozenset(number_values(question)),
            frozenset() if "named" in off else frozenset(named_numbers(question)),
            counted_terms(question) if kind == "count" and "counted" not in off else frozenset(),
            () if "role" in off else role_terms(question),
            frozenset() if "places" in off else countries(question),
            frozenset() if "ordinal" in off else series_ordinals(question),
            "every_place" not in off and not _SEPARATE_TARGETS.search(question),
            "list" not in off and asks_for_list(question),
            None if "period" in off else period,
            focus_re,
        )

    def ordinal_terms(self) -> frozenset[str]:
        """The tokens a release may state the question's ordinals with."""
        return frozenset().union(*map(ordinal_tokens, self.ordinals))

    def answered_by(
        self, sentence: str, p: Passage, release_terms: frozenset[str], release_places: frozenset[str]
    ) -> bool:
        if not self.named <= release_terms or (self.role and not states_role(sentence, self.role)):
            return False
        # a release that names other countries, never the one asked, is about them: 2,800 young
        # people in Guatemala are no answer for Honduras
        if self.places and self.kind != "place" and release_places:
            named = self.places <= release_places if self.every_place else bool(release_places & self.places)
            if not named:
                return False
        if not all(ordinal_tokens(n) & release_terms for n in self.ordinals):
            return False
        if self.kind is None:
            return True
        if not states_kind(self.kind, sentence, self.given, self.counted, self.places):
            return False
        if self.kind == "date" or self.period is None:
            return True
        return stated_for(sentence, p, self.focus_re, self.period)


def stated_for(sentence: str, p: Passage, focus_re: re.Pattern[str] | None, period: tuple[dt.date, dt.date]) -> bool:
    """The sentence gives its figure for the period asked. The times it names are read as of its
    release's date ("last month" in a release of June is May). A release dated inside the period
    speaks of it, unless the sentence names only other times ("Last fiscal year, ...", "until
    December 2023"). A release dated after it must name a time inside it or, failing any time
    read here ("the Fiscal Year 2023 report"), the period's word ("2023")."""
    windows = list(time_windows(sentence, p.date)) if p.date else []
    if p.date is not None and period[0] <= p.date <= period[1]:
        return not windows or any(_overlaps(w, period) for w in windows)
    if windows:
        return any(w.since and w.until and period[0] <= w.since and w.until <= period[1] for w in windows)
    return bool(focus_re and focus_re.search(sentence))


def _overlaps(w: TimeWindow, period: tuple[dt.date, dt.date]) -> bool:
    return (w.since is None or w.since <= period[1]) and (w.until is None or w.until >= period[0])
