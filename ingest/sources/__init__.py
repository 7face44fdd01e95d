"""Sources: any archive spec -> a stream of `Release` / `Skip` records.

open_source("archive/")                  folder, recursive (FolderSource)
open_source("export.jsonl")              JSON Lines or JSON export (JsonSource)
open_source("release.pdf")               any other single file (a one-file FolderSource)
open_source("https://site/sitemap.xml")  sitemap, RSS/Atom feed or one page (WebSource)
"""

from __future__ import annotations

import logging
from pathlib import Path

from ingest.sources.base import SKIP_REASONS, Skip, SkipReason, Source, make_release
from ingest.sources.folder import FolderSource
from ingest.sources.jsonl import JsonSource, check_field_map
from ingest.sources.web import WebSource
from pressbot.config import Settings
from pressbot.errors import SourceError

__all__ = [
    "SKIP_REASONS",
    "FolderSource",
    "JsonSource",
    "Skip",
    "SkipReason",
    "Source",
    "WebSource",
    "make_release",
    "open_source",
]

logger = logging.getLogger(__name__)

ACCEPTED = (
    "a folder, a .jsonl/.json export, a single file (.md, .html, .txt, .pdf), "
    "or an http(s):// URL of a sitemap, a feed or a page"
)


def open_source(
    spec: str,
    settings: Settings,
    *,
    field_map: dict[str, str] | None = None,
    source_name: str | None = None,
) -> Source:
    """The source for `spec`. Raises SourceError when it cannot be read at all (missing path,
    unreadable folder, unreachable URL, bad field map)."""
    spec = (spec or "").strip()
    if not spec:
        raise SourceError(f"no source given; expected {ACCEPTED}")
    check_field_map(field_map)
    lowered = spec.lower()
    if lowered.startswith(("http://", "https://")):
        if field_map:
            logger.warning("the field map applies to JSON exports only; ignored for %s", spec)
        return WebSource(spec, settings, name=source_name).open()
    if "://" in spec:
        raise SourceError(f"unsupported source {spec!r}: only http:// and https:// URLs are read; expected {ACCEPTED}")
    path = Path(spec).expanduser()
    if not path.exists():
        raise SourceError(f"source {spec!r} does not exist; expected {ACCEPTED}")
    if path.is_dir():
        try:
            next(iter(path.iterdir()), None)
        except OSError as exc:
            raise SourceError(f"cannot read folder {spec!r}: {exc.strerror or exc}") from exc
        return FolderSource(path, settings, name=source_name, field_map=field_map)
    try:
        with path.open("rb"):
            pass
    except OSError as exc:
        raise SourceError(f"cannot open file {spec!r}: {exc.strerror or exc}") from exc
    if path.suffix.lower() in (".jsonl", ".json"):
        return JsonSource(path, settings, name=source_name, field_map=field_map)
    return FolderSource(path, settings, name=source_name, field_map=field_map)
