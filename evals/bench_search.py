"""The search benchmark of issue 3: latency at scale, and retrieval quality at scale.

    python evals/bench_search.py [--cache DIR] [--skip-quality] [--sizes 5000,20000,50000]

Part 1, latency: for each size, an index of that many real chunks of /work/shared/corpus (passage
vectors from a hash stand-in, queries embedded with the real model: see `evals/bench_corpus.py`),
then, single-threaded and warm, over a fixed list of 50 questions: `Engine.search` and extractive
`Engine.answer` p50/p95, and the floor, plain Chroma `collection.query` with the query embedding
included, on the same index. Each size is measured in a fresh process, which also gives the
resident memory of a process holding that index ready to answer. Besides wall time the bench
records the CPU time of each call: on a shared machine the wall time includes waiting for a core.

Part 2, quality: real embeddings over >= 9,000 releases plus the seed (built once with the real
`pressbot ingest`, reused); the rank of the seed release for the seed questions in pressbot's search,
next to the naive pipeline (RecursiveCharacterTextSplitter(1000, 200) + same model + Chroma top-k),
with the diagnostics of where the seed's chunks stand on each side of the fusion.

Figures are printed with PASS/FAIL and written to DIR/bench-search.json. Builds and
measurements run in child processes bounded by timeouts.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from evals.bench_corpus import DEFAULT_CACHE, QUALITY_SOURCES, VECTORS_NOTE, bench_settings, latency_dir

log = logging.getLogger(__name__)

GOLDEN = Path(__file__).parent / "golden" / "sample.jsonl"
DEFAULT_QUALITY_DIR = Path(__file__).parent / ".cache" / "quality-9k"
# 36 golden questions (every type, two with an as_of date) + 14 others over the whole corpus
GOLDEN_IDS = (
    "seed-001 seed-002 seed-004 seed-007 mananeras-002 multi-002 mx-003 mx-006 mx-009 mx-012 mx-015 "
    "mx-018 mx-021 mx-024 mx-027 ca-001 ca-004 ca-007 ca-013 ca-016 ca-019 ca-022 sd-003 sd-006 sd-009 "
    "sd-012 ht-001 ht-004 cu-001 ve-002 mig-004 mig-007 d-002 d-005 unans-002 unans-008"
)
OTHER_QUESTIONS = (
    "How much funding does the CHIPS and Science Act provide for semiconductor manufacturing?",
    "When did President Biden sign the Bipartisan Infrastructure Law?",
    "What sanctions did the United States impose on Russia after it invaded Ukraine?",
    "How much humanitarian assistance did the United States announce for Ukraine in 2022?",
    "What does the Inflation Reduction Act cap insulin costs at for seniors on Medicare?",
    "Which countries joined the Indo-Pacific Economic Framework for Prosperity?",
    "What did the State Department say about the evacuation from Kabul in August 2021?",
    "What does the executive order on safe, secure and trustworthy artificial intelligence require?",
    "How many COVID-19 vaccine doses has the United States donated to other countries?",
    "What did the President say after the school shooting in Uvalde, Texas?",
    "What are the goals of the Global Methane Pledge?",
    "What tariffs did the administration announce on electric vehicles from China in May 2024?",
    "How many borrowers get relief under the student debt relief plan?",
    "Who leads the U.S. delegation to the inauguration of the President of Honduras?",
)
SEED_QUESTIONS = ("Which countries receive the $180 million program?", "which countries receive the $180M program?")
SEED_COUNTRIES = ("Guatemala", "Honduras", "El Salvador", "Colombia", "Ecuador", "Venezuela", "Cuba", "Haiti")
NAIVE_K = 20

TARGETS = {  # upper limits, as set in issue 3
    "search_p50_ms": 40.0,
    "search_p50_over_floor": 1.5,
    "search_p95_ms": 120.0,
    "answer_p50_ms": 300.0,
    "rss_mb": 1536.0,
}


def questions() -> list[dict[str, Any]]:
    golden = {}
    for line in GOLDEN.read_text().splitlines():
        if line.strip():
            item = json.loads(line)
            golden[item["id"]] = item
    out = [{"q": golden[i]["question"], "as_of": golden[i].get("as_of")} for i in GOLDEN_IDS.split() if i in golden]
    return out + [{"q": q, "as_of": None} for q in OTHER_QUESTIONS]


def _pct(values: list[float]) -> dict[str, float]:
    arr = np.asarray(values)
    return {
        "p50": round(float(np.percentile(arr, 50)), 1),
        "p95": round(float(np.percentile(arr, 95)), 1),
        "mean": round(float(arr.mean()), 1),
        "n": len(values),
    }


def _rss_mb() -> dict[str, float]:
    status = Path("/proc/self/status").read_text()
    get = lambda key: int(re.search(rf"^{key}:\s+(\d+) kB", status, re.M).group(1)) / 1024  # noqa: E731
    return {"rss_mb": round(get("VmRSS"), 1), "peak_rss_mb": round(get("VmHWM"), 1)}


class Clock:
    """Wall and CPU milliseconds of a call (CPU of every thread of this process)."""

    def __init__(self) -> None:
        self.wall: list[float] = []
        self.cpu: list[float] = []

    def time(self, fn: Any, *args: Any, **kwargs: Any) -> Any:
        w0, c0 = time.perf_counter(), time.process_time()
        out = fn(*args, **kwargs)
        self.cpu.append((time.process_time() - c0) * 1e3)
        self.wall.append((time.perf_counter() - w0) * 1e3)
        return out

    def figures(self) -> dict[str, Any]:
        return {"wall_ms": _pct(self.wall), "cpu_ms": _pct(self.cpu)}


# --- part 1: latency (runs in a child process per index) ---------------------------------------------
def measure_latency(data_dir: Path, rounds: int) -> dict[str, Any]:
    import torch

    from pressbot.engine import Engine

    t0 = time.perf_counter()
    engine = Engine.from_settings(bench_settings(data_dir))
    engine.index.lexical()
    load_s = time.perf_counter() - t0
    meta = engine.index.meta()
    embedder, chunks = engine.index.embedder, engine.index.chunks
    qs = questions()

    def floor(q: str) -> Any:
        # what a plain Chroma user pays: embed the query, top-k, documents and metadata back
        return chunks.query(
            query_embeddings=[embedder.encode_query(q)],
            n_results=engine.settings.k,
            include=["documents", "metadatas", "distances"],
        )

    log.info("%s: %d chunks loaded in %.1f s; warming up", data_dir, chunks.count(), load_s)
    for item in qs[:8]:  # warm-up: model, HNSW pages, lexical arrays, pysbd, caches
        floor(item["q"])
        engine.search(item["q"], as_of=item["as_of"])
        engine.answer(item["q"], as_of=item["as_of"])
    clocks = {name: Clock() for name in ("floor", "search", "answer")}
    parts: dict[str, list[float]] = {}
    answer_parts: dict[str, list[float]] = {}
    abstained = 0
    for r in range(rounds):
        log.info("round %d of %d", r + 1, rounds)
        for item in qs:  # interleaved, so a burst of load on the machine hits all three alike
            clocks["floor"].time(floor, item["q"])
            res = clocks["search"].time(engine.search, item["q"], as_of=item["as_of"])
            for key, ms in res.timings_ms.items():
                parts.setdefault(key, []).append(ms)
            if r == 0:
                ans = clocks["answer"].time(engine.answer, item["q"], as_of=item["as_of"])
                abstained += ans.abstained
                for key, ms in ans.timings_ms.items():
                    answer_parts.setdefault(key, []).append(ms)
    log.info("probes")
    probes = _probes(engine, qs)
    rss = _rss_mb()  # before the prototype adds its copy of the vectors
    log.info("prototype searcher")
    compared = compare_searchers(engine, qs)
    return {
        "data_dir": str(data_dir),
        "chunks": chunks.count(),
        "releases": engine.index.releases.count(),
        "passage_vectors": meta.get("bench_passage_vectors", "real model"),
        "query_model": embedder.name,
        "torch_threads": torch.get_num_threads(),
        "load_s": round(load_s, 1),
        "questions": len(qs),
        "rounds": rounds,
        **{name: clock.figures() for name, clock in clocks.items()},
        "search_parts_p50_ms": {k: round(float(np.median(v)), 2) for k, v in parts.items()},
        "answer_parts_p50_ms": {k: round(float(np.median(v)), 1) for k, v in answer_parts.items()},
        "answer_abstained": abstained,
        "probes_p50_ms": probes,
        "prototype": compared,
        **rss,
        "loadavg": os.getloadavg(),
    }


def _probes(engine: Any, qs: list[dict[str, Any]]) -> dict[str, float]:
    """Costs inside a search, measured one by one, to say where its time goes."""
    from pressbot.search import chroma_where

    index, searcher = engine.index, engine.searcher
    vecs = [index.embedder.encode_query(item["q"]) for item in qs]
    lex = index.lexical()
    out: dict[str, list[float]] = {}

    def t(name: str, fn: Any) -> Any:
        w0 = time.perf_counter()
        res = fn()
        out.setdefault(name, []).append((time.perf_counter() - w0) * 1e3)
        return res

    for item, vec in zip(qs, vecs, strict=True):
        f, _, _ = engine.resolve_filters(item["q"], as_of=item["as_of"])
        if (where := chroma_where(f)) is not None:
            t(
                f"chroma query n={searcher.candidates} with the date where",
                lambda v=vec, w=where: index.chunks.query(
                    query_embeddings=[v],
                    n_results=searcher.candidates,
                    where=w,
                    include=["documents", "metadatas", "distances"],
                ),
            )
        t("embed_query", lambda q=item["q"]: index.embedder.encode_query(q))
        t("index.lexical() freshness check", index.lexical)
        t("chroma query n=5 (no embed)", lambda v=vec: index.chunks.query(query_embeddings=[v], n_results=5))
        res = t(
            f"chroma query n={searcher.candidates} docs+metas",
            lambda v=vec: index.chunks.query(
                query_embeddings=[v], n_results=searcher.candidates, include=["documents", "metadatas", "distances"]
            ),
        )
        t(
            f"chroma query n={searcher.candidates} ids only",
            lambda v=vec: index.chunks.query(
                query_embeddings=[v], n_results=searcher.candidates, include=["distances"]
            ),
        )
        hits = t("bm25 search", lambda q=item["q"]: lex.search(q, searcher.candidates))
        dense = set(res["ids"][0])
        missing = [cid for cid, _ in hits if cid not in dense]
        if missing:
            t(
                "chroma get lexical-only hits",
                lambda m=missing: index.chunks.get(ids=m, include=["documents", "metadatas"]),
            )
        t("searcher.search (vector given)", lambda q=item["q"], v=vec: searcher.search(q, k=5, query_vector=v))
    return {name: round(float(np.median(v)), 2) for name, v in out.items()}


class InMemoryFilteredDense:
    """Prototype of the proposed dense side, measured under the live `Searcher` code unchanged.

    Stands in for the Chroma chunk collection: a query with a `where` (a date, source or language
    filter) is answered from an in-memory copy of the vectors, restricted by the lexical index's
    arrays (the same rows `LexicalIndex.mask` allows), instead of Chroma's filtered search, which
    scans metadata in full; the texts of the hits come back with one `get`. Unfiltered queries
    and every other call go to Chroma as before. `filters` is set by `filter_aware` searchers."""

    def __init__(self, collection: Any, lexical: Any) -> None:
        self.collection = collection
        self.lexical = lexical
        self.filters: Any = None
        self.ids = np.asarray(lexical.ids, dtype=object)
        row = {cid: i for i, cid in enumerate(lexical.ids)}
        self.vectors = np.zeros((len(row), 0), dtype=np.float32)
        offset = 0
        while True:
            got = collection.get(limit=5000, offset=offset, include=["embeddings"])
            if not got["ids"]:
                break
            vecs = np.asarray(got["embeddings"], dtype=np.float32)
            if self.vectors.shape[1] == 0:
                self.vectors = np.zeros((len(row), vecs.shape[1]), dtype=np.float32)
            self.vectors[[row[c] for c in got["ids"]]] = vecs
            offset += len(got["ids"])

    def __getattr__(self, name: str) -> Any:
        return getattr(self.collection, name)

    def query(self, *, query_embeddings: Any, n_results: int, where: Any = None, include: Any = ()) -> Any:
        if where is None:
            return self.collection.query(query_embeddings=query_embeddings, n_results=n_results, include=include)
        from pressbot.search import _ord

        f = self.filters
        mask = self.lexical.mask(
            since=_ord(f.since) if f.since else None,
            until=_ord(f.until) if f.until else None,
            sources=f.sources or None,
            language=f.language,
            include_undated=True,
        )
        rows = np.flatnonzero(mask)
        if not len(rows):
            return {"ids": [[]], "documents": [[]], "metadatas": [[]], "distances": [[]]}
        qvec = np.asarray(query_embeddings[0], dtype=np.float32)
        # a wide window: one product over every row beats copying most of the matrix
        sims = (self.vectors @ qvec)[rows] if 4 * len(rows) > len(self.ids) else self.vectors[rows] @ qvec
        top = np.argsort(-sims) if len(rows) <= n_results else np.argpartition(-sims, n_results)[:n_results]
        top = top[np.argsort(-sims[top], kind="stable")]
        ids = self.ids[rows[top]].tolist()
        got = self.collection.get(ids=ids, include=["documents", "metadatas"])
        by_id = dict(zip(got["ids"], zip(got["documents"], got["metadatas"], strict=True), strict=True))
        return {
            "ids": [ids],
            "documents": [[by_id[c][0] for c in ids]],
            "metadatas": [[by_id[c][1] for c in ids]],
            "distances": [[1.0 - float(x) for x in sims[top]]],
        }


def filter_aware(index: Any, **kwargs: Any) -> Any:
    """A live `Searcher` over `index` that hands each search's filters to its InMemoryFilteredDense."""
    from pressbot.search import Filters, Searcher

    class FilterAware(Searcher):
        def search(self, query: str, *, filters: Any = None, **kw: Any) -> Any:
            self.index.chunks.filters = filters or Filters()
            return super().search(query, filters=filters, **kw)

    return FilterAware(index, **kwargs)


