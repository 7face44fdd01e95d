"""The index over a real embedded Chroma: model recorded and checked, release records, chunk ids,
stats, the commit protocol's repair, and the lexical copy derived from Chroma."""

from __future__ import annotations

import shutil
from types import SimpleNamespace

import numpy as np
import pytest

from evals.hash_embeddings import HashEmbeddings
from ingest.chunking import Chunker
from ingest.indexer import Indexer
from pressbot import lexical_store
from pressbot.errors import IndexEmptyError, ModelMismatchError
from pressbot.index import FRESHNESS_S
from pressbot.index_repair import repair
from pressbot.index_stats import index_stats
from pressbot.lexical import LexicalIndex
from pressbot.runtime import open_index
from tests.support import build_index, release, sample_releases, settings_for


@pytest.fixture()
def settings(tmp_path):
    return settings_for(tmp_path)


@pytest.fixture()
def index(settings):
    return build_index(settings, sample_releases())


def test_the_collection_records_model_and_dimension(index) -> None:
    meta = index.meta()
    assert meta["embedding_model"] == "hash-64"
    assert meta["dimension"] == 64
    assert meta["state"] == "clean"


def test_opening_with_another_model_is_refused_with_the_way_to_rebuild(index, settings) -> None:
    for other in (HashEmbeddings(32), HashEmbeddings(64, name="other")):
        with pytest.raises(ModelMismatchError) as err:
            open_index(settings, embedder=other)
        message = str(err.value)
        assert "'hash-64' (64 dimensions)" in message and repr(other.name) in message
        assert "pressbot ingest PATH --rebuild" in message
        assert "PRESSBOT_EMBEDDING_MODEL=hash-64" in message
    # the same model opens fine
    assert open_index(settings, embedder=HashEmbeddings(64)).chunks.count() == index.chunks.count()


def test_opening_an_empty_data_dir_says_to_ingest_first(settings) -> None:
    with pytest.raises(IndexEmptyError, match=r"run `pressbot ingest PATH` first"):
        open_index(settings, embedder=HashEmbeddings(64))


def test_release_records_and_chunk_ids(index) -> None:
    rec = index.get_release("wh-haiti")
    assert rec is not None
    assert rec.title == "Statement on Haiti"
    assert rec.date is not None and rec.date.isoformat() == "2021-08-20"
    assert rec.url == "https://example.org/wh-haiti"
    assert rec.text is not None and rec.text.startswith("The United States will provide $15 million")
    assert rec.n_chunks >= 1
    assert index.chunk_ids_of("wh-haiti") == [f"wh-haiti:{n}" for n in range(rec.n_chunks)]
    assert rec.to_json()["date"] == "2021-08-20"
    assert index.get_release("no-such-release") is None
    seed = index.get_release("seed", with_text=False)
    assert seed is not None and seed.date is None and seed.url is None and seed.text is None
    # chunks carry the release metadata so one chunk alone can be cited
    got = index.chunks.get(ids=["wh-haiti:0"], include=["metadatas", "documents"])
    meta = got["metadatas"][0]
    assert (meta["release_id"], meta["n"], meta["title"], meta["date"], meta["url"]) == (
        "wh-haiti", 0, "Statement on Haiti", "2021-08-20", "https://example.org/wh-haiti"
    )


def test_every_chunk_id_is_release_id_colon_n(index) -> None:
    chunk_ids = {cid for cid, _, _ in index.iter_chunks()}
    expected = {f"{r.id}:{n}" for r in index.iter_releases() for n in range(r.n_chunks)}
    assert chunk_ids == expected


def test_stats(index) -> None:
    stats = index_stats(index)
    assert stats["releases"] == 5
    assert stats["chunks"] == index.chunks.count() >= 5
    assert stats["date_range"] == ["2021-04-22", "2022-06-15"]
    assert stats["undated_releases"] == 1
    assert stats["sources"] == {"seed": 1, "test": 2, "statedept": 2}
    assert (stats["embedding_model"], stats["dimension"], stats["state"]) == ("hash-64", 64, "clean")
    assert stats["generation"] == 1
    assert stats["collection"] == "pressbot"


def test_repair_removes_orphan_chunks_and_incomplete_releases(index) -> None:
    before = {cid for cid, _, _ in index.iter_chunks()}
    # what a killed writer leaves: chunks written, release record not yet (orphans) ...
    index.chunks.upsert(
        ids=["ghost:0", "ghost:1"],
        documents=["a", "b"],
        metadatas=[{"release_id": "ghost", "n": 0, "content_hash": "x"}, {"release_id": "ghost", "n": 1,
                                                                           "content_hash": "x"}],
        embeddings=np.ones((2, 64), dtype=np.float32),
    )
    # ... and a release whose chunks are only partly there
    index.chunks.delete(ids=["wh-climate:0"])
    report = repair(index)
    assert report == {"orphan_chunks": 2, "incomplete_releases": 1}
    assert index.get_release("wh-climate") is None
    assert {cid for cid, _, _ in index.iter_chunks()} == {c for c in before if not c.startswith("wh-climate:")}
    assert repair(index) == {"orphan_chunks": 0, "incomplete_releases": 0}


