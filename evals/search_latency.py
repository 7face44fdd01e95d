"""Part 1 of the search benchmark (`evals/bench_search.py`), latency: one index measured warm in this
process (the floor, `Engine.search`, extractive `Engine.answer` with and without abstention), the
probes that time a search's and an answer's steps one by one, and the floor with a torch query
embedding."""

from __future__ import annotations

import logging
import os
import re
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from evals.bench_corpus import bench_settings
from evals.search_questions import questions
from evals.timing import Clock, GcPauses

log = logging.getLogger(__name__)


def _rss_mb() -> dict[str, float]:
    status = Path("/proc/self/status").read_text()
    get = lambda key: int(re.search(rf"^{key}:\s+(\d+) kB", status, re.M).group(1)) / 1024  # noqa: E731
    return {"rss_mb": round(get("VmRSS"), 1), "peak_rss_mb": round(get("VmHWM"), 1)}


class EncodeCounter:
    """Counts the texts an embedder encodes as passages: at question time, the sentences missing
    from the sentence-vector store (the engine encodes those and writes them back)."""

    def __init__(self, embedder: Any) -> None:
        self.texts = 0
        self._encode = embedder.encode_passages
        embedder.encode_passages = self  # the instance attribute shadows the method

    def __call__(self, texts: Sequence[str]) -> np.ndarray:
        self.texts += len(texts)
        return self._encode(texts)


