"""The search benchmark of issue 3: latency at scale, and retrieval quality at scale.

    python -m evals.bench_search [--cache DIR] [--sizes 5000,20000,50000] [--skip-quality] [--skip-latency]

Part 1, latency: for each size, an index of that many real chunks of the corpus in $PRESSBOT_CORPUS, written
as ingest writes it (chunks with their sentence ends, the sentences' vectors in the sentence-vector
store) but with hash stand-ins for passage and sentence vectors; queries are embedded with the
real model (see `evals/bench_corpus.py`). Single-threaded and warm, over a fixed list of 50
questions: the floor (plain Chroma `collection.query`, query embedding included), `Engine.search`
and extractive `Engine.answer`, p50/p95 of wall and CPU time, with the parts each call reports.
With stand-in sentence vectors most extractive answers abstain, skipping the citation check, so
the answer is also timed with abstention off (the full path a real answer takes). Probes time the
steps of a search and an answer one by one, as the live code runs them, to say where the time
goes; texts the engine had to encode at question time (sentences missing from the store) are
counted. Each size is measured in a fresh process, which also gives the resident memory of a
process holding that index ready to answer. CPU time is recorded beside wall time: on a shared
machine the wall time includes waiting for a core; the load average is printed with each size.

Part 2, quality: real embeddings over >= 9,000 releases plus the seed (built once with the real
`pressbot ingest`, reused); the rank of the seed release for the seed questions in pressbot's search,
next to the naive pipeline (RecursiveCharacterTextSplitter(1000, 200) + same model + Chroma top-k),
with the diagnostics of where the seed's chunks stand on each side of the fusion, and fusion
variants checked against the golden questions whose source is in the index.

Figures are printed with PASS/FAIL and written to DIR/bench-search.json. Builds and
measurements run in child processes bounded by timeouts.
"""

from __future__ import annotations

import argparse
import gc
import json
import logging
import os
import re
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
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


class GcPauses:
    """The cyclic garbage collector's pauses while measuring, by generation: a full (generation
    2) collection walks every tracked object of the process, the loaded index's included."""

    def __init__(self) -> None:
        self.pauses: dict[int, list[float]] = {0: [], 1: [], 2: []}
        self._t0 = 0.0
        gc.callbacks.append(self)

    def __call__(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._t0 = time.perf_counter()
        else:
            self.pauses[info["generation"]].append((time.perf_counter() - self._t0) * 1e3)

    def figures(self) -> dict[str, Any]:
        gc.callbacks.remove(self)
        return {
            f"gen{g}": {"n": len(v), "total_ms": round(sum(v), 1), "max_ms": round(max(v, default=0.0), 1)}
            for g, v in self.pauses.items()
        }


# --- part 1: latency (runs in a child process per index) ---------------------------------------------
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


def run_latency(cache: Path, sizes: list[int], rounds: int, build_timeout: float) -> list[dict[str, Any]]:
    results = []
    for n in sorted(sizes, reverse=True):  # the largest first: its chunking serves every size
        info = _child(["-m", "evals.bench_corpus", "latency", "--cache", str(cache), "--chunks", str(n)], build_timeout)
        print(f"  index of {n} chunks: {info}", flush=True)
    for n in sorted(sizes):
        worker = ["-m", "evals.bench_search", "--worker", "latency", "--data-dir", str(latency_dir(cache, n))]
        out = _child([*worker, "--rounds", str(rounds)], 3600)
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
    from pressbot.index_stats import index_stats

    engine = Engine.from_settings(bench_settings(data_dir))
    index = engine.index
    stats = index_stats(index)
    seed = next((r for r in index.iter_releases() if r.source == "seed"), None)
    if seed is None:
        raise SystemExit(f"no release of source 'seed' in {data_dir}; ingest $PRESSBOT_CORPUS/seed")
    out: dict[str, Any] = {
        "passage_vectors": index.meta().get("bench_passage_vectors", f"real ({index.embedder.name})"),
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
            "search_wall_ms": _pct(wall) if wall else None,
        }
    return out


def _sentence_proxy(engine: Any, q: str, seed_id: str) -> dict[str, Any]:
    """What embedding sentences (returning their chunks) would do, estimated on the candidates: the
    chunks among the 1,000 nearest plus the 200 best BM25 hits, each scored by its best sentence's
    cosine (sentences as cut at ingest, vectors from the store), fused with the lexical list as the
    Searcher fuses. Sentences of other chunks are not considered, so this is an estimate,
    optimistic for the seed."""
    from pressbot.search import RRF_K, _passage
    from pressbot.sentence_vectors import VectorCache
    from pressbot.sentences import passage_sentences

    index = engine.index
    qvec = index.embedder.encode_query(q)
    dense = index.chunks.query(query_embeddings=[qvec], n_results=1000, include=["documents", "metadatas"])
    rows = list(zip(dense["ids"][0], dense["documents"][0], dense["metadatas"][0], strict=True))
    lex = index.lexical().search(q, 200)
    have = set(dense["ids"][0])
    missing = [cid for cid, _ in lex if cid not in have]
    if missing:
        got = index.chunks.get(ids=missing, include=["documents", "metadatas"])
        rows += zip(got["ids"], got["documents"], got["metadatas"], strict=True)
    sentences: dict[str, list[str]] = {}
    for cid, doc, meta in rows:
        p = _passage(cid, doc, meta)
        sentences[cid] = [s for s in passage_sentences(p) if len(s) >= 25] or [doc]
    flat = [s for sents in sentences.values() for s in sents]
    sims = dict(zip(flat, index.embedder.encode_cached(flat, VectorCache(index.sentence_vectors)) @ qvec, strict=True))
    best = {cid: max((float(sims[s]), s) for s in sents) for cid, sents in sentences.items()}
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
        "candidate_chunks": len(sentences),
        "seed_rank_by_best_sentence": sentence_releases.index(seed_id) + 1 if seed_id in sentence_releases else None,
        "seed_rank_fused_with_lexical": release_order.index(seed_id) + 1 if seed_id in release_order else None,
        "top_sentences": [
            {"release": c.rsplit(":", 1)[0][-60:], "cosine": round(best[c][0], 3), "sentence": best[c][1][:160]}
            for c in by_sentence[:5]
        ],
    }


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
    s, f = lat["search"]["wall_ms"], lat["floor"]["wall_ms"]
    a, full = lat["answer"]["wall_ms"], lat["answer_no_abstention"]["wall_ms"]
    ratio = s["p50"] / f["p50"] if f["p50"] else float("inf")
    out = [
        ("search p50 (ms)", s["p50"], "<= 40", s["p50"] <= TARGETS["search_p50_ms"]),
        ("search p50 / floor p50", round(ratio, 2), "<= 1.5", ratio <= TARGETS["search_p50_over_floor"]),
    ]
    if lat.get("floor_torch"):
        ft = lat["floor_torch"]["wall_ms"]
        ratio_t = s["p50"] / ft["p50"] if ft["p50"] else float("inf")
        out.append(
            ("  over the floor with a torch query embedding", round(ratio_t, 2), "<= 1.5", ratio_t <= 1.5)
        )
    out += [
        ("search p95 (ms)", s["p95"], "<= 120", s["p95"] <= TARGETS["search_p95_ms"]),
        ("extractive answer p50 (ms)", a["p50"], "<= 300", a["p50"] <= TARGETS["answer_p50_ms"]),
        ("  the same, never abstaining", full["p50"], "<= 300", full["p50"] <= TARGETS["answer_p50_ms"]),
        ("RSS ready to answer (MB)", lat["rss_mb"], "<= 1536", lat["rss_mb"] <= TARGETS["rss_mb"]),
    ]
    return out


