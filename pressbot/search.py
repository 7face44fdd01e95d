"""Hybrid search: dense (Chroma) + lexical (BM25), fused, grouped by release.

- Both sides return candidates under the same filters (date range, source, language).
- Reciprocal rank fusion, weighted: dense similarity and exact terms (amounts, names)
  each contribute; neither list alone decides.
- Results are grouped by release (its best chunk represents it) so one long release cannot
  fill the context.
- With a date window, releases of unknown date are not dropped: they rank after every
  dated match and are marked `undated`.
"""

from __future__ import annotations

import datetime as dt
import itertools
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from pressbot.index import Index, Lexical
from pressbot.lexical import lexical_tokens
from pressbot.sentence_vectors import VectorCache
from pressbot.sentences import passage_sentences
from pressbot.types import Passage, sentences_at

log = logging.getLogger(__name__)

RRF_K = 60
SENTENCE_WEIGHT = 5.0 / RRF_K  # 0.1 of cosine is worth half a top rank
COVERAGE_WEIGHT = 1.2 / RRF_K  # a chunk stating every question term gains a bit more than a top rank
FOCUS_BONUS = 0.3 / RRF_K  # about a third of a top-ranked hit on one side


@dataclass
class Filters:
    since: dt.date | None = None
    until: dt.date | None = None
    sources: list[str] = field(default_factory=list)
    language: str | None = None
    # the window as asked, when the search window was widened for reporting lag (see engine)
    focus_since: dt.date | None = None
    focus_until: dt.date | None = None
    # the window as asked dates the question's source, not the figure asked for (see timewindow)
    focus_dates_source: bool = False

    @property
    def has_window(self) -> bool:
        return self.since is not None or self.until is not None

    def to_json(self) -> dict[str, Any]:
        return {
            "since": self.since.isoformat() if self.since else None,
            "until": self.until.isoformat() if self.until else None,
            "sources": self.sources,
            "language": self.language,
            "focus_since": self.focus_since.isoformat() if self.focus_since else None,
            "focus_until": self.focus_until.isoformat() if self.focus_until else None,
            "focus_dates_source": self.focus_dates_source,
        }


def _ord(d: dt.date) -> int:
    return int(d.strftime("%Y%m%d"))


def chroma_where(f: Filters) -> dict[str, Any] | None:
    clauses: list[dict[str, Any]] = []
    if f.has_window:
        window: list[dict[str, Any]] = [{"date_ord": {"$gt": 0}}]
        if f.since:
            window.append({"date_ord": {"$gte": _ord(f.since)}})
        if f.until:
            window.append({"date_ord": {"$lte": _ord(f.until)}})
        # undated releases stay in, ranked after the dated matches
        clauses.append({"$or": [{"$and": window}, {"date_ord": 0}]})
    if f.sources:
        clauses.append({"source": {"$in": f.sources}} if len(f.sources) > 1 else {"source": f.sources[0]})
    if f.language:
        clauses.append({"language": f.language})
    if not clauses:
        return None
    return clauses[0] if len(clauses) == 1 else {"$and": clauses}


@dataclass
class SearchResult:
    passages: list[Passage]  # one per release, best first
    candidates: list[Passage]  # every candidate chunk of those releases, best first (`with_context`)
    timings_ms: dict[str, float]

    def with_context(self, per_release: int = 3) -> list[Passage]:
        """`passages`, each widened to its release's best `per_release` candidate chunks, in
        reading order: the sentence that answers is often in another chunk of the release that
        matched ("95 percent" two chunks after the sentence naming the program)."""
        out = []
        for best in self.passages:
            same = [c for c in self.candidates if c.release_id == best.release_id][:per_release]
            same.sort(key=lambda c: _chunk_number(c.chunk_id))
            if len(same) < 2:
                out.append(best)
                continue
            if not all(c.sentence_ends for c in same):  # an older index: the answerer splits again
                out.append(best.model_copy(update={"text": " ".join(c.text for c in same), "sentence_ends": []}))
                continue
            # sentence by sentence, so the overlap between neighbouring chunks is not read twice
            sentences = list(dict.fromkeys(s for c in same for s in sentences_at(c.text, c.sentence_ends)))
            ends = list(itertools.accumulate(len(s) + 1 for s in sentences))
            ends[-1] -= 1
            out.append(best.model_copy(update={"text": " ".join(sentences), "sentence_ends": ends}))
        return out


