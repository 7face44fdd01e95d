"""Snapshots of the lexical copy: made once by the ingest job, fetched by new replicas.

A replica against a Chroma server otherwise builds its lexical copy from Chroma before it is
ready: every chunk's text and vector read over HTTP, then tokenised (see the cold-start figures
in the README). The ingest job holds a copy in step with Chroma when its run ends; it publishes
that copy, and a replica without a copy matching Chroma's fingerprint fetches the published one.

Where: the directory PRESSBOT_LEXICAL_SNAPSHOTS names (the ingest job writes there; replicas
read it as a path, or as an http(s) URL of the same directory served by any static server or
object store). What, per snapshot, named by the collection and Chroma's fingerprint
(generation, chunk count, model; characters outside [A-Za-z0-9._-] become '_'):
- `<collection>-<fingerprint>.tar`: the files of `<data_dir>/lexical/<collection>/` as they are.
  Their format is the lexical store's business: a fetched copy is loaded and checked like any
  other, and one the store cannot use is rebuilt from Chroma as before;
- `<collection>-<fingerprint>.json`, the manifest: the fingerprint, the archive's name, size and
  SHA-256. It is written after its archive, so a manifest always names a complete one.

The publisher keeps the newest KEEP snapshots of a collection (a replica still downloading the
one before the latest can finish). A replica checks the manifest's fingerprint, the archive's
size and SHA-256, unpacks it beside its copy and swaps it in; any failure (nothing published for
this fingerprint, a truncated or corrupt download) is logged and the caller builds from Chroma.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import shutil
import tarfile
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Protocol

import httpx

log = logging.getLogger(__name__)

KEEP = 2
_BLOCK = 1 << 20
_TIMEOUT_S = 30.0  # per network read, not for the whole download


def snapshot_name(collection: str, fingerprint: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]", "_", f"{collection}-{fingerprint}")


def _is_url(where: str) -> bool:
    return where.startswith(("http://", "https://"))


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while block := fh.read(_BLOCK):
            digest.update(block)
    return digest.hexdigest()


def publish(where: str, collection: str, fingerprint: str, source: Path) -> Path | None:
    """Publish the lexical copy at `source` (in step with `fingerprint`) into the directory
    `where`, unless it is there already; returns the manifest written, None if none was."""
    if _is_url(where):
        log.warning("PRESSBOT_LEXICAL_SNAPSHOTS=%s is a URL: the ingest job publishes to a directory "
                    "(serve that directory at the URL for the replicas); nothing published", where)
        return None
    out = Path(where)
    name = snapshot_name(collection, fingerprint)
    manifest = out / f"{name}.json"
    if manifest.exists():
        return None
    files = sorted(p for p in source.rglob("*") if p.is_file())
    if not files:
        log.warning("no lexical copy at %s to publish", source)
        return None
    out.mkdir(parents=True, exist_ok=True)
    archive = out / f"{name}.tar"
    fd, tmp_name = tempfile.mkstemp(prefix=f".{name}.", suffix=".tmp", dir=out)
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as fh, tarfile.open(fileobj=fh, mode="w") as tar:
            for f in files:  # not compressed: the copy is mostly vectors and ids, compressing buys little
                tar.add(f, arcname=str(f.relative_to(source)), recursive=False)
        sha, size = _sha256(tmp), tmp.stat().st_size
        tmp.replace(archive)
        body = {"fingerprint": fingerprint, "collection": collection, "archive": archive.name, "bytes": size,
                "sha256": sha}
        _write_atomic(manifest, json.dumps(body, indent=1).encode())
    finally:
        tmp.unlink(missing_ok=True)
    log.info("published the lexical copy (%s, %d MB) as %s", fingerprint, size >> 20, archive)
    _prune(out, collection)
    return manifest


def _write_atomic(path: Path, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
    Path(tmp).replace(path)


def _prune(out: Path, collection: str) -> None:
    """Keep the newest KEEP snapshots of the collection (manifest first: never one without its archive)."""
    manifests = []
    for m in out.glob("*.json"):
        try:
            body = json.loads(m.read_text())
        except (OSError, ValueError):
            continue
        if isinstance(body, dict) and body.get("collection") == collection:
            manifests.append((m.stat().st_mtime, m, body))
    for _, m, body in sorted(manifests, key=lambda t: t[0], reverse=True)[KEEP:]:
        m.unlink(missing_ok=True)
        (out / Path(str(body.get("archive", ""))).name).unlink(missing_ok=True)


class _Reader(Protocol):
    def read(self, n: int = -1, /) -> bytes: ...


@contextmanager
def _open(where: str, name: str) -> Iterator[_Reader | None]:
    """The published file `name` as a binary stream, or None when it is not there."""
    if not _is_url(where):
        try:
            with (Path(where) / name).open("rb") as fh:
                yield fh
        except FileNotFoundError:
            yield None
        return
    url = f"{where.rstrip('/')}/{name}"
    with httpx.stream("GET", url, timeout=_TIMEOUT_S, follow_redirects=True) as resp:
        if resp.status_code == 404:
            yield None
            return
        resp.raise_for_status()
        yield _HttpReader(resp)


class _HttpReader:
    """A response body with the `read(n)` of a file."""

    def __init__(self, resp: httpx.Response) -> None:
        self._chunks = resp.iter_bytes(_BLOCK)

    def read(self, n: int = -1) -> bytes:
        return next(self._chunks, b"")


def fetch(where: str, collection: str, fingerprint: str, dest: Path) -> bool:
    """Install the published snapshot of `fingerprint` at `dest` (the lexical copy's directory);
    False, with the reason logged, when there is none or it fails its checks."""
    name = snapshot_name(collection, fingerprint)
    try:
        with _open(where, f"{name}.json") as fh:
            if fh is None:
                log.info("no lexical snapshot %s at %s; building from Chroma", name, where)
                return False
            manifest: dict[str, Any] = json.loads(fh.read())
        if manifest.get("fingerprint") != fingerprint:
            raise ValueError(f"its manifest is for {manifest.get('fingerprint')!r}")
        dest.parent.mkdir(parents=True, exist_ok=True)
        # named as the lexical store names its writers' temp dirs (after the pid): one left by a
        # killed process is cleaned up as theirs are
        tmp = Path(tempfile.mkdtemp(prefix=f".{dest.name}.{os.getpid()}.", dir=dest.parent))
        try:
            archive = tmp / "snapshot.tar"
            _download(where, str(manifest["archive"]), archive, int(manifest["bytes"]), str(manifest["sha256"]))
            unpacked = tmp / "copy"
            with tarfile.open(archive) as tar:
                tar.extractall(unpacked, filter="data")  # no absolute paths, links out or devices
            archive.unlink()
            _swap(unpacked, dest)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    except (OSError, ValueError, KeyError, TypeError, httpx.HTTPError, tarfile.TarError) as exc:
        log.warning("lexical snapshot %s at %s unusable (%s); building from Chroma", name, where, exc)
        return False
    log.info("lexical copy fetched from the snapshot %s at %s", name, where)
    return True


def _download(where: str, archive_name: str, to: Path, size: int, sha256: str) -> None:
    digest = hashlib.sha256()
    got = 0
    with _open(where, Path(archive_name).name) as src, to.open("wb") as out:
        if src is None:
            raise ValueError(f"its archive {archive_name} is missing")
        while block := src.read(_BLOCK):
            digest.update(block)
            out.write(block)
            got += len(block)
    if got != size:
        raise ValueError(f"{archive_name} has {got} bytes, its manifest says {size}")
    if digest.hexdigest() != sha256:
        raise ValueError(f"{archive_name} fails its SHA-256 check")


def _swap(new: Path, dest: Path) -> None:
    """Put `new` at `dest`; processes that mapped the old files keep them until they reload."""
    old = dest.with_name(f".{dest.name}.{os.getpid()}.replaced")
    if dest.exists():
        dest.rename(old)
    new.rename(dest)
    shutil.rmtree(old, ignore_errors=True)
