"""The incremental indexer over a real embedded Chroma: unchanged releases embed nothing, changed
ones are replaced whole, prune and rebuild, duplicate bodies stored once, the lexical index in
step with Chroma after every run, and a crashed writer repaired."""

from __future__ import annotations

import shutil
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np
import pytest

from ingest.chunking import Chunker
from ingest.indexer import Indexer, IngestSummary
from ingest.prune import PruneLimit
from ingest.sources import Skip
from pressbot.config import Settings
from pressbot.embeddings import HashEmbeddings
from pressbot.engine import Engine
from pressbot.index import Index
from pressbot.runtime import open_index
from pressbot.types import Release
from tests.support import release, sample_releases, settings_for


class CountingEmbeddings(HashEmbeddings):
    """The hash embedder, counting what it is asked to embed."""

    def __init__(self) -> None:
        super().__init__(64)
        self.calls = 0
        self.texts = 0

    def encode_passages(self, texts: Sequence[str]) -> np.ndarray:
        self.calls += 1
        self.texts += len(texts)
        return super().encode_passages(texts)


class Archive:
    """An index in a temp dir, opened afresh for every run (as separate CLI runs would)."""

    def __init__(self, tmp_path: Path, chunk_tokens: int = 40) -> None:
        self.settings: Settings = settings_for(tmp_path, chunk_tokens=chunk_tokens)
        self.embedder = CountingEmbeddings()

    def open(self) -> Index:
        return open_index(self.settings, create=True, embedder=self.embedder)

    def run(self, items: Iterable[Release | Skip], *, prune: PruneLimit | None = None, source: str = "test",
            chunker: Chunker | None = None) -> IngestSummary:
        index = self.open()
        chunker = chunker or Chunker(index.embedder, self.settings.chunk_tokens, self.settings.chunk_overlap_sentences)
        self.embedder.calls = self.embedder.texts = 0
        summary = Indexer(index, chunker, batch_chunks=16).run(items, prune=prune, source=source)
        assert_consistent(index)
        return summary


def assert_consistent(index: Index) -> None:
    """Chroma's two collections agree, and the lexical index holds exactly Chroma's chunk ids."""
    releases = {r.id: r for r in index.iter_releases()}
    chunk_ids = sorted(cid for cid, _, _ in index.iter_chunks())
    expected = sorted(f"{rid}:{n}" for rid, r in releases.items() for n in range(r.n_chunks))
    assert chunk_ids == expected
    assert index.meta()["state"] == "clean"
    lex = index.lexical()
    assert sorted(lex.ids) == chunk_ids
    assert lex.fingerprint == index.fingerprint()


def long_text(topic: str, n: int = 12) -> str:
    return " ".join(f"Sentence {i} of the {topic} release explains the {topic} policy in detail." for i in range(n))


FORCE = PruneLimit(force=True)


@pytest.fixture()
def archive(tmp_path: Path) -> Archive:
    return Archive(tmp_path)


def test_a_second_run_on_unchanged_releases_embeds_nothing(archive: Archive) -> None:
    first = archive.run(sample_releases())
    assert (first.added, first.updated, first.unchanged) == (5, 0, 0)
    # what is encoded: each sentence once, and each release's title-and-date header
    assert archive.embedder.texts == first.sentences_embedded + first.added > 0
    gen = archive.open().meta()["generation"]

    second = archive.run(sample_releases())
    assert (second.added, second.updated, second.unchanged, second.chunks_embedded) == (0, 0, 5, 0)
    assert archive.embedder.calls == 0
    assert archive.open().meta()["generation"] == gen  # nothing changed: the lexical copy stays valid


def test_a_changed_release_has_its_chunks_replaced(archive: Archive) -> None:
    releases = sample_releases() + [release("long", "Trade policy", long_text("zucchini", 20))]
    archive.run(releases)
    index = archive.open()
    old_ids = index.chunk_ids_of("long")
    assert len(old_ids) > 3

    releases[-1] = release("long", "Trade policy", "The policy was withdrawn. Only the avocado tariff remains.")
    summary = archive.run(releases)
    assert (summary.added, summary.updated, summary.unchanged) == (0, 1, 5)
    assert summary.chunks_embedded == 1
    assert archive.embedder.texts == summary.sentences_embedded + 1  # + its header
    index = archive.open()
    assert index.chunk_ids_of("long") == ["long:0"]  # no stale long:1.. left behind
    assert index.get_release("long").text.startswith("The policy was withdrawn")  # type: ignore[union-attr]
    lex = index.lexical()
    assert [cid for cid, _ in lex.search("avocado tariff", 3)] == ["long:0"]
    assert lex.search("zucchini", 3) == []


