"""The lexical copy on disk: brought in step with Chroma incrementally, in bounded memory.

A copy is a directory:
- `rows.json`: chunk ids, their content hashes, sources and languages, row by row;
- `dates.npy`: date ordinals (0 = undated); `vectors.f32`: the chunk vectors, row by row;
- `tokens.i32` + `token_ptr.npy`: each row's BM25 token ids;
- `texts.bin` + `text_ptr.npy`, `metas.bin` + `meta_ptr.npy`: each row's passage text (UTF-8) and
  Chroma metadata (JSON), so a search reads its passages here, not from Chroma (a get of 40
  passages from Chroma took ~7 ms at 50k chunks);
- `bm25/`: the BM25 matrix and the token -> id map, saved by bm25s;
- `format` and `fingerprint` (Chroma's generation and chunk count), written last: a copy
  without them was cut short and is not used.

An update reads the ids and metadata of every chunk from Chroma a page at a time and keeps the
rows of the previous copy whose id and content hash are unchanged; only new or changed chunks
are fetched (text and vector) and tokenized. Rows stream to files: memory holds one page, the
token-id-to-token map and, at the end, the BM25 matrix being built, never the whole corpus (the
full rebuild it replaces peaked at +836 MB at 80k chunks). The new copy is written beside the
old one and swapped in; readers that mapped the old files keep them until they reload.
"""

from __future__ import annotations

import glob
import json
import logging
import os
import shutil
import sys
import tempfile
from array import array
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import bm25s
import numpy as np

from pressbot.lexical import LexicalIndex, bm25_from_postings, index_tokens, indexed_text

log = logging.getLogger(__name__)

FORMAT = "3"  # bump when the layout changes: older copies are then rebuilt from Chroma
_BLOCK_TOKENS = 1 << 18  # tokens per block while building the BM25 matrix (1 MB of ids)

Page = tuple[Sequence[str], Sequence[Mapping[str, Any]]]  # chunk ids and their metadata
Fetch = Callable[[list[str]], Mapping[str, tuple[str, np.ndarray]]]  # ids -> (text, vector)


def load(path: Path, fingerprint: str) -> LexicalIndex | None:
    """The saved copy if it is complete and matches the fingerprint, else None."""
    try:
        if (path / "format").read_text() != FORMAT or (path / "fingerprint").read_text() != fingerprint:
            return None
        rows = json.loads((path / "rows.json").read_text())
        n = len(rows["ids"])
        if n and not (path / "bm25").exists():
            raise ValueError("rows without their BM25 matrix")  # else every search finds nothing
        # memory-mapped: loading is instant and the pages are shared between processes
        bm25 = bm25s.BM25.load(str(path / "bm25"), mmap=True, show_progress=False) if n else None
        vectors = _vectors(path, n)
        dates = np.load(path / "dates.npy")
        if len(dates) != n:
            raise ValueError("dates and rows disagree")
        documents = Documents(path, n) if n else None
    except (OSError, ValueError, KeyError) as exc:
        log.info("lexical copy at %s unusable (%s); rebuilding", path, exc)
        return None
    return LexicalIndex(
        rows["ids"],
        bm25,
        dates,
        np.asarray(rows["source"], dtype=object),
        np.asarray(rows["language"], dtype=object),
        fingerprint,
        vectors,
        documents,
    )


class Documents:
    """The passage text and metadata of each row, memory-mapped and decoded on demand."""

    def __init__(self, path: Path, n: int) -> None:
        self.text_ptr = _offsets(path, "texts.bin", "text_ptr.npy", n)
        self.meta_ptr = _offsets(path, "metas.bin", "meta_ptr.npy", n)
        self.texts = _bytes(path / "texts.bin")
        self.metas = _bytes(path / "metas.bin")

    def __call__(self, row: int) -> tuple[str, dict[str, Any]]:
        text = self.texts[self.text_ptr[row] : self.text_ptr[row + 1]].tobytes().decode("utf-8")
        meta = json.loads(self.metas[self.meta_ptr[row] : self.meta_ptr[row + 1]].tobytes())
        return text, meta


def _offsets(path: Path, data: str, ptr_name: str, n: int, itemsize: int = 1) -> np.ndarray:
    """The offsets of n rows into a data file, checked against the rows and the file's size."""
    ptr: np.ndarray = np.load(path / ptr_name)  # a .npy file holds an array
    if len(ptr) != n + 1 or (path / data).stat().st_size != itemsize * int(ptr[-1]):
        raise ValueError(f"{data} and its rows disagree")
    return ptr


def _bytes(path: Path) -> np.ndarray:
    size = path.stat().st_size
    return np.memmap(path, dtype=np.uint8, mode="r") if size else np.zeros(0, dtype=np.uint8)