def compare_searchers(engine: Any, qs: list[dict[str, Any]]) -> dict[str, Any]:
    """The live Searcher as is, vs the same Searcher with the proposed fixes: (1) filtered dense
    searches from memory (`InMemoryFilteredDense`); (2) the lexical index's freshness check (two
    Chroma calls per search) skipped, as a check at most every few seconds would; and, separately,
    (3) without the query-time sentence rescoring, to show its cost."""
    from pressbot.search import Searcher

    index = engine.index
    rss0 = _rss_mb()["rss_mb"]
    t0 = time.perf_counter()
    lex = index.lexical()
    dense = InMemoryFilteredDense(index.chunks, lex)
    load_s = time.perf_counter() - t0
    rss1 = _rss_mb()["rss_mb"]

    class Fixed:  # the index as the patched Searcher sees it
        embedder = index.embedder
        chunks = dense

        @staticmethod
        def lexical(**_: Any) -> Any:
            return lex

    live = engine.searcher
    fixed = filter_aware(Fixed(), candidates=live.candidates, rescore=live.rescore)
    no_rescore = Searcher(index, candidates=live.candidates, rescore=0)
    fixed_no_rescore = filter_aware(Fixed(), candidates=live.candidates, rescore=0)
    k = engine.settings.k
    prepared = []
    for item in qs:
        f, query, _ = engine.resolve_filters(item["q"], as_of=item["as_of"])
        prepared.append((f, query, index.embedder.encode_query(query)))
    names = ("live", "fixed (1)+(2)", "live without rescoring", "fixed without rescoring")
    clocks = {name: {"all": Clock(), "filtered": Clock()} for name in names}
    same = 0
    diffs: list[dict[str, Any]] = []
    for f, query, vec in prepared * 2:
        filtered = chroma_filtered(f)
        results = {}
        for name, searcher in zip(names, (live, fixed, no_rescore, fixed_no_rescore), strict=True):
            res = clocks[name]["all"].time(searcher.search, query, k=k, filters=f, query_vector=vec)
            if filtered:
                clocks[name]["filtered"].wall.append(clocks[name]["all"].wall[-1])
                clocks[name]["filtered"].cpu.append(clocks[name]["all"].cpu[-1])
            results[name] = [p.release_id for p in res.passages]
        same += results["live"] == results["fixed (1)+(2)"]
        if results["live"] != results["fixed (1)+(2)"] and len(diffs) < 3:
            diffs.append(
                {"query": query, "filtered": filtered, "live": results["live"], "fixed": results["fixed (1)+(2)"]}
            )
    return {
        "wall_ms": {name: {kind: _pct(c.wall) for kind, c in by.items() if c.wall} for name, by in clocks.items()},
        "cpu_ms": {name: {kind: _pct(c.cpu) for kind, c in by.items() if c.cpu} for name, by in clocks.items()},
        "same_top_k_releases": f"{same}/{2 * len(prepared)}",
        "differences": diffs,
        "vectors_in_memory_mb": round(rss1 - rss0, 1),
        "vectors_load_s": round(load_s, 1),
        "with_sentence_lookup": _with_sentence_lookup(engine, qs, dense, lex),
    }