class Searcher:
    def __init__(
        self,
        index: Index,
        *,
        candidates: int = 40,
        dense_weight: float = 1.0,
        lexical_weight: float = 1.0,
        rescore: int = 12,
    ) -> None:
        self.index = index
        self.rescore = rescore
        self.candidates = candidates
        self.dense_weight = dense_weight
        self.lexical_weight = lexical_weight

    def search(
        self,
        query: str,
        *,
        k: int = 5,
        filters: Filters | None = None,
        query_vector: np.ndarray | None = None,
        cache: dict[str, np.ndarray] | None = None,
    ) -> SearchResult:
        f = filters or Filters()
        t0 = time.perf_counter()
        qvec = query_vector if query_vector is not None else self.index.embedder.encode_query(query)
        t1 = time.perf_counter()
        n = max(self.candidates, 4 * k)

        lex = self.index.lexical()
        mask: Any = lex.mask(  # a row mask or a tantivy filter, by backend
            since=_ord(f.since) if f.since else None,
            until=_ord(f.until) if f.until else None,
            sources=f.sources or None,
            language=f.language,
            include_undated=True,
        )
        dense = self._dense(qvec, n, f, lex, mask)
        t2 = time.perf_counter()
        hits = lex.search(query, n, mask=mask)
        t3 = time.perf_counter()

        cand: dict[str, _Candidate] = {}
        for rank, (cid, sim) in enumerate(dense):
            c = cand.setdefault(cid, _Candidate(cid))
            c.dense_rank, c.similarity = rank, sim
            c.score += self.dense_weight / (RRF_K + rank)
        for rank, (cid, bm25) in enumerate(hits):
            c = cand.setdefault(cid, _Candidate(cid))
            c.lexical_rank, c.lexical_score = rank, bm25
            c.score += self.lexical_weight / (RRF_K + rank)
        ids = list(cand)
        # fusion and ranking run on chunk ids and dates; a passage's text and metadata are read
        # only for the chunks that need them (rescored, or returned)
        held = lex.dates(ids)
        # chunks the copy does not hold (it lags Chroma, or keeps no passages) are read now
        early = self._passages(lex, [cid for cid in ids if cid not in held])
        for cid in ids:
            if cid in early:
                d = early[cid].date
                cand[cid].date_ord = _ord(d) if d else 0
            elif cid in held:
                cand[cid].date_ord = held[cid]
            else:
                del cand[cid]  # gone from Chroma since the search
        ids = list(cand)
        t4 = time.perf_counter()

        focus = (_ord(f.focus_since), _ord(f.focus_until)) if f.focus_since and f.focus_until else None
        weights = {t: lex.idf(t) for t in set(lexical_tokens(query))}
        total = sum(weights.values())
        # how much of the question's rare vocabulary ("$180 million", "Otay") each chunk and its
        # title state: ranks alone cannot tell a rare shared term from a common one
        coverage = lex.coverage(weights, ids)
        for cid, cov in zip(ids, coverage, strict=True):
            c = cand[cid]
            if focus and c.date_ord and focus[0] <= c.date_ord <= focus[1]:
                c.score += FOCUS_BONUS  # inside the window as asked: a nudge, not a filter
            if total:
                c.score += COVERAGE_WEIGHT * float(cov) / total
            c.undated = f.has_window and not c.date_ord
        if cache is None:  # the sentence vectors stored at ingest, not the model
            cache = VectorCache(self.index.sentence_vectors)
        top = sorted(cand.values(), key=lambda c: -c.score)[: self.rescore]
        read = self._read(lex, [c.chunk_id for c in top], cand, early)
        self._rescore_by_sentence(qvec, [read[c.chunk_id] for c in top], cand, weights, cache)
        # dated matches first when a window is set, then by fused score; a release is
        # represented by its best chunk, and returned with its other candidate chunks
        ordered = sorted(cand.values(), key=lambda c: (c.undated, -c.score))
        releases = list(dict.fromkeys(c.release_id for c in ordered))[:k]
        wanted = set(releases)
        chosen = [c.chunk_id for c in ordered if c.release_id in wanted]
        read.update(self._read(lex, [cid for cid in chosen if cid not in read], cand, early))
        candidates = [read[cid] for cid in chosen if cid in read]
        best: dict[str, Passage] = {}
        for p in candidates:
            best.setdefault(p.release_id, p)
        passages = list(best.values())
        t5 = time.perf_counter()
        timings = {
            "embed_query": (t1 - t0) * 1e3,
            "dense": (t2 - t1) * 1e3,
            "lexical": (t3 - t2) * 1e3,
            "fuse": (t4 - t3) * 1e3,
            "rescore": (t5 - t4) * 1e3,
        }
        return SearchResult(passages, candidates, timings)

    def _dense(
        self, qvec: np.ndarray, n: int, f: Filters, lex: Lexical, mask: Any
    ) -> list[tuple[str, float]]:
        """The n nearest chunks (id, cosine) under the filters: Chroma's HNSW when unfiltered; an
        exact scan of the allowed rows of the vectors kept beside the lexical index when filtered
        (Chroma's filtered query scans metadata: 120-200 ms at 50k chunks)."""
        if mask is not None and lex.vectors is not None:
            return lex.dense(qvec, n, mask)
        where = chroma_where(f)
        res = self.index.chunks.query(query_embeddings=[qvec], n_results=n, where=where, include=["distances"])
        return [(cid, 1.0 - float(d)) for cid, d in zip(res["ids"][0], res["distances"][0], strict=True)]  # type: ignore[index]

    def _passages(self, lex: Lexical, ids: list[str]) -> dict[str, Passage]:
        """Passages by chunk id, in the order given: from the lexical copy, else from Chroma."""
        got = lex.passages(ids)
        missing = [cid for cid in ids if cid not in got]
        if missing:
            more = self.index.chunks.get(ids=missing, include=["documents", "metadatas"])
            got.update(zip(more["ids"], zip(more["documents"], more["metadatas"], strict=True), strict=True))  # type: ignore[arg-type]
        return {cid: _passage(cid, *got[cid]) for cid in ids if cid in got}

    def _read(
        self, lex: Lexical, ids: list[str], cand: dict[str, _Candidate], early: dict[str, Passage]
    ) -> dict[str, Passage]:
        """Passages of these candidates with their search scores."""
        got = {cid: early[cid] for cid in ids if cid in early}
        got.update(self._passages(lex, [cid for cid in ids if cid not in got]))
        return {cid: cand[cid].apply(got[cid]) for cid in ids if cid in got}

    def _rescore_by_sentence(
        self,
        qvec: np.ndarray,
        top: list[Passage],
        cand: dict[str, _Candidate],
        weights: dict[str, float],
        cache: dict[str, np.ndarray],
    ) -> None:
        """Small-to-big at query time: a chunk holds several sentences, and the one that answers
        is diluted in the chunk's vector (the seed's "$180 million ... Guatemala, Honduras ..."
        sentence has cosine 0.64 to its question, its chunk 0.45). For the best candidates, the
        sentence sharing most of the question's rare terms is embedded alone, and its cosine
        joins the score."""
        if not top or not weights:
            return
        picks = []
        for p in top:
            sentences = passage_sentences(p) or [p.text]
            picks.append(max(sentences, key=lambda s: _weight_in(weights, s)))
        vecs = self.index.embedder.encode_cached(picks, cache)
        for p, cos in zip(top, vecs @ qvec, strict=True):
            cand[p.chunk_id].score += SENTENCE_WEIGHT * float(cos)
            p.score = cand[p.chunk_id].score