def test_prune_removes_vanished_releases_everywhere(archive: Archive) -> None:
    archive.run(sample_releases())
    remaining = [r for r in sample_releases() if r.id != "wh-haiti"]

    kept = archive.run(remaining)  # without --prune nothing is removed
    assert kept.pruned == 0 and archive.open().get_release("wh-haiti") is not None

    pruned = archive.run(remaining, prune=PruneLimit())
    assert (pruned.pruned, pruned.unchanged, archive.embedder.calls) == (1, 4, 0)
    index = archive.open()
    assert index.get_release("wh-haiti") is None
    assert index.chunk_ids_of("wh-haiti") == []
    assert all(not cid.startswith("wh-haiti:") for cid in index.lexical().ids)
    assert index.stats()["releases"] == 4


def test_rebuild_starts_over(archive: Archive) -> None:
    first = archive.run(sample_releases())
    index = archive.open()
    index.lexical()
    index.drop()
    assert not archive.settings.lexical_path.exists()
    again = archive.run(sample_releases())
    assert (again.added, again.unchanged, again.chunks_embedded) == (5, 0, first.chunks_embedded)
    # the sentence vectors went with the index, so they are encoded again too
    assert again.sentences_embedded == first.sentences_embedded
    assert archive.embedder.texts == first.sentences_embedded + first.added


def test_duplicate_bodies_are_stored_once_with_aliases(archive: Archive) -> None:
    body = long_text("migration", 6)
    items = [
        release("a.md", "Statement", body),
        release("copy/a.md", "Statement (copy)", body.replace(". ", ".\n\n", 2)),  # same words, other wrapping
        release("b.md", "Other", "A different text entirely."),
    ]
    first = archive.run(items)
    assert (first.added, first.duplicates) == (2, 1)
    index = archive.open()
    assert index.get_release("copy/a.md") is None
    assert index.get_release("a.md").aliases == ["copy/a.md"]  # type: ignore[union-attr]
    assert index.stats()["releases"] == 2

    second = archive.run(items)
    assert (second.added, second.unchanged, second.duplicates, archive.embedder.calls) == (0, 2, 1, 0)


def test_pruning_the_first_copy_keeps_the_body_under_its_duplicate(archive: Archive) -> None:
    body = long_text("asylum", 6)
    archive.run([release("old/a.md", "Statement", body), release("new/a.md", "Statement", body)])
    assert archive.open().get_release("new/a.md") is None

    # old/a.md vanished from the source, its duplicate is still there
    summary = archive.run([release("new/a.md", "Statement", body)], prune=FORCE)  # its one release
    assert (summary.added, summary.pruned) == (1, 1)
    index = archive.open()
    assert index.get_release("old/a.md") is None
    rec = index.get_release("new/a.md")
    assert rec is not None and rec.text == body and rec.n_chunks > 0
    assert index.lexical().search("asylum policy", 1)[0][0].startswith("new/a.md:")


def test_a_duplicate_of_a_release_that_changed_is_stored_on_its_own(archive: Archive) -> None:
    body = long_text("visa", 6)
    archive.run([release("a.md", "Visa", body), release("b.md", "Visa", body)])
    # a.md is edited; b.md still holds the old body, which must not vanish with a.md's old version
    for order in ([release("b.md", "Visa", body), release("a.md", "Visa", "Rewritten: visas are suspended.")],
                  [release("a.md", "Visa", "Rewritten again: visas resume."), release("b.md", "Visa", body)]):
        archive.run(order, prune=PruneLimit())
        index = archive.open()
        b = index.get_release("b.md")
        assert b is not None and b.text == body
        assert index.get_release("a.md").text.startswith("Rewritten")  # type: ignore[union-attr]


def test_prune_keeps_releases_whose_item_was_skipped_this_time(archive: Archive) -> None:
    items = sample_releases()
    archive.run(items)
    # the seed file became unreadable (or a fetch failed): it has not vanished from the source
    now = [r for r in items if r.id != "seed"] + [Skip("seed", "unreadable", "Permission denied")]
    summary = archive.run(now, prune=PruneLimit(), source="seed")
    assert summary.pruned == 0 and summary.skipped == {"unreadable": 1}
    assert archive.open().get_release("seed") is not None