class SentenceLookup:
    """The real model for queries; for passages and sentences, hash vectors standing in for a
    lookup of vectors stored at ingest (what `answer()` and the rescoring would cost if sentences
    were embedded once, at ingest, instead of at every question)."""

    def __init__(self, real: Any) -> None:
        from pressbot.embeddings import HashEmbeddings

        self.real = real
        self.name, self.dimension, self.max_tokens = real.name, real.dimension, real.max_tokens
        self.stand_in = HashEmbeddings(real.dimension)

    def encode_query(self, text: str) -> np.ndarray:
        return self.real.encode_query(text)

    def encode_passages(self, texts: Any) -> np.ndarray:
        return self.stand_in.encode_passages(texts)

    def encode_cached(self, texts: Any, cache: dict[str, np.ndarray]) -> np.ndarray:
        return self.stand_in.encode_cached(texts, cache)


def _with_sentence_lookup(engine: Any, qs: list[dict[str, Any]], dense: Any, lex: Any) -> dict[str, Any]:
    """search() and answer() latency with fixes (1)+(2) and sentence vectors looked up instead of
    encoded (rescoring kept). Latency only: the stand-in vectors make its answers meaningless."""
    from pressbot.engine import Engine

    class Fixed:
        embedder = SentenceLookup(engine.index.embedder)
        chunks = dense

        @staticmethod
        def lexical(**_: Any) -> Any:
            return lex

    projected = Engine(engine.settings, Fixed(), None)  # type: ignore[arg-type]
    projected.searcher = filter_aware(Fixed(), candidates=engine.searcher.candidates, rescore=engine.searcher.rescore)
    clocks = {"search": Clock(), "answer": Clock()}
    for item in qs[:5]:
        projected.answer(item["q"], as_of=item["as_of"])
    for item in qs:
        clocks["search"].time(projected.search, item["q"], as_of=item["as_of"])
        clocks["answer"].time(projected.answer, item["q"], as_of=item["as_of"])
    return {name: clock.figures() for name, clock in clocks.items()}


