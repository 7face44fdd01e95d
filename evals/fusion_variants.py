"""Fusion variants of the search benchmark's quality part (`evals/bench_search.py`): prototypes of
fixes, each measured on the quality index by the seed's rank for the seed questions and by the
golden questions whose source is in the index."""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from evals.search_questions import GOLDEN, SEED_QUESTIONS
from evals.timing import percentiles


def _query_amounts(text: str) -> set[str]:
    """Canonical amounts the text states as money or with a scale ("$180M", "180 million"), not bare
    numbers such as years."""
    from pressbot.lexical import _AMOUNT, _amount_token, _fold

    folded = _fold(text)
    out = set()
    for m in _AMOUNT.finditer(folded):
        before = folded[max(0, m.start() - 4) : m.start()]
        if m.group(3) or "$" in before or "usd" in before:
            out.add(_amount_token(m).strip())
    return out


def _chunk_amounts(text: str) -> set[str]:
    from pressbot.lexical import _AMOUNT, _amount_token, _fold

    return {_amount_token(m).strip() for m in _AMOUNT.finditer(_fold(text))}


def _variant(searcher: Any, *, amount_bonus: float = 0.0) -> Any:
    """A search function: the given Searcher (reading stored sentence vectors, as the engine's
    does), plus (amount_bonus > 0) a bonus for the chunks that state every amount the question
    asks about."""
    from pressbot.search import RRF_K
    from pressbot.sentence_vectors import VectorCache

    def run(query: str, k: int, f: Any, vec: np.ndarray) -> list[Any]:
        cache = VectorCache(searcher.index.sentence_vectors)
        res = searcher.search(query, k=k, filters=f, query_vector=vec, cache=cache)
        amounts = _query_amounts(query) if amount_bonus else set()
        if not amounts:
            return res.passages
        for p in res.candidates:
            if amounts <= _chunk_amounts(p.text):
                p.score += amount_bonus / RRF_K
        undated_last = sorted(res.candidates, key=lambda p: (p.undated, -p.score))
        best: dict[str, Any] = {}
        for p in undated_last:
            best.setdefault(p.release_id, p)
        return list(best.values())[:k]

    return run


def compare_fusions(engine: Any, seed_id: str) -> dict[str, Any]:
    """Each fusion variant: the seed's rank for the seed questions, and hit@1 / hit@5 of the golden
    questions whose source release is in this index (a guard against fixing one question by
    breaking others)."""
    from evals.golden import load_golden, source_matches
    from pressbot.search import Searcher

    index = engine.index
    live = engine.searcher
    no_rescore = Searcher(index, candidates=live.candidates, rescore=0)
    variants = {
        f"live (sentence rescoring of the top {live.rescore})": _variant(live),
        "live without rescoring": _variant(no_rescore),
        "live without rescoring + amount bonus": _variant(no_rescore, amount_bonus=1.0),
        "live + amount bonus": _variant(live, amount_bonus=1.0),
        "live, candidates=200": _variant(Searcher(index, candidates=200, rescore=live.rescore)),
    }
    releases = [(r.id, r.url, r.title) for r in index.iter_releases()]
    items = []
    for item in load_golden(GOLDEN):
        if item.answerable and any(source_matches(s, *r) for s in item.sources for r in releases):
            items.append(item)
    prepared = []
    for q, as_of in [(q, None) for q in SEED_QUESTIONS] + [(i.question, i.as_of) for i in items]:
        f, query, _ = engine.resolve_filters(q, as_of=as_of)
        prepared.append((f, query, index.embedder.encode_query(query)))
    out: dict[str, Any] = {"golden_questions_in_index": len(items)}
    for name, run in variants.items():
        seed_ranks = []
        for f, query, vec in prepared[: len(SEED_QUESTIONS)]:
            ids = [p.release_id for p in run(query, 10, f, vec)]
            seed_ranks.append(ids.index(seed_id) + 1 if seed_id in ids else None)
        hit1 = hit5 = 0
        wall = []
        for item, (f, query, vec) in zip(items, prepared[len(SEED_QUESTIONS) :], strict=True):
            t0 = time.perf_counter()
            got = run(query, 5, f, vec)
            wall.append((time.perf_counter() - t0) * 1e3)
            gold = [any(source_matches(s, p.release_id, p.url, p.title) for s in item.sources) for p in got]
            hit1 += bool(gold[:1] and gold[0])
            hit5 += any(gold)
        out[name] = {
            "seed_rank_top10": seed_ranks,
            "golden_hit@1": hit1,
            "golden_hit@5": hit5,
            "search_wall_ms": percentiles(wall) if wall else None,
        }
    return out
