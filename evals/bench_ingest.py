"""Ingest benchmark: pressbot's ingest against the pipeline most users build first.

On the same releases (a deterministic mix of the White House release-like folders and the
State Department export, plus the seed release), in one process, with the same model:

1. pressbot: `Indexer` + `Chunker` into a fresh embedded Chroma, from the source files
   (parsing included; it encodes every sentence once, for questions to look up, and makes each
   chunk's vector from its sentences' and its header's), then a second, unchanged run over the
   same index;
2. naive: LangChain `RecursiveCharacterTextSplitter(1000, 200)` + `HuggingFaceEmbeddings` +
   `Chroma.add_documents`, given the already parsed release texts (its parsing is free);
3. raw: `SentenceTransformer.encode` (torch) of pressbot's own chunk texts: the model's limit.

pressbot embeds with its default backend (onnx-int8) or `--backend`; pipelines 2 and 3 stay on
torch, as users run them, and the quality of a non-torch backend's vectors is checked against torch's.
`--full` ingests all of the corpus (whitehouse, statedept, seed) and reports peak RSS; stopped
early (SIGTERM from `timeout`, Ctrl-C) it reports how far it got.

    .venv/bin/python evals/bench_ingest.py --corpus "$PRESSBOT_CORPUS" --releases 2000 --out /tmp/bench
    .venv/bin/python evals/bench_ingest.py --backend torch --releases 2000
    timeout 7200 .venv/bin/python evals/bench_ingest.py --full --out /tmp/bench-full

Timings on a shared machine are noisy; the pipelines run back to back so that they see about
the same load, and the table gives the load average next to the figures.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import resource
import shutil
import signal
import sys
import tempfile
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from evals.corpus import corpus_dir
from ingest.chunking import Chunker
from ingest.indexer import Indexer, body_hash
from ingest.sources import Skip, open_source
from pressbot.config import DEFAULT_MODEL, Settings, load_settings
from pressbot.embeddings import (
    BACKENDS,
    ModelEmbeddings,
    OnnxEmbeddings,
    SentenceTransformerEmbeddings,
    resolve_model_path,
)
from pressbot.runtime import open_index, quiet_libraries
from pressbot.sentences import split_sentences
from pressbot.types import Release

log = logging.getLogger("bench_ingest")

RELEASE_FOLDERS = ("statements-releases", "briefings-statements", "fact-sheets", "releases")
STATEDEPT = "statedept/press_releases.jsonl"
WHITEHOUSE_SHARE = 0.75  # of the sample; the rest from statedept
SEED_QUESTION = "Which countries receive the $180 million program?"

NAIVE = "naive: LangChain splitter + HuggingFaceEmbeddings + Chroma"
RAW = "raw: SentenceTransformer.encode (torch) of pressbot's chunks"

TARGET_SPEEDUP = 1.5  # pressbot releases/s over naive
TARGET_RERUN = 20.0  # first run time over unchanged second run time
TARGET_RSS_MB = 2048.0  # peak RSS of the full ingest
TARGET_COSINE = 0.99  # mean cosine of a backend's vectors with torch's


# --- memory ---------------------------------------------------------------------------------


def reset_peak_rss() -> None:
    """Reset the kernel's high-water mark (VmHWM) so each phase reports its own peak."""
    with contextlib.suppress(OSError), open("/proc/self/clear_refs", "w") as f:
        f.write("5")


def peak_rss_mb() -> float:
    """Peak RSS since the last reset (VmHWM); the process peak (ru_maxrss) where /proc is absent."""
    with contextlib.suppress(OSError), open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def process_peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# --- the sample -------------------------------------------------------------------------------


def _spread(items: list[Any], n: int) -> list[Any]:
    """n items evenly spaced over a sorted list (every year and category, deterministically)."""
    if n >= len(items):
        return list(items)
    step = len(items) / n
    return [items[int(i * step)] for i in range(n)]


