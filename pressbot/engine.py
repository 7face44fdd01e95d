"""`Engine.answer(question, ...) -> Answer`: the one function every face calls.

Flow: validate -> date window (explicit arguments, else from the question) -> hybrid search
-> the answerer's Draft (pressbot/answerer.py: extractive, or an LLM) -> citation check of its
statements -> outcome (answered, or the closest passage as unconfirmed, or not_found). One
structured log record per answer.
"""

from __future__ import annotations

import datetime as dt
import gc
import logging
import time
from collections.abc import Iterator
from typing import Any, TypedDict, Unpack

from pressbot.answerer import Answerer, Draft, Question
from pressbot.citations import check_statements
from pressbot.config import Settings
from pressbot.errors import QueryError
from pressbot.glossary import glossed
from pressbot.index import Index, ReleaseRecord
from pressbot.outcome import Decider, Outcome, decider_for
from pressbot.search import Filters, Searcher, SearchResult
from pressbot.sentence_vectors import VectorCache
from pressbot.sentences import split_sentences
from pressbot.types import Answer, Citation, Passage

log = logging.getLogger(__name__)

CONTEXT_CHUNKS = 3  # chunks of each retrieved release the answerer reads (its best ones)

MAX_QUESTION_CHARS = 2000
MIN_LAG_DAYS, MAX_LAG_DAYS = 7, 366
ABSTAIN_TEXT = "The archive does not seem to hold the answer to this question."  # not_found
UNCONFIRMED_TEXT = "I could not confirm this in the archive."
UNCONFIRMED_QUOTE_CHARS = 400  # a sentence, not a page: the citation links to the rest


class QueryOptions(TypedDict, total=False):
    """What narrows a question, beside its text: every face passes these (`Engine.answer(q, **opts)`)."""

    since: dt.date | str | None  # a date or YYYY-MM-DD: releases dated on or after it
    until: dt.date | str | None  # ... on or before it
    as_of: dt.date | str | None  # the day relative words ("last month") refer to; today when unset
    source: str | list[str] | None  # only releases of these sources
    language: str | None  # only releases in this language


def _date_arg(name: str, value: dt.date | str | None) -> dt.date | None:
    if value is None or isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise QueryError(f"{name}={value!r} is not an ISO date; use YYYY-MM-DD, e.g. 2024-01-22") from None


