"""Sentence vectors computed once, at ingest, and looked up at question time.

Search rescoring and the extractive answerer compare the question with single sentences of the
retrieved chunks (a chunk's vector dilutes the one sentence that answers). Encoding those
sentences at every question cost more than the whole rest of a search (measured: ~400 ms of a
570 ms search at 50k chunks), so ingest encodes each chunk's sentences and keeps their vectors
here; questions only read them.

The store is content-addressed (a hash of the model name and the sentence), so it can never
hold a stale vector: a changed release brings new sentences and new keys, and a sentence
missing from it (an index built before this store existed, a store deleted by hand) is encoded
at question time and written back. It is a cache in that sense, kept in SQLite (one file in the
data dir, WAL mode so an ingest and a serving process can share it); vectors are stored as
float16 (768 bytes at 384 dimensions; cosines move by < 1e-3).
"""

from __future__ import annotations

import hashlib
import logging
import os
import sqlite3
import threading
from collections.abc import Sequence
from pathlib import Path

import numpy as np

log = logging.getLogger(__name__)

_MAX_VARS = 900  # SQLite's bound parameters per statement (999 on old builds)


class SentenceVectorStore:
    def __init__(self, path: Path, model: str) -> None:
        self.path = path
        self.model = model
        self._local = threading.local()  # one connection per thread (sqlite3 objects are not shared)

    def _db(self) -> sqlite3.Connection:
        db: sqlite3.Connection | None = getattr(self._local, "db", None)
        if db is None:
            db = self._connect()
            self._local.db = db
        return db

    def _connect(self) -> sqlite3.Connection:
        if self.path.exists() and not os.access(self.path.parent, os.W_OK):
            # a read-only data dir (a replica's snapshot): WAL mode would need to write beside it
            return sqlite3.connect(self.path.resolve().as_uri() + "?immutable=1", uri=True)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:  # callers treat an unusable store as an empty one
            raise sqlite3.OperationalError(f"cannot create {self.path.parent}: {exc}") from exc
        db = sqlite3.connect(self.path, timeout=5)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")
        db.execute("CREATE TABLE IF NOT EXISTS vectors (key BLOB PRIMARY KEY, vec BLOB NOT NULL) WITHOUT ROWID")
        return db

    def _key(self, text: str) -> bytes:
        return hashlib.blake2b(f"{self.model}\0{text}".encode(), digest_size=16).digest()

    def get_many(self, texts: Sequence[str]) -> dict[str, np.ndarray]:
        """The stored vectors of those texts that have one."""
        keys = {self._key(t): t for t in dict.fromkeys(texts)}
        out: dict[str, np.ndarray] = {}
        key_list = list(keys)
        try:
            db = self._db()
            for start in range(0, len(key_list), _MAX_VARS):
                part = key_list[start : start + _MAX_VARS]
                rows = db.execute(
                    f"SELECT key, vec FROM vectors WHERE key IN ({','.join('?' * len(part))})", part
                ).fetchall()
                for key, blob in rows:
                    out[keys[key]] = np.frombuffer(blob, dtype=np.float16).astype(np.float32)
        except sqlite3.Error as exc:  # unreadable store: encode instead, as without one
            log.warning("sentence vectors at %s unreadable (%s); encoding instead", self.path, exc)
        return out

    def missing(self, texts: Sequence[str]) -> list[str]:
        have = self.get_many(texts)
        return [t for t in dict.fromkeys(texts) if t not in have]

    def put_many(self, texts: Sequence[str], vectors: np.ndarray) -> None:
        rows = [(self._key(t), v.astype(np.float16).tobytes()) for t, v in zip(texts, vectors, strict=True)]
        try:
            with self._db() as db:
                db.executemany("INSERT OR REPLACE INTO vectors (key, vec) VALUES (?, ?)", rows)
        except sqlite3.Error as exc:  # read-only data dir, disk full: answers stay right, only slower
            log.warning("cannot store sentence vectors at %s: %s", self.path, exc)

    def count(self) -> int:
        try:
            return int(self._db().execute("SELECT count(*) FROM vectors").fetchone()[0])
        except sqlite3.Error:
            return 0

    def clear(self) -> None:
        """Forget every vector (for --rebuild)."""
        db = getattr(self._local, "db", None)
        if db is not None:
            db.close()
            self._local.db = None
        for suffix in ("", "-wal", "-shm"):
            Path(f"{self.path}{suffix}").unlink(missing_ok=True)


class VectorCache(dict[str, np.ndarray]):
    """The sentence vectors of one question (search, answer and citation checks share them),
    filled from the store before anything is encoded; what had to be encoded is written back."""

    def __init__(self, store: SentenceVectorStore | None) -> None:
        super().__init__()
        self.store = store

    def load(self, texts: Sequence[str]) -> list[str]:
        """Fill from the store; returns the texts still without a vector."""
        if self.store is None:
            return list(texts)
        self.update(self.store.get_many(texts))
        return [t for t in texts if t not in self]

    def save(self, texts: Sequence[str], vectors: np.ndarray) -> None:
        if self.store is not None:
            self.store.put_many(texts, vectors)