def build_sample(corpus: Path, n: int, target: Path) -> list[tuple[Path, str]]:
    """Copy a deterministic mix of n releases under `target`; returns (source spec, name) pairs."""
    wh_files = sorted(p for folder in RELEASE_FOLDERS for p in (corpus / "whitehouse" / folder).rglob("*.md"))
    n_wh = round((n - 1) * WHITEHOUSE_SHARE)
    for src in _spread(wh_files, n_wh):
        dst = target / "whitehouse" / src.relative_to(corpus / "whitehouse")
        dst.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(src, dst)
    lines = (corpus / STATEDEPT).read_text(encoding="utf-8").splitlines()
    (target / "statedept.jsonl").write_text("\n".join(_spread(lines, n - 1 - n_wh)) + "\n", encoding="utf-8")
    shutil.copytree(corpus / "seed", target / "seed")
    return [(target / "whitehouse", "whitehouse"), (target / "statedept.jsonl", "statedept"), (target / "seed", "seed")]


def full_sources(corpus: Path) -> list[tuple[Path, str]]:
    return [(corpus / "whitehouse", "whitehouse"), (corpus / STATEDEPT, "statedept"), (corpus / "seed", "seed")]


def read_sources(sources: list[tuple[Path, str]], settings: Settings) -> Iterator[Release | Skip]:
    for spec, name in sources:
        yield from open_source(str(spec), settings, source_name=name)


# --- the pipelines ----------------------------------------------------------------------------


@dataclass
class Phase:
    name: str
    seconds: float
    releases: int
    chunks: int
    peak_rss_mb: float
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def releases_per_s(self) -> float:
        return self.releases / self.seconds if self.seconds else 0.0

    @property
    def chunks_per_s(self) -> float:
        return self.chunks / self.seconds if self.seconds else 0.0

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "seconds": round(self.seconds, 2),
            "releases": self.releases,
            "chunks": self.chunks,
            "releases_per_s": round(self.releases_per_s, 3),
            "chunks_per_s": round(self.chunks_per_s, 2),
            "peak_rss_mb": round(self.peak_rss_mb, 1),
            "load_avg_1m": round(os.getloadavg()[0], 2),
            **self.extra,
        }


@dataclass
class Running:
    """The phase in progress, so that a run stopped by `timeout` still reports its rates."""

    key: str = ""
    name: str = ""
    start: float = 0.0
    releases: int = 0
    chunks: int = 0

    def begin(self, key: str, name: str) -> None:
        self.key, self.name, self.start, self.releases, self.chunks = key, name, time.perf_counter(), 0, 0

    def phase(self) -> Phase:
        return Phase(
            f"{self.name} (stopped early)",
            time.perf_counter() - self.start,
            self.releases,
            self.chunks,
            peak_rss_mb(),
            {"interrupted": True},
        )


RUNNING = Running()


def make_settings(data_dir: Path, args: argparse.Namespace) -> Settings:
    overrides: dict[str, Any] = {"data_dir": data_dir, "embedding_batch_size": args.batch_size}
    if args.chunk_tokens:
        overrides["chunk_tokens"] = args.chunk_tokens
    if args.overlap is not None:
        overrides["chunk_overlap_sentences"] = args.overlap
    return load_settings(**overrides)


def run_pressbot(
    key: str,
    name: str,
    settings: Settings,
    embedder: ModelEmbeddings,
    items: Iterable[Release | Skip],
    progress: Path | None = None,
) -> Phase:
    """The ingest exactly as `pressbot ingest` runs it (same Indexer, Chunker and batch size)."""
    reset_peak_rss()
    RUNNING.begin(key, name)
    start = time.perf_counter()
    index = open_index(settings, create=True, embedder=embedder)
    chunker = Chunker(embedder, settings.chunk_tokens, settings.chunk_overlap_sentences)
    indexer = Indexer(index, chunker, batch_chunks=max(settings.embedding_batch_size * 4, 64))
    seen = 0

    def on_item(_item: Release | Skip) -> None:
        nonlocal seen
        seen += 1
        RUNNING.releases = seen  # items read; embedding trails by at most one batch and the prefetch queue
        if progress is not None and seen % 500 == 0:
            with progress.open("a") as f:
                f.write(
                    json.dumps(
                        {
                            "items": seen,
                            "seconds": round(time.perf_counter() - start, 1),
                            "peak_rss_mb": round(peak_rss_mb(), 1),
                            "load_avg_1m": os.getloadavg()[0],
                        }
                    )
                    + "\n"
                )

    summary = indexer.run(items, on_item=on_item)
    seconds = time.perf_counter() - start
    s = summary.to_json()
    return Phase(
        name,
        seconds,
        summary.releases_seen,
        summary.chunks_embedded,
        peak_rss_mb(),
        {k: s[k] for k in ("added", "unchanged", "duplicates", "skipped", "skipped_by_reason", "sentences_embedded")},
    )