def _cell(fig: dict[str, Any]) -> str:
    return f"{fig['wall_ms']['p50']}/{fig['wall_ms']['p95']} [{fig['cpu_ms']['p50']}]"


def print_report(report: dict[str, Any]) -> None:
    lat = report.get("latency") or []
    if lat:
        print(f"\nLatency (vectors: {VECTORS_NOTE}: {lat[0]['query_model']}; single-threaded, warm)")
        print("wall ms p50/p95 [CPU ms p50]; 'no abst.': the extractive answer with abstention off")
        print(
            f"{'chunks':>7} {'floor':>18} {'search':>20} {'answer':>20} {'answer, no abst.':>20}"
            f" {'RSS MB':>7} {'load 1m':>7}"
        )
        for r in lat:
            print(
                f"{r['chunks']:>7} {_cell(r['floor']):>18} {_cell(r['search']):>20} {_cell(r['answer']):>20}"
                f" {_cell(r['answer_no_abstention']):>20} {r['rss_mb']:>7} {r['loadavg'][0]:>7.2f}"
            )
        big = max(lat, key=lambda r: r["chunks"])
        print(f"\nAt {big['chunks']} chunks ({big['sentence_vectors_stored']} sentence vectors stored):")
        print(f"  search parts p50 (ms): {big['search_parts_p50_ms']}")
        print(
            f"  answer parts p50 (ms): {big['answer_parts_p50_ms']}; "
            f"abstained {big['answer_abstained']}/{big['questions']}"
        )
        if big.get("floor_torch"):
            ft = big["floor_torch"]["wall_ms"]
            print(f"  floor with a torch query embedding (plain Chroma as users run it): {ft['p50']}/{ft['p95']}")
        print(f"  texts encoded at question time (not in the store): {big['encoded_at_question_time']}")
        print(f"  garbage collector pauses while measuring: {big['gc_pauses']}")
        print("  probes, p50 ms (questions):")
        for name, p in big["probes_p50_ms"].items():
            print(f"    {name:<58} {p['p50']:>8} ({p['n']})")
        print(f"\nTargets at {big['chunks']} chunks:")
        for name, value, target, ok in verdicts(big):
            print(f"  {name:<30} {value:>9} {target:>8}  {'PASS' if ok else 'FAIL'}")
    qual = report.get("quality")
    if qual:
        print(
            f"\nQuality: {qual['releases']} releases, {qual['chunks']} chunks, passage vectors "
            f"{qual.get('passage_vectors')}; "
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
    parser.add_argument("--rounds", type=int, default=3, help="passes over the questions")
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
    command = " ".join(["python -m evals.bench_search", *(argv if argv is not None else sys.argv[1:])])
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
