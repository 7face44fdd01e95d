"""The incremental indexer: releases in, chunks and vectors into the index, idempotently.

- An unchanged release (same content hash) costs nothing; a changed one has its chunks
  replaced; `prune` removes releases that vanished from the source; `rebuild` starts over.
- Exact duplicate bodies are stored once; the other ids are recorded as aliases.
- Parsing and chunking run in a background thread while the main thread embeds, and the
  sentences of several releases are embedded together, so the model always gets full batches.
- Sentences are what is encoded (each once: the store is content-addressed); a chunk's vector
  is the normalised mean of its sentences' vectors and its release's title-and-date header.
- The index is marked dirty while writing; after a crash the next run repairs it first
  (see `pressbot.index` for the commit protocol).
"""

from __future__ import annotations

import hashlib
import logging
import queue
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ingest.chunking import Chunker, context_header
from ingest.prune import PruneLimit
from ingest.sources.base import Skip
from pressbot import lexical_snapshot, lexical_store
from pressbot.errors import PressbotError
from pressbot.index import Index, ReleaseRecord
from pressbot.index_repair import repair
from pressbot.types import Chunk, Release, sentences_at

log = logging.getLogger(__name__)


def body_hash(text: str) -> str:
    return hashlib.sha256(" ".join(text.split()).encode("utf-8")).hexdigest()[:32]


@dataclass
class IngestSummary:
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    pruned: int = 0
    duplicates: int = 0
    chunks_embedded: int = 0
    sentences_embedded: int = 0
    skipped: Counter[str] = field(default_factory=Counter)
    skipped_examples: list[Skip] = field(default_factory=list)
    repaired: dict[str, int] = field(default_factory=dict)
    prune_refused: str | None = None  # why --prune removed nothing (see ingest.prune)
    elapsed_s: float = 0.0

    @property
    def releases_seen(self) -> int:
        return self.added + self.updated + self.unchanged + self.duplicates

    def to_json(self) -> dict[str, Any]:
        return {
            "added": self.added,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "pruned": self.pruned,
            "duplicates": self.duplicates,
            "skipped": sum(self.skipped.values()),
            "skipped_by_reason": dict(self.skipped),
            "chunks_embedded": self.chunks_embedded,
            "sentences_embedded": self.sentences_embedded,
            "repaired": self.repaired,
            "prune_refused": self.prune_refused,
            "elapsed_s": round(self.elapsed_s, 2),
            "releases_per_s": round(self.releases_seen / self.elapsed_s, 2) if self.elapsed_s else None,
        }


_DONE = object()


def _prefetch(items: Iterable[Any], size: int = 64) -> Iterator[Any]:
    """Run an iterator in a background thread (parsing overlaps embedding)."""
    q: queue.Queue[Any] = queue.Queue(maxsize=size)
    failure: list[BaseException] = []

    def run() -> None:
        try:
            for item in items:
                q.put(item)
        except BaseException as exc:  # re-raised in the consumer
            failure.append(exc)
        finally:
            q.put(_DONE)

    threading.Thread(target=run, daemon=True, name="ingest-prefetch").start()
    while (item := q.get()) is not _DONE:
        yield item
    if failure:
        raise failure[0]


def publish_lexical_copy(index: Index) -> None:
    """Publish the lexical copy for new replicas to fetch instead of building one (see
    `pressbot.lexical_snapshot`): only a copy saved on disk in step with Chroma."""
    fingerprint = index.lexical().fingerprint
    path = index.settings.lexical_path
    if index.settings.lexical_snapshots and lexical_store.load(path, fingerprint) is not None:
        lexical_snapshot.publish(index.settings.lexical_snapshots, index.name, fingerprint, path)


