"""Golden question sets: loading, matching and checking (pure Python, no index needed).

A golden file is JSON Lines, one question a line (see docs/design.md)::

    {"id": "seed-001", "question": "Which countries receive the $180 million program?",
     "answer": "...", "must_include": [["Guatemala"], ["$180 million", "180 million"]],
     "sources": [{"title": "Mexico and the U. S. continue migration talks"}],
     "type": "list", "as_of": "2024-01-31"}

* ``must_include`` is a list of facts; a fact is a list of acceptable surface forms, matched
  case-insensitively as substrings (after normalising curly quotes, non-breaking spaces,
  zero-width characters and whitespace runs). A bare string is read as a one-form fact.
* ``sources`` is a list of objects with any of ``release_id``, ``url``, ``title``; a release
  matches a source when any given key matches (URLs compared after ``normalize_url``, titles
  after ``normalize_title``).
* ``unanswerable`` items have empty ``must_include`` and ``sources``: the right answer abstains.
* Unknown keys are ignored, so users can add their own.

``check_golden`` lists the problems of a golden set against the releases of an archive;
``iter_archive_releases`` reads a raw archive folder (Markdown with front matter, JSON Lines,
plain text) without pressbot's ingest, cleaning the text the way the ingest will (pandoc
backslash escapes removed; hard wraps are irrelevant because matching collapses whitespace).

Command line::

    python -m evals.golden evals/golden/sample.jsonl --archive evals/sample_archive
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import re
import sys
import unicodedata
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from pressbot.errors import PressbotError

__all__ = [
    "GOLDEN_TYPES",
    "GoldenFormatError",
    "GoldenItem",
    "check_golden",
    "clean_markdown",
    "fact_present",
    "iter_archive_releases",
    "load_golden",
    "normalize_text",
    "normalize_title",
    "normalize_url",
    "source_matches",
]

GOLDEN_TYPES = frozenset({"factoid", "list", "numeric", "dated", "multi", "unanswerable", "paraphrase"})
SOURCE_KEYS = ("release_id", "url", "title")

ReleaseRow = tuple[str, str, "str | None", str]  # (release_id, title, url, text)


class GoldenFormatError(PressbotError):
    """A golden file cannot be read: bad JSON or a line that does not fit the format."""


def _without_nulls(value: Any) -> Any:
    """`value` with every object key whose value is null dropped, at any depth."""
    if isinstance(value, dict):
        return {k: _without_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_without_nulls(v) for v in value]
    return value


class GoldenItem(BaseModel):
    """One golden question. Unknown keys are ignored."""

    model_config = ConfigDict(extra="ignore", frozen=False)

    id: str = Field(min_length=1)
    question: str = Field(min_length=1)
    answer: str = ""
    must_include: list[list[str]] = Field(default_factory=list)
    sources: list[dict[str, str]] = Field(default_factory=list)
    type: str = Field(min_length=1)
    as_of: dt.date | None = None

    @model_validator(mode="before")
    @classmethod
    def _nulls_as_absent(cls, value: Any) -> Any:
        # Tools that export golden files write `null` for a key they have no value for.
        return _without_nulls(value)

    @field_validator("must_include", mode="before")
    @classmethod
    def _facts_as_lists(cls, value: Any) -> Any:
        # A bare string is a fact with one form: "Guatemala" == ["Guatemala"].
        if isinstance(value, list):
            return [[f] if isinstance(f, str) else f for f in value]
        return value

    @property
    def answerable(self) -> bool:
        return self.type != "unanswerable"


# --------------------------------------------------------------------------- loading


def _as_paths(paths: str | Path | Iterable[str | Path]) -> list[Path]:
    if isinstance(paths, (str, Path)):
        return [Path(paths)]
    return [Path(p) for p in paths]


def _describe(err: ValidationError) -> str:
    parts = []
    for e in err.errors():
        loc = ".".join(str(x) for x in e["loc"]) or "(line)"
        parts.append(f"{loc}: {e['msg']}")
    return "; ".join(parts)


def load_golden(paths: str | Path | Iterable[str | Path]) -> list[GoldenItem]:
    """Read one or more golden JSONL files. Blank lines are skipped.

    Raises GoldenFormatError naming the file and line of the first malformed line.
    """
    items: list[GoldenItem] = []
    for path in _as_paths(paths):
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise GoldenFormatError(f"cannot read golden file {path}: {exc.strerror or exc}; check the path") from exc
        for lineno, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                data = json.loads(line)
            except json.JSONDecodeError as exc:
                raise GoldenFormatError(
                    f"{path}:{lineno}: not valid JSON ({exc.msg} at column {exc.colno}); "
                    "each line must be one JSON object"
                ) from exc
            if not isinstance(data, dict):
                raise GoldenFormatError(f"{path}:{lineno}: expected a JSON object, got {type(data).__name__}")
            try:
                items.append(GoldenItem.model_validate(data))
            except ValidationError as exc:
                ident = data.get("id", "?")
                raise GoldenFormatError(
                    f"{path}:{lineno}: item {ident!r} does not fit the golden format: {_describe(exc)}"
                ) from exc
    return items


# --------------------------------------------------------------------------- normalising

_QUOTES = str.maketrans(
    {
        "\u2018": "'",
        "\u2019": "'",
        "\u201a": "'",
        "\u201b": "'",
        "\u2032": "'",
        "\u00b4": "'",
        "\u0060": "'",
        "\u201c": '"',
        "\u201d": '"',
        "\u201e": '"',
        "\u201f": '"',
        "\u2033": '"',
        "\u00ab": '"',
        "\u00bb": '"',
    }
)
_INVISIBLE = re.compile("[\u00ad\u200b\u200c\u200d\u2060\ufeff]")
_SPACES = re.compile(r"\s+")  # in Python, \s covers NBSP, narrow NBSP and other Unicode spaces


def normalize_text(text: str) -> str:
    """Case-fold, straighten quotes, drop zero-width characters, collapse whitespace."""
    text = _INVISIBLE.sub("", text.translate(_QUOTES))
    return _SPACES.sub(" ", text).strip().casefold()


def fact_present(fact_forms: Sequence[str], text: str) -> bool:
    """True when any acceptable form of a fact occurs in ``text`` (normalised substring)."""
    hay = normalize_text(text)
    return any((needle := normalize_text(form)) and needle in hay for form in fact_forms)


def normalize_url(u: str) -> str:
    """Compare URLs without scheme, ``www.``, host case, fragment or trailing slash."""
    u = u.strip()
    if not u:
        return ""
    parts = urlsplit(u if "//" in u else "//" + u)
    host = (parts.hostname or "").lower()
    if host.startswith("www."):
        host = host[4:]
    if parts.port:
        host = f"{host}:{parts.port}"
    path = parts.path.rstrip("/")
    query = f"?{parts.query}" if parts.query else ""
    return f"{host}{path}{query}"


def normalize_title(t: str) -> str:
    """Ignore case, accents, punctuation and spacing: "U. S." == "U.S." == "us"."""
    t = unicodedata.normalize("NFKD", t.translate(_QUOTES))
    return "".join(c for c in t.casefold() if c.isalnum())


def source_matches(source: dict[str, str], release_id: str, url: str | None, title: str) -> bool:
    """True when any key given in ``source`` (release_id, url, title) matches the release."""
    if source.get("release_id"):
        sid = source["release_id"]
        if sid == release_id or ("/" in sid and "/" in release_id and normalize_url(sid) == normalize_url(release_id)):
            return True
    if source.get("url"):
        want = normalize_url(source["url"])
        if want and ((url and normalize_url(url) == want) or normalize_url(release_id) == want):
            return True
    if source.get("title"):
        want = normalize_title(source["title"])
        if want and want == normalize_title(title):
            return True
    return False


# --------------------------------------------------------------------------- checking


def check_golden(items: Sequence[GoldenItem], releases: Iterable[ReleaseRow]) -> list[str]:
    """List the problems of a golden set against the releases of an archive.

    Problems: duplicate ids; unknown ``type``; unanswerable items with facts or sources;
    answerable items without sources; a source that matches no release; a fact with no
    forms; a ``must_include`` fact that occurs in the text of none of the item's sources.
    An empty list means the set is consistent with the archive.
    """
    rows = list(releases)
    problems: list[str] = []
    counts = Counter(it.id for it in items)
    for ident, n in sorted(counts.items()):
        if n > 1:
            problems.append(f"{ident}: duplicate id ({n} items)")

    for it in items:
        where = it.id
        if it.type not in GOLDEN_TYPES:
            problems.append(f"{where}: unknown type {it.type!r}; use one of {', '.join(sorted(GOLDEN_TYPES))}")
        if not it.answerable:
            if it.must_include:
                problems.append(f"{where}: unanswerable item has must_include facts")
            if it.sources:
                problems.append(f"{where}: unanswerable item has sources")
            continue
        if not it.sources:
            problems.append(f"{where}: answerable item has no sources")
        texts: list[str] = []
        for src in it.sources:
            if not any(src.get(k) for k in SOURCE_KEYS):
                problems.append(f"{where}: source {src!r} has none of the keys {', '.join(SOURCE_KEYS)}")
                continue
            matched = [r for r in rows if source_matches(src, r[0], r[2], r[1])]
            if not matched:
                problems.append(f"{where}: source {src!r} matches no release")
            texts.extend(r[3] for r in matched)
        for fact in it.must_include:
            if not [f for f in fact if f.strip()]:
                problems.append(f"{where}: must_include has a fact with no forms")
                continue
            if texts and not any(fact_present(fact, t) for t in texts):
                problems.append(f"{where}: fact {fact!r} occurs in none of its sources")
    return problems


# --------------------------------------------------------------------------- raw archives

_ESCAPE = re.compile(r"\\([!-/:-@\[-`{-~])")  # pandoc: backslash before ASCII punctuation
_HARD_BREAK = re.compile(r"\\\n")  # pandoc hard line break: backslash at end of line
_CHROME = re.compile(r"skip to (main )?content", re.IGNORECASE)


def clean_markdown(text: str) -> str:
    """Remove pandoc backslash escapes and hard-break backslashes; join hard-wrapped lines.

    Paragraphs stay separated by a blank line; lines inside a paragraph are joined with a
    space, so a phrase that spans a hard wrap reads as one line.
    """
    text = _HARD_BREAK.sub("\n", text)
    text = _ESCAPE.sub(r"\1", text)
    paragraphs = re.split(r"\n[ \t\u00a0]*\n", text)
    joined = (" ".join(line.strip() for line in p.splitlines() if line.strip()) for p in paragraphs)
    return "\n\n".join(p for p in joined if p)


def _front_matter(raw: str) -> tuple[dict[str, Any], str]:
    if not raw.startswith("---\n"):
        return {}, raw
    end = raw.find("\n---\n", 3)
    if end < 0:
        return {}, raw
    import yaml  # PyYAML comes with pressbot's dependencies (python-frontmatter)

    meta = yaml.safe_load(raw[4:end]) or {}
    return (meta if isinstance(meta, dict) else {}), raw[end + 5 :]


def _txt_title(raw: str) -> str:
    for line in raw.splitlines():
        line = line.strip()
        if line and not _CHROME.search(line):
            return line
    return ""


def iter_archive_releases(root: str | Path, *, clean: bool = True) -> Iterator[ReleaseRow]:
    """Read a raw archive folder as (release_id, title, url, text) rows, sorted by path.

    ``*.md`` with YAML front matter (``title``, ``source_url`` or ``url``), ``*.jsonl``
    (``title``, ``url``, ``text``; one release a line) and ``*.txt`` (title = first line that
    is not web-page chrome). The release id is the URL when there is one, else the path
    inside the archive. LICENSE files and README files are skipped.
    """
    base = Path(root)
    for path in sorted(base.rglob("*")):
        if not path.is_file() or path.name.upper().startswith(("LICENSE", "README")):
            continue
        rel = path.relative_to(base).as_posix()
        suffix = path.suffix.lower()
        if suffix == ".md":
            meta, body = _front_matter(path.read_text(encoding="utf-8"))
            url = str(meta.get("source_url") or meta.get("url") or "") or None
            title = str(meta.get("title") or "")
            yield (url or rel, title, url, clean_markdown(body) if clean else body)
        elif suffix == ".jsonl":
            with path.open(encoding="utf-8") as fh:
                for n, line in enumerate(fh, start=1):
                    if not line.strip():
                        continue
                    rec = json.loads(line)
                    url = rec.get("url") or None
                    text = str(rec.get("text") or "")
                    yield (url or f"{rel}#{n}", str(rec.get("title") or ""), url, text)
        elif suffix == ".txt":
            raw = path.read_text(encoding="utf-8")
            yield (rel, _txt_title(raw), None, raw)


# --------------------------------------------------------------------------- command line


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        prog="python -m evals.golden",
        description="Check golden JSONL files against a raw archive folder.",
        epilog="example: python -m evals.golden evals/golden/sample.jsonl --archive evals/sample_archive",
    )
    ap.add_argument("files", nargs="+", type=Path)
    ap.add_argument("--archive", type=Path, required=True)
    args = ap.parse_args(argv)
    try:
        items = load_golden(args.files)
    except GoldenFormatError as exc:
        sys.stderr.write(f"error: {exc}\n")
        return 2
    if not args.archive.is_dir():
        sys.stderr.write(f"error: archive folder {args.archive} does not exist\n")
        return 2
    problems = check_golden(items, iter_archive_releases(args.archive))
    types = Counter(it.type for it in items)
    sys.stdout.write(
        f"{len(items)} items ({', '.join(f'{k} {v}' for k, v in sorted(types.items()))}); {len(problems)} problems\n"
    )
    for p in problems:
        sys.stdout.write(f"  {p}\n")
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main())