class Engine:
    def __init__(self, settings: Settings, index: Index, chat_model: Any = None) -> None:
        self.settings = settings
        self.index = index
        self.searcher = Searcher(index)
        self.chat_model = chat_model
        # answered / unconfirmed / not_found (pressbot/outcome.py)
        self.decider: Decider = decider_for(
            index.embedder.name, settings.abstain_threshold, fitted=settings.outcome_decider == "fitted"
        )

    @classmethod
    def from_settings(cls, settings: Settings) -> Engine:
        from pressbot.embeddings import set_threads
        from pressbot.runtime import open_index

        set_threads(settings.torch_threads or 1)
        index = open_index(settings)
        chat = None
        if settings.llm:
            from pressbot.llm import build_chat_model

            chat = build_chat_model(settings)
        return cls(settings, index, chat)

    def answerer(self) -> Answerer:
        """The LLM answerer when a chat model is configured, else the extractive one."""
        if self.chat_model is not None:
            from pressbot.llm import LLMAnswerer

            return LLMAnswerer(self.chat_model)
        from pressbot.extractive_answerer import ExtractiveAnswerer

        return ExtractiveAnswerer(
            self.index.embedder, self.index.lexical().idf, self.decider, self.settings.abstain_threshold,
            self.settings.rules_off,
        )

    def warm_up(self) -> None:
        """For long-running faces: load what the first question would (model, lexical index,
        Chroma's HNSW), then exempt the ~0.5M objects now alive from the garbage collector, whose
        full passes over them otherwise stall a request now and then (measured 240-360 ms)."""
        self.search("readiness check", k=1)
        gc.freeze()

    # --- filters -----------------------------------------------------------------------
    def resolve_filters(
        self,
        question: str,
        *,
        since: dt.date | str | None = None,
        until: dt.date | str | None = None,
        as_of: dt.date | str | None = None,
        source: str | list[str] | None = None,
        language: str | None = None,
    ) -> tuple[Filters, str, dict[str, Any]]:
        """(filters, the query text to search with, the filters as reported in the Answer)."""
        since_d, until_d = _date_arg("since", since), _date_arg("until", until)
        as_of_d = _date_arg("as_of", as_of) or dt.date.today()
        if since_d and until_d and since_d > until_d:
            raise QueryError(f"since ({since_d}) is after until ({until_d}); swap them")
        query = question
        focus: tuple[dt.date | None, dt.date | None] | None = None
        dates_source = False
        report: dict[str, Any] = {"as_of": as_of_d.isoformat()}
        off = self.settings.rules_off
        if since_d is None and until_d is None and "window" not in off:
            from pressbot.timewindow import parse_time_window, strip_time_expression

            window = parse_time_window(question, as_of_d)
            if window is not None:
                since_d, until_d = window.since, window.until
                query = strip_time_expression(question, window) or question
                report["window_from_question"] = window.text
                focus = (since_d, until_d)
                dates_source = window.dates_source
        sources = [source] if isinstance(source, str) else list(source or [])
        f = Filters(since=since_d, until=until_d, sources=sources, language=language)
        if focus is not None and since_d and until_d and "lag" not in off:
            # "how many crossings in March?" is answered by a release of April: a closed window
            # taken from the question also searches the reporting lag after it (as long as the
            # window, 7..366 days); releases inside the window as asked get a ranking nudge
            lag = min(max((until_d - since_d).days + 1, MIN_LAG_DAYS), MAX_LAG_DAYS)
            f.until = until_d + dt.timedelta(days=lag)
            f.focus_since, f.focus_until = since_d, until_d
            f.focus_dates_source = dates_source
            report["reporting_lag_days"] = lag
        report.update(f.to_json())
        return f, query, report

    # --- search ------------------------------------------------------------------------
    def search(self, query: str, *, k: int | None = None, **options: Unpack[QueryOptions]) -> SearchResult:
        _validate(query)
        f, q, _ = self.resolve_filters(query, **options)
        g = glossed(q, enabled=self.settings.glossary)
        return self.searcher.search(
            g.lexical, k=_k(k, self.settings.k), filters=f, query_vector=g.search_vector(self.index.embedder),
            cache=VectorCache(self.index.sentence_vectors),
        )

    def get_release(self, release_id: str) -> ReleaseRecord | None:
        return self.index.get_release(release_id)

    # --- answer ------------------------------------------------------------------------
    def answer(self, question: str, *, k: int | None = None, **options: Unpack[QueryOptions]) -> Answer:
        return self.answer_traced(question, k=k, **options)[0]

    def answer_traced(
        self, question: str, *, k: int | None = None, **options: Unpack[QueryOptions]
    ) -> tuple[Answer, list[Passage]]:
        """The Answer and the passages it was drawn from, best first (the evals score retrieval)."""
        for step in self._answer_steps(question, k, options, self.answerer(), stream=False):
            if isinstance(step, tuple):
                return step
        raise AssertionError("_answer_steps ends with the Answer")

    def stream(self, question: str, *, k: int | None = None, **options: Unpack[QueryOptions]) -> Iterator[str | Answer]:
        """Answer text as it is produced, then the final Answer (citations checked).

        With an LLM the pieces are the model's draft as it arrives: a preview, since the check may
        drop sentences and renumber citations; faces replace it with the final Answer. The
        extractive answerer yields its checked text in one piece."""
        answerer = self.answerer()
        for step in self._answer_steps(question, k, options, answerer, stream=True):
            if isinstance(step, str):
                yield step
                continue
            if not answerer.previews:
                yield step[0].answer
            yield step[0]

    def _answer_steps(
        self, question: str, k: int | None, options: QueryOptions, answerer: Answerer, *, stream: bool
    ) -> Iterator[str | tuple[Answer, list[Passage]]]:
        """Draft pieces (only when streaming from an LLM), then (Answer, passages)."""
        t0 = time.perf_counter()
        _validate(question)
        k = _k(k, self.settings.k)
        f, query, report = self.resolve_filters(question, **options)
        # a Spanish question is searched with its English rendering too, and answered in the words of
        # the language of the best release found (pressbot/glossary.py)
        g = glossed(query, enabled=self.settings.glossary)
        qvec = g.search_vector(self.index.embedder)
        # sentence vectors, shared by search, scoring and checking; read from those stored at ingest
        cache = VectorCache(self.index.sentence_vectors)
        result = self.searcher.search(g.lexical, k=k, filters=f, query_vector=qvec, cache=cache)
        query, qvec = g.for_answer(result.passages, self.index.embedder, qvec)
        t1 = time.perf_counter()
        passages = result.with_context(CONTEXT_CHUNKS)
        timings = {"search": (t1 - t0) * 1e3}
        draft: Draft | None = None
        read = Question(question, query, f, qvec, _window_text(f))
        for step in answerer.drafts(read, passages, cache, stream=stream):
            if isinstance(step, str):
                yield step
            else:
                draft = step
        if draft is None:
            raise AssertionError("an answerer ends with its Draft")
        checked = check_statements(draft.statements, passages, self.index.embedder, cache=cache)
        text, citations = checked.text, checked.citations
        if citations and draft.notes:  # each part answered, or named as not found
            text += "\n\n" + "\n".join(draft.notes)
        confidence = draft.confidence
        if confidence is None:  # the share of the draft the check kept
            kept = len(split_sentences(checked.text)) if citations else 0
            confidence = kept / (kept + len(checked.dropped)) if kept else 0.0
        t2 = time.perf_counter()
        timings["answer"] = (t2 - t1) * 1e3
        outcome: Outcome = "answered"
        if not citations:
            if draft.closest is not None and draft.close:
                outcome = "unconfirmed"
                text, citations = _unconfirmed(*draft.closest)
            else:
                outcome = "not_found"
                text, citations = _abstention(passages)
        if f.has_window:  # a note about the search, not a fact: the faces show it as a footer
            report["window_note"] = _window_text(f) + _outside_archive(f, self.index.lexical().date_range())
        timings["total"] = (time.perf_counter() - t0) * 1e3
        ans = Answer(
            question=question,
            answer=text,
            outcome=outcome,
            confidence=round(confidence, 4),
            abstained=outcome != "answered",
            citations=citations,
            filters=report,
            timings_ms={k_: round(v, 1) for k_, v in timings.items()},
        )
        log.info(
            "answer",
            extra={
                "event": "answer",
                "question": question,
                "outcome": outcome,
                "confidence": ans.confidence,
                "signals": {k_: round(v, 3) for k_, v in draft.signals.features().items()},
                "retrieved": [(p.release_id, round(p.score, 4)) for p in passages],
                "latency_ms": ans.timings_ms["total"],
            },
        )
        yield ans, passages



