"""The extractive answerer (the default, no LLM), as an `Answerer`: the sentences of the
passages are scored and chosen (pressbot/extractive.py), the outcome decider says whether they
answer (pressbot/outcome.py), and the draft quotes them: a direct answer first
(pressbot/direct.py), then the quotes, each later part of a multi-part question answered or
named as not confirmed.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterator
from collections.abc import Set as AbstractSet

from pressbot.answerer import Draft, Question
from pressbot.asked import Asked, answer_kind, question_parts, states_kind
from pressbot.direct import direct_spans, line_of
from pressbot.embeddings import PressbotEmbeddings
from pressbot.extractive import (
    ScoredSentence,
    focus_pattern,
    score_sentences,
    select_sentences,
    states_period,
)
from pressbot.lexical import lexical_tokens
from pressbot.lexicon import YEAR
from pressbot.outcome import Decider, Decision, signals_of
from pressbot.search import Filters
from pressbot.sentence_vectors import VectorCache
from pressbot.timewindow import time_windows
from pressbot.types import Passage, Statement

PART_NOT_FOUND = "Not confirmed in the archive:"  # a part of a multi-part question that no sentence answers
_YEAR_IN = re.compile(rf"\b{YEAR}\b")  # a time an undated text names for itself ("in June 2024")


class ExtractiveAnswerer:
    previews = False

    def __init__(
        self,
        embedder: PressbotEmbeddings,
        idf: Callable[[str], float],
        decider: Decider,
        threshold: float,
        off: AbstractSet[str] = frozenset(),
    ) -> None:
        self.embedder, self.idf, self.decider = embedder, idf, decider
        self.threshold = threshold  # the evidence a later part's sentence needs
        self.off = off  # rules switched off (pressbot/rules.py)

    def drafts(
        self, question: Question, passages: list[Passage], cache: VectorCache, *, stream: bool = False
    ) -> Iterator[str | Draft]:
        off, f, query = self.off, question.filters, question.query
        period = None if "period" in off else period_of(f)
        focus_terms = [] if "focus" in off else focus_terms_of(f)
        asked = Asked.of(query, focus_pattern(focus_terms), period, off)
        scored = score_sentences(
            query,
            passages,
            self.embedder,
            query_vector=question.query_vector,
            cache=cache,
            focus_terms=focus_terms,
            period=period,
            idf=self.idf,
            off=off,
            asked=asked,
        )
        chosen = select_sentences(scored, off=off, wants_list=asked.wants_list)
        signals = signals_of(
            query,
            scored,
            chosen,
            passages,
            self.idf,
            (lambda s: states_period(s, focus_terms, period)) if period else None,
        )
        decision = self.decider.decide(signals)
        best = chosen[0] if chosen else None
        if decision.answer and best is not None and "undated" not in off and _undated_for(best.passage, f):
            decision = Decision(False, True, decision.confidence)  # quoted, as unconfirmed
        draft = Draft([], decision.confidence, signals, (best.text, best.passage) if best else None, decision.close)
        if decision.answer:
            missing: list[str] = []
            if "parts" not in off:
                extra, missing = self._other_parts(query, passages, chosen, cache, focus_terms, period)
                chosen += extra
            draft.statements = [
                *_direct_line(asked, chosen, passages),
                *(Statement(line, (passages.index(s.passage),)) for s in chosen for line in (s.text, *s.items)),
            ]
            draft.notes = [f"{PART_NOT_FOUND} {part}?" for part in missing]
        yield draft

    def _other_parts(
        self,
        query: str,
        passages: list[Passage],
        chosen: list[ScoredSentence],
        cache: VectorCache,
        focus_terms: list[str],
        period: tuple[dt.date, dt.date] | None,
    ) -> tuple[list[ScoredSentence], list[str]]:
        """For "How much ..., and how many ...?": the best sentence for each later part that the
        sentences already chosen leave unanswered (read with the first part, which it may refer to:
        "and how much of it had been allocated?"), stating what that part asks for; and the parts
        no sentence answers."""
        parts = question_parts(query)
        extra: list[ScoredSentence] = []
        missing: list[str] = []
        for part in parts[1:]:
            own = set(lexical_tokens(part)) - set(lexical_tokens(parts[0]))
            if not own or own <= {t for s in chosen + extra for t in s.covers}:
                continue
            scored = score_sentences(
                f"{part} {parts[0]}",
                passages,
                self.embedder,
                cache=cache,
                focus_terms=focus_terms,
                period=period,
                idf=self.idf,
                off=self.off,
                # what the part asks for is read from the part alone: "what does it include" asks no sum
                asked=Asked.of(part, focus_pattern(focus_terms), period, self.off),
            )
            taken = {s.text for s in chosen + extra}
            found = next(
                (
                    s
                    for s in scored
                    if s.score >= self.threshold and s.text not in taken and s.covers & own and s.has_kind
                ),
                None,
            )
            kind = answer_kind(part)
            if found is None and not (kind and any(states_kind(kind, s.text) for s in chosen + extra)):
                missing.append(part)  # said only when no chosen sentence states what it asks for either
            elif found is not None:
                extra.append(found)
        return extra, missing


def _direct_line(asked: Asked, chosen: list[ScoredSentence], passages: list[Passage]) -> list[Statement]:
    """The direct answer (pressbot/direct.py) from the first chosen sentence that states the
    kind asked, citing that sentence's passage; the check keeps it only if the quote holds it."""
    s = next((s for s in chosen if s.has_kind), None)
    spans = direct_spans(asked, s.text) if s is not None else ()
    if s is None or not spans:
        return []
    return [Statement(line_of(spans), (passages.index(s.passage),), spans)]


def _undated_for(p: Passage, f: Filters) -> bool:
    """A dated question answered from an undated release whose text names no time, with its
    year, inside the window asked: nothing confirms the release speaks of that time."""
    if not f.has_window or p.date is not None:
        return False
    since, until = f.focus_since or f.since, f.focus_until or f.until
    return not any(
        _YEAR_IN.search(w.text)
        and (since is None or w.until is None or w.until >= since)
        and (until is None or w.since is None or w.since <= until)
        for w in time_windows(f"{p.title}\n{p.text}")
    )


def focus_terms_of(f: Filters) -> list[str]:
    """Words that name the window as asked ("June" for June 2025, "2022" for 2022): a sentence
    that names the period ("6,070 in June") answers a dated question better than one that doesn't."""
    a, b = f.focus_since, f.focus_until
    if not a or not b:
        return []
    if a.year == b.year and a.month == b.month and a.day == 1 and (b + dt.timedelta(days=1)).day == 1:
        return [a.strftime("%B")]
    if (a.month, a.day, b.month, b.day) == (1, 1, 12, 31) and a.year == b.year:
        return [str(a.year)]
    return []


def period_of(f: Filters) -> tuple[dt.date, dt.date] | None:
    """The period the question asks about ("in 2022", "in fiscal year 2024", "last month"); not
    the date it gives its source by ("according to the June 2025 fact sheet")."""
    if f.focus_dates_source or not (f.focus_since and f.focus_until):
        return None
    return f.focus_since, f.focus_until
