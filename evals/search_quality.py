"""Part 2 of the search benchmark (`evals/bench_search.py`), quality: on the real-embedding index, the
rank of the seed release for the seed questions in pressbot's search next to the naive pipeline
(RecursiveCharacterTextSplitter(1000, 200) + same model + Chroma top-k), the diagnostics of where
the seed's chunks stand on each side of the fusion, a sentence-level estimate, and the fusion
variants (`evals/fusion_variants.py`)."""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

import numpy as np

from evals.bench_corpus import bench_settings
from evals.fusion_variants import compare_fusions
from evals.search_questions import SEED_COUNTRIES, SEED_QUESTIONS

log = logging.getLogger(__name__)


NAIVE_K = 20


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