def chroma_filtered(f: Any) -> bool:
    from pressbot.search import chroma_where

    return chroma_where(f) is not None


def run_latency(cache: Path, sizes: list[int], rounds: int, build_timeout: float) -> list[dict[str, Any]]:
    results = []
    for n in sorted(sizes, reverse=True):  # the largest first: its chunking serves every size
        _child(["-m", "evals.bench_corpus", "latency", "--cache", str(cache), "--chunks", str(n)], build_timeout)
    for n in sorted(sizes):
        out = _child(
            [
                "-m",
                "evals.bench_search",
                "--worker",
                "latency",
                "--data-dir",
                str(latency_dir(cache, n)),
                "--rounds",
                str(rounds),
            ],
            3600,
        )
        out["size"] = n
        results.append(out)
        print(f"  measured {n}: search p50 {out['search']['wall_ms']['p50']} ms", flush=True)
    return results


def _child(args: list[str], timeout: float) -> dict[str, Any]:
    """Run a build or measurement in a fresh process; its last stdout line is a JSON object."""
    proc = subprocess.run([sys.executable, *args], capture_output=True, text=True, timeout=timeout)
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(args)} failed ({proc.returncode}):\n{proc.stderr[-4000:]}")
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("{")]
    return json.loads(lines[-1]) if lines else {}


