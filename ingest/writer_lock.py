"""One writer per index at a time.

Two ingests into one index corrupt it: the second one's repair deletes the chunks the first has
written but not yet committed, and the one that finishes marks the index clean over the other's
leftovers. So a writer holds a lock for its whole run (repair, writes, prune, lexical sync);
readers (ask, serve) never take it.

What a reader can wait for is one Chroma transaction: every Chroma client records its start in
the index (a row in Chroma's `acquire_write` table), which needs SQLite's write lock for a
moment, so a client opened while a writer commits waits for that commit (milliseconds; for ever
only if the writer is stopped inside one). A server (`serve`, the bot) opens its client once.

- Embedded index: an OS file lock (`filelock`, flock on POSIX) beside the index in the data
  dir; the kernel releases it when its holder dies, however it dies.
- Chroma server: a lease record in a collection beside the index, renewed by a heartbeat and
  expiring `writer_lease_s` after its holder stops renewing (a killed writer). Chroma has no
  compare-and-set, so a claim is written, left to settle, and read back: of two claims made at
  once the one read back wins and the other waits. A holder whose lease was taken over (it was
  paused longer than the lease) stops before its next write (`check`).
"""

from __future__ import annotations

import json
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np
from chromadb.api import ClientAPI
from filelock import FileLock, Timeout

from pressbot.config import Settings
from pressbot.data_dir import chroma_dir
from pressbot.errors import IndexBusyError
from pressbot.index import make_client

_LEASE_ID = "writer"
_SETTLE_S = 1.0  # how long a claim is left before it is read back (longer than any claim takes to write)
_POLL_S = 0.5


def _holder() -> dict[str, Any]:
    return {"pid": os.getpid(), "host": socket.gethostname(), "since": time.strftime("%Y-%m-%dT%H:%M:%S%z")}


def _describe(holder: dict[str, Any] | None) -> str:
    if not holder:
        return "another ingest"
    return f"another ingest (pid {holder.get('pid')} on {holder.get('host')}, since {holder.get('since')})"


def _busy(location: str, holder: dict[str, Any] | None, waited: float) -> IndexBusyError:
    return IndexBusyError(
        f"{_describe(holder)} is writing the index at {location}; gave up after waiting {waited:g} s. "
        "Run again when it has finished, or wait longer with --wait-timeout SECONDS"
    )


class WriterLock:
    """Held by the one writer of an index; `check()` raises if it was lost."""

    def check(self) -> None:
        """Raise IndexBusyError if another writer has taken the index over."""


@contextmanager
def writer_lock(
    settings: Settings, *, wait_s: float, on_wait: Callable[[str], None]
) -> Iterator[tuple[ClientAPI, WriterLock]]:
    """Hold the index's writer lock for the block, with a client to write through; wait up to
    `wait_s` for it (telling `on_wait` once), then raise IndexBusyError.

    The embedded client is opened only once the lock is held: opening it on a new data dir
    creates Chroma's SQLite schema, and two writers doing that at once fail with "table
    collections already exists"."""
    if settings.chroma_url:
        client = make_client(settings, create=True)
        lease = _ChromaLease(client, settings)
        lease.acquire(wait_s, on_wait)
        try:
            yield client, lease
        finally:
            lease.release()
    else:
        chroma_dir(settings, create=True)  # checks and makes the data dir the lock file lives in
        with _file_lock(settings, wait_s, on_wait) as lock:
            yield make_client(settings, create=True), lock


@contextmanager
def _file_lock(settings: Settings, wait_s: float, on_wait: Callable[[str], None]) -> Iterator[WriterLock]:
    path = settings.data_dir / f"{settings.collection}.ingest.lock"
    owner = path.with_name(path.name + ".holder")
    lock = FileLock(path, thread_local=False)
    location = str(settings.data_dir)
    try:
        lock.acquire(timeout=0)
    except Timeout:
        holder = _read_json(owner)
        on_wait(f"{_describe(holder)} is writing the index at {location}; waiting up to {wait_s:g} s for it to finish")
        try:
            lock.acquire(timeout=wait_s)
        except Timeout:
            raise _busy(location, _read_json(owner), wait_s) from None
    try:
        owner.write_text(json.dumps(_holder()))
        yield WriterLock()
    finally:
        owner.unlink(missing_ok=True)
        lock.release()


def _read_json(path: Any) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


class _ChromaLease(WriterLock):
    def __init__(self, client: ClientAPI, settings: Settings) -> None:
        self.collection = client.get_or_create_collection(settings.collection + "__writer", embedding_function=None)
        self.ttl = settings.writer_lease_s
        self.location = f"{settings.chroma_url} (collection {settings.collection!r})"
        self.me = {**_holder(), "token": uuid.uuid4().hex}
        self._stop = threading.Event()
        self._lost = False
        self._renewed = 0.0  # time.monotonic() of the last renewal (it runs on while paused)
        self._beat: threading.Thread | None = None

    def _current(self) -> dict[str, Any] | None:
        got = self.collection.get(ids=[_LEASE_ID], include=["metadatas"])
        metas = got.get("metadatas") or []
        return dict(metas[0]) if got["ids"] and metas and metas[0] else None

    def _write(self) -> None:
        claim = {**self.me, "expires": time.time() + self.ttl}
        self.collection.upsert(ids=[_LEASE_ID], metadatas=[claim], embeddings=np.ones((1, 1), dtype=np.float32))
        self._renewed = time.monotonic()

    def _is_mine(self, held: dict[str, Any] | None) -> bool:
        return held is not None and held.get("token") == self.me["token"]

    def _still_ours(self) -> bool:
        return self._is_mine(self._current())

    def _claim(self) -> dict[str, Any] | None:
        """None when the lease is ours now, else its live holder."""
        held = self._current()
        if held and not self._is_mine(held) and float(held.get("expires", 0)) > time.time():
            return held
        self._write()
        time.sleep(_SETTLE_S)
        held = self._current()
        return None if self._is_mine(held) else held

    def acquire(self, wait_s: float, on_wait: Callable[[str], None]) -> None:
        deadline = time.monotonic() + wait_s
        told = False
        while (holder := self._claim()) is not None:
            if time.monotonic() >= deadline:
                raise _busy(self.location, holder, wait_s)
            if not told:
                on_wait(f"{_describe(holder)} is writing the index at {self.location}; waiting up to {wait_s:g} s")
                told = True
            time.sleep(_POLL_S)
        self._beat = threading.Thread(target=self._heartbeat, daemon=True, name="writer-lease")
        self._beat.start()

    def _heartbeat(self) -> None:
        while not self._stop.wait(self.ttl / 3):
            try:
                if not self._still_ours():
                    self._lost = True
                    return
                self._write()
            except Exception:  # a server hiccup: the next beat tries again, the lease has slack
                continue

    def check(self) -> None:
        # a writer resumed after a pause may run before its heartbeat notices the lease is gone
        if not self._lost and time.monotonic() - self._renewed > self.ttl / 2:
            self._lost = not self._still_ours()
            if not self._lost:
                self._write()
        if self._lost:
            raise IndexBusyError(
                f"this ingest lost its writer lease on {self.location} to another ingest (it was paused or "
                f"cut off for longer than PRESSBOT_WRITER_LEASE_S={self.ttl:g} s) and stopped before writing "
                "again; what it committed is kept. Run it again when the other has finished"
            )

    def release(self) -> None:
        self._stop.set()
        if self._beat is not None:
            self._beat.join(timeout=5)
        try:
            if self._still_ours():
                self.collection.delete(ids=[_LEASE_ID])
        except Exception:  # unreachable server: the lease expires on its own
            pass
