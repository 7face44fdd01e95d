"""The corpora and cached indexes of the search benchmark (`evals/bench_search.py`).

Latency indexes: real chunks of the corpus in `$PRESSBOT_CORPUS` (whitehouse, every folder, and statedept,
taken round-robin over archives and months so every size mixes all of them and spans 2021-2026,
which matters to date-filtered searches; the seed first), chunked by pressbot's own
`Chunker` with the real model's tokenizer, so chunk sizes are the ones production sees.
Chunking is the main cost: it runs once, its output is cached (`chunks.jsonl`) and every size is
a prefix of it. The index is written as ingest writes it: each chunk with its sentence ends (the
cache predates them, so a chunk's text is split again and each sentence located in it) and the
vectors of those sentences in the sentence-vector store, which questions read instead of
encoding. Passage and sentence vectors both come from `HashEmbeddings` of the same dimension (a
cheap stand-in: embedding 50k chunks and their sentences with the real model would take hours
here) while the collection records the name of the model as configured (`PRESSBOT_EMBEDDING_*`,
default backend included), so queries are embedded with the real model. The collection metadata
says so (`bench_passage_vectors`), as does `built.json`, which marks a complete index of the
current `LATENCY_VERSION` and model; another one is rebuilt.

Quality index: real embeddings over the release-like folders of the corpus plus the seed, built
with the real `pressbot ingest` CLI (`QUALITY_SOURCES`); incremental, so an interrupted build
resumes where it stopped.
"""

from __future__ import annotations

import argparse
import itertools
import json
import logging
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from evals.corpus import corpus_dir
from evals.hash_embeddings import HashEmbeddings
from pressbot.config import DEFAULT_MODEL, Settings, load_settings
from pressbot.embeddings import PressbotEmbeddings, SentenceTransformerEmbeddings, build_embeddings
from pressbot.sentences import split_sentences
from pressbot.types import Chunk, Release, sentences_at

log = logging.getLogger(__name__)

CORPUS = corpus_dir()
DEFAULT_CACHE = Path(__file__).parent / ".cache" / "bench-search"
VECTORS_NOTE = "HashEmbeddings(384) stand-in for passage and sentence vectors; queries embedded with the real model"
# 2: chunks carry their sentence ends, sentence vectors are stored (as ingest does since then)
LATENCY_VERSION = 2
WHITEHOUSE_FOLDERS = (
    "statements-releases",
    "briefings-statements",
    "fact-sheets",
    "releases",
    "articles",
    "presidential-actions",
    "press-briefings",
    "speeches-remarks",
    "remarks",
    "legislation",
    "blog",
    "disclosures",
    "research",
    "uncategorized",
)
# (source spec relative to CORPUS, source name): the seed, statedept (2,021) and the four release-like
# whitehouse folders (7,379): 9,401 releases
QUALITY_SOURCES = (
    ("seed", "seed"),
    ("statedept/press_releases.jsonl", "statedept"),
    *((f"whitehouse/{f}", "whitehouse") for f in WHITEHOUSE_FOLDERS[:4]),
)


class StandInEmbeddings(PressbotEmbeddings):
    """The real model's name, dimension and tokenizer (so chunks are the real ones), with hash
    vectors for the passages (so 50k chunks take minutes, not an hour)."""

    def __init__(self, real: PressbotEmbeddings) -> None:
        self.real = real
        self.name = real.name
        self.dimension = real.dimension
        self.max_tokens = real.max_tokens
        self.hash = HashEmbeddings(real.dimension)

    def count_tokens(self, text: str) -> int:
        return self.real.count_tokens(text)

    def count_tokens_batch(self, texts: Sequence[str]) -> list[int]:
        return self.real.count_tokens_batch(texts)

    def encode_passages(self, texts: Sequence[str]) -> np.ndarray:
        return self.hash.encode_passages(texts)

    def encode_query(self, text: str) -> np.ndarray:
        return self.real.encode_query(text)

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return self.encode_passages(texts).tolist()

    def embed_query(self, text: str) -> list[float]:
        return self.encode_query(text).tolist()


def bench_settings(data_dir: Path) -> Settings:
    return load_settings(data_dir=data_dir, embedding_model=DEFAULT_MODEL, collection="pressbot")


def _round_robin(streams: Sequence[Iterator[Any]]) -> Iterator[Any]:
    for item in itertools.chain.from_iterable(itertools.zip_longest(*streams)):
        if item is not None:
            yield item