# --- part 2: quality (child process) -----------------------------------------------------------------
def measure_quality(data_dir: Path, cache: Path, naive: str) -> dict[str, Any]:
    from pressbot.engine import Engine

    engine = Engine.from_settings(bench_settings(data_dir))
    index = engine.index
    stats = index.stats()
    seed = next((r for r in index.iter_releases() if r.source == "seed"), None)
    if seed is None:
        raise SystemExit(f"no release of source 'seed' in {data_dir}; ingest /work/shared/corpus/seed into it")
    out: dict[str, Any] = {
        "releases": stats["releases"],
        "chunks": stats["chunks"],
        "sources": stats["sources"],
        "seed_id": seed.id,
        "questions": {},
    }
    naive_col, naive_info = _naive_collection(index, cache, naive, seed.id)
    out["naive"] = naive_info
    for q in SEED_QUESTIONS:
        row = _diagnose(engine, q, seed.id)
        ans = engine.answer(q)
        row["answer_has_countries"] = [c for c in SEED_COUNTRIES if c.lower() in ans.answer.lower()]
        row["answer_cites_seed"] = any(c.release_id == seed.id for c in ans.citations)
        row["answer"] = ans.answer
        row["naive"] = _naive_rank(naive_col, index.embedder, q, seed.id)
        row["small_to_big_proxy"] = _sentence_proxy(engine, q, seed.id)
        out["questions"][q] = row
    out["variants"] = compare_fusions(engine, seed.id)
    return out


# --- fusion variants (prototypes of fixes, measured on the quality index) ----------------------------
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
    """A search function: the given Searcher, plus (amount_bonus > 0) a bonus for the chunks that
    state every amount the question asks about."""
    from pressbot.search import RRF_K

    def run(query: str, k: int, f: Any, vec: np.ndarray) -> list[Any]:
        res = searcher.search(query, k=k, filters=f, query_vector=vec)
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
            "search_wall_ms": _pct(wall) if wall else None,
        }
    return out


def _sentence_proxy(engine: Any, q: str, seed_id: str) -> dict[str, Any]:
    """What embedding sentences (returning their chunks) would do, estimated on the candidates: the
    chunks among the 1,000 nearest plus the 200 best BM25 hits, each scored by its best sentence's
    cosine, fused with the lexical list as the Searcher fuses. Sentences of other chunks are not
    embedded (too costly here), so this is an estimate, optimistic for the seed."""
    from pressbot.search import RRF_K
    from pressbot.sentences import split_sentences

    index = engine.index
    qvec = index.embedder.encode_query(q)
    dense = index.chunks.query(query_embeddings=[qvec], n_results=1000, include=["documents"])
    docs = dict(zip(dense["ids"][0], dense["documents"][0], strict=True))
    lex = index.lexical().search(q, 200)
    missing = [cid for cid, _ in lex if cid not in docs]
    if missing:
        got = index.chunks.get(ids=missing, include=["documents"])
        docs.update(zip(got["ids"], got["documents"], strict=True))
    cache = _SENTENCE_CACHE
    best: dict[str, tuple[float, str]] = {}
    for cid, doc in docs.items():
        sents = [s for s in split_sentences(doc) if len(s) >= 25] or [doc]
        vecs = index.embedder.encode_cached(sents, cache)
        sims = vecs @ qvec
        j = int(np.argmax(sims))
        best[cid] = (float(sims[j]), sents[j])
    by_sentence = sorted(best, key=lambda c: -best[c][0])
    fused: dict[str, float] = {}
    for rank, cid in enumerate(by_sentence[:40]):
        fused[cid] = 1.0 / (RRF_K + rank)
    for rank, (cid, _) in enumerate(lex[:40]):
        fused[cid] = fused.get(cid, 0.0) + 1.0 / (RRF_K + rank)
    release_order: list[str] = []
    for cid in sorted(fused, key=lambda c: -fused[c]):
        rid = cid.rsplit(":", 1)[0]
        if rid not in release_order:
            release_order.append(rid)
    sentence_releases: list[str] = []
    for cid in by_sentence:
        rid = cid.rsplit(":", 1)[0]
        if rid not in sentence_releases:
            sentence_releases.append(rid)
    return {
        "candidate_chunks": len(docs),
        "seed_rank_by_best_sentence": sentence_releases.index(seed_id) + 1 if seed_id in sentence_releases else None,
        "seed_rank_fused_with_lexical": release_order.index(seed_id) + 1 if seed_id in release_order else None,
        "top_sentences": [
            {"release": c.rsplit(":", 1)[0][-60:], "cosine": round(best[c][0], 3), "sentence": best[c][1][:160]}
            for c in by_sentence[:5]
        ],
    }


_SENTENCE_CACHE: dict[str, np.ndarray] = {}


