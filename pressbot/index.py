"""The index: Chroma (the one source of truth) plus the lexical index derived from it.

Two Chroma collections per index name:
- `<name>`: one record per chunk (embedding, passage text, release metadata);
- `<name>__releases`: one record per release (its text, metadata, content hash and chunk
  count). A release record is written *after* its chunks and removed *before* them, so it
  doubles as the commit marker: chunks without a matching release record are leftovers of
  an interrupted run and are removed by `repair()`.

The chunk collection's metadata records the embedding model and dimension (opening with
another model is refused), a `generation` bumped by every change, and a `state` that is
"dirty" while a writer runs, so the next run knows to repair.
"""

from __future__ import annotations

import json
import logging
import time
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any
from urllib.parse import urlparse

import chromadb
import numpy as np
from chromadb.api import ClientAPI
from chromadb.api.models.Collection import Collection
from chromadb.config import Settings as ChromaSettings

from pressbot import lexical_snapshot, lexical_store, lexical_tantivy
from pressbot.config import Settings
from pressbot.data_dir import chroma_dir
from pressbot.embeddings import PressbotEmbeddings
from pressbot.errors import ConfigError, IndexEmptyError, IndexError_, ModelMismatchError
from pressbot.lexical import LexicalIndex, indexed_text
from pressbot.lexical_tantivy import TantivyLexical
from pressbot.sentence_vectors import SentenceVectorStore
from pressbot.types import Chunk, Release

log = logging.getLogger(__name__)

SCHEMA = 1
_BATCH = 2000  # rows per Chroma get/upsert call; well under its max batch size
# Release records carry their whole text, which Chroma reads even when only metadata is asked
# for, and its allocator keeps the high-water mark: a scan of 11k releases in pages of 2000 left
# +186 MB resident, in pages of 250 +43 MB, at the same speed (1.2-1.3 s)
_RELEASE_PAGE = 250
# how long a reader trusts its lexical index without asking Chroma whether it changed (two
# Chroma calls, ~8 ms at 50k chunks: a fifth of a search); this process's writes reset it
FRESHNESS_S = 2.0

Lexical = LexicalIndex | TantivyLexical  # by `Settings.lexical_backend`


def make_client(settings: Settings, *, create: bool = False) -> ClientAPI:
    """Embedded PersistentClient under the data dir, or an HttpClient for a Chroma server.

    Only a writer (`create`) makes the data dir; see `pressbot.data_dir` for the checks."""
    chroma_settings = ChromaSettings(anonymized_telemetry=False)
    if settings.chroma_url:
        url = urlparse(settings.chroma_url)
        if url.scheme not in ("http", "https") or not url.hostname:
            raise ConfigError(
                f"PRESSBOT_CHROMA_URL={settings.chroma_url!r} is not an http(s) URL; "
                "use e.g. http://127.0.0.1:8001, or unset it for the embedded index"
            )
        try:
            return chromadb.HttpClient(
                host=url.hostname,
                port=url.port or (443 if url.scheme == "https" else 80),
                ssl=url.scheme == "https",
                settings=chroma_settings,
            )
        except Exception as exc:  # connection refused, TLS errors...
            raise IndexError_(
                f"cannot reach the Chroma server at {settings.chroma_url} ({exc}); "
                "start it (chroma run --host 127.0.0.1 --port N) or fix PRESSBOT_CHROMA_URL"
            ) from None
    path = chroma_dir(settings, create=create)
    return chromadb.PersistentClient(path=str(path), settings=chroma_settings)


