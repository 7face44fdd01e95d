"""What every source yields: `Release` records, and `Skip` records for items that could not be
read (the run goes on; the caller counts and reports skips by reason)."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Literal, get_args

from ingest.extract import Extracted
from pressbot.types import Release

SkipReason = Literal[
    "unreadable",  # cannot be opened or parsed (permissions, broken link, corrupt PDF)
    "binary",  # NUL bytes: not a text file
    "empty",  # zero bytes or only whitespace
    "undecodable",  # not UTF-8 and no convincing other encoding
    "oversized",  # larger than settings.max_file_mb (not read)
    "malformed_json",  # a JSON line/file that does not parse, or a line that is not an object
    "no_text",  # parsed, but no release text in it
    "fetch_failed",  # an HTTP fetch that failed after retries
    "disallowed",  # a URL the site's robots.txt does not allow us to fetch
    "unsupported",  # a file type or JSON shape that is not a release format
]
SKIP_REASONS: tuple[str, ...] = get_args(SkipReason)


@dataclass(frozen=True)
class Skip:
    """An item that was not turned into a release; `location` is a path, `path#line` or URL."""

    location: str
    reason: SkipReason
    detail: str = ""

    def __post_init__(self) -> None:
        if self.reason not in SKIP_REASONS:
            raise ValueError(f"unknown skip reason {self.reason!r}; expected one of {SKIP_REASONS}")


class Source(ABC):
    """An archive read as a stream of releases.

    `name` is the archive name stored as `Release.source`. Iteration yields one item at a time
    and never raises for a bad item (it yields a `Skip`); iterating again starts over.
    """

    name: str

    @abstractmethod
    def __iter__(self) -> Iterator[Release | Skip]: ...

    def estimate(self) -> int | None:
        """A cheap count of the items to expect (for a progress bar), None when unknown."""
        return None

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r})"


def make_release(extracted: Extracted, *, fallback_id: str, source: str, aliases: list[str] | None = None) -> Release:
    """A Release from extracted content: the id is the canonical URL when there is one, else
    `fallback_id` (the path inside the archive). `aliases` are other names of the same
    release (its path when the id is a URL, an export's own id); the id itself is left out."""
    rid = extracted.url or fallback_id
    names = [a for a in (aliases or []) if a and a != rid]
    return Release(
        id=rid,
        title=extracted.title,
        date=extracted.date,
        url=extracted.url,
        source=source,
        language=extracted.language,
        text=extracted.text,
        aliases=list(dict.fromkeys(names)),
    )