def measure_latency(data_dir: Path, rounds: int) -> dict[str, Any]:
    from pressbot.engine import Engine

    t0 = time.perf_counter()
    engine = Engine.from_settings(bench_settings(data_dir))
    engine.index.lexical()
    load_s = time.perf_counter() - t0
    index = engine.index
    embedder, chunks, store = index.embedder, index.chunks, index.sentence_vectors
    # the same engine without abstention: every answer drafts, checks and cites
    full = Engine(engine.settings.model_copy(update={"abstain_threshold": float("-inf")}), index)
    stored_before = store.count()
    encoded = EncodeCounter(embedder)
    qs = questions()

    def floor(q: str, as_of: Any = None) -> Any:
        # what a plain Chroma user pays: embed the query, top-k, documents and metadata back
        # (as_of is ignored: it is there to be called like the others)
        return chunks.query(
            query_embeddings=[embedder.encode_query(q)],
            n_results=engine.settings.k,
            include=["documents", "metadatas", "distances"],
        )

    log.info("%s: %d chunks loaded in %.1f s; warming up", data_dir, chunks.count(), load_s)
    for item in qs[:8]:  # warm-up: model, HNSW pages, lexical arrays, SQLite pages, caches
        floor(item["q"])
        engine.search(item["q"], as_of=item["as_of"])
        full.answer(item["q"], as_of=item["as_of"])
    calls = {"floor": floor, "search": engine.search, "answer": engine.answer, "answer_no_abstention": full.answer}
    clocks = {name: Clock() for name in calls}
    misses = dict.fromkeys(calls, 0)
    parts: dict[str, list[float]] = {}
    answer_parts: dict[str, list[float]] = {}
    abstained = 0
    gc_pauses = GcPauses()
    for r in range(rounds):
        log.info("round %d of %d", r + 1, rounds)
        # interleaved, so a burst of load on the machine hits every kind of call alike; each kind
        # takes the questions at another offset, so that no call follows one for the same question
        # (measured: an answer right after the search for its question gains ~10 ms at 50k chunks)
        for i in range(len(qs)):
            for j, (name, call) in enumerate(calls.items()):
                item = qs[(i + j * len(qs) // len(calls)) % len(qs)]
                n0 = encoded.texts
                out = clocks[name].time(call, item["q"], as_of=item["as_of"])
                misses[name] += encoded.texts - n0
                if name == "search":
                    for key, ms in out.timings_ms.items():
                        parts.setdefault(key, []).append(ms)
                    parts.setdefault("outside the searcher", []).append(
                        clocks[name].wall[-1] - sum(out.timings_ms.values())
                    )
                elif name == "answer":
                    abstained += out.abstained
                    for key, ms in out.timings_ms.items():
                        answer_parts.setdefault(key, []).append(ms)
    gc_figures = gc_pauses.figures()
    log.info("probes")
    probes = _probes(engine, qs)
    rss = _rss_mb()  # before the torch model below, which only the second floor needs
    floor_torch = _torch_floor(chunks, engine.settings.k, qs, rounds)
    return {
        "data_dir": str(data_dir),
        "chunks": chunks.count(),
        "releases": index.releases.count(),
        "sentence_vectors_stored": stored_before,
        "passage_vectors": index.meta().get("bench_passage_vectors", "real model"),
        "query_model": embedder.name,
        "model_threads": engine.settings.torch_threads or 1,  # as Engine.from_settings sets them
        "load_s": round(load_s, 1),
        "questions": len(qs),
        "rounds": rounds,
        **{name: clock.figures() for name, clock in clocks.items()},
        "search_parts_p50_ms": {k: round(float(np.median(v)), 2) for k, v in parts.items()},
        "answer_parts_p50_ms": {k: round(float(np.median(v)), 1) for k, v in answer_parts.items()},
        "answer_abstained": abstained // rounds,
        "encoded_at_question_time": misses,
        "gc_pauses": gc_figures,
        "probes_p50_ms": probes,
        "floor_torch": floor_torch,
        **rss,
        "loadavg": os.getloadavg(),
    }


def _torch_floor(chunks: Any, k: int, qs: list[dict[str, Any]], rounds: int) -> dict[str, Any]:
    """The floor as a plain Chroma user pays it: the same top-k query, the query embedded by the
    model under torch (sentence-transformers' default) rather than pressbot's int8 ONNX."""
    from pressbot.config import DEFAULT_MODEL
    from pressbot.embeddings import SentenceTransformerEmbeddings

    model = SentenceTransformerEmbeddings(DEFAULT_MODEL)

    def floor(q: str) -> Any:
        return chunks.query(
            query_embeddings=[model.encode_query(q)], n_results=k, include=["documents", "metadatas", "distances"]
        )

    for item in qs[:8]:
        floor(item["q"])
    clock = Clock()
    for _ in range(rounds):
        for item in qs:
            clock.time(floor, item["q"])
    return clock.figures()


PROBES = (  # the order of the report: a search's steps, then an answer's
    "embed_query",
    "freshness check (index.fingerprint, at most every 2 s)",
    "dense, unfiltered: chroma query, docs+metas",
    "  the same query, ids and distances only",
    "dense, filtered: exact scan (lex.dense)",
    "dense, filtered: chroma get of the hits",
    "bm25 search",
    "chroma get of lexical-only hits",
    "term coverage (lex.coverage)",
    "rescoring: pick each top candidate's sentence",
    "rescoring: read their vectors (store)",
    "answer: score_sentences",
    "answer: check_answer",
)


def _probes(engine: Any, qs: list[dict[str, Any]]) -> dict[str, dict[str, float]]:
    """The steps of `Searcher.search` and of an extractive answer, timed one by one as the live
    code runs them (p50, and how many questions took that step), to say where the time goes.
    Each step runs right after the one before on the same question, so its data is warm: a lower
    bound; the parts that `Engine.search` reports come from the measured calls themselves."""
    from pressbot.citations import check_answer
    from pressbot.extractive import score_sentences, select_sentences
    from pressbot.extractive_answerer import focus_terms_of
    from pressbot.lexical import lexical_tokens
    from pressbot.search import Searcher, _ord
    from pressbot.sentence_vectors import VectorCache

    index, searcher, k = engine.index, engine.searcher, engine.settings.k
    chunks, store, docs = index.chunks, index.sentence_vectors, ["documents", "metadatas"]
    unranked = Searcher(index, candidates=searcher.candidates, rescore=0)  # candidates before rescoring
    n = max(searcher.candidates, 4 * k)
    out: dict[str, list[float]] = {name: [] for name in PROBES}

    def t(name: str, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        w0 = time.perf_counter()
        res = fn(*args, **kwargs)
        out[name].append((time.perf_counter() - w0) * 1e3)
        return res

    for item in qs:
        f, query, _ = engine.resolve_filters(item["q"], as_of=item["as_of"])
        qvec = t("embed_query", index.embedder.encode_query, query)
        t("freshness check (index.fingerprint, at most every 2 s)", index.fingerprint)
        lex = index.lexical()
        since, until = (_ord(d) if d else None for d in (f.since, f.until))
        mask = lex.mask(since=since, until=until, sources=f.sources or None, language=f.language, include_undated=True)
        if mask is None:
            vec = [qvec]
            t(
                "dense, unfiltered: chroma query, docs+metas",
                chunks.query,
                query_embeddings=vec,
                n_results=n,
                include=[*docs, "distances"],
            )
            t(
                "  the same query, ids and distances only",
                chunks.query,
                query_embeddings=vec,
                n_results=n,
                include=["distances"],
            )
        else:
            hits = t("dense, filtered: exact scan (lex.dense)", lex.dense, qvec, n, mask)
            t("dense, filtered: chroma get of the hits", chunks.get, ids=[cid for cid, _ in hits], include=docs)
        t("bm25 search", lex.search, query, n, mask=mask)
        res = unranked.search(query, k=k, filters=f, query_vector=qvec)
        if lexical_only := [p.chunk_id for p in res.candidates if p.dense_rank is None]:
            t("chroma get of lexical-only hits", chunks.get, ids=lexical_only, include=docs)
        weights = {tok: lex.idf(tok) for tok in set(lexical_tokens(query))}
        t("term coverage (lex.coverage)", lex.coverage, weights, [p.chunk_id for p in res.candidates])
        top = sorted(res.candidates, key=lambda p: -p.score)[: searcher.rescore]
        picks = t("rescoring: pick each top candidate's sentence", _sentence_picks, top, weights)
        t("rescoring: read their vectors (store)", store.get_many, picks)
        # the extractive answer's steps, on the live search's passages and vector cache
        cache = VectorCache(store)
        passages = searcher.search(query, k=k, filters=f, query_vector=qvec, cache=cache).passages
        scored = t(
            "answer: score_sentences",
            score_sentences,
            query,
            passages,
            index.embedder,
            query_vector=qvec,
            cache=cache,
            focus_terms=focus_terms_of(f),
            idf=lex.idf,
        )
        draft = " ".join(f"{s.text} [{passages.index(s.passage) + 1}]" for s in select_sentences(scored))
        if draft:  # whether or not its evidence clears the abstention threshold
            t("answer: check_answer", check_answer, draft, passages, index.embedder, cache=cache)
    return {name: {"p50": round(float(np.median(v)), 2), "n": len(v)} for name, v in out.items() if v}


def _sentence_picks(top: list[Any], weights: dict[str, float]) -> list[str]:
    """As `Searcher._rescore_by_sentence` picks: each chunk's sentence (as cut at ingest) sharing
    most of the question's rare terms."""
    from pressbot.search import _weight_in
    from pressbot.sentences import passage_sentences

    return [max(passage_sentences(p) or [p.text], key=lambda s: _weight_in(weights, s)) for p in top]