def _vectors(path: Path, n: int) -> np.ndarray | None:
    if not n:
        return None
    size = (path / "vectors.f32").stat().st_size
    if size % (4 * n):
        raise ValueError("vectors and rows disagree")
    return np.memmap(path / "vectors.f32", dtype=np.float32, mode="r", shape=(n, size // (4 * n)))


def write(path: Path, fingerprint: str, pages: Iterable[Page], fetch: Fetch) -> None:
    """Write the copy for Chroma's current content (pages of ids + metadata; `fetch` gives the
    text and vector of chunks the previous copy at `path` does not hold)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    remove_leftovers(path)
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.{os.getpid()}.", dir=path.parent))
    try:
        with _Previous.open(path) as previous, _Writer(tmp, previous) as writer:
            for ids, metas in pages:
                writer.add_page(ids, metas, fetch)
            writer.finish(fingerprint)
        _swap(tmp, path)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def remove_leftovers(path: Path) -> list[Path]:
    """Remove the temp dirs of writers of `path` that died (killed mid-write): each is named
    after its writer's pid, so one whose process is gone is a leftover; a live writer's (a
    reader process may bring the copy up to date too) is left alone."""
    removed = []
    for tmp in path.parent.glob(f".{glob.escape(path.name)}.*"):
        pid = tmp.name[len(path.name) + 2 :].split(".", 1)[0]
        if tmp.is_dir() and pid.isdigit() and not _alive(int(pid)):
            shutil.rmtree(tmp, ignore_errors=True)
            removed.append(tmp)
    if removed:
        log.info("removed %d temp dirs left by killed writers of %s", len(removed), path)
    return removed


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's live process
        return True
    return True


def _swap(new: Path, path: Path) -> None:
    old = path.with_name(f".{path.name}.old")
    shutil.rmtree(old, ignore_errors=True)
    if path.exists():
        path.rename(old)
    new.rename(path)
    shutil.rmtree(old, ignore_errors=True)


class _Previous:
    """The rows of an earlier copy, read on demand (not mapped: its pages must not add to
    this process's resident memory)."""

    def __init__(self, path: Path | None) -> None:
        self.row_of: dict[tuple[str, str], int] = {}
        self.vocab: dict[str, int] = {}
        self._files: list[Any] = []
        if path is None:
            return
        rows = json.loads((path / "rows.json").read_text())
        self.row_of = {(cid, h): i for i, (cid, h) in enumerate(zip(rows["ids"], rows["hashes"], strict=True))}
        n = len(rows["ids"])
        if n:
            self.vocab = json.loads((path / "bm25" / "vocab.index.json").read_text())
        self.ptr = _offsets(path, "tokens.i32", "token_ptr.npy", n, itemsize=4)
        self.text_ptr = _offsets(path, "texts.bin", "text_ptr.npy", n)
        self.dim = (path / "vectors.f32").stat().st_size // (4 * n) if n else 0
        self.tokens = open(path / "tokens.i32", "rb")  # noqa: SIM115 - closed in __exit__
        self.vectors = open(path / "vectors.f32", "rb")  # noqa: SIM115
        self.texts = open(path / "texts.bin", "rb")  # noqa: SIM115
        self._files = [self.tokens, self.vectors, self.texts]

    @classmethod
    def open(cls, path: Path) -> _Previous:
        try:
            if (path / "format").read_text() == FORMAT and (path / "fingerprint").exists():
                return cls(path)
        except (OSError, ValueError, KeyError) as exc:
            log.info("previous lexical copy at %s unusable (%s); building from Chroma alone", path, exc)
        return cls(None)

    def row(self, chunk_id: str, content_hash: str) -> int | None:
        return self.row_of.get((chunk_id, content_hash))

    def token_ids(self, row: int) -> np.ndarray:
        return np.frombuffer(_row_bytes(self.tokens, self.ptr, row, 4), dtype=np.int32)

    def text(self, row: int) -> bytes:
        return _row_bytes(self.texts, self.text_ptr, row, 1)

    def vector(self, row: int) -> np.ndarray:
        return np.frombuffer(os.pread(self.vectors.fileno(), 4 * self.dim, 4 * self.dim * row), dtype=np.float32)

    def __enter__(self) -> _Previous:
        return self

    def __exit__(self, *exc: object) -> None:
        for f in self._files:
            f.close()


def _row_bytes(f: Any, ptr: np.ndarray, row: int, itemsize: int) -> bytes:
    start, end = int(ptr[row]), int(ptr[row + 1])
    return os.pread(f.fileno(), itemsize * (end - start), itemsize * start)


class _Writer:
    def __init__(self, path: Path, previous: _Previous) -> None:
        self.path = path
        self.previous = previous
        self.vocab = dict(previous.vocab)  # ids stay stable: kept rows' token ids remain valid
        self.ids: list[str] = []
        self.hashes: list[str] = []
        self.sources: list[str] = []
        self.languages: list[str] = []
        # compact arrays, not lists of Python ints: they grow with the whole index
        self.dates = array("i")
        self.ptr = array("q", [0])
        self.text_ptr = array("q", [0])
        self.meta_ptr = array("q", [0])
        self.tokens = open(path / "tokens.i32", "wb")  # noqa: SIM115 - closed in __exit__
        self.vectors = open(path / "vectors.f32", "wb")  # noqa: SIM115
        self.texts = open(path / "texts.bin", "wb")  # noqa: SIM115
        self.metas = open(path / "metas.bin", "wb")  # noqa: SIM115
        self._files = [self.tokens, self.vectors, self.texts, self.metas]
        self.reused = 0

    def add_page(self, ids: Sequence[str], metas: Sequence[Mapping[str, Any]], fetch: Fetch) -> None:
        rows = [self.previous.row(cid, str(m.get("content_hash", ""))) for cid, m in zip(ids, metas, strict=True)]
        missing = [cid for cid, row in zip(ids, rows, strict=True) if row is None]
        fetched = fetch(missing) if missing else {}
        for cid, meta, row in zip(ids, metas, rows, strict=True):
            if row is not None:
                tokens, vector = self.previous.token_ids(row), self.previous.vector(row)
                text_bytes = self.previous.text(row)
                self.reused += 1
            elif cid not in fetched:
                continue  # deleted by a writer since its page was read
            else:
                text, vector = fetched[cid]
                words = index_tokens(indexed_text(text, meta))
                tokens = np.array([self.vocab.setdefault(w, len(self.vocab)) for w in words], dtype=np.int32)
                text_bytes = text.encode("utf-8")
            meta_bytes = json.dumps(meta).encode("utf-8")
            self.tokens.write(tokens.tobytes())
            self.vectors.write(np.asarray(vector, dtype=np.float32).tobytes())
            self.texts.write(text_bytes)
            self.metas.write(meta_bytes)
            self.ptr.append(self.ptr[-1] + len(tokens))
            self.text_ptr.append(self.text_ptr[-1] + len(text_bytes))
            self.meta_ptr.append(self.meta_ptr[-1] + len(meta_bytes))
            self.ids.append(cid)
            self.hashes.append(str(meta.get("content_hash", "")))
            self.sources.append(sys.intern(str(meta.get("source", ""))))  # a few distinct values
            self.languages.append(sys.intern(str(meta.get("language", "und"))))
            self.dates.append(int(meta.get("date_ord", 0) or 0))

    def finish(self, fingerprint: str) -> None:
        self._close()
        ptr = np.asarray(self.ptr, dtype=np.int64)
        np.save(self.path / "token_ptr.npy", ptr)
        np.save(self.path / "text_ptr.npy", np.asarray(self.text_ptr, dtype=np.int64))
        np.save(self.path / "meta_ptr.npy", np.asarray(self.meta_ptr, dtype=np.int64))
        np.save(self.path / "dates.npy", np.asarray(self.dates, dtype=np.int32))
        rows = {"ids": self.ids, "hashes": self.hashes, "source": self.sources, "language": self.languages}
        (self.path / "rows.json").write_text(json.dumps(rows))
        if self.ids:
            bm25 = bm25_from_postings(lambda: _blocks(self.path / "tokens.i32", ptr), np.diff(ptr), self.vocab)
            bm25.save(str(self.path / "bm25"), show_progress=False)
        log.info("lexical copy: %d rows, %d kept from the previous copy", len(self.ids), self.reused)
        (self.path / "format").write_text(FORMAT)
        (self.path / "fingerprint").write_text(fingerprint)  # last: marks the copy complete

    def _close(self) -> None:
        for f in self._files:
            f.close()

    def __enter__(self) -> _Writer:
        return self

    def __exit__(self, *exc: object) -> None:
        self._close()


def _blocks(tokens_path: Path, ptr: np.ndarray) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """(row of each token, token id) over the token file, about _BLOCK_TOKENS at a time, whole
    rows per block."""
    n = len(ptr) - 1
    with open(tokens_path, "rb") as f:
        start = 0
        while start < n:
            end = int(np.searchsorted(ptr, ptr[start] + _BLOCK_TOKENS, side="right")) - 1
            end = min(max(end, start + 1), n)
            lo, hi = int(ptr[start]), int(ptr[end])
            tokens = np.frombuffer(os.pread(f.fileno(), 4 * (hi - lo), 4 * lo), dtype=np.int32)
            rows = np.repeat(np.arange(start, end), np.diff(ptr[start : end + 1]))
            yield rows, tokens
            start = end
