"""The lexical (BM25) side: amounts written any way match each other, stop words are dropped,
and the saved copy is only used when its fingerprint matches."""

from __future__ import annotations

import itertools
import shutil
from pathlib import Path

import numpy as np
import pytest

from pressbot.lexical import LexicalIndex, lexical_tokens

ONE_EIGHTY_MILLION = [
    "$180M",
    "$180 million",
    "180 million dollars",
    "USD 180 million",
    "US$180 million",
    "180 millones de dólares",
    "$180,000,000",
    "US$ 180 millones",
    "$0.18 billion",
]


def test_every_way_of_writing_180_million_is_one_token() -> None:
    tokens = {form: lexical_tokens(form) for form in ONE_EIGHTY_MILLION}
    assert all(t == ["180000000"] for t in tokens.values()), tokens


@pytest.mark.parametrize(("a", "b"), [
    ("$4.1 million", "$4,100,000"),  # 4.1 * 10**6 is not exact in binary floating point
    ("2.05 billion", "2,050 millones"),
    ("$1.5B", "1,500 million dollars"),
    ("$700K", "700 thousand"),
    ("180 mil millones", "$180 billion"),
])
def test_decimal_amounts_match_their_other_spellings(a: str, b: str) -> None:
    assert lexical_tokens(a) == lexical_tokens(b)
    assert len(lexical_tokens(a)) == 1 and lexical_tokens(a)[0].isdigit()


def test_different_amounts_stay_different() -> None:
    assert lexical_tokens("$18 million") != lexical_tokens("$180 million")
    assert lexical_tokens("3.5 percent") == ["3_5", "percent"]


def test_stop_words_accents_and_stems() -> None:
    assert lexical_tokens("Which of the programs does it fund, and what is the el la de que?") == ["program", "fund"]
    assert lexical_tokens("México dólares") == lexical_tokens("mexico") == ["mexico"]
    assert lexical_tokens("migrants") == lexical_tokens("migrant")


DOCS = [
    ("seed:0", "Mexico announced a development program of $180 million dollars for Guatemala and Honduras.",
     {"date_ord": 0, "source": "seed", "language": "en"}),
    ("es:0", "Se invertirán 180 millones de dólares en Centroamérica.",
     {"date_ord": 20240122, "source": "mananeras", "language": "es"}),
    ("haiti:0", "The United States will provide $15 million in humanitarian assistance to Haiti.",
     {"date_ord": 20210820, "source": "whitehouse", "language": "en"}),
    ("ukraine:0", "The Secretary announced $1 billion in security assistance for Ukraine.",
     {"date_ord": 20220615, "source": "statedept", "language": "en"}),
]


@pytest.fixture()
def lex() -> LexicalIndex:
    return LexicalIndex.build(iter(DOCS), "gen-1")


@pytest.mark.parametrize("query", ONE_EIGHTY_MILLION)
def test_a_query_in_any_form_finds_the_amount_in_every_form(lex: LexicalIndex, query: str) -> None:
    hits = [cid for cid, _ in lex.search(f"program of {query}", 4)]
    assert set(hits[:2]) == {"seed:0", "es:0"}, hits


def test_pairs_of_forms_match_each_other() -> None:
    for a, b in itertools.permutations(ONE_EIGHTY_MILLION[:6], 2):
        index = LexicalIndex.build([("x:0", f"The fund holds {a}.", {}), ("y:0", "Unrelated words here.", {})], "fp")
        assert [cid for cid, _ in index.search(b, 2)] == ["x:0"], (a, b)


def test_a_query_of_only_stop_words_finds_nothing(lex: LexicalIndex) -> None:
    assert lex.search("which of the and what", 5) == []
    assert lex.search("zebra", 5) == []


def test_masks_filter_by_date_source_and_language(lex: LexicalIndex) -> None:
    def ids(mask: np.ndarray | None) -> list[str]:
        return sorted(cid for cid, _ in lex.search("180 million assistance", 10, mask=mask))

    assert ids(lex.mask(since=20220101)) == ["es:0", "ukraine:0"]
    assert ids(lex.mask(since=20220101, include_undated=True)) == ["es:0", "seed:0", "ukraine:0"]
    assert ids(lex.mask(sources=["whitehouse", "statedept"])) == ["haiti:0", "ukraine:0"]
    assert ids(lex.mask(language="es")) == ["es:0"]
    assert lex.mask() is None


def test_save_and_load_with_the_fingerprint(lex: LexicalIndex, tmp_path: Path) -> None:
    path = tmp_path / "lexical" / "pressbot"
    lex.save(path)
    loaded = LexicalIndex.load(path, "gen-1")
    assert loaded is not None
    assert loaded.ids == lex.ids
    assert loaded.search("$180M", 4) == lex.search("$180M", 4)
    assert loaded.date_ord.tolist() == lex.date_ord.tolist()
    assert loaded.source.tolist() == lex.source.tolist()
    # a copy made for another state of Chroma is not used: the caller rebuilds
    assert LexicalIndex.load(path, "gen-2") is None
    # saving again replaces the copy (no leftovers of the old one)
    LexicalIndex.build(iter(DOCS[:1]), "gen-2").save(path)
    again = LexicalIndex.load(path, "gen-2")
    assert again is not None and again.ids == ["seed:0"]


def test_an_incomplete_or_broken_copy_is_ignored(lex: LexicalIndex, tmp_path: Path) -> None:
    path = tmp_path / "lex"
    assert LexicalIndex.load(path, "gen-1") is None  # never saved
    lex.save(path)
    (path / "rows.json").write_text("{not json")
    assert LexicalIndex.load(path, "gen-1") is None
    lex.save(path)
    (path / "fingerprint").unlink()  # written last: a copy without it was cut short
    assert LexicalIndex.load(path, "gen-1") is None
    lex.save(path)
    shutil.rmtree(path / "bm25")
    assert LexicalIndex.load(path, "gen-1") is None  # rows without their BM25 matrices


def test_an_empty_index_searches_to_nothing(tmp_path: Path) -> None:
    empty = LexicalIndex.build(iter([]), "gen-0")
    assert empty.search("$180M", 5) == []
    empty.save(tmp_path / "empty")
    loaded = LexicalIndex.load(tmp_path / "empty", "gen-0")
    assert loaded is not None and loaded.ids == [] and loaded.search("anything", 3) == []
