"""The answerer protocol: the question as the engine read it, and the passages found, in; a
structured draft out (statements, each with the passages it cites and, for a direct answer, the
spans a cited quote must hold). The engine checks the draft (pressbot/citations.py), decides
the outcome and builds the Answer; it holds no answerer's own logic.

Two answerers implement it: the extractive one (pressbot/extractive_answerer.py, the default)
and the LLM one (pressbot/llm.py), whose text is parsed once into the same statements.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from pressbot.outcome import Signals
from pressbot.search import Filters
from pressbot.sentence_vectors import VectorCache
from pressbot.types import Passage, Statement


@dataclass(frozen=True)
class Question:
    """A question as the engine read it: once, before any answerer sees it."""

    text: str  # as asked
    query: str  # what is searched: the text without the time expression the window came from
    filters: Filters  # the window and the sources searched
    query_vector: np.ndarray  # the query's embedding, shared by search and answerer
    window: str  # the window searched, in words ("" when none): a note for an LLM's prompt


@dataclass
class Draft:
    statements: list[Statement]
    # 0..1; None: the share of the draft's statements the citation check keeps
    confidence: float | None = None
    signals: Signals = field(default_factory=Signals)
    # when nothing is answered: the closest sentence and its passage, quoted as unconfirmed
    # when `close`, else the answer is not_found
    closest: tuple[str, Passage] | None = None
    close: bool = False
    notes: list[str] = field(default_factory=list)  # said after the answer, unchecked: parts not found


class Answerer(Protocol):
    # True: the pieces `drafts` yields before the Draft are a preview the faces may show
    previews: bool

    def drafts(
        self, question: Question, passages: list[Passage], cache: VectorCache, *, stream: bool = False
    ) -> Iterator[str | Draft]:
        """Preview pieces (only when `stream` and the answerer `previews`), then the Draft."""
        ...
