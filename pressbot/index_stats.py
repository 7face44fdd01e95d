"""What an index holds, in figures (`pressbot stats`, the API's /v1/stats)."""

from __future__ import annotations

from collections import Counter
from typing import Any

from pressbot.index import Index


def index_stats(index: Index) -> dict[str, Any]:
    records = list(index.iter_releases())  # one scan of the release records (they are read whole)
    dates = [r.date for r in records if r.date]
    sources = dict(Counter(r.source for r in records))
    n_releases = len(records)
    meta = index.meta()
    return {
        "releases": n_releases,
        "chunks": index.chunks.count(),
        "date_range": [min(dates).isoformat(), max(dates).isoformat()] if dates else None,
        "undated_releases": n_releases - len(dates),
        "sources": sources,
        "embedding_model": meta.get("embedding_model"),
        "dimension": meta.get("dimension"),
        "generation": meta.get("generation"),
        "state": meta.get("state"),
        "location": index.location(),
        "collection": index.name,
    }