def corpus_releases(settings: Settings) -> Iterator[Release]:
    """Releases of the whole corpus, each id once: round-robin over the archives (seed first), and
    within a whitehouse folder over its months, so that any prefix spans every archive and date."""
    from ingest.sources import open_source

    def folder(name: str) -> Iterator[Release]:
        months = sorted(p for p in (CORPUS / "whitehouse" / name).iterdir() if p.is_dir())
        return _round_robin([iter(open_source(str(m), settings, source_name="whitehouse")) for m in months])

    streams = [
        iter(open_source(str(CORPUS / "seed"), settings, source_name="seed")),
        iter(open_source(str(CORPUS / "statedept/press_releases.jsonl"), settings, source_name="statedept")),
    ]
    streams += [folder(name) for name in WHITEHOUSE_FOLDERS]
    seen: set[str] = set()
    for item in _round_robin(streams):
        if isinstance(item, Release) and item.id not in seen:
            seen.add(item.id)
            yield item


def chunk_corpus(cache: Path, n_chunks: int) -> Path:
    """`cache/chunks.jsonl` (one release and its chunks a line) holding >= n_chunks chunks."""
    from ingest.chunking import Chunker
    from pressbot.runtime import quiet_libraries

    out = cache / "chunks.jsonl"
    done = cache / "chunks.done.json"
    if done.exists():
        info = json.loads(done.read_text())
        # a cache of the whole corpus serves any size (one asking for more than there is, too)
        if info["chunks"] >= n_chunks or info.get("whole_corpus"):
            return out
    quiet_libraries()
    cache.mkdir(parents=True, exist_ok=True)
    settings = bench_settings(cache)
    chunker = Chunker(SentenceTransformerEmbeddings(), settings.chunk_tokens, settings.chunk_overlap_sentences)
    t0 = time.perf_counter()
    total = releases = 0
    whole_corpus = True
    with (cache / "chunks.jsonl.tmp").open("w") as fh:
        for release in corpus_releases(settings):
            chunks = chunker.chunk(release)
            if not chunks:
                continue
            fh.write(
                json.dumps(
                    {"release": release.model_dump(mode="json"), "chunks": [c.model_dump(mode="json") for c in chunks]}
                )
                + "\n"
            )
            total += len(chunks)
            releases += 1
            if releases % 500 == 0:
                log.info("chunked %d releases, %d chunks, %.0f s", releases, total, time.perf_counter() - t0)
            if total >= n_chunks:
                whole_corpus = False
                break
    (cache / "chunks.jsonl.tmp").rename(out)
    seconds = round(time.perf_counter() - t0)
    info = {"chunks": total, "releases": releases, "seconds": seconds, "whole_corpus": whole_corpus}
    done.write_text(json.dumps(info))
    return out


def read_chunked(path: Path, n_chunks: int) -> Iterator[tuple[Release, list[Chunk]]]:
    """The first releases of the chunk cache, up to the one that reaches n_chunks."""
    total = 0
    with path.open() as fh:
        for line in fh:
            row = json.loads(line)
            chunks = [Chunk.model_validate(c) for c in row["chunks"]]
            yield Release.model_validate(row["release"]), chunks
            total += len(chunks)
            if total >= n_chunks:
                return


def latency_dir(cache: Path, n_chunks: int) -> Path:
    return cache / f"latency-{n_chunks}"


def sentence_ends(text: str, language: str) -> list[int]:
    """Where each sentence of a cached chunk's text ends, as `Chunk.sentence_ends` records it:
    the text split again, each sentence located after the one before (one not found verbatim
    joins the next); the last end is the end of the text."""
    ends: list[int] = []
    pos = 0
    for sentence in split_sentences(text, language):
        at = text.find(sentence, pos)
        if at >= 0:
            pos = at + len(sentence)
            ends.append(pos)
    return [*ends[:-1], len(text)]