def _diagnose(engine: Any, q: str, seed_id: str) -> dict[str, Any]:
    """The seed's rank in pressbot's search, and where its chunks stand on each side of the fusion."""
    index, searcher = engine.index, engine.searcher
    default = [p.release_id for p in engine.search(q).passages]  # k from settings: what answer() sees
    res = engine.search(q, k=50)
    ranks = [p.release_id for p in res.passages]
    qvec = index.embedder.encode_query(q)
    seed_chunks = index.chunks.get(where={"release_id": seed_id}, include=["embeddings", "documents"])
    sims = np.asarray(seed_chunks["embeddings"]) @ qvec
    deep = index.chunks.query(query_embeddings=[qvec], n_results=3000, include=["distances", "metadatas"])
    dense_order = deep["ids"][0]
    lex_hits = [cid for cid, _ in index.lexical().search(q, 3000)]
    seed_rows = []
    for cid, sim, doc in zip(seed_chunks["ids"], sims, seed_chunks["documents"], strict=True):
        seed_rows.append(
            {
                "chunk": cid,
                "cosine": round(float(sim), 3),
                "dense_rank": dense_order.index(cid) + 1 if cid in dense_order else None,
                "lexical_rank": lex_hits.index(cid) + 1 if cid in lex_hits else None,
                "has_answer": "Guatemala" in doc and "180" in doc,
            }
        )
    top = [
        {
            "release": p.release_id[-70:],
            "title": p.title[:80],
            "fused": round(p.score, 5),
            "cosine": None if p.similarity is None else round(p.similarity, 3),
            "dense_rank": None if p.dense_rank is None else p.dense_rank + 1,
            "lexical_rank": None if p.lexical_rank is None else p.lexical_rank + 1,
        }
        for p in res.passages[:5]
    ]
    seed_passage = next((p for p in res.candidates if p.release_id == seed_id), None)
    return {
        "rank": default.index(seed_id) + 1 if seed_id in default else None,
        "rank_k50": ranks.index(seed_id) + 1 if seed_id in ranks else None,
        "candidates_per_side": {"k=default": max(searcher.candidates, 4 * engine.settings.k), "k=50": 200},
        "seed_chunks": seed_rows,
        "seed_fused": round(seed_passage.score, 5) if seed_passage else None,
        "top5": top,
    }


def _competitors(index: Any, seed_id: str) -> set[str]:
    """The releases that could outrank the seed in the naive pipeline: those with a chunk among the
    1,000 nearest (same model) or the 200 best BM25 hits for a seed question, and the seed."""
    keep = {seed_id}
    for q in SEED_QUESTIONS:
        res = index.chunks.query(
            query_embeddings=[index.embedder.encode_query(q)], n_results=1000, include=["metadatas"]
        )
        keep |= {m["release_id"] for m in res["metadatas"][0]}
        keep |= {cid.rsplit(":", 1)[0] for cid, _ in index.lexical().search(q, 200)}
    return keep


def _naive_collection(index: Any, cache: Path, subset: str, seed_id: str) -> tuple[Any, dict[str, Any]]:
    """The naive pipeline's collection over every release (subset='all'), or (subset='competitors')
    over the seed and its likely competitors only. The seed's rank in a subset is a lower bound of
    its rank over every release: more releases can only push it down."""
    import chromadb
    from chromadb.config import Settings as ChromaSettings
    from langchain_text_splitters import RecursiveCharacterTextSplitter

    path = cache / f"naive-{subset}"
    client = chromadb.PersistentClient(path=str(path), settings=ChromaSettings(anonymized_telemetry=False))
    fp = f"{index.fingerprint()}:{subset}"
    try:
        col = client.get_collection("naive", embedding_function=None)
        if (col.metadata or {}).get("fingerprint") == fp:
            return col, dict(col.metadata or {})
        client.delete_collection("naive")
    except Exception:  # absent: build it
        log.info("building the naive collection at %s", path)
    keep = _competitors(index, seed_id) if subset == "competitors" else None
    col = client.create_collection(
        "naive",
        embedding_function=None,
        configuration={"hnsw": {"space": "cosine"}},
        metadata={"fingerprint": "building"},
    )
    splitter = RecursiveCharacterTextSplitter(chunk_size=1000, chunk_overlap=200)
    t0 = time.perf_counter()
    releases = n = 0
    batch: list[tuple[str, str, dict[str, str]]] = []

    def flush() -> None:
        col.add(
            ids=[b[0] for b in batch],
            documents=[b[1] for b in batch],
            metadatas=[b[2] for b in batch],
            embeddings=index.embedder.encode_passages([b[1] for b in batch]),
        )
        batch.clear()

    for rec in index.iter_releases(with_text=True):
        text = rec.text or ""
        if keep is not None and rec.id not in keep:
            continue
        releases += 1
        for i, piece in enumerate(splitter.split_text(text)):
            batch.append((f"{rec.id}:{i}", piece, {"release_id": rec.id, "title": rec.title}))
            n += 1
        if len(batch) >= 256:
            flush()
    if batch:
        flush()
    info = {
        "fingerprint": fp,
        "subset": subset,
        "releases": releases,
        "chunks": n,
        "build_s": round(time.perf_counter() - t0),
    }
    col.modify(metadata=info)
    return col, info


def _naive_rank(col: Any, embedder: Any, q: str, seed_id: str) -> dict[str, Any]:
    qvec = embedder.encode_query(q)
    res = col.query(query_embeddings=[qvec], n_results=200, include=["metadatas", "distances"])
    releases: list[str] = []
    best_seed = None
    for cid, meta, dist in zip(res["ids"][0], res["metadatas"][0], res["distances"][0], strict=True):
        if meta["release_id"] not in releases:
            releases.append(meta["release_id"])
        if meta["release_id"] == seed_id and best_seed is None:
            best_seed = {"chunk": cid, "chunk_rank": res["ids"][0].index(cid) + 1, "cosine": round(1 - dist, 3)}
    chunk_top = [m["release_id"] for m in res["metadatas"][0][:NAIVE_K]]
    return {
        "rank_in_top20_chunks": chunk_top.index(seed_id) + 1 if seed_id in chunk_top else None,
        "release_rank": releases.index(seed_id) + 1 if seed_id in releases else None,
        "seed_best_chunk": best_seed,
        "top1_cosine": round(1 - res["distances"][0][0], 3),
        "cosine_at_20": round(1 - res["distances"][0][NAIVE_K - 1], 3),
    }


