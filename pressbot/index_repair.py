"""Repair after an interrupted write: make an index's chunks and release records agree.

A release record is the commit marker of its chunks (see `pressbot.index`): a writer that died
leaves chunks without their record, or a record whose chunks were partly replaced. Only the one
writer that holds the index's lock runs this (see `ingest.writer_lock`), so chunks that a live
writer has written but not yet committed are never taken for leftovers.
"""

from __future__ import annotations

import logging

from pressbot.index import Index

log = logging.getLogger(__name__)


def repair(index: Index) -> dict[str, int]:
    """Remove chunks whose release is not committed or whose hash differs, and releases whose
    chunk count does not match what is stored (the next run ingests them again)."""
    index.guard()
    committed = index.release_hashes()
    seen: dict[str, int] = {}
    orphans: list[str] = []
    for ids, metas in index.chunk_metadata_pages():
        for cid, meta in zip(ids, metas, strict=True):
            rid = str(meta.get("release_id"))
            if rid not in committed or committed[rid][0] != meta.get("content_hash"):
                orphans.append(cid)
            else:
                seen[rid] = seen.get(rid, 0) + 1
    index.delete_chunks(orphans)
    incomplete = [rid for rid, (_, n) in committed.items() if seen.get(rid, 0) != n]
    for rid in incomplete:
        index.delete_release(rid)
    if orphans or incomplete:
        log.warning("repaired index: %d orphan chunks, %d incomplete releases removed", len(orphans), len(incomplete))
    return {"orphan_chunks": len(orphans), "incomplete_releases": len(incomplete)}