@dataclass
class ReleaseRecord:
    id: str
    title: str
    date: date | None
    url: str | None
    source: str
    language: str
    content_hash: str
    n_chunks: int
    aliases: list[str]
    body_hash: str = ""
    text: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "title": self.title,
            "date": self.date.isoformat() if self.date else None,
            "url": self.url,
            "source": self.source,
            "language": self.language,
            "content_hash": self.content_hash,
            "n_chunks": self.n_chunks,
            "aliases": self.aliases,
            "text": self.text,
        }

    def matches(self, release: Release) -> bool:
        """Whether this record stores `release` as it is now: its text and every field of it
        that is stored (a changed date or URL is a change, as much as a changed text)."""
        return (self.content_hash, self.title, self.date, self.url or None, self.source, self.language) == (
            release.content_hash, release.title, release.date, release.url or None, release.source, release.language
        )


def _collection_names(client: ClientAPI) -> set[str]:
    # Chroma's list_collections gives names or Collection objects, by version
    return {c if isinstance(c, str) else c.name for c in client.list_collections()}


def _record(rid: str, meta: Mapping[str, Any], text: str | None) -> ReleaseRecord:
    d = meta.get("date")
    return ReleaseRecord(
        id=rid,
        title=str(meta.get("title", "")),
        date=date.fromisoformat(d) if d else None,
        url=meta.get("url") or None,
        source=str(meta.get("source", "")),
        language=str(meta.get("language", "und")),
        content_hash=str(meta.get("content_hash", "")),
        n_chunks=int(meta.get("n_chunks", 0)),
        aliases=json.loads(meta.get("aliases", "[]")),
        body_hash=str(meta.get("body_hash", "")),
        text=text,
    )


