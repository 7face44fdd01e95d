"""The contracts between the parts (see docs/design.md): Release, Chunk, Passage, Citation, Answer."""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, Field, model_validator


def content_hash(text: str) -> str:
    """Stable hash of a release body, used for change detection and duplicate bodies."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


class Release(BaseModel):
    """One press release, as read from a source.

    `id` is stable across runs: the canonical URL when there is one, else the path inside
    the archive. `date` is the publication date, `None` when unknown (never invented).
    """

    id: str
    title: str
    date: dt.date | None = None
    url: str | None = None
    source: str = ""
    language: str = "und"
    text: str
    content_hash: str = ""
    aliases: list[str] = Field(default_factory=list)

    def model_post_init(self, __context: Any) -> None:
        if not self.content_hash:
            self.content_hash = content_hash(self.title + "\n" + self.text)


class Chunk(BaseModel):
    """A piece of a release that is embedded; carries the release metadata so it can be cited."""

    id: str  # f"{release_id}:{n}"
    release_id: str
    n: int
    text: str  # the passage text shown and quoted
    embed_text: str  # what is embedded: the passage with title/date context
    title: str
    date: dt.date | None = None
    url: str | None = None
    source: str = ""
    language: str = "und"
    content_hash: str = ""
    # where each sentence of `text` ends (character offsets): answerers and the sentence vectors
    # stored at ingest use exactly these sentences, without splitting again at question time
    sentence_ends: list[int] = Field(default_factory=list)

    def metadata(self) -> dict[str, str | int | float | bool]:
        """Chroma metadata (scalars only; missing values are left out, never invented)."""
        meta: dict[str, str | int | float | bool] = {
            "release_id": self.release_id,
            "n": self.n,
            "title": self.title,
            "source": self.source,
            "language": self.language,
            "content_hash": self.content_hash,
        }
        # an integer form allows range filters ($gte/$lte) in Chroma; 0 marks "undated"
        meta["date_ord"] = int(self.date.strftime("%Y%m%d")) if self.date else 0
        if self.date is not None:
            meta["date"] = self.date.isoformat()
        if self.url:
            meta["url"] = self.url
        if self.sentence_ends:
            meta["sentence_ends"] = ",".join(map(str, self.sentence_ends))
        return meta


def sentences_at(text: str, ends: list[int]) -> list[str]:
    """The sentences of `text` cut at `ends` (see `Chunk.sentence_ends`)."""
    out, start = [], 0
    for end in ends:
        piece = text[start:end].strip()
        if piece:
            out.append(piece)
        start = end
    return out


class Passage(BaseModel):
    """A retrieved chunk with its scores."""

    chunk_id: str
    release_id: str
    text: str
    title: str
    date: dt.date | None = None
    url: str | None = None
    source: str = ""
    language: str = "und"
    score: float = 0.0
    similarity: float | None = None  # cosine to the query (dense side)
    lexical_score: float | None = None
    dense_rank: int | None = None
    lexical_rank: int | None = None
    undated: bool = False
    sentence_ends: list[int] = Field(default_factory=list)  # empty: an index built before they were stored


@dataclass(frozen=True)
class Statement:
    """One claim of an answerer's draft: its text, the passages it cites (0-based), and for a
    direct answer the spans the cited passage's quote must hold verbatim (checked by span, not
    by similarity)."""

    text: str
    refs: tuple[int, ...]
    spans: tuple[str, ...] = ()


class Citation(BaseModel):
    n: int
    release_id: str
    title: str
    date: dt.date | None = None
    url: str | None = None
    quote: str


class Answer(BaseModel):
    """The Answer JSON contract of docs/design.md."""

    question: str
    answer: str
    # answered; unconfirmed (the closest passage, quoted, said to be unconfirmed); not_found (none close)
    outcome: Literal["answered", "unconfirmed", "not_found"] = "answered"
    # how likely the answer (or, when not answered, the best draft) states what was asked
    confidence: float = Field(default=0.0, ge=0.0, le=1.0)
    abstained: bool  # outcome != "answered"
    citations: list[Citation] = Field(default_factory=list)
    filters: dict[str, Any] = Field(
        default_factory=dict,
        description="How the archive was searched (as_of, since/until, sources, ...). `window_note`, when a "
        "date window applied, says which dates were searched: show it as a footer line under the answer.",
    )
    timings_ms: dict[str, float] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _outcome_matches_abstained(self) -> Answer:
        if "outcome" not in self.model_fields_set:  # a producer that predates outcomes
            self.outcome = "not_found" if self.abstained else "answered"
        elif self.abstained != (self.outcome != "answered"):
            raise ValueError(f"abstained={self.abstained} contradicts outcome={self.outcome!r}")
        return self