def run_naive(releases: list[Release], model_path: str, persist: Path, batch_docs: int = 512) -> Phase:
    """The pipeline of the LangChain tutorials, fed the parsed texts."""
    from chromadb.config import Settings as ChromaSettings
    from langchain_chroma import Chroma
    from langchain_huggingface import HuggingFaceEmbeddings
    from langchain_text_splitters import RecursiveCharacterTextSplitter

    embeddings = HuggingFaceEmbeddings(model_name=model_path)  # loaded before the clock starts
    splitter = RecursiveCharacterTextSplitter(chunk_size=1000, chunk_overlap=200)
    reset_peak_rss()
    RUNNING.begin("naive", NAIVE)
    start = time.perf_counter()
    store = Chroma(
        collection_name="naive",
        embedding_function=embeddings,
        persist_directory=str(persist),
        client_settings=ChromaSettings(anonymized_telemetry=False, is_persistent=True),
    )
    n_chunks = 0
    batch: list[Any] = []
    for done, r in enumerate(releases, 1):
        meta = {"title": r.title, "url": r.url or "", "date": r.date.isoformat() if r.date else ""}
        batch.extend(splitter.create_documents([r.text], metadatas=[meta]))
        if len(batch) >= batch_docs:
            store.add_documents(batch)
            n_chunks += len(batch)
            batch = []
            RUNNING.releases, RUNNING.chunks = done, n_chunks
    if batch:
        store.add_documents(batch)
        n_chunks += len(batch)
    seconds = time.perf_counter() - start
    del store, embeddings
    return Phase(
        "naive: LangChain splitter + HuggingFaceEmbeddings + Chroma", seconds, len(releases), n_chunks, peak_rss_mb()
    )


def pressbot_chunk_texts(releases: list[Release], chunker: Chunker) -> list[str]:
    """The texts pressbot embeds: one copy of each body, chunked with header and overlap."""
    seen: set[str] = set()
    texts: list[str] = []
    for r in releases:
        h = body_hash(r.text)
        if h in seen:
            continue
        seen.add(h)
        texts.extend(c.embed_text for c in chunker.chunk(r))
    return texts


def run_raw(texts: list[str], torch_model: Any, batch_size: int, n_releases: int, step: int = 2048) -> Phase:
    reset_peak_rss()
    RUNNING.begin("raw", RAW)
    start = time.perf_counter()
    for i in range(0, len(texts), step):  # slices only so that a stopped run knows how far it got
        torch_model.encode(
            texts[i : i + step], batch_size=batch_size, normalize_embeddings=True, show_progress_bar=False
        )
        RUNNING.chunks = min(i + step, len(texts))
        RUNNING.releases = round(n_releases * RUNNING.chunks / len(texts))
    seconds = time.perf_counter() - start
    return Phase(RAW, seconds, n_releases, len(texts), peak_rss_mb())


# --- quality of a faster backend ------------------------------------------------------------------