class Index:
    """Chroma collections + lexical index for one index name and one embedding model."""

    def __init__(self, client: ClientAPI, settings: Settings, embedder: PressbotEmbeddings) -> None:
        self.client = client
        self.settings = settings
        self.embedder = embedder
        self.name = settings.collection
        self._chunks: Collection | None = None
        self._releases: Collection | None = None
        self._lexical: Lexical | None = None
        self._lexical_checked = 0.0
        # called before every write: the writer lock's check that this process still holds it
        self.guard: Callable[[], None] = lambda: None
        self.sentence_vectors = SentenceVectorStore(settings.sentence_vectors_path, embedder.name)

    # --- opening -----------------------------------------------------------------------
    def _model_meta(self) -> dict[str, Any]:
        return {"embedding_model": self.embedder.name, "dimension": self.embedder.dimension}

    @staticmethod
    def require(client: ClientAPI, settings: Settings) -> None:
        """Raise IndexEmptyError unless the index exists (cheap: callers check before loading a model)."""
        if settings.collection not in _collection_names(client):
            raise IndexEmptyError(
                f"no index named {settings.collection!r} at {settings.chroma_url or settings.chroma_path}; "
                "run `pressbot ingest PATH` first (or `make demo` for the sample archive)"
            )

    def open(self, *, create: bool = False) -> Index:
        if self.name not in _collection_names(self.client):
            if not create:
                Index.require(self.client, self.settings)
            self._chunks = self.client.create_collection(
                self.name,
                embedding_function=None,
                configuration={"hnsw": {"space": "cosine"}},
                metadata={**self._model_meta(), "schema": SCHEMA, "generation": 0, "state": "clean"},
            )
        else:
            self._chunks = self.client.get_collection(self.name, embedding_function=None)
            meta = self._chunks.metadata or {}
            if meta.get("embedding_model") != self.embedder.name or meta.get("dimension") != self.embedder.dimension:
                raise ModelMismatchError(
                    f"the index {self.name!r} was built with embedding model "
                    f"{meta.get('embedding_model')!r} ({meta.get('dimension')} dimensions), not "
                    f"{self.embedder.name!r} ({self.embedder.dimension}); set "
                    f"PRESSBOT_EMBEDDING_MODEL={meta.get('embedding_model')} to use it, or rebuild it "
                    "with the new model: `pressbot ingest PATH --rebuild`"
                )
        self._releases = self.client.get_or_create_collection(self.name + "__releases", embedding_function=None)
        return self

    def location(self) -> str:
        return self.settings.chroma_url or str(self.settings.chroma_path)

    @property
    def chunks(self) -> Collection:
        if self._chunks is None:
            raise IndexError_("index not opened; call Index.open() first")
        return self._chunks

    @property
    def releases(self) -> Collection:
        if self._releases is None:
            raise IndexError_("index not opened; call Index.open() first")
        return self._releases

    def drop(self) -> None:
        """Delete both collections and the lexical copy (for --rebuild)."""
        for name in (self.name, self.name + "__releases"):
            try:
                self.client.delete_collection(name)
            except Exception:  # absent already: nothing to drop
                log.debug("collection %s absent", name)
        self._chunks = self._releases = self._lexical = None
        import shutil

        shutil.rmtree(self.settings.lexical_path, ignore_errors=True)
        self.sentence_vectors.clear()

    # --- state -------------------------------------------------------------------------
    def meta(self) -> dict[str, Any]:
        self._chunks = self.client.get_collection(self.name, embedding_function=None)
        return dict(self._chunks.metadata or {})

    def _set_meta(self, **changes: Any) -> None:
        meta = self.meta()
        meta.update(changes)
        meta.pop("hnsw:space", None)
        self.chunks.modify(metadata=meta)

    def begin_write(self) -> bool:
        """Mark the index dirty; returns True if the previous writer did not finish."""
        was_dirty = self.meta().get("state") == "dirty"
        self._set_meta(state="dirty")
        return was_dirty

    def end_write(self, changed: bool) -> None:
        self.guard()
        self._lexical_checked = 0.0
        meta = self.meta()
        gen = int(meta.get("generation", 0)) + (1 if changed else 0)
        self._set_meta(state="clean", generation=gen)

    def fingerprint(self) -> str:
        meta = self.meta()
        return f"{meta.get('generation', 0)}:{self.chunks.count()}:{self.embedder.name}"

    # --- reading -----------------------------------------------------------------------
    def release_hashes(self) -> dict[str, tuple[str, int]]:
        """{release id: (content hash, chunk count)} of every committed release."""
        out: dict[str, tuple[str, int]] = {}
        for ids, _, metas in self._scan(self.releases, include=["metadatas"]):
            for rid, meta in zip(ids, metas, strict=True):
                out[rid] = (str(meta.get("content_hash", "")), int(meta.get("n_chunks", 0)))
        return out

    def get_release(self, release_id: str, *, with_text: bool = True) -> ReleaseRecord | None:
        include = ["metadatas", "documents"] if with_text else ["metadatas"]
        got = self.releases.get(ids=[release_id], include=include)  # type: ignore[arg-type]
        if not got["ids"]:
            return None
        docs = got.get("documents")
        return _record(got["ids"][0], got["metadatas"][0], docs[0] if docs else None)  # type: ignore[index]

    def iter_releases(self, *, with_text: bool = False) -> Iterator[ReleaseRecord]:
        include = ["metadatas", "documents"] if with_text else ["metadatas"]
        for ids, docs, metas in self._scan(self.releases, include=include):
            for i, rid in enumerate(ids):
                yield _record(rid, metas[i], docs[i] if docs else None)

    def chunk_ids_of(self, release_id: str) -> list[str]:
        got = self.chunks.get(where={"release_id": release_id}, include=[])
        return sorted(got["ids"], key=lambda cid: int(cid.rsplit(":", 1)[1]))

    def _pages(self, col: Collection, include: list[str]) -> Iterator[Any]:
        """`col.get` results, a page at a time."""
        offset = 0
        page = _RELEASE_PAGE if col.name == self.releases.name else _BATCH
        while True:
            got = col.get(limit=page, offset=offset, include=include)  # type: ignore[arg-type]
            if not got["ids"]:
                return
            yield got
            offset += len(got["ids"])

    def _scan(self, col: Collection, include: list[str]) -> Iterator[tuple[list[str], list[Any] | None, list[Any]]]:
        for got in self._pages(col, include):
            yield got["ids"], got.get("documents"), got.get("metadatas") or [{}] * len(got["ids"])

    def iter_chunks(self) -> Iterator[tuple[str, str, dict[str, Any]]]:
        for ids, docs, metas in self._scan(self.chunks, include=["documents", "metadatas"]):
            yield from zip(ids, docs or [""] * len(ids), metas, strict=True)

    def chunk_metadata_pages(self) -> Iterator[tuple[list[str], list[Any]]]:
        """(ids, metadatas) of every chunk, a page at a time."""
        for ids, _, metas in self._scan(self.chunks, include=["metadatas"]):
            yield ids, metas

    def _texts_and_vectors(self, ids: list[str]) -> dict[str, tuple[str, np.ndarray]]:
        got = self.chunks.get(ids=ids, include=["documents", "embeddings"])
        vecs = np.asarray(got["embeddings"], dtype=np.float32)
        docs = got["documents"] or []
        return {cid: (doc, vecs[i]) for i, (cid, doc) in enumerate(zip(got["ids"], docs, strict=True))}

    def _scan_with_vectors(self) -> Iterator[tuple[str, str, dict[str, Any], np.ndarray]]:
        for got in self._pages(self.chunks, ["documents", "metadatas", "embeddings"]):
            vecs = np.asarray(got["embeddings"], dtype=np.float32)
            yield from zip(got["ids"], got["documents"], got["metadatas"], vecs, strict=True)

    # --- writing -----------------------------------------------------------------------
    def write_release(
        self, release: Release, chunks: Sequence[Chunk], vectors: np.ndarray, *, body_hash: str = ""
    ) -> None:
        """Replace one release (see `write_releases`)."""
        self.write_releases([(release, chunks, vectors, body_hash)])

    def write_releases(self, batch: Sequence[tuple[Release, Sequence[Chunk], np.ndarray, str]]) -> None:
        """Replace releases, a batch at a time: uncommit, drop old chunks, write new ones, commit.

        Each Chroma call is a transaction costing tens of milliseconds, so the four steps run
        once per batch, not once per release; the order keeps the commit protocol intact.
        """
        if not batch:
            return
        self.guard()
        self._lexical_checked = 0.0  # readers in this process see the change at once
        ids = [release.id for release, _, _, _ in batch]
        self.releases.delete(ids=ids)
        for start in range(0, len(ids), _BATCH):
            where: dict[str, Any] = {"release_id": {"$in": ids[start : start + _BATCH]}}
            self.chunks.delete(where=where)
        chunks = [c for _, cs, _, _ in batch for c in cs]
        vectors = np.concatenate([v for _, cs, v, _ in batch]).astype(np.float32, copy=False)
        for start in range(0, len(chunks), _BATCH):
            part = chunks[start : start + _BATCH]
            self.chunks.upsert(
                ids=[c.id for c in part],
                documents=[c.text for c in part],
                metadatas=[c.metadata() for c in part],
                embeddings=vectors[start : start + _BATCH],
            )
        metas: list[dict[str, Any]] = []
        for release, cs, _, bh in batch:
            meta: dict[str, Any] = {
                "title": release.title,
                "source": release.source,
                "language": release.language,
                "content_hash": release.content_hash,
                "n_chunks": len(cs),
                "aliases": json.dumps(release.aliases),
                "body_hash": bh,
            }
            if release.date:
                meta["date"] = release.date.isoformat()
            if release.url:
                meta["url"] = release.url
            metas.append(meta)
        for start in range(0, len(batch), _BATCH):  # the commit
            self.releases.upsert(
                ids=ids[start : start + _BATCH],
                documents=[release.text for release, _, _, _ in batch[start : start + _BATCH]],
                metadatas=metas[start : start + _BATCH],  # type: ignore[arg-type]
                # release records need a vector; they are never searched by it
                embeddings=np.ones((len(ids[start : start + _BATCH]), 1), dtype=np.float32),
            )

    def set_aliases(self, release_id: str, aliases: list[str]) -> None:
        self.guard()
        got = self.releases.get(ids=[release_id], include=["metadatas"])
        if got["ids"]:
            meta = dict(got["metadatas"][0])  # type: ignore[index]
            meta["aliases"] = json.dumps(sorted(set(aliases)))
            self.releases.update(ids=[release_id], metadatas=[meta])

    def delete_chunks(self, ids: Sequence[str]) -> None:
        self.guard()
        self._lexical_checked = 0.0
        for start in range(0, len(ids), _BATCH):
            self.chunks.delete(ids=list(ids[start : start + _BATCH]))

    def delete_release(self, release_id: str) -> None:
        self.guard()
        self._lexical_checked = 0.0
        self.releases.delete(ids=[release_id])
        self.chunks.delete(where={"release_id": release_id})

    # --- lexical -----------------------------------------------------------------------
    def lexical(self) -> Lexical:
        """The lexical index in step with Chroma: the saved one if its fingerprint matches, else
        the one brought up to date (see `pressbot.lexical_store`, `pressbot.lexical_tantivy`).
        Between checks (at most every FRESHNESS_S seconds) the one in memory is trusted."""
        now = time.monotonic()
        if self._lexical is not None and now - self._lexical_checked < FRESHNESS_S:
            return self._lexical
        fp = self.fingerprint()
        self._lexical_checked = now
        if self._lexical is not None and self._lexical.fingerprint == fp:
            return self._lexical
        self._lexical = self._tantivy(fp) if self.settings.lexical_backend == "tantivy" else self._store(fp)
        return self._lexical

    def _tantivy(self, fp: str) -> TantivyLexical:
        path = self.settings.lexical_path
        lex = lexical_tantivy.load(path, fp)
        if lex is None:
            log.info("bringing the lexical index in step with Chroma (%s)", fp)
            try:
                lexical_tantivy.sync(path, fp, self.chunk_metadata_pages(), self._texts_and_vectors)
            except (OSError, ValueError) as exc:  # read-only, or another process is writing it
                log.warning("cannot update the lexical index at %s: %s", path, exc)
            index = lexical_tantivy.open_index(path)
            if index is None:
                raise IndexError_(f"no usable lexical index at {path}; run `pressbot ingest` to build it")
            lex = lexical_tantivy.TantivyLexical(index)  # the newest committed, if not yet `fp`
        return lex

    def _store(self, fp: str) -> LexicalIndex:
        path = self.settings.lexical_path
        lex = lexical_store.load(path, fp)
        snapshots = self.settings.lexical_snapshots
        if lex is None and snapshots and lexical_snapshot.fetch(snapshots, self.name, fp, path):
            lex = lexical_store.load(path, fp)
        if lex is None:
            log.info("bringing the lexical copy in step with Chroma (%s)", fp)
            try:
                lexical_store.write(path, fp, self.chunk_metadata_pages(), self._texts_and_vectors)
                lex = lexical_store.load(path, fp)
            except OSError as exc:  # a read-only replica can still serve from memory
                log.warning("cannot write the lexical copy at %s: %s", path, exc)
                lex = lexical_store.load(path, fp)  # another process may have written it meanwhile
            if lex is None:  # held in memory only, built the simple way
                scan = self._scan_with_vectors()
                rows = ((cid, indexed_text(doc, meta), meta, vec) for cid, doc, meta, vec in scan)
                lex = LexicalIndex.build(rows, fp)
        return lex

    # --- stats -------------------------------------------------------------------------
    def sources(self) -> dict[str, int]:
        """{source name: releases stored from it}; needs no `open()`, so a rebuild can ask before
        it drops an index built with another model."""
        if self._releases is None:
            if self.name + "__releases" not in _collection_names(self.client):
                return {}
            self._releases = self.client.get_collection(self.name + "__releases", embedding_function=None)
        return dict(Counter(r.source for r in self.iter_releases()))
