"""The incremental indexer over a real embedded Chroma: unchanged releases embed nothing, changed
ones are replaced whole, prune and rebuild, duplicate bodies stored once, the lexical index in
step with Chroma after every run, and a crashed writer repaired."""

from __future__ import annotations

import datetime as dt
import shutil
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np
import pytest

from evals.hash_embeddings import HashEmbeddings
from ingest.chunking import Chunker
from ingest.indexer import Indexer, IngestSummary
from ingest.prune import PruneLimit
from ingest.sources import Skip
from pressbot.config import Settings
from pressbot.engine import Engine
from pressbot.index import Index
from pressbot.index_stats import index_stats
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
    assert index_stats(index)["releases"] == 4


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
    assert index_stats(index)["releases"] == 2

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
    from evals.hash_embeddings import HashEmbeddings
    from ingest.chunking import context_header
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


def _sources(index: Index) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for rec in index.iter_releases():
        out.setdefault(rec.source, []).append(rec.id)
    return {s: sorted(ids) for s, ids in out.items()}


def three_sources() -> list[Release]:
    return [release(f"{src}/{i}", f"{src} release {i}", long_text(f"{src}{i}", 3), source=src)
            for src in ("whitehouse", "statedept", "live") for i in range(4)]


def test_prune_removes_only_releases_of_the_source_being_read(archive: Archive) -> None:
    archive.run(three_sources())
    # `live` is read again holding one release less; the other two sources are not in this run
    live_now = [r for r in three_sources() if r.source == "live" and r.id != "live/3"]
    summary = archive.run(live_now, prune=PruneLimit(), source="live")
    assert summary.pruned == 1 and summary.prune_refused is None
    held = _sources(archive.open())
    assert held["live"] == ["live/0", "live/1", "live/2"]
    assert held["whitehouse"] == [f"whitehouse/{i}" for i in range(4)]
    assert held["statedept"] == [f"statedept/{i}" for i in range(4)]


def test_prune_of_a_source_with_two_sources_stored_keeps_the_other(archive: Archive) -> None:
    items = [r for r in three_sources() if r.source != "live"]
    archive.run(items)
    summary = archive.run([r for r in items if r.id != "statedept/0"], prune=PruneLimit(), source="statedept")
    assert summary.pruned == 1
    assert len(_sources(archive.open())["whitehouse"]) == 4


def test_a_prune_of_every_release_of_a_source_is_refused_and_nothing_is_lost(archive: Archive) -> None:
    archive.run(three_sources())
    new = release("live/new", "Fresh", long_text("fresh", 3), source="live")
    summary = archive.run([new], prune=PruneLimit(), source="live")  # a feed that now lists one item
    assert summary.pruned == 0
    assert summary.prune_refused is not None
    assert "would remove 4 of the 4 releases of source 'live'" in summary.prune_refused
    assert "--force" in summary.prune_refused
    held = _sources(archive.open())
    assert held["live"] == ["live/0", "live/1", "live/2", "live/3", "live/new"]  # the new one is saved

    forced = archive.run([new], prune=PruneLimit(force=True), source="live")
    assert forced.pruned == 4 and _sources(archive.open())["live"] == ["live/new"]


@pytest.mark.parametrize(("spec", "keep", "refused"), [
    (None, 2, False),     # 2 of 4 = the default half: allowed
    (None, 1, True),      # 3 of 4: more than half
    ("3", 1, False),      # at most 3 releases
    ("2", 1, True),
    ("75%", 1, False),
    ("74%", 1, True),
])
def test_max_prune_limits_a_prune_by_count_or_share(archive: Archive, spec: str | None, keep: int,
                                                     refused: bool) -> None:
    items = [r for r in three_sources() if r.source == "live"]
    archive.run(items)
    summary = archive.run(items[:keep], prune=PruneLimit.parse(spec), source="live")
    assert (summary.prune_refused is not None) == refused
    assert summary.pruned == (0 if refused else 4 - keep)
    assert len(_sources(archive.open())["live"]) == (4 if refused else keep)


@pytest.mark.parametrize("spec", ["half", "-3", "2.5", "150%", ""])
def test_a_max_prune_that_is_no_count_or_share_is_an_error(spec: str) -> None:
    from pressbot.errors import ConfigError

    with pytest.raises(ConfigError, match="neither a count nor a percentage"):
        PruneLimit.parse(spec)


@pytest.mark.parametrize(("field", "value"), [
    ("date", "2024-05-01"),
    ("url", "https://example.org/moved"),
    ("title", "A corrected headline"),
    ("language", "es"),
    ("source", "renamed"),
])
def test_a_release_whose_stored_metadata_changed_is_updated(archive: Archive, field: str, value: str) -> None:
    before = release("r1", "Visa policy", long_text("visa", 6), "2021-03-01")
    archive.run([before, *sample_releases()])
    changed = before.model_copy(update={field: dt.date.fromisoformat(value) if field == "date" else value})
    if field == "title":
        changed = release("r1", value, before.text, "2021-03-01")  # the title is part of the content hash
    summary = archive.run([changed, *sample_releases()])
    assert (summary.updated, summary.unchanged) == (1, 5)
    assert summary.sentences_embedded == 0  # the text is the same: its sentences are not encoded again
    index = archive.open()
    stored = index.get_release("r1")
    assert stored is not None
    got = getattr(stored, field)
    assert (got.isoformat() if field == "date" else got) == value
    chunk_meta = index.chunks.get(where={"release_id": "r1"}, include=["metadatas"])["metadatas"]
    assert chunk_meta and all(str(m.get(field)) == value for m in chunk_meta)  # citations read chunks
    assert archive.run([changed, *sample_releases()]).unchanged == 6  # and then it is unchanged