def backend_quality(
    torch_emb: SentenceTransformerEmbeddings,
    emb: ModelEmbeddings,
    texts: list[str],
    releases: list[Release],
    seed: Release | None,
    n: int = 400,
) -> dict[str, Any]:
    """Does the backend give torch's rankings? Cosine of the vectors, query-passage score shifts,
    top-10 overlap, and the seed question's best sentence."""
    sample = _spread(texts, n)
    ref, got = torch_emb.encode_passages(sample), emb.encode_passages(sample)
    cos = np.sum(ref * got, axis=1)
    queries = [r.title for r in _spread(releases, 100)]
    q_ref = np.stack([torch_emb.encode_query(q) for q in queries])
    q_got = np.stack([emb.encode_query(q) for q in queries])
    s_ref, s_got = q_ref @ ref.T, q_got @ got.T
    top_ref, top_got = np.argsort(-s_ref, axis=1)[:, :10], np.argsort(-s_got, axis=1)[:, :10]
    overlap = [len(set(a) & set(b)) / 10 for a, b in zip(top_ref, top_got, strict=True)]
    out: dict[str, Any] = {
        "pairs": len(sample),
        "cosine_mean": round(float(cos.mean()), 5),
        "cosine_min": round(float(cos.min()), 5),
        "query_score_abs_diff_mean": round(float(np.abs(s_ref - s_got).mean()), 5),
        "top1_agreement": round(float(np.mean(top_ref[:, 0] == top_got[:, 0])), 3),
        "top10_overlap": round(float(np.mean(overlap)), 3),
    }
    if seed is not None:
        sentences = split_sentences(seed.text, seed.language)
        for label, e in (("torch", torch_emb), (emb.backend, emb)):
            scores = e.encode_passages(sentences) @ e.encode_query(SEED_QUESTION)
            order = np.argsort(-scores)
            out[f"seed_best_sentence_{label}"] = sentences[int(order[0])][:160]
            out[f"seed_180m_rank_{label}"] = next(i + 1 for i, j in enumerate(order) if "180" in sentences[int(j)])
    return out


# --- report ------------------------------------------------------------------------------------


def verdicts(report: dict[str, Any]) -> list[tuple[str, str, bool]]:
    out = []
    p = {ph["key"]: ph for ph in report["phases"]}
    if "pressbot" in p and "naive" in p and p["naive"]["releases_per_s"]:
        ratio = p["pressbot"]["releases_per_s"] / p["naive"]["releases_per_s"]
        out.append((f"pressbot releases/s >= {TARGET_SPEEDUP}x naive", f"{ratio:.2f}x", ratio >= TARGET_SPEEDUP))
    if "pressbot" in p and "rerun" in p and p["rerun"]["seconds"]:
        ratio = p["pressbot"]["seconds"] / p["rerun"]["seconds"]
        out.append((f"unchanged second run >= {TARGET_RERUN:.0f}x faster", f"{ratio:.1f}x", ratio >= TARGET_RERUN))
    if "full" in p:
        rss = p["full"]["peak_rss_mb"]
        partial = f" (stopped after {p['full']['releases']} releases: so far)" if p["full"].get("interrupted") else ""
        out.append((f"full-corpus peak RSS <= {TARGET_RSS_MB:.0f} MB", f"{rss:.0f} MB{partial}", rss <= TARGET_RSS_MB))
    q = report.get("quality")
    if q:
        out.append(
            (
                f"{q['backend']} cosine with torch >= {TARGET_COSINE}",
                f"{q['cosine_mean']:.4f}",
                q["cosine_mean"] >= TARGET_COSINE,
            )
        )
        if f"seed_180m_rank_{q['backend']}" in q:
            rank = q[f"seed_180m_rank_{q['backend']}"]
            out.append(("seed question ranks the $180M sentence first", f"rank {rank}", rank == 1))
    return out


