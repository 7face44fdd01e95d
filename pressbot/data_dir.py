"""The data dir of the embedded index, checked before Chroma touches it.

Chroma's own errors for a bad location are tracebacks from its Rust core ("attempt to write a
readonly database", "Not a directory"), and opening a path creates it. Here each case gets a
message that names the fix, readers (ask, stats, serve) never create anything, and a read-only
index, such as a replica serving a snapshot mounted read-only, is served from a private copy of
Chroma's SQLite file: Chroma opens its database read-write even to read, and the vector
segments beside it are only read.
"""

from __future__ import annotations

import atexit
import logging
import os
import shutil
import sqlite3
import tempfile
from contextlib import closing
from pathlib import Path

from pressbot.config import Settings
from pressbot.errors import ConfigError, IndexEmptyError

log = logging.getLogger(__name__)

CHROMA_DB = "chroma.sqlite3"


def is_writable(path: Path) -> bool:
    """Whether this process may write under `path` (a read-only mount says no even to root)."""
    return os.access(path, os.W_OK) and all(os.access(f, os.W_OK) for f in path.glob(CHROMA_DB))


def chroma_dir(settings: Settings, *, create: bool) -> Path:
    """The directory to open Chroma on: the index's own, created when `create` (a writer), or
    a read-only copy of it when this process may not write there (a reader)."""
    data_dir, path = settings.data_dir, settings.chroma_path
    for p in (data_dir, path):
        if p.exists() and not p.is_dir():
            raise ConfigError(
                f"the data dir {data_dir} cannot hold an index: {p} is a file, not a directory; "
                "pass --data-dir (or PRESSBOT_DATA_DIR) a directory"
            )
    if not create and not _has_schema(path / CHROMA_DB):
        # also when the first ingest is creating it: a reader that opened Chroma then would
        # apply Chroma's schema too, and one of the two would fail ("table ... already exists")
        raise IndexEmptyError(
            f"no index at {data_dir}; run `pressbot ingest PATH` first with this data dir "
            "(or `make demo` for the sample archive)"
        )
    if not path.is_dir():
        try:
            path.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ConfigError(
                f"cannot create the index at {data_dir}: {exc.strerror or exc}; "
                "pass --data-dir (or PRESSBOT_DATA_DIR) a directory you can write to"
            ) from None
    if is_writable(path):
        return path
    if create:
        raise ConfigError(
            f"the index at {data_dir} is read-only, and ingest writes to it; copy it somewhere "
            "writable and pass that as --data-dir (ask, stats and serve can use it as it is)"
        )
    return _read_only_copy(path)


def _has_schema(db: Path) -> bool:
    """Whether Chroma's database exists with its schema committed (read without writing)."""
    if not db.is_file():
        return False
    try:
        with closing(sqlite3.connect(f"{db.as_uri()}?mode=ro", uri=True, timeout=5)) as conn:
            return conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'collections'").fetchone() is not None
    except sqlite3.Error:
        return True  # not ours to judge (locked for long, unreadable): Chroma's own open reports it


def _read_only_copy(path: Path) -> Path:
    copy = Path(tempfile.mkdtemp(prefix="pressbot-readonly-"))
    atexit.register(shutil.rmtree, copy, True)
    for child in path.iterdir():
        if child.is_dir():
            (copy / child.name).symlink_to(child.resolve(), target_is_directory=True)
        else:
            shutil.copy2(child, copy / child.name)
    log.warning("the index at %s is read-only: serving it from a private copy of its database in %s", path, copy)
    return copy
