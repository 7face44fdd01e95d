"""The tantivy lexical index: synced with Chroma by id and content hash in one commit, the project's
token scheme kept (amounts, accents, the chunk's language's stemmer), filters, term statistics and
passages as the search reads them."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pytest
import tantivy

from pressbot import lexical_tantivy
from pressbot.lexical import LexicalIndex
from pressbot.lexical_tantivy import TantivyLexical
from tests.unit.test_lexical_store import Chroma, chunk

CHUNKS = [
    chunk("seed:0", "Mexico announced a program of $180 million for Guatemala and Honduras.", source="seed"),
    chunk("seed:1", "The program supports jobs in El Salvador, Colombia and Ecuador.", source="seed"),
    chunk("haiti:0", "The United States will provide $15 million to Haiti.", date_ord=20210820, source="whitehouse",
          date="2021-08-20"),
    chunk("ukraine:0", "The Secretary announced $1 billion for Ukraine.", date_ord=20220615, source="statedept"),
    chunk("es:0", "Los programas migratorios recibirán 180 millones de dólares.", date_ord=20240122,
          source="mananeras", language="es"),
]


def synced(chroma: Chroma, path: Path, fingerprint: str) -> TantivyLexical:
    lexical_tantivy.sync(path, fingerprint, chroma.pages(), chroma.fetch)
    lex = lexical_tantivy.load(path, fingerprint)
    assert lex is not None
    return lex


@pytest.fixture()
def lex(tmp_path: Path) -> TantivyLexical:
    return synced(Chroma(CHUNKS), tmp_path / "lex", "gen-1")


@pytest.mark.parametrize("query", ["$180M", "180 million dollars", "US$ 180 millones", "$180,000,000"])
def test_an_amount_written_any_way_finds_both_languages(lex: TantivyLexical, query: str) -> None:
    assert {cid for cid, _ in lex.search(query, 5)} == {"seed:0", "es:0"}


def test_spanish_text_is_stemmed_as_spanish(lex: TantivyLexical) -> None:
    # "programas" is "program" to the Spanish stemmer; the English one would leave "programa"
    assert [cid for cid, _ in lex.search("programa", 5) if cid == "es:0"] == ["es:0"]
    assert lex.search("migratorio", 1)[0][0] == "es:0"


def test_it_ranks_as_the_bm25_store_does_on_english_text(lex: TantivyLexical) -> None:
    english = [c for c in CHUNKS if c[2].get("language") != "es"]
    store = LexicalIndex.build([(c, f"\n{t}", m, v) for c, t, m, v in english], "gen-1")
    for query in ["Haiti", "El Salvador jobs", "Ukraine billion", "program Guatemala"]:
        ours = [cid for cid, _ in lex.search(query, 5) if cid != "es:0"]
        assert ours == [cid for cid, _ in store.search(query, 5)], query
    assert lex.search("Brazil", 5) == [] and lex.search("the of and", 5) == []


def test_filters_by_date_source_and_language(lex: TantivyLexical) -> None:
    def ids(**f: object) -> set[str]:
        return {cid for cid, _ in lex.search("Haiti Ukraine program programas", 10, mask=lex.mask(**f))}  # type: ignore[arg-type]

    assert ids(since=20210101, until=20211231) == {"haiti:0"}
    assert ids(since=20210101, until=20211231, include_undated=True) == {"haiti:0", "seed:0", "seed:1"}
    assert ids(sources=["statedept", "mananeras"]) == {"ukraine:0", "es:0"}
    assert ids(language="es") == {"es:0"}
    assert lex.mask() is None


def test_term_statistics_and_passages(lex: TantivyLexical) -> None:
    assert lex.idf("haiti") > lex.idf("program") > 0  # rarer is worth more
    assert lex.idf("neverseen") > lex.idf("haiti")
    cov = lex.coverage({"haiti": 2.0, "15000000": 1.0, "program": 0.5}, ["haiti:0", "seed:0", "absent:0"])
    assert cov.tolist() == [3.0, 0.5, 0.0]
    assert lex.date_range() == (dt.date(2021, 8, 20), dt.date(2024, 1, 22))
    text, meta = lex.passages(["haiti:0", "absent:0"])["haiti:0"]
    assert text.startswith("The United States") and meta["date"] == "2021-08-20"
    assert lex.vectors is None


def test_a_sync_fetches_only_new_and_changed_chunks_and_deletes_removed_ones(tmp_path: Path) -> None:
    path = tmp_path / "lex"
    chroma = Chroma(CHUNKS)
    synced(chroma, path, "gen-1")
    chroma.fetched.clear()
    del chroma.chunks["ukraine:0"]
    changed = chunk("haiti:0", "The United States will provide $20 million to Haiti.", "v2", date_ord=20210820)
    added = chunk("cuba:0", "Statement on Cuba.")
    for cid, text, meta, vec in (changed, added):
        chroma.chunks[cid] = (text, meta, vec)
    lex = synced(chroma, path, "gen-2")
    assert sorted(chroma.fetched) == ["cuba:0", "haiti:0"]
    assert sorted(lex.ids) == sorted([*(c[0] for c in CHUNKS if c[0] != "ukraine:0"), "cuba:0"])
    assert lex.search("$20M", 1)[0][0] == "haiti:0" and lex.search("$15M", 5) == []
    assert lex.search("Ukraine", 5) == []
    assert lexical_tantivy.load(path, "gen-1") is None  # the fingerprint moved with the commit


def test_a_failed_sync_leaves_the_last_commit(tmp_path: Path) -> None:
    path = tmp_path / "lex"
    chroma = Chroma(CHUNKS)
    synced(chroma, path, "gen-1")
    chroma.chunks["new:0"] = ("text", {"content_hash": "v1"}, np.zeros(8, dtype=np.float32))

    def failing_fetch(ids: list[str]) -> dict[str, tuple[str, np.ndarray]]:
        raise OSError("Chroma went away")

    with pytest.raises(OSError):
        lexical_tantivy.sync(path, "gen-2", chroma.pages(), failing_fetch)
    kept = lexical_tantivy.load(path, "gen-1")
    assert kept is not None and "new:0" not in kept.ids and len(kept.ids) == len(CHUNKS)


def test_an_index_of_another_format_or_none_is_rebuilt(tmp_path: Path) -> None:
    path = tmp_path / "lex"
    assert lexical_tantivy.load(path, "gen-1") is None  # never written
    synced(Chroma(CHUNKS), path, "gen-1")
    (path / "format").write_text("0")
    assert lexical_tantivy.load(path, "gen-1") is None
    assert sorted(synced(Chroma(CHUNKS), path, "gen-1").ids) == sorted(c[0] for c in CHUNKS)


def test_a_second_writer_is_refused_while_one_writes(tmp_path: Path) -> None:
    path = tmp_path / "lex"
    synced(Chroma(CHUNKS), path, "gen-1")
    holder = tantivy.Index.open(str(path)).writer(heap_size=15_000_000, num_threads=1)
    try:
        with pytest.raises(ValueError):
            lexical_tantivy.sync(path, "gen-2", Chroma(CHUNKS).pages(), Chroma(CHUNKS).fetch)
    finally:
        holder.rollback()
        del holder
    assert lexical_tantivy.load(path, "gen-1") is not None