def render(report: dict[str, Any]) -> str:
    lines = [
        f"command: {report['command']}",
        f"model: {report['model']}  pressbot backend: {report['backend']}  batch size: {report['batch_size']}  "
        f"chunk_tokens: {report['chunk_tokens']}  overlap: {report['overlap']}  cpus: {os.cpu_count()}",
        "",
        f"{'pipeline':<66} {'releases':>8} {'chunks':>7} {'seconds':>8} {'rel/s':>7} {'chunks/s':>8} "
        f"{'peak RSS MB':>11} {'load':>5}",
    ]
    for ph in report["phases"]:
        lines.append(
            f"{ph['name']:<66} {ph['releases']:>8} {ph['chunks']:>7} {ph['seconds']:>8.1f} "
            f"{ph['releases_per_s']:>7.2f} {ph['chunks_per_s']:>8.1f} {ph['peak_rss_mb']:>11.0f} "
            f"{ph['load_avg_1m']:>5.1f}"
        )
    p = {ph["key"]: ph for ph in report["phases"]}
    if "naive" in p and p["naive"]["releases_per_s"]:
        lines += ["", "ratios (releases/s):"]
        for key in ("pressbot", "raw"):
            if key in p:
                lines.append(f"  {key} / naive: {p[key]['releases_per_s'] / p['naive']['releases_per_s']:.2f}")
        if "raw" in p and p["raw"]["releases_per_s"]:
            lines.append(f"  naive / raw: {p['naive']['releases_per_s'] / p['raw']['releases_per_s']:.2f}")
        per_release = ", ".join(
            f"{k} {p[k]['chunks'] / p[k]['releases']:.2f}"
            for k in ("pressbot", "naive", "raw")
            if p.get(k, {}).get("releases")
        )
        lines.append(f"  chunks per release: {per_release}")
    if report.get("parse_s") is not None:
        lines.append(
            f"  parsing the sample alone (done for naive and raw, not timed for them): {report['parse_s']:.1f} s"
        )
    if report.get("quality"):
        lines += ["", "backend quality vs torch:"] + [f"  {k}: {v}" for k, v in report["quality"].items()]
    lines += ["", f"process peak RSS: {report['process_peak_rss_mb']:.0f} MB", ""]
    for label, value, ok in verdicts(report):
        lines.append(f"{'PASS' if ok else 'FAIL'}  {label}: {value}")
    if report.get("interrupted"):
        lines.append("(interrupted: figures are for the part that ran)")
    return "\n".join(lines)


# --- main ------------------------------------------------------------------------------------------


class Interrupted(Exception):
    pass


def _on_term(_sig: int, _frame: Any) -> None:
    raise Interrupted


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--corpus", type=Path, default=corpus_dir(),
                    help="the corpus folder (whitehouse/, statedept/, seed/, ...); default $PRESSBOT_CORPUS")
    ap.add_argument("--releases", type=int, default=2000, help="sample size (>= 2000 for the issue's figures)")
    ap.add_argument("--out", type=Path, help="write results.json and table.txt here")
    ap.add_argument(
        "--backend",
        choices=BACKENDS,
        default=Settings.model_fields["embedding_backend"].default,
        help="pressbot's embedding backend (default: the setting's default)",
    )
    ap.add_argument("--batch-size", type=int, default=64, help="PRESSBOT_EMBEDDING_BATCH_SIZE")
    ap.add_argument("--chunk-tokens", type=int, help="PRESSBOT_CHUNK_TOKENS (default: the setting's)")
    ap.add_argument("--overlap", type=int, help="PRESSBOT_CHUNK_OVERLAP_SENTENCES (default: the setting's)")
    ap.add_argument("--skip-naive", action="store_true", help="only pressbot, its second run and the raw encode")
    ap.add_argument("--full", action="store_true", help="ingest ALL of the corpus with pressbot; report peak RSS")
    ap.add_argument("--cache-dir", type=Path, help="ONNX export cache (default: a temp dir per run)")
    args = ap.parse_args(argv)

    # the libraries (onnxruntime's quantizer logs on the root logger) at WARNING, this script at INFO
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(name)s %(message)s", stream=sys.stderr)
    log.setLevel(logging.INFO)
    quiet_libraries()
    signal.signal(signal.SIGTERM, _on_term)  # `timeout` sends SIGTERM: still report what was reached
    if not (args.corpus / "whitehouse").is_dir():
        ap.error(f"--corpus {args.corpus} has no whitehouse/ folder; point it at the shared corpus")
    if args.out:
        args.out.mkdir(parents=True, exist_ok=True)

    work = Path(tempfile.mkdtemp(prefix="bench-ingest-"))
    report: dict[str, Any] = {
        "command": " ".join([Path(sys.executable).name, *sys.argv]),
        "model": DEFAULT_MODEL,
        "backend": args.backend,
        "batch_size": args.batch_size,
        "phases": [],
    }
    try:
        settings = make_settings(work / "pressbot", args)
        report["chunk_tokens"], report["overlap"] = settings.chunk_tokens, settings.chunk_overlap_sentences
        cache = args.cache_dir or work / "models"
        emb: ModelEmbeddings = (
            SentenceTransformerEmbeddings(DEFAULT_MODEL, batch_size=args.batch_size)
            if args.backend == "torch"
            else OnnxEmbeddings(DEFAULT_MODEL, batch_size=args.batch_size, backend=args.backend, cache_dir=cache)
        )
        if args.full:  # one model in memory, as `pressbot ingest` has
            return _full(args, settings, emb, report, work)
        torch_emb = (
            emb
            if isinstance(emb, SentenceTransformerEmbeddings)
            else SentenceTransformerEmbeddings(DEFAULT_MODEL, batch_size=args.batch_size)
        )
        return _compare(args, settings, torch_emb, emb, report, work)
    finally:
        report["process_peak_rss_mb"] = process_peak_rss_mb()
        text = render(report)
        print(text)
        if args.out:
            (args.out / "results.json").write_text(json.dumps(report, indent=2, default=str) + "\n")
            (args.out / "table.txt").write_text(text + "\n")
        shutil.rmtree(work, ignore_errors=True)


