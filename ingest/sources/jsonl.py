"""JSON Lines and JSON exports: one release per object.

Field names are detected per record from common spellings (see `DETECT`); a `field_map` such
as {"title": "headline", "text": "story", "date": "pub"} overrides detection for the fields it
names (dotted keys reach into nested objects: "meta.published"). A mapped key that no record
has is a mistake in the map, not a property of the data: it raises ConfigError (see
`FieldMapCheck`) before any of the file's records is yielded.
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from ingest.clean import clean_text
from ingest.extract import (
    DATE_KEYS,
    LANGUAGE_KEYS,
    TITLE_KEYS,
    extract_html_fragment,
    finish,
    first_value,
    http_url,
    looks_like_html,
)
from ingest.sources.base import Skip, Source, make_release
from pressbot.config import Settings
from pressbot.errors import ConfigError, SourceError
from pressbot.types import Release

logger = logging.getLogger(__name__)

DETECT: dict[str, tuple[str, ...]] = {
    "title": TITLE_KEYS,
    "text": ("text", "body", "content", "content_text", "body_text", "plain_text", "article"),
    "html": ("content_html", "html", "body_html", "content_rendered"),
    "url": ("url", "link", "permalink", "canonical_url", "source_url", "href"),
    "date": DATE_KEYS,
    "language": LANGUAGE_KEYS,
    "id": ("id", "guid", "uuid", "_id"),
}
FIELDS = tuple(DETECT)
# Where a JSON document keeps its list of records.
# Said of a JSON value nested deeper than Python's parser can follow (its recursion limit).
TOO_DEEP = "nested too deeply to read (over ~{} levels of arrays/objects); a release is a flat object"
LIST_KEYS = ("items", "releases", "data", "entries", "posts", "articles", "results", "records",
             "documents", "docs")  # fmt: skip


def check_field_map(field_map: dict[str, str] | None) -> dict[str, str]:
    """Validate a field map's keys so a typo fails at start-up, not as 2,000 no_text skips."""
    field_map = dict(field_map or {})
    unknown = sorted(set(field_map) - set(FIELDS))
    if unknown:
        raise SourceError(
            f"unknown field(s) in field map: {', '.join(unknown)}; "
            f"the fields that can be mapped are {', '.join(FIELDS)}"
        )
    bad = [k for k, v in field_map.items() if not isinstance(v, str) or not v]
    if bad:
        raise SourceError(f"field map entries need a JSON key name as value: {', '.join(bad)}")
    return field_map


_ABSENT = object()


def _find(record: dict[str, Any], dotted: str) -> Any:
    """The value at a key or a dotted path ("meta.date"), or _ABSENT."""
    if dotted in record:
        return record[dotted]
    value: Any = record
    for part in dotted.split("."):
        if not isinstance(value, dict) or part not in value:
            return _ABSENT
        value = value[part]
    return value


def _lookup(record: dict[str, Any], dotted: str) -> Any:
    value = _find(record, dotted)
    return None if value is _ABSENT else value


def _has(record: dict[str, Any], dotted: str) -> bool:
    """Does the record have this key (a null value counts: the key is spelled right)?"""
    return _find(record, dotted) is not _ABSENT


FIELD_MAP_PROBE = 50  # records that may all lack a mapped key before the map is called wrong
_SHOWN_KEYS = 30


