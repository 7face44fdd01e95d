"""The lexical (BM25) side: amounts written any way match each other, stop words are dropped,
and the saved copy is only used when its fingerprint matches."""

from __future__ import annotations

import itertools

import bm25s
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


def test_an_empty_index_searches_to_nothing() -> None:
    empty = LexicalIndex.build(iter([]), "gen-0")
    assert empty.search("$180M", 5) == []


def test_the_matrix_scores_as_bm25s_own_indexing_does() -> None:
    # bm25_from_postings builds bm25s's matrix itself (in bounded memory) with bm25s's scoring
    # functions: its scores must be the library's
    texts = [text for _, text, _ in DOCS] + ["Haiti Haiti assistance, more assistance for Haiti.", "Ukraine."]
    ours = LexicalIndex.build([(f"d{i}:0", t, {}) for i, t in enumerate(texts)], "fp").bm25
    theirs = bm25s.BM25()
    theirs.index([lexical_tokens(t) for t in texts], show_progress=False)
    assert ours is not None
    for query in ["haiti assistance", "180000000 program", "ukrain secur assist", "mexico"]:
        tokens = query.split()
        assert np.allclose(ours.get_scores(tokens), theirs.get_scores(tokens), atol=1e-6), query