def test_skips_are_counted_by_reason_and_the_run_goes_on(archive: Archive) -> None:
    items: list[Release | Skip] = [
        Skip("a.bin", "binary", "NUL bytes"),
        *sample_releases()[:2],
        Skip("b.md", "empty", "no content"),
        Skip("c.jsonl#3", "malformed_json", "line 3: Expecting value"),
        Skip("d.md", "empty", "only whitespace"),
        *sample_releases()[2:],
    ]
    summary = archive.run(items)
    assert summary.added == 5
    assert summary.skipped == {"binary": 1, "empty": 2, "malformed_json": 1}
    assert [s.location for s in summary.skipped_examples] == ["a.bin", "b.md", "c.jsonl#3", "d.md"]
    out = summary.to_json()
    assert out["skipped"] == 4 and out["skipped_by_reason"] == {"binary": 1, "empty": 2, "malformed_json": 1}
    assert set(out) >= {"added", "updated", "unchanged", "pruned", "duplicates", "skipped", "chunks_embedded"}


def test_a_release_that_cannot_be_chunked_is_skipped_not_fatal(archive: Archive) -> None:
    class Failing(Chunker):
        def chunk(self, rel: Release):  # type: ignore[override]
            if rel.id == "wh-climate":
                raise ValueError("tokenizer exploded")
            return super().chunk(rel)

    chunker = Failing(archive.embedder, 40, 1)
    summary = archive.run(sample_releases(), chunker=chunker)
    assert summary.added == 4
    assert summary.skipped == {"unreadable": 1}
    assert "tokenizer exploded" in summary.skipped_examples[0].detail
    assert archive.open().get_release("wh-climate") is None


def test_a_crashed_writer_is_repaired_and_the_lexical_copy_follows(archive: Archive) -> None:
    items = sample_releases()
    archive.run(items)
    index = archive.open()
    index.lexical()
    fingerprint = index.fingerprint()

    # a writer that dies after replacing one release with same-sized new text (same chunk
    # count, same generation: only the dirty mark tells) and after leaving an orphan chunk
    changed = release("wh-haiti", "Statement on Haiti", "The United States will send hurricane kiwifruit to Haiti.",
                      "2021-08-20")
    chunker = Chunker(index.embedder, 40, 1)
    index.begin_write()
    chunks = chunker.chunk(changed)
    index.write_release(changed, chunks, index.embedder.encode_passages([c.embed_text for c in chunks]),
                        body_hash="x")
    index.chunks.upsert(ids=["ghost:0"], documents=["ghost"], metadatas=[{"release_id": "ghost", "n": 0}],
                        embeddings=np.ones((1, 64), dtype=np.float32))
    # (killed here: no end_write)
    assert index.fingerprint() != fingerprint  # the orphan changed the count...
    index.chunks.delete(ids=["ghost:0"])
    assert index.fingerprint() == fingerprint  # ...but a same-size rewrite alone would not show

    now = [changed if r.id == "wh-haiti" else r for r in items]
    summary = archive.run(now)  # assert_consistent checks the lexical copy has the new text's ids
    assert summary.unchanged == 5
    lex = archive.open().lexical()
    assert lex.fingerprint != fingerprint
    assert [cid for cid, _ in lex.search("kiwifruit", 3)] == ["wh-haiti:0"]


def test_search_works_with_the_lexical_directory_deleted(archive: Archive) -> None:
    archive.run(sample_releases())
    shutil.rmtree(archive.settings.lexical_path.parent)
    engine = Engine(archive.settings, archive.open())
    result = engine.search("Which countries receive the $180M program?")
    assert result.passages[0].release_id == "seed"
    assert result.passages[0].lexical_rank == 0  # the amount matched lexically, rebuilt from Chroma
    assert (archive.settings.lexical_path / "fingerprint").exists()


def test_a_chunk_vector_is_the_mean_of_its_sentences_and_its_header(archive: Archive) -> None:
    from ingest.chunking import context_header
    from pressbot.embeddings import HashEmbeddings
    from pressbot.types import sentences_at

    rel = release("long", "Trade policy", long_text("zucchini", 20), "2024-03-01")
    archive.run([rel])
    index = archive.open()
    got = index.chunks.get(ids=index.chunk_ids_of("long"), include=["documents", "metadatas", "embeddings"])
    assert len(got["ids"]) > 2
    plain = HashEmbeddings(64)
    header = plain.encode_passages([context_header(rel)])[0]
    for doc, meta, vec in zip(got["documents"], got["metadatas"], got["embeddings"], strict=True):
        sents = sentences_at(doc, [int(e) for e in meta["sentence_ends"].split(",")])
        want = np.mean([*plain.encode_passages(sents), header], axis=0)
        want /= np.linalg.norm(want)
        assert np.allclose(vec, want, atol=1e-3)  # stored sentence vectors are float16
