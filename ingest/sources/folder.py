"""A folder of files (recursive), or a single file, read one file at a time.

Order is deterministic (entries sorted by name, depth first). Hidden files and folders are
ignored, and so are LICENSE*/README*/NOTICE* files, which sit next to archives but are not
releases. A bad file becomes a `Skip`; nothing raises out of iteration.
"""

from __future__ import annotations

import logging
import os
import stat
from collections.abc import Iterator
from pathlib import Path

from ingest.extract import (
    Extracted,
    ExtractError,
    decode_bytes,
    extract_html,
    extract_markdown,
    extract_pdf,
    extract_text,
)
from ingest.sources.base import Skip, Source, make_release
from ingest.sources.jsonl import FieldMapCheck, JsonSource, check_field_map
from pressbot.config import Settings
from pressbot.errors import PressbotError
from pressbot.types import Release

logger = logging.getLogger(__name__)

FORMATS = {
    ".md": "markdown", ".markdown": "markdown",
    ".html": "html", ".htm": "html",
    ".txt": "text",
    ".pdf": "pdf",
    ".json": "json", ".jsonl": "json",
}  # fmt: skip
NON_RELEASE_PREFIXES = ("LICENSE", "LICENCE", "README", "NOTICE")
BINARY_SNIFF_BYTES = 8192


def is_ignored(name: str) -> bool:
    return name.startswith(".") or name.upper().startswith(NON_RELEASE_PREFIXES)


class FolderSource(Source):
    """Every supported file under `root`; `root` may also be a single file."""

    def __init__(
        self,
        root: Path,
        settings: Settings,
        *,
        name: str | None = None,
        field_map: dict[str, str] | None = None,
    ) -> None:
        self.root = root
        self.settings = settings
        self.single_file = not root.is_dir()
        self.base = root.parent if self.single_file else root
        self.name = name or (root.stem if self.single_file else root.resolve().name)
        self.field_map = check_field_map(field_map)
        self._check = FieldMapCheck(self.field_map)
        self._max_bytes = int(settings.max_file_mb * 1024 * 1024)

    # --- walking ------------------------------------------------------------------------------

    def _rel(self, path: Path) -> str:
        return path.relative_to(self.base).as_posix()

    def _files(self) -> Iterator[Path | Skip]:
        if self.single_file:
            yield self.root
            return
        yield from self._walk(self.root, visited=set())

    def _walk(self, folder: Path, visited: set[tuple[int, int]]) -> Iterator[Path | Skip]:
        try:
            info = folder.stat()
            if (info.st_dev, info.st_ino) in visited:  # a symlink loop
                return
            visited.add((info.st_dev, info.st_ino))
            with os.scandir(folder) as it:
                entries = sorted(it, key=lambda e: e.name)
        except OSError as exc:
            yield Skip(self._rel(folder) or ".", "unreadable", f"folder: {exc.strerror or exc}")
            return
        for entry in entries:
            if is_ignored(entry.name):
                continue
            path = Path(entry.path)
            try:
                is_dir = entry.is_dir()  # follows symlinks; a broken link is "not a dir"
            except OSError:
                is_dir = False
            if is_dir:
                yield from self._walk(path, visited)
            else:
                yield path

    def estimate(self) -> int | None:
        """Releases to expect: one per file, the records of a JSON Lines file (a JSON file counts
        one: its records are only known once parsed)."""
        total = 0
        for item in self._files():
            if isinstance(item, Path):
                records = JsonSource(item, self.settings).estimate() if item.suffix.lower() == ".jsonl" else None
                total += records or 1
        return total

    # --- reading ------------------------------------------------------------------------------

    def __iter__(self) -> Iterator[Release | Skip]:
        self._check = FieldMapCheck(self.field_map)  # one check over all the JSON files
        for item in self._files():
            if isinstance(item, Skip):
                yield item
                continue
            rel = self._rel(item)
            try:
                yield from self._read(item, rel)
            except PressbotError:
                raise  # a wrong field map ends the run: every JSON record would suffer from it
            except Exception as exc:  # noqa: BLE001 - a bug on one file must not end the run
                logger.warning("reading %s failed", rel, exc_info=True)
                yield Skip(rel, "unreadable", f"{type(exc).__name__}: {exc}")
        if not self._check.settled and self._check.records:
            raise self._check.error()

    def _read(self, path: Path, rel: str) -> Iterator[Release | Skip]:
        suffix = path.suffix.lower()
        kind = FORMATS.get(suffix)
        if kind is None:
            yield Skip(rel, "unsupported", f"{suffix or 'extension-less'} files are not read")
            return
        try:
            info = path.stat()
        except OSError as exc:
            yield Skip(rel, "unreadable", exc.strerror or str(exc))  # e.g. a broken symlink
            return
        if not stat.S_ISREG(info.st_mode):
            yield Skip(rel, "unreadable", "not a regular file")  # a FIFO would block a read
            return
        if kind == "json":
            # streamed line by line (JSON Lines) or size-checked by the JSON source itself
            yield from JsonSource(
                path, self.settings, name=self.name, field_map=self.field_map, prefix=rel, check=self._check
            )
            return
        if info.st_size > self._max_bytes:
            yield Skip(rel, "oversized", f"{info.st_size:,} bytes > {self.settings.max_file_mb} MB")
            return
        try:
            data = path.read_bytes()
        except OSError as exc:
            yield Skip(rel, "unreadable", exc.strerror or str(exc))
            return
        item = self._extract(data, kind, rel)
        if isinstance(item, Skip):
            yield item
            return
        for problem in item.problems:  # e.g. a front matter field that does not parse
            logger.warning("%s: %s", rel, problem)
        if not item.text:
            yield Skip(rel, "no_text", "no text left after extraction")
        else:
            yield make_release(item, fallback_id=rel, source=self.name, aliases=[rel])

    def _extract(self, data: bytes, kind: str, rel: str) -> Extracted | Skip:
        if not data.strip():
            return Skip(rel, "empty", "no content" if not data else "only whitespace")
        if kind == "pdf":
            try:
                return extract_pdf(data)
            except ExtractError as exc:
                return Skip(rel, "unreadable", f"PDF: {exc}")
        if b"\x00" in data[:BINARY_SNIFF_BYTES] and not data.startswith((b"\xff\xfe", b"\xfe\xff")):
            return Skip(rel, "binary", "NUL bytes in the first 8 KB")
        text = decode_bytes(data)
        if text is None:
            return Skip(rel, "undecodable", "not UTF-8, and no other encoding fits")
        if not text.strip():
            return Skip(rel, "empty", "only whitespace")
        if kind == "markdown":
            return extract_markdown(text)
        if kind == "html":
            return extract_html(text)
        return extract_text(text)