def build_latency_index(
    cache: Path, n_chunks: int, *, data_dir: Path | None = None, sentence_vectors: bool = True, lexical: bool = True
) -> dict[str, object]:
    """The stand-in-vector index of the first n_chunks chunks, with their sentence ends and stored
    sentence vectors (reused when complete and of the current LATENCY_VERSION), in `data_dir`
    (default: `latency_dir`). The cold-start benchmark, which serves the Chroma directory to
    replicas, needs neither the sentence vectors (they stay in this data dir) nor this data dir's
    lexical copy: without them its build takes half the time, in a data dir of its own."""
    from ingest.indexer import body_hash
    from pressbot.index import Index, make_client
    from pressbot.runtime import quiet_libraries

    data_dir = data_dir or latency_dir(cache, n_chunks)
    done = data_dir / "built.json"
    settings = bench_settings(data_dir)
    quiet_libraries()
    # the model as configured (its name and the backend's query vectors are what the bench measures)
    embedder = StandInEmbeddings(build_embeddings(settings))
    if done.exists():
        info = json.loads(done.read_text())
        if info.get("version") == LATENCY_VERSION and info.get("model") == embedder.name:
            return info
    source = chunk_corpus(cache, n_chunks)
    shutil.rmtree(data_dir, ignore_errors=True)
    index = Index(make_client(settings, create=True), settings, embedder).open(create=True)
    store = index.sentence_vectors
    index.begin_write()
    t0 = time.perf_counter()
    split_s = 0.0
    batch: list[tuple[Release, list[Chunk], np.ndarray, str]] = []
    n_batch = 0

    def flush() -> None:
        # as the indexer does: the batch's new sentences stored before its releases commit
        if sentence_vectors:
            sentences = store.missing(
                [s for _, cs, _, _ in batch for c in cs for s in sentences_at(c.text, c.sentence_ends)]
            )
            if sentences:
                store.put_many(sentences, embedder.encode_passages(sentences))
        index.write_releases(batch)

    for release, chunks in read_chunked(source, n_chunks):
        s0 = time.perf_counter()
        for c in chunks:
            c.sentence_ends = c.sentence_ends or sentence_ends(c.text, c.language)
        split_s += time.perf_counter() - s0
        vectors = embedder.encode_passages([c.embed_text for c in chunks])
        batch.append((release, chunks, vectors, body_hash(release.text)))
        n_batch += len(chunks)
        if n_batch >= 2000:
            flush()
            batch, n_batch = [], 0
    flush()
    index.end_write(True)
    index.chunks.modify(metadata={**index.meta(), "bench_passage_vectors": VECTORS_NOTE})
    t1 = time.perf_counter()
    if lexical:
        index.lexical()
    info: dict[str, object] = {
        "version": LATENCY_VERSION,
        "model": embedder.name,
        "chunks": index.chunks.count(),
        "releases": index.releases.count(),
        "sentence_vectors": store.count(),
        "write_s": round(t1 - t0, 1),
        "of_which_sentence_split_s": round(split_s, 1),
        "lexical_s": round(time.perf_counter() - t1, 1) if lexical else None,
        "passage_vectors": VECTORS_NOTE,
    }
    done.write_text(json.dumps(info))
    return info


def build_quality_index(data_dir: Path, log_file: Path, timeout_s: float) -> None:
    """Ingest QUALITY_SOURCES with the real model through the real CLI (incremental: resumes)."""
    pressbot = Path(sys.executable).with_name("pressbot")
    deadline = time.monotonic() + timeout_s
    # one torch thread: on a shared, oversubscribed 2-core machine two threads wait on each other
    # (measured: 256 chunks in 56 s with one thread, 137 s with two, same load)
    env = {"PRESSBOT_TORCH_THREADS": "1", "OMP_NUM_THREADS": "1", **os.environ}
    with log_file.open("a") as fh:
        for spec, name in QUALITY_SOURCES:
            cmd = [
                str(pressbot),
                "--data-dir",
                str(data_dir),
                "ingest",
                str(CORPUS / spec),
                "--source-name",
                name,
                "--json",
                "--no-progress",
            ]
            fh.write(f"=== {time.strftime('%H:%M:%S')} {' '.join(cmd)}\n")
            fh.flush()
            timeout = max(1.0, deadline - time.monotonic())
            subprocess.run(cmd, stdout=fh, stderr=fh, check=True, timeout=timeout, env=env)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Build (or reuse) one benchmark index.")
    parser.add_argument("what", choices=["latency", "quality"])
    parser.add_argument("--cache", type=Path, default=DEFAULT_CACHE)
    parser.add_argument("--chunks", type=int, default=50_000, help="latency: chunks in the index")
    parser.add_argument(
        "--data-dir",
        type=Path,
        default=Path(__file__).parent / ".cache" / "quality-9k",
        help="quality: the data dir of the real-embedding index",
    )
    parser.add_argument("--timeout", type=float, default=7200, help="quality: seconds for the whole build")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    logging.getLogger("bm25s").setLevel(logging.WARNING)
    if args.what == "latency":
        print(json.dumps(build_latency_index(args.cache, args.chunks)))
    else:
        build_quality_index(args.data_dir, args.data_dir.with_suffix(".log"), args.timeout)


if __name__ == "__main__":
    main()