def _validate(question: str) -> None:
    if not isinstance(question, str) or not question.strip():
        raise QueryError(
            "the question is empty; ask something, e.g. 'Which countries receive the $180 million program?'"
        )
    if len(question) > MAX_QUESTION_CHARS:
        raise QueryError(f"the question has {len(question)} characters; the limit is {MAX_QUESTION_CHARS}")


def _k(k: int | None, default: int) -> int:
    k = default if k is None else k
    if not 1 <= k <= 50:
        raise QueryError(f"k={k} is out of range; use 1..50")
    return k


def _window_text(f: Filters) -> str:
    if f.focus_since and f.focus_until and f.since and f.until:
        return (
            f"Releases dated {f.since.isoformat()} to {f.until.isoformat()} (the window asked, "
            f"{f.focus_since.isoformat()} to {f.focus_until.isoformat()}, and reports published after it)"
        )
    if f.since and f.until:
        return f"Releases dated {f.since.isoformat()} to {f.until.isoformat()}"
    if f.since:
        return f"Releases dated from {f.since.isoformat()}"
    if f.until:
        return f"Releases dated until {f.until.isoformat()}"
    return ""


def _outside_archive(f: Filters, covered: tuple[dt.date, dt.date] | None) -> str:
    """Said when the window asked lies wholly outside the archive's dates: no release can be from
    then, and the reader should know it is the archive's limit, not the news'."""
    if covered is None:
        return ""
    first, last = covered
    if (f.since and f.since > last) or (f.until and f.until < first):
        return f"; the archive covers {first.isoformat()} to {last.isoformat()}"
    return ""


def _unconfirmed(sentence: str, p: Passage) -> tuple[str, list[Citation]]:
    """The closest passage, quoted and cited, said to be unconfirmed: a journalist can read it and
    judge, and is not told the archive lacks what it may hold."""
    quote = _clip(sentence, UNCONFIRMED_QUOTE_CHARS)
    cite = Citation(n=1, release_id=p.release_id, title=p.title, date=p.date, url=p.url, quote=quote)
    return f"{UNCONFIRMED_TEXT} The closest passage: '{quote}' [1]", [cite]


def _clip(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rsplit(" ", 1)[0] + "…"


def _abstention(passages: list[Passage]) -> tuple[str, list[Citation]]:
    if not passages:
        return ABSTAIN_TEXT, []
    pointers = passages[:3]
    lines = [ABSTAIN_TEXT + " The closest releases:"]
    cites = []
    for n, p in enumerate(pointers, 1):
        when = p.date.isoformat() if p.date else "undated"
        lines.append(f"[{n}] {p.title} ({when})")
        cites.append(Citation(n=n, release_id=p.release_id, title=p.title, date=p.date, url=p.url, quote=p.text[:300]))
    return " ".join(lines), cites
