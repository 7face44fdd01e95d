"""The lexical copy on disk: complete or ignored, and brought up to date by reading only what
changed in Chroma."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import numpy as np
import pytest

from pressbot import lexical_store
from pressbot.lexical import LexicalIndex

DIM = 8


def chunk(cid: str, text: str, version: str = "v1", **meta: object) -> tuple[str, str, dict[str, object], np.ndarray]:
    vec = np.random.default_rng(abs(hash((cid, version))) % 2**32).standard_normal(DIM).astype(np.float32)
    return cid, text, {"content_hash": version, "title": "", **meta}, vec


CHUNKS = [
    chunk("seed:0", "Mexico announced a program of $180 million for Guatemala and Honduras.", source="seed"),
    chunk("seed:1", "The program supports jobs in El Salvador, Colombia and Ecuador.", source="seed"),
    chunk("haiti:0", "The United States will provide $15 million to Haiti.", date_ord=20210820, source="whitehouse"),
    chunk("ukraine:0", "The Secretary announced $1 billion for Ukraine.", date_ord=20220615, language="en"),
]


class Chroma:
    """What the store asks of Chroma: pages of ids + metadata, and text + vector by id."""

    def __init__(self, chunks: list[tuple[str, str, dict[str, object], np.ndarray]], page: int = 3) -> None:
        self.chunks = {cid: (text, meta, vec) for cid, text, meta, vec in chunks}
        self.page = page
        self.fetched: list[str] = []

    def pages(self):
        ids = list(self.chunks)
        for start in range(0, len(ids), self.page):
            part = ids[start : start + self.page]
            yield part, [self.chunks[cid][1] for cid in part]

    def fetch(self, ids: list[str]) -> dict[str, tuple[str, np.ndarray]]:
        self.fetched += ids
        return {cid: (self.chunks[cid][0], self.chunks[cid][2]) for cid in reversed(ids)}  # any order

    def write(self, path: Path, fingerprint: str) -> LexicalIndex:
        lexical_store.write(path, fingerprint, self.pages(), self.fetch)
        lex = lexical_store.load(path, fingerprint)
        assert lex is not None
        return lex


def same(a: LexicalIndex, b: LexicalIndex) -> None:
    assert a.ids == b.ids
    assert np.array_equal(np.asarray(a.vectors), np.asarray(b.vectors))
    assert a.date_ord.tolist() == b.date_ord.tolist() and a.source.tolist() == b.source.tolist()
    assert a.language.tolist() == b.language.tolist()
    for query in ["$180M program", "Haiti", "El Salvador jobs", "Ukraine billion", "Brazil"]:
        assert [(c, round(s, 5)) for c, s in a.search(query, 5)] == [(c, round(s, 5)) for c, s in b.search(query, 5)]


def test_a_written_copy_loads_as_the_in_memory_build(tmp_path: Path) -> None:
    lex = Chroma(CHUNKS).write(tmp_path / "lex", "gen-1")
    same(lex, LexicalIndex.build([(c, f"\n{t}", m, v) for c, t, m, v in CHUNKS], "gen-1"))
    assert lex.search("$180M", 1)[0][0] == "seed:0"
    assert isinstance(lex.vectors, np.memmap)  # mapped, not read into memory
    # a copy made for another state of Chroma is not used
    assert lexical_store.load(tmp_path / "lex", "gen-2") is None


def test_an_update_reads_only_new_and_changed_chunks_and_equals_a_full_build(tmp_path: Path) -> None:
    path = tmp_path / "lex"
    Chroma(CHUNKS).write(path, "gen-1")
    now = [
        CHUNKS[0],
        chunk("seed:1", "The program now also supports Venezuela, Cuba and Haiti.", "v2", source="seed"),  # changed
        CHUNKS[3],  # haiti:0 is gone
        chunk("brazil:0", "Brazil and Mexico sign a trade accord.", date_ord=20240101),  # new
    ]
    chroma = Chroma(now, page=2)
    updated = chroma.write(path, "gen-2")
    assert sorted(chroma.fetched) == ["brazil:0", "seed:1"]
    fresh = Chroma(now).write(tmp_path / "fresh", "gen-2")
    same(updated, fresh)
    assert "haiti:0" not in updated.ids
    assert updated.search("Venezuela Cuba", 1)[0][0] == "seed:1"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fresh", "lex"]  # nothing left beside them


def test_the_matrix_is_the_same_built_in_small_blocks(tmp_path: Path, monkeypatch) -> None:
    whole = Chroma(CHUNKS).write(tmp_path / "whole", "fp")
    monkeypatch.setattr(lexical_store, "_BLOCK_TOKENS", 3)  # fewer tokens than most chunks hold
    same(Chroma(CHUNKS).write(tmp_path / "blocks", "fp"), whole)


def test_incomplete_broken_or_older_copies_are_not_used(tmp_path: Path) -> None:
    path = tmp_path / "lex"
    assert lexical_store.load(path, "gen-1") is None  # never written
    chroma = Chroma(CHUNKS)

    def broken(how) -> None:
        chroma.write(path, "gen-1")
        how()
        assert lexical_store.load(path, "gen-1") is None

    broken(lambda: (path / "rows.json").write_text("{not json"))
    broken(lambda: (path / "fingerprint").unlink())  # written last: a copy without it was cut short
    broken(lambda: shutil.rmtree(path / "bm25"))  # rows without their BM25 matrix
    broken(lambda: (path / "format").write_text("1"))  # another layout
    broken(lambda: (path / "vectors.f32").write_bytes(b"\0" * 12))  # vectors and rows disagree


def test_a_broken_previous_copy_is_rebuilt_from_chroma_alone(tmp_path: Path) -> None:
    path = tmp_path / "lex"
    chroma = Chroma(CHUNKS)
    chroma.write(path, "gen-1")
    (path / "tokens.i32").write_bytes(b"\1\2")  # token ids that cannot be the rows'
    chroma.fetched.clear()
    again = chroma.write(path, "gen-2")
    assert sorted(chroma.fetched) == sorted(c[0] for c in CHUNKS)
    same(again, Chroma(CHUNKS).write(tmp_path / "fresh", "gen-2"))


def test_a_failed_write_keeps_the_previous_copy(tmp_path: Path) -> None:
    path = tmp_path / "lex"
    chroma = Chroma(CHUNKS)
    before = chroma.write(path, "gen-1")

    def failing_fetch(ids):
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        lexical_store.write(path, "gen-2", Chroma([chunk("new:0", "text")]).pages(), failing_fetch)
    kept = lexical_store.load(path, "gen-1")
    assert kept is not None
    same(kept, before)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["lex"]  # no half-written copy left


def test_an_empty_index_gives_an_empty_copy(tmp_path: Path) -> None:
    lex = Chroma([]).write(tmp_path / "empty", "gen-0")
    assert lex.ids == [] and lex.search("anything", 3) == []
    assert json.loads((tmp_path / "empty" / "rows.json").read_text())["ids"] == []


def test_passages_are_read_from_the_copy(tmp_path: Path) -> None:
    lex = Chroma(CHUNKS).write(tmp_path / "lex", "gen-1")
    got = lex.passages(["haiti:0", "nowhere:0", "seed:1"])
    assert list(got) == ["haiti:0", "seed:1"]
    assert got["haiti:0"] == (CHUNKS[2][1], CHUNKS[2][2])  # text and metadata, as Chroma holds them
    assert LexicalIndex.build([(c, t, m) for c, t, m, _ in CHUNKS], "gen-1").passages(["seed:0"]) == {}


def test_a_chunk_deleted_between_its_page_and_its_fetch_is_left_out(tmp_path: Path) -> None:
    chroma = Chroma(CHUNKS)
    fetch = chroma.fetch

    def racing_fetch(ids: list[str]) -> dict[str, tuple[str, np.ndarray]]:
        got = dict(fetch(ids))
        got.pop("haiti:0", None)  # another writer deleted it meanwhile
        return got

    lexical_store.write(tmp_path / "lex", "gen-1", chroma.pages(), racing_fetch)
    lex = lexical_store.load(tmp_path / "lex", "gen-1")
    assert lex is not None and lex.ids == ["seed:0", "seed:1", "ukraine:0"]
    assert lex.search("Haiti", 3) == []


def test_temp_dirs_of_killed_writers_are_removed_and_a_live_writers_kept(tmp_path: Path) -> None:
    import subprocess

    dead = subprocess.Popen(["true"])
    dead.wait()  # a pid that no longer runs: its writer was killed mid-write
    path = tmp_path / "lex"
    left = tmp_path / f".lex.{dead.pid}.abcd1234"
    live = tmp_path / f".lex.{os.getpid()}.efgh5678"  # this process: a writer still at work
    for d in (left, live):
        d.mkdir()
        (d / "rows.json").write_text("{}")
    Chroma(CHUNKS).write(path, "gen-1")
    assert not left.exists()
    assert live.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([live.name, "lex"])