# --- the report ----------------------------------------------------------------------------------------
def verdicts(lat: dict[str, Any]) -> list[tuple[str, float, str, bool]]:
    s, a, f = lat["search"]["wall_ms"], lat["answer"]["wall_ms"], lat["floor"]["wall_ms"]
    ratio = s["p50"] / f["p50"] if f["p50"] else float("inf")
    rows = [
        ("search p50 (ms)", s["p50"], "<= 40", s["p50"] <= TARGETS["search_p50_ms"]),
        ("search p50 / floor p50", round(ratio, 2), "<= 1.5", ratio <= TARGETS["search_p50_over_floor"]),
        ("search p95 (ms)", s["p95"], "<= 120", s["p95"] <= TARGETS["search_p95_ms"]),
        ("extractive answer p50 (ms)", a["p50"], "<= 300", a["p50"] <= TARGETS["answer_p50_ms"]),
        ("RSS ready to answer (MB)", lat["rss_mb"], "<= 1536", lat["rss_mb"] <= TARGETS["rss_mb"]),
    ]
    return rows


def print_report(report: dict[str, Any]) -> None:
    lat = report.get("latency") or []
    if lat:
        print(f"\nLatency (passage vectors: {VECTORS_NOTE}; single-threaded, warm; wall ms, CPU ms in brackets)")
        print(
            f"{'chunks':>8} {'floor p50/p95':>18} {'search p50/p95':>18} {'answer p50/p95':>20}"
            f" {'RSS MB':>8} {'load':>5}"
        )
        for r in lat:
            fl, se, an = r["floor"], r["search"], r["answer"]
            print(
                f"{r['chunks']:>8} {fl['wall_ms']['p50']:>7}/{fl['wall_ms']['p95']:<6}[{fl['cpu_ms']['p50']:>4}]"
                f" {se['wall_ms']['p50']:>7}/{se['wall_ms']['p95']:<6}[{se['cpu_ms']['p50']:>4}]"
                f" {an['wall_ms']['p50']:>8}/{an['wall_ms']['p95']:<7}[{an['cpu_ms']['p50']:>5}]"
                f" {r['rss_mb']:>8} {r['loadavg'][0]:>5.1f}"
            )
        big = max(lat, key=lambda r: r["chunks"])
        print(f"\nsearch parts p50 at {big['chunks']} chunks (ms): {big['search_parts_p50_ms']}")
        print(
            f"answer parts p50 (ms): {big['answer_parts_p50_ms']}; "
            f"abstained {big['answer_abstained']}/{big['questions']}"
        )
        print(f"probes p50 (ms): {big['probes_p50_ms']}")
        proto = big["prototype"]
        print(f"\nSearcher variants at {big['chunks']} chunks, same queries and vectors (wall ms p50/p95; CPU p50):")
        for name, by in proto["wall_ms"].items():
            cpu = proto["cpu_ms"][name]
            line = "  ".join(
                f"{kind} {by[kind]['p50']}/{by[kind]['p95']} [{cpu[kind]['p50']}]"
                for kind in ("all", "filtered")
                if kind in by
            )
            print(f"  {name:<26} {line}")
        look = proto.get("with_sentence_lookup")
        if look:
            se, an = look["search"], look["answer"]
            print(
                f"  fixed (1)+(2), sentence vectors looked up (latency only): search {se['wall_ms']['p50']}/"
                f"{se['wall_ms']['p95']} [{se['cpu_ms']['p50']}], answer {an['wall_ms']['p50']}/{an['wall_ms']['p95']}"
                f" [{an['cpu_ms']['p50']}]"
            )
        print(
            f"  fixed vs live: same top-{big.get('k', 5)} releases {proto['same_top_k_releases']}; "
            f"vectors in memory +{proto['vectors_in_memory_mb']} MB, loaded in {proto['vectors_load_s']} s"
        )
        print(f"\nTargets at {big['chunks']} chunks:")
        for name, value, target, ok in verdicts(big):
            print(f"  {name:<28} {value:>9} {target:>8}  {'PASS' if ok else 'FAIL'}")
    qual = report.get("quality")
    if qual:
        print(
            f"\nQuality: {qual['releases']} releases, {qual['chunks']} chunks, real embeddings; "
            f"naive pipeline over {qual['naive']['releases']} releases ({qual['naive']['subset']})"
        )
        for q, row in qual["questions"].items():
            nv, proxy = row["naive"], row["small_to_big_proxy"]
            ok = row["rank"] == 1
            print(f"\n  {q!r}")
            print(
                f"    pressbot rank {row['rank']} ({'PASS' if ok else 'FAIL'}: target 1), "
                f"rank with k=50: {row['rank_k50']}"
            )
            print(
                f"    naive release rank {nv['release_rank']} (a lower bound; among the top-20 chunks: "
                f"{nv['rank_in_top20_chunks']}); its best seed chunk: {nv['seed_best_chunk']}"
            )
            print(
                f"    answer names {len(row['answer_has_countries'])}/8 countries, "
                f"cites the seed: {row['answer_cites_seed']}"
            )
            for c in row["seed_chunks"]:
                holds = " (holds the answer)" if c["has_answer"] else ""
                print(
                    f"    seed chunk {c['chunk'].rsplit(':', 1)[1]}: cosine {c['cosine']}, "
                    f"dense rank {c['dense_rank']}, lexical rank {c['lexical_rank']}{holds}"
                )
            print(f"    seed's fused score {row['seed_fused']}; the top 3:")
            for t in row["top5"][:3]:
                print(
                    f"      {t['fused']} cosine {t['cosine']} dense {t['dense_rank']} lexical {t['lexical_rank']}: "
                    f"{t['title']}"
                )
            print(
                f"    sentence-level estimate (small-to-big): seed rank by best sentence "
                f"{proxy['seed_rank_by_best_sentence']}, fused with lexical {proxy['seed_rank_fused_with_lexical']} "
                f"(over {proxy['candidate_chunks']} candidate chunks)"
            )
        variants = qual.get("variants", {})
        print(
            "\n  Search variants (golden questions whose source is in the index: "
            f"{variants.get('golden_questions_in_index')}):"
        )
        for name, v in variants.items():
            if isinstance(v, dict):
                wall = v["search_wall_ms"] or {}
                print(
                    f"    {name:<46} seed ranks {v['seed_rank_top10']}, golden hit@1 {v['golden_hit@1']}, "
                    f"hit@5 {v['golden_hit@5']}, search p50 {wall.get('p50')} ms"
                )
    print(f"\nload average during the run: {report['loadavg']} on {os.cpu_count()} cores (shared machine)")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cache", type=Path, default=DEFAULT_CACHE, help="where the latency indexes are cached")
    parser.add_argument("--quality-dir", type=Path, default=DEFAULT_QUALITY_DIR, help="the real-embedding index")
    parser.add_argument("--sizes", default="5000,20000,50000", help="chunk counts of the latency indexes")
    parser.add_argument("--rounds", type=int, default=2, help="passes over the questions for search and floor")
    parser.add_argument("--skip-quality", action="store_true")
    parser.add_argument("--skip-latency", action="store_true")
    parser.add_argument(
        "--naive",
        choices=["competitors", "all"],
        default="competitors",
        help="naive pipeline over the seed and its likely competitors (quick), or every release",
    )
    parser.add_argument("--build-timeout", type=float, default=3600, help="seconds per latency index build")
    parser.add_argument("--quality-timeout", type=float, default=7200, help="seconds for the quality build")
    parser.add_argument(
        "--no-quality-build", action="store_true", help="measure the quality index as it is (no ingest)"
    )
    parser.add_argument("--worker", choices=["latency", "quality"], help=argparse.SUPPRESS)
    parser.add_argument("--data-dir", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(name)s %(message)s")
    log.setLevel(logging.INFO)

    if args.worker == "latency":
        print(json.dumps(measure_latency(args.data_dir, args.rounds)))
        return
    if args.worker == "quality":
        print(json.dumps(measure_quality(args.data_dir, args.cache, args.naive)))
        return

    sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    command = " ".join(["python evals/bench_search.py", *(argv if argv is not None else sys.argv[1:])])
    out = args.cache / "bench-search.json"
    # a run of one part keeps the other part's last figures (each part says which command made it)
    report: dict[str, Any] = json.loads(out.read_text()) if out.exists() else {}
    if not args.skip_latency:
        lat = run_latency(args.cache, sizes, args.rounds, args.build_timeout)
        report["latency"] = lat
        report["latency_run"] = {"command": command, "finished": time.strftime("%Y-%m-%d %H:%M:%S")}
        report["verdicts"] = [
            {"figure": n, "value": v, "target": t, "pass": ok}
            for n, v, t, ok in verdicts(max(lat, key=lambda r: r["chunks"]))
        ]
    if not args.skip_quality:
        report["quality"] = run_quality(args)
        report["quality_run"] = {"command": command, "finished": time.strftime("%Y-%m-%d %H:%M:%S")}
    report["loadavg"] = os.getloadavg()
    args.cache.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2))
    print_report(report)
    print(f"\nfigures: {out}")


def run_quality(args: argparse.Namespace) -> dict[str, Any]:
    import subprocess as sp

    from evals.bench_corpus import build_quality_index

    if not args.no_quality_build:
        print(f"quality index: {args.quality_dir} (ingesting {len(QUALITY_SOURCES)} sources; unchanged ones are quick)")
        try:
            build_quality_index(args.quality_dir, args.quality_dir.with_suffix(".log"), args.quality_timeout)
        except (sp.CalledProcessError, sp.TimeoutExpired) as exc:
            # measure what is there: the figures carry the index's size
            print(f"quality build incomplete ({exc}); measuring the index as it is", file=sys.stderr)
    worker = ["-m", "evals.bench_search", "--worker", "quality", "--data-dir", str(args.quality_dir)]
    return _child([*worker, "--cache", str(args.cache), "--naive", args.naive], args.quality_timeout)


if __name__ == "__main__":
    main()