def test_write_release_replaces_all_old_chunks(index) -> None:
    rec = index.get_release("seed")
    assert rec is not None and rec.n_chunks >= 1
    short = release("seed", "Mexico and the U. S. continue migration talks", "Now one sentence.", source="seed")
    index.write_release(short, [], np.zeros((0, 64), dtype=np.float32))
    assert index.chunk_ids_of("seed") == []
    assert index.get_release("seed").n_chunks == 0  # type: ignore[union-attr]


# --- the lexical copy -------------------------------------------------------------------------


def test_lexical_index_has_the_same_ids_as_chroma(index) -> None:
    lex = index.lexical()
    assert sorted(lex.ids) == sorted(cid for cid, _, _ in index.iter_chunks())
    assert lex.fingerprint == index.fingerprint()
    assert lex.search("$180M program", 3)[0][0].startswith("seed:")


def test_lexical_copy_is_loaded_when_fresh_and_rebuilt_when_stale(index, settings, monkeypatch) -> None:
    path = settings.lexical_path
    index.lexical()
    assert (path / "fingerprint").read_text() == index.fingerprint()

    # a fresh process loads the saved copy, it does not rebuild it
    def no_build(*a, **k):
        raise AssertionError("rebuilt although the saved copy matched")

    monkeypatch.setattr(LexicalIndex, "build", no_build)
    monkeypatch.setattr(lexical_store, "write", no_build)
    reopened = open_index(settings, embedder=HashEmbeddings(64))
    assert sorted(reopened.lexical().ids) == sorted(index.lexical().ids)
    monkeypatch.undo()

    # Chroma changes (a release goes): the saved copy is stale and is rebuilt (once the
    # reader checks again: at once here, at most FRESHNESS_S seconds later in a live process)
    monkeypatch.setattr("pressbot.index.FRESHNESS_S", 0.0)
    index.begin_write()
    index.delete_release("wh-haiti")
    index.end_write(changed=True)
    lex = reopened.lexical()
    assert not any(cid.startswith("wh-haiti:") for cid in lex.ids)
    assert all(not cid.startswith("wh-haiti:") for cid, _ in lex.search("Haiti earthquake", 5))
    assert (path / "fingerprint").read_text() == index.fingerprint()


def test_a_reader_trusts_its_copy_for_a_moment_and_then_sees_another_writers_change(
    index, settings, monkeypatch
) -> None:
    # the reader's clock moves only when the test moves it: a slow write under load must not
    # outlast the moment of trust
    now = [1000.0]
    monkeypatch.setattr("pressbot.index.time", SimpleNamespace(monotonic=lambda: now[0]))
    reader = open_index(settings, embedder=HashEmbeddings(64))
    before = set(reader.lexical().ids)
    fingerprint_calls = []
    monkeypatch.setattr(reader, "fingerprint", lambda f=reader.fingerprint: fingerprint_calls.append(1) or f())
    index.begin_write()
    index.delete_release("wh-haiti")
    index.end_write(changed=True)
    assert set(reader.lexical().ids) == before and not fingerprint_calls  # no Chroma round trip
    # the writer's own process sees its change at once
    assert not any(cid.startswith("wh-haiti:") for cid in index.lexical().ids)
    now[0] += FRESHNESS_S * 0.9
    assert set(reader.lexical().ids) == before and not fingerprint_calls  # still within the moment
    now[0] += FRESHNESS_S * 0.2
    assert not any(cid.startswith("wh-haiti:") for cid in reader.lexical().ids)
    assert fingerprint_calls == [1]


def test_filtered_dense_search_from_the_kept_vectors_matches_chroma(index) -> None:
    lex = index.lexical()
    assert lex.vectors is not None and lex.vectors.shape == (len(lex.ids), 64)
    qvec = index.embedder.encode_query("security assistance for Ukraine")
    mask = lex.mask(since=20210601, until=20221231, include_undated=True)
    ours = lex.dense(qvec, 4, mask)
    where = {"$or": [{"$and": [{"date_ord": {"$gte": 20210601}}, {"date_ord": {"$lte": 20221231}}]}, {"date_ord": 0}]}
    chroma = index.chunks.query(query_embeddings=[qvec], n_results=4, where=where, include=["distances"])
    assert [cid for cid, _ in ours] == chroma["ids"][0]
    assert np.allclose([s for _, s in ours], [1 - d for d in chroma["distances"][0]], atol=1e-5)
    assert all(not cid.startswith("wh-climate:") for cid, _ in ours)  # April 2021: outside