class FieldMapCheck:
    """The mapped keys no record has had yet. A key the first `FIELD_MAP_PROBE` records all
    lack (or every record of a shorter source) is a typo or a wrong export: without this check
    it silently skips every record as no_text (or loses every title or date)."""

    def __init__(self, field_map: dict[str, str]) -> None:
        self.missing = dict(field_map)  # field -> key, for keys not found in any record yet
        self.records = 0
        self.keys: set[str] = set()  # keys the records do have, for the message
        self.files: list[str] = []

    @property
    def settled(self) -> bool:
        return not self.missing

    def observe(self, record: Any, where: str) -> None:
        if not self.missing or not isinstance(record, dict):
            return
        self.records += 1
        if where not in self.files:
            self.files.append(where)
        self.missing = {f: k for f, k in self.missing.items() if not _has(record, k)}
        if len(self.keys) < 10 * _SHOWN_KEYS:
            for key, value in record.items():
                self.keys.add(str(key))
                if isinstance(value, dict):  # one level down, for dotted keys
                    self.keys.update(f"{key}.{sub}" for sub in value)

    def error(self) -> ConfigError:
        pairs = ", ".join(f"{f}={k}" for f, k in self.missing.items())
        keys = sorted(self.keys)
        shown = ", ".join(keys[:_SHOWN_KEYS]) + (", ..." if len(keys) > _SHOWN_KEYS else "")
        files = ", ".join(self.files[:3]) + (", ..." if len(self.files) > 3 else "")
        first = "the" if self.records < FIELD_MAP_PROBE else "the first"
        return ConfigError(
            f"the field map names a key no record has: {pairs} (none of {first} {self.records} "
            f"record(s) of {files} has it); the records' keys are: {shown or 'none'}. "
            "Map the field to one of those keys (--field FIELD=KEY), or drop the mapping."
        )


def _field(record: dict[str, Any], name: str, field_map: dict[str, str]) -> Any:
    if name in field_map:
        value = _lookup(record, field_map[name])
        if isinstance(value, dict) and "rendered" in value:
            value = value["rendered"]
        return value
    return first_value(record, DETECT[name])


def record_to_item(
    record: Any, *, location: str, fallback_id: str, source: str, field_map: dict[str, str]
) -> Release | Skip:
    """One JSON object to a Release (or a Skip saying why not)."""
    if not isinstance(record, dict):
        return Skip(location, "malformed_json", f"expected an object, got {type(record).__name__}")
    plain = _field(record, "text", field_map)
    markup = _field(record, "html", field_map)
    text = ""
    if isinstance(plain, str) and plain.strip():
        text = extract_html_fragment(plain) if looks_like_html(plain) else clean_text(plain)
    if not text and isinstance(markup, str) and markup.strip():
        text = extract_html_fragment(markup)
    if not text:
        return Skip(location, "no_text", "no text or HTML body field with content")
    url = http_url(_field(record, "url", field_map))
    title = _field(record, "title", field_map)
    extracted = finish(
        title=str(title) if title not in (None, "") else None,
        text=text,
        date_value=_field(record, "date", field_map),
        url=url,
        language=_field(record, "language", field_map),
    )
    if not extracted.text:
        return Skip(location, "no_text", "only a title line")
    # with a URL as id, the export's own id is worth keeping as another name; without one it
    # is already part of the id ("<file>#<id>")
    own_id = _field(record, "id", field_map)
    aliases = [str(own_id)] if url and own_id not in (None, "") else []
    return make_release(extracted, fallback_id=fallback_id, source=source, aliases=aliases)


def _records_in(document: Any) -> list[Any] | None:
    """The list of records in a JSON document: the document itself, a list under a known key,
    the only list of objects in it, or the document as a single record."""
    if isinstance(document, list):
        return document
    if not isinstance(document, dict):
        return None
    for key in LIST_KEYS:
        if isinstance(document.get(key), list):
            return list(document[key])
    lists = [v for v in document.values() if isinstance(v, list) and v and isinstance(v[0], dict)]
    if len(lists) == 1:
        return lists[0]
    if first_value(document, DETECT["text"] + DETECT["html"]) is not None:
        return [document]
    return None