@dataclass
class _Candidate:
    """A chunk being ranked, before (and unless) its passage is read."""

    chunk_id: str
    score: float = 0.0
    date_ord: int = 0
    undated: bool = False
    dense_rank: int | None = None
    similarity: float | None = None
    lexical_rank: int | None = None
    lexical_score: float | None = None

    @property
    def release_id(self) -> str:
        return self.chunk_id.rsplit(":", 1)[0]  # chunk ids are "<release id>:<n>"

    def apply(self, p: Passage) -> Passage:
        p.score, p.undated = self.score, self.undated
        p.dense_rank, p.similarity = self.dense_rank, self.similarity
        p.lexical_rank, p.lexical_score = self.lexical_rank, self.lexical_score
        return p


def _weight_in(weights: dict[str, float], text: str) -> float:
    tokens = set(lexical_tokens(text))
    return sum(w for t, w in weights.items() if t in tokens)


def _chunk_number(chunk_id: str) -> int:
    tail = chunk_id.rsplit(":", 1)[-1]
    return int(tail) if tail.isdigit() else 0


def _passage(cid: str, doc: str, meta: Mapping[str, Any]) -> Passage:
    d = meta.get("date")
    ends = meta.get("sentence_ends")
    return Passage(
        chunk_id=cid,
        release_id=str(meta.get("release_id", cid.rsplit(":", 1)[0])),
        text=doc,
        title=str(meta.get("title", "")),
        date=dt.date.fromisoformat(d) if d else None,
        url=meta.get("url") or None,
        source=str(meta.get("source", "")),
        language=str(meta.get("language", "und")),
        sentence_ends=[int(e) for e in str(ends).split(",")] if ends else [],
    )