def _add(report: dict[str, Any], key: str, phase: Phase) -> None:
    report["phases"].append({"key": key, **phase.to_json()})
    RUNNING.key = ""  # recorded: an interruption from here on belongs to the next phase
    log.info("%s: %s", key, report["phases"][-1])


def _compare(
    args: argparse.Namespace,
    settings: Settings,
    torch_emb: SentenceTransformerEmbeddings,
    emb: ModelEmbeddings,
    report: dict[str, Any],
    work: Path,
) -> int:
    sources = build_sample(args.corpus, args.releases, work / "sample")
    start = time.perf_counter()
    parsed = [r for r in read_sources(sources, settings) if isinstance(r, Release)]
    report["parse_s"] = time.perf_counter() - start
    seed = next((r for r in parsed if r.source == "seed"), None)
    log.info("sample: %d releases parsed in %.1f s", len(parsed), report["parse_s"])
    try:
        # the two compared pipelines back to back (the same machine load), then the model's own limit
        _add(
            report,
            "pressbot",
            run_pressbot(
                "pressbot", f"pressbot ingest ({args.backend})", settings, emb, read_sources(sources, settings)
            ),
        )
        if not args.skip_naive:
            _add(report, "naive", run_naive(parsed, resolve_model_path(DEFAULT_MODEL), work / "naive"))
        _add(
            report,
            "rerun",
            run_pressbot(
                "rerun", "pressbot ingest, unchanged second run", settings, emb, read_sources(sources, settings)
            ),
        )
        texts = pressbot_chunk_texts(parsed, Chunker(emb, settings.chunk_tokens, settings.chunk_overlap_sentences))
        if args.backend != "torch":
            report["quality"] = {"backend": args.backend, **backend_quality(torch_emb, emb, texts, parsed, seed)}
        _add(report, "raw", run_raw(texts, torch_emb.model, args.batch_size, len(parsed)))
    except (Interrupted, KeyboardInterrupt):
        report["interrupted"] = True
        if RUNNING.key:
            _add(report, RUNNING.key, RUNNING.phase())
        return 1
    return 0 if all(ok for _, _, ok in verdicts(report)) else 1


def _full(
    args: argparse.Namespace, settings: Settings, emb: ModelEmbeddings, report: dict[str, Any], work: Path
) -> int:
    progress = (args.out or work) / "full_progress.jsonl"
    progress.unlink(missing_ok=True)
    try:
        items = read_sources(full_sources(args.corpus), settings)
        _add(report, "full", run_pressbot("full", "pressbot ingest, whole corpus", settings, emb, items, progress))
    except (Interrupted, KeyboardInterrupt):
        report["interrupted"] = True
        _add(report, "full", RUNNING.phase())
        return 1
    return 0 if all(ok for _, _, ok in verdicts(report)) else 1


if __name__ == "__main__":
    sys.exit(main())