class Indexer:
    def __init__(self, index: Index, chunker: Chunker, *, batch_chunks: int = 256) -> None:
        self.index = index
        self.chunker = chunker
        self.batch_chunks = batch_chunks

    def run(
        self,
        items: Iterable[Release | Skip],
        *,
        prune: PruneLimit | None = None,
        source: str | None = None,
        on_item: Callable[[Release | Skip], None] | None = None,
    ) -> IngestSummary:
        if prune is not None and source is None:
            raise ValueError("prune needs the name of the source being read")
        start = time.perf_counter()
        summary = IngestSummary()
        index = self.index
        # a writer that died may have changed records without bumping the generation: count
        # this run as a change so the lexical index is rebuilt from what Chroma now holds
        changed = index.begin_write()
        if changed:
            summary.repaired = repair(index)
        # `source` names what is being read: prune looks only at the releases stored from it
        existing = {rec.id: rec for rec in index.iter_releases()}
        stored_bodies: dict[str, str] = {}
        for rec in existing.values():
            if rec.body_hash:
                stored_bodies.setdefault(rec.body_hash, rec.id)

        def pruned_if_missing(rid: str) -> bool:
            return prune is not None and existing[rid].source == source
        run_bodies: dict[str, str] = {}  # body hash -> id of the release holding it in this run
        deferred: list[tuple[Release, list[Chunk], str]] = []
        aliases: dict[str, set[str]] = {}
        seen: set[str] = set()
        skipped_at: set[str] = set()  # locations of skipped items: their stored copies are kept
        pending: list[tuple[Release, list[Chunk], bool]] = []
        pending_chunks = 0

        def prepare(item: Release | Skip) -> tuple[Release | Skip, list[Chunk] | None]:
            # runs in the prefetch thread: hashing and chunking are CPU work off the main loop
            if isinstance(item, Skip):
                return item, None
            stored = existing.get(item.id)
            if stored is not None and stored.matches(item):
                return item, None
            try:
                return item, self.chunker.chunk(item)
            except Exception as exc:  # a bug on one release must not end the run
                log.warning("chunking %s failed: %s", item.id, exc)
                log.debug("chunking %s failed", item.id, exc_info=True)
                return Skip(item.id, "unreadable", f"chunking failed: {type(exc).__name__}: {exc}"), None

        def duplicate(item: Release, of: str) -> None:
            summary.duplicates += 1
            aliases.setdefault(of, set()).add(item.id)

        def store(item: Release, chunks: list[Chunk] | None, bh: str) -> None:
            nonlocal pending, pending_chunks
            run_bodies[bh] = item.id
            if chunks is None:
                summary.unchanged += 1
                return
            if not chunks:
                summary.skipped["no_text"] += 1
                return
            pending.append((item, chunks, item.id in existing))
            pending_chunks += len(chunks)
            if pending_chunks >= self.batch_chunks:
                self._flush(pending, summary)
                pending, pending_chunks = [], 0

        try:
            for item, chunks in _prefetch(prepare(i) for i in items):
                if on_item:
                    on_item(item)
                if isinstance(item, Skip):
                    summary.skipped[item.reason] += 1
                    skipped_at.add(item.location)
                    if len(summary.skipped_examples) < 50:
                        summary.skipped_examples.append(item)
                    log.info("skipped %s: %s (%s)", item.location, item.reason, item.detail)
                    continue
                if item.id in seen:
                    continue  # the same id twice in one source (e.g. a URL listed twice)
                seen.add(item.id)
                bh = body_hash(item.text)
                first = run_bodies.get(bh)
                stored_first = stored_bodies.get(bh)
                if first is not None and first != item.id:
                    duplicate(item, first)
                elif chunks is not None and stored_first not in (None, item.id) and stored_first not in seen:
                    # the body is stored under another id that may still come, may have changed,
                    # or may have vanished (prune): decide once the whole source is read
                    deferred.append((item, chunks, bh))
                else:
                    store(item, chunks, bh)
        except PressbotError:
            # the source refused the run (a --field map no record matches, a root URL past its
            # deadline): each batch written so far committed whole, so the index is clean again
            index.end_write(True)
            raise

        for item, chunks, bh in deferred:
            first = run_bodies.get(bh)
            stored_first = stored_bodies[bh]
            if first is not None and first != item.id:
                duplicate(item, first)
            elif stored_first not in seen and not pruned_if_missing(stored_first):
                duplicate(item, stored_first)  # still stored under that id, unchanged
            else:
                store(item, chunks, bh)  # its stored twin changed or is being pruned
        if pending:
            self._flush(pending, summary)
        changed = changed or summary.added > 0 or summary.updated > 0

        for canonical, names in aliases.items():
            stored = index.get_release(canonical, with_text=False)
            if stored is not None and not set(names) <= set(stored.aliases):
                index.set_aliases(canonical, sorted(set(stored.aliases) | names))
                changed = True
        if prune is not None:
            assert source is not None
            changed = self._prune(existing, source, prune, seen, aliases, skipped_at, summary) or changed
        index.end_write(changed)
        index.lexical()  # bring the lexical index in step with Chroma in the same run
        if index.settings.lexical_snapshots:
            publish_lexical_copy(index)
        summary.elapsed_s = time.perf_counter() - start
        return summary

    def _prune(
        self,
        existing: dict[str, ReleaseRecord],
        source: str,
        limit: PruneLimit,
        seen: set[str],
        aliases: dict[str, set[str]],
        skipped_at: set[str],
        summary: IngestSummary,
    ) -> bool:
        """Remove the releases of `source` that the run did not see, within `limit`."""
        alias_ids = {a for names in aliases.values() for a in names}
        ours = [rec for rec in existing.values() if rec.source == source]
        # an item that could not be read this time (a fetch that failed, a file being
        # rewritten) has not vanished: pruning it would turn bad input into lost data
        gone = [
            rec.id
            for rec in ours
            if rec.id not in seen
            and rec.id not in alias_ids
            and rec.id not in skipped_at
            and not skipped_at & set(rec.aliases)
        ]
        summary.prune_refused = limit.refusal(source, len(gone), len(ours))
        if summary.prune_refused:
            log.info("%s", summary.prune_refused)  # the CLI reports it, after the summary
            return False
        for rid in gone:
            self.index.delete_release(rid)
        summary.pruned = len(gone)
        return bool(gone)

    def _chunk_vectors(self, pending: list[tuple[Release, list[Chunk], bool]], summary: IngestSummary) -> np.ndarray:
        """Sentences are what is encoded; a chunk's vector is the mean of its sentences' vectors
        and its release's title-and-date header, normalised.

        Questions compare themselves with single sentences (search rescoring, the extractive
        answerer), so every sentence needs a vector anyway; encoding the chunks as well would
        encode each text twice (measured: +76% embedding time). The sentence vectors go to the
        content-addressed store (see pressbot.sentence_vectors) before the releases commit, so a
        committed release has them; overlap sentences and unchanged text are encoded once."""
        store = self.index.sentence_vectors
        per_chunk = [sentences_at(c.text, c.sentence_ends) or [c.text] for _, chunks, _ in pending for c in chunks]
        known = store.get_many([s for ss in per_chunk for s in ss])
        todo = list(dict.fromkeys(s for ss in per_chunk for s in ss if s not in known))
        if todo:
            fresh = self.index.embedder.encode_passages(todo)
            store.put_many(todo, fresh)
            known.update(zip(todo, fresh, strict=True))
            summary.sentences_embedded += len(todo)
        headers = self.index.embedder.encode_passages([context_header(release) for release, _, _ in pending])
        header_of_chunk = [headers[i] for i, (_, chunks, _) in enumerate(pending) for _ in chunks]
        vectors = np.stack(
            [np.mean([*(known[s] for s in ss), h], axis=0) for ss, h in zip(per_chunk, header_of_chunk, strict=True)]
        ).astype(np.float32)
        vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
        summary.chunks_embedded += len(vectors)
        return vectors

    def _flush(self, pending: list[tuple[Release, list[Chunk], bool]], summary: IngestSummary) -> None:
        vectors = self._chunk_vectors(pending, summary)
        batch = []
        offset = 0
        for release, chunks, is_update in pending:
            batch.append((release, chunks, vectors[offset : offset + len(chunks)], body_hash(release.text)))
            offset += len(chunks)
            if is_update:
                summary.updated += 1
            else:
                summary.added += 1
        self.index.write_releases(batch)
