"""Sentence vectors stored at ingest and read at question time (pressbot.sentence_vectors):
questions encode nothing but themselves, a missing or broken store only costs time, and a
content-addressed key can never serve a stale vector."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import numpy as np
import pytest

from evals.hash_embeddings import HashEmbeddings
from pressbot.engine import Engine
from pressbot.runtime import open_index
from pressbot.sentence_vectors import SentenceVectorStore, VectorCache
from tests.support import build_index, release, sample_releases, settings_for

QUESTION = "Which countries receive the $180 million program?"


class CountingEmbeddings(HashEmbeddings):
    def __init__(self, dim: int) -> None:
        super().__init__(dim)
        self.passages_encoded: list[str] = []

    def encode_passages(self, texts):  # type: ignore[no-untyped-def]
        self.passages_encoded.extend(texts)
        return super().encode_passages(texts)


@pytest.fixture()
def built(tmp_path: Path):
    settings = settings_for(tmp_path, abstain_threshold=0.3)
    embedder = CountingEmbeddings(64)
    index = build_index(settings, sample_releases(), embedder=embedder)
    return settings, index, embedder


def test_ingest_stores_every_chunk_sentence_and_questions_encode_none(built) -> None:
    settings, index, embedder = built
    sentences = [s for _, doc, meta in index.iter_chunks() for s in _sentences(doc, meta)]
    assert index.sentence_vectors.missing(sentences) == []
    embedder.passages_encoded.clear()
    ans = Engine(settings, index).answer(QUESTION, as_of="2026-01-01")
    assert "Guatemala" in ans.answer and not ans.abstained
    assert embedder.passages_encoded == []  # rescoring, scoring and the citation check all looked up


def test_stored_vectors_are_the_encoders_within_float16(built) -> None:
    _, index, embedder = built
    _, doc, meta = next(index.iter_chunks())
    sentences = _sentences(doc, meta)
    stored = index.sentence_vectors.get_many(sentences)
    fresh = HashEmbeddings(64).encode_passages(sentences)
    assert np.allclose(np.stack([stored[s] for s in sentences]), fresh, atol=2e-3)


def test_without_the_store_answers_are_the_same_and_it_is_refilled(built) -> None:
    settings, index, embedder = built
    before = Engine(settings, index).answer(QUESTION, as_of="2026-01-01")
    index.sentence_vectors.clear()
    embedder.passages_encoded.clear()
    after = Engine(settings, index).answer(QUESTION, as_of="2026-01-01")
    assert after.answer == before.answer and after.citations == before.citations
    assert embedder.passages_encoded  # encoded at question time ...
    embedder.passages_encoded.clear()
    Engine(settings, index).answer(QUESTION, as_of="2026-01-01")
    assert embedder.passages_encoded == []  # ... and written back


def test_a_corrupt_store_costs_time_not_answers(built, caplog) -> None:
    settings, index, _ = built
    before = Engine(settings, index).answer(QUESTION, as_of="2026-01-01")
    path = settings.sentence_vectors_path
    index.sentence_vectors.clear()
    path.write_bytes(b"this is not a database" * 100)
    reopened = open_index(settings, embedder=HashEmbeddings(64))
    after = Engine(settings, reopened).answer(QUESTION, as_of="2026-01-01")
    assert after.answer == before.answer
    assert "sentence vectors" in caplog.text


def test_a_changed_sentence_never_gets_the_old_vector(tmp_path: Path) -> None:
    store = SentenceVectorStore(tmp_path / "v.sqlite3", "model-a")
    store.put_many(["The fund holds $5 million."], np.ones((1, 4), dtype=np.float32))
    assert store.missing(["The fund holds $6 million.", "The fund holds $5 million."]) == ["The fund holds $6 million."]
    # another model's vectors are other keys
    assert SentenceVectorStore(tmp_path / "v.sqlite3", "model-b").missing(["The fund holds $5 million."])


def test_rebuild_forgets_the_stored_vectors(built) -> None:
    settings, index, _ = built
    assert index.sentence_vectors.count() > 0
    index.drop()
    assert SentenceVectorStore(settings.sentence_vectors_path, "hash-64").count() == 0


def test_a_read_only_store_still_answers(tmp_path: Path) -> None:
    store = SentenceVectorStore(tmp_path / "v.sqlite3", "m")
    store.put_many(["a sentence"], np.ones((1, 4), dtype=np.float32))
    ro = SentenceVectorStore(tmp_path / "v.sqlite3", "m")
    ro._local.db = sqlite3.connect(f"file:{tmp_path / 'v.sqlite3'}?mode=ro", uri=True)
    cache = VectorCache(ro)
    vecs = HashEmbeddings(4).encode_cached(["a sentence", "another one"], cache)
    assert vecs.shape == (2, 4) and np.allclose(vecs[0], 1.0)


def test_answers_with_an_index_built_before_sentence_ends_were_stored(tmp_path: Path) -> None:
    settings = settings_for(tmp_path, abstain_threshold=0.3)
    text = "The humanitarian aid package is worth $7 million in total. It goes to families in Haiti."
    index = build_index(settings, [release("a", "Aid to Haiti", text, "2024-01-02")])
    for cid, _, _ in list(index.iter_chunks()):  # as an older pressbot wrote them
        index.chunks.update(ids=[cid], metadatas=[{"sentence_ends": None}])
    assert all("sentence_ends" not in meta for _, _, meta in index.iter_chunks())
    ans = Engine(settings, index).answer("How much is the humanitarian aid package to Haiti worth?", as_of="2026-01-01")
    assert "$7 million" in ans.answer and not ans.abstained


def _sentences(doc: str, meta: dict) -> list[str]:
    from pressbot.types import sentences_at

    return sentences_at(doc, [int(x) for x in meta["sentence_ends"].split(",")])