class JsonSource(Source):
    """A `.jsonl` file read line by line, or a `.json` file (a list of objects, or an object
    holding one). `prefix` is the file's path inside the archive, used in ids and locations."""

    def __init__(
        self,
        path: Path,
        settings: Settings,
        *,
        name: str | None = None,
        field_map: dict[str, str] | None = None,
        prefix: str | None = None,
        check: FieldMapCheck | None = None,
    ) -> None:
        self.path = path
        self.settings = settings
        self.name = name or path.stem
        self.field_map = check_field_map(field_map)
        self.prefix = prefix or path.name
        self._max_bytes = int(settings.max_file_mb * 1024 * 1024)
        # shared with the folder holding this file: then "no record has it" spans the folder
        self._shared_check = check
        self._check = check or FieldMapCheck(self.field_map)

    def estimate(self) -> int | None:
        if self.path.suffix.lower() != ".jsonl":
            return None
        try:
            with self.path.open("rb") as f:
                return sum(chunk.count(b"\n") for chunk in iter(lambda: f.read(1 << 20), b""))
        except OSError:
            return None

    def __iter__(self) -> Iterator[Release | Skip]:
        if self._shared_check is None:
            self._check = FieldMapCheck(self.field_map)  # iterating again starts over
        check = self._check
        items = self._iter_lines() if self.path.suffix.lower() == ".jsonl" else self._iter_document()
        # items are held back until every mapped key has been seen, so a wrong map fails
        # before anything is indexed (usually the first record settles it)
        held: list[Release | Skip] = []
        for item in items:
            if check.settled:
                yield from held
                held = []
                yield item
                continue
            held.append(item)
            if check.records >= FIELD_MAP_PROBE:
                raise check.error()
        if not check.settled and check.records and self._shared_check is None:
            raise check.error()
        yield from held

    def _item(self, record: Any, n: int) -> Release | Skip:
        self._check.observe(record, self.prefix)
        own_id = _field(record, "id", self.field_map) if isinstance(record, dict) else None
        key = own_id if own_id not in (None, "") and not isinstance(own_id, dict | list) else n
        try:
            return record_to_item(
                record,
                location=f"{self.prefix}#{n}",
                fallback_id=f"{self.prefix}#{key}",
                source=self.name,
                field_map=self.field_map,
            )
        except Exception as exc:  # noqa: BLE001 - one bad record must not end the run
            logger.warning("record %s#%d failed", self.prefix, n, exc_info=True)
            return Skip(f"{self.prefix}#{n}", "unreadable", f"{type(exc).__name__}: {exc}")

    def _iter_lines(self) -> Iterator[Release | Skip]:
        try:
            f = self.path.open("rb")
        except OSError as exc:
            yield Skip(self.prefix, "unreadable", str(exc))
            return
        with f:
            yield from self._parse_lines(f)

    def _parse_lines(self, lines: Iterable[bytes]) -> Iterator[Release | Skip]:
        for n, raw in enumerate(lines, 1):
            where = f"{self.prefix}#{n}"
            if not raw.strip():
                continue
            if len(raw) > self._max_bytes:
                yield Skip(where, "oversized", f"line of {len(raw):,} bytes")
                continue
            try:
                line = raw.decode("utf-8-sig" if n == 1 else "utf-8")
            except UnicodeDecodeError as exc:
                yield Skip(where, "undecodable", f"line {n}: {exc}")
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as exc:
                yield Skip(where, "malformed_json", f"line {n}: {exc.msg} (column {exc.colno})")
                continue
            except RecursionError:  # one such line must not end the file: the next ones are read
                yield Skip(where, "malformed_json", f"line {n}: " + TOO_DEEP.format(sys.getrecursionlimit()))
                continue
            yield self._item(record, n)

    def _iter_document(self) -> Iterator[Release | Skip]:
        try:
            size = self.path.stat().st_size
            if size > self._max_bytes:
                yield Skip(self.prefix, "oversized", f"{size:,} bytes > {self.settings.max_file_mb} MB")
                return
            data = self.path.read_bytes()
        except OSError as exc:
            yield Skip(self.prefix, "unreadable", str(exc))
            return
        try:
            document = json.loads(data.decode("utf-8-sig"))
        except UnicodeDecodeError as exc:
            yield Skip(self.prefix, "undecodable", str(exc))
            return
        except json.JSONDecodeError as exc:
            if exc.msg == "Extra data":  # a ".json" that is really JSON Lines
                yield from self._parse_lines(data.splitlines(keepends=True))
                return
            yield Skip(self.prefix, "malformed_json", f"{exc.msg} (line {exc.lineno}, column {exc.colno})")
            return
        except RecursionError:
            yield Skip(self.prefix, "malformed_json", TOO_DEEP.format(sys.getrecursionlimit()))
            return
        records = _records_in(document)
        if records is None:
            yield Skip(self.prefix, "unsupported", "JSON without a list of release objects")
            return
        for n, record in enumerate(records, 1):
            yield self._item(record, n)