def test_kept_vectors_survive_a_reload(index, settings) -> None:
    saved = np.array(index.lexical().vectors)
    reopened = open_index(settings, embedder=HashEmbeddings(64))
    assert np.array_equal(np.asarray(reopened.lexical().vectors), saved)


def test_lexical_index_is_rebuilt_from_chroma_alone(index, settings) -> None:
    ids = sorted(index.lexical().ids)
    shutil.rmtree(settings.lexical_path.parent)
    reopened = open_index(settings, embedder=HashEmbeddings(64))
    assert sorted(reopened.lexical().ids) == ids
    assert (settings.lexical_path / "fingerprint").exists()
    assert reopened.lexical().search("Ukraine Javelin", 1)[0][0] == "sd-ukraine-old:0"


def test_drop_removes_everything(index, settings) -> None:
    index.lexical()
    index.drop()
    assert not settings.lexical_path.exists()
    with pytest.raises(IndexEmptyError):
        open_index(settings, embedder=HashEmbeddings(64))


def test_a_missing_index_is_reported_before_any_model_is_loaded(tmp_path, monkeypatch) -> None:
    def no_model(*a, **k):
        raise AssertionError("loaded the embedding model for an index that does not exist")

    monkeypatch.setattr("pressbot.runtime.build_embeddings", no_model)
    with pytest.raises(IndexEmptyError, match="run `pressbot ingest PATH` first"):
        open_index(settings_for(tmp_path / "empty"))


def test_a_lexical_copy_in_an_older_layout_is_rebuilt(index, settings) -> None:
    lex = index.lexical()
    (settings.lexical_path / "format").write_text("1")  # as an older pressbot saved it
    reopened = open_index(settings, embedder=HashEmbeddings(64))
    again = reopened.lexical()
    assert again.ids == lex.ids and np.array_equal(np.asarray(again.vectors), np.asarray(lex.vectors))
    assert (settings.lexical_path / "format").read_text() == lexical_store.FORMAT


def test_a_release_change_updates_the_copy_reading_only_its_chunks(index, settings, monkeypatch) -> None:
    before = index.lexical()
    fetched: list[str] = []
    read = index._texts_and_vectors
    monkeypatch.setattr(index, "_texts_and_vectors", lambda ids: fetched.extend(ids) or read(ids))
    haiti = next(r for r in sample_releases() if r.id == "wh-haiti")
    changed = haiti.model_copy(update={"text": haiti.text + " Cholera vaccines arrive this week.", "content_hash": ""})
    changed.model_post_init(None)
    chunker = Chunker(index.embedder, settings.chunk_tokens, settings.chunk_overlap_sentences)
    assert Indexer(index, chunker).run([changed]).updated == 1  # the run ends by updating the copy
    lex = index.lexical()
    assert lex is not before and fetched and all(cid.startswith("wh-haiti:") for cid in fetched)
    assert sorted(lex.ids) == sorted(cid for cid, _, _ in index.iter_chunks())
    assert lex.search("cholera vaccines", 1)[0][0].startswith("wh-haiti:")


def test_a_search_reads_its_passages_from_the_lexical_copy_not_chroma(index, settings, monkeypatch) -> None:
    from pressbot.search import Searcher

    searcher = Searcher(index)
    expected = searcher.search("security assistance for Ukraine", k=3)
    monkeypatch.setattr(index.chunks, "get", lambda *a, **k: pytest.fail("read passages from Chroma"))
    again = searcher.search("security assistance for Ukraine", k=3)
    assert [(p.chunk_id, p.text, p.title, p.date) for p in again.passages] == [
        (p.chunk_id, p.text, p.title, p.date) for p in expected.passages
    ]
    assert again.passages[0].release_id.startswith("sd-ukraine")


# --- the tantivy backend (PRESSBOT_LEXICAL_BACKEND=tantivy) -----------------------------------


def test_the_tantivy_backend_follows_chroma_and_serves_the_search(tmp_path) -> None:
    from pressbot.engine import Engine
    from pressbot.lexical_tantivy import TantivyLexical

    settings = settings_for(tmp_path, lexical_backend="tantivy")
    index = build_index(settings, sample_releases())
    lex = index.lexical()
    assert isinstance(lex, TantivyLexical) and settings.lexical_path.name == "pressbot.tantivy"
    assert sorted(lex.ids) == sorted(cid for cid, _, _ in index.iter_chunks())
    assert lex.fingerprint == index.fingerprint()
    index.begin_write()
    index.delete_release("wh-haiti")
    index.end_write(changed=True)
    assert not any(cid.startswith("wh-haiti:") for cid in index.lexical().ids)
    shutil.rmtree(settings.lexical_path)  # rebuilt from Chroma alone
    result = Engine(settings, open_index(settings, embedder=HashEmbeddings(64))).search(
        "Which countries receive the $180M program?"
    )
    assert result.passages[0].release_id == "seed" and result.passages[0].lexical_rank == 0
