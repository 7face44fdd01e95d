"""The citation check on its own: passages built by hand, the deterministic hash embedder.

Hash-embedding cosine is bag-of-words overlap, so paraphrases score low: the drafts here
reuse the passages' words, and one test shows what min_similarity does to a paraphrase.
"""

from __future__ import annotations

import pytest

from evals.hash_embeddings import HashEmbeddings
from pressbot.citations import check_answer, check_statements, checkable, facts_of, parse_draft, supports
from pressbot.types import Passage, Statement
from tests.support import SEED_TEXT, sample_releases

HAITI_1 = "The United States will provide $15 million in humanitarian assistance to Haiti after the earthquake."
HAITI_2 = "The aid includes food and shelter."
CLIMATE_1 = "The President hosted forty world leaders at the Leaders Summit on Climate."


@pytest.fixture(scope="module")
def embedder() -> HashEmbeddings:
    return HashEmbeddings(256)


@pytest.fixture(scope="module")
def passages() -> list[Passage]:
    by_id = {r.id: r for r in sample_releases()}
    return [
        Passage(chunk_id=f"{r.id}:0", release_id=r.id, text=r.text, title=r.title, date=r.date, url=r.url)
        for r in (by_id["wh-climate"], by_id["wh-haiti"], by_id["seed"])
    ]


def test_facts_are_canonical_amounts_and_names():
    numbers, names = facts_of("The program invests $180M in Guatemala and El Salvador by 2030.")
    assert numbers == {"180000000", "2030"}
    assert names == {"Guatemala", "El Salvador"}


def test_supports_matches_amounts_written_differently_and_needs_every_name():
    assert supports(SEED_TEXT, "It invests $180M in Guatemala.")
    assert supports(SEED_TEXT, "It invests 180 million dollars in Haiti.")
    assert not supports(SEED_TEXT, "It invests $190 million in Guatemala.")
    assert not supports(SEED_TEXT, "It invests $180 million in Guatemala and Belize.")


def test_checkable_needs_a_fact_or_enough_content_words():
    assert not checkable("PWNED")
    assert not checkable("Here is the answer:")
    assert checkable("It costs $15 million.")
    assert checkable("The aid includes food and shelter.")


def test_a_correct_citation_is_kept_and_renumbered_from_one(passages, embedder):
    checked = check_answer(f"{HAITI_1[:-1]} [2].", passages, embedder)
    assert checked.text == f"{HAITI_1} [1]"
    assert [(c.n, c.release_id, c.quote) for c in checked.citations] == [(1, "wh-haiti", HAITI_1)]
    assert checked.dropped == [] and checked.corrected == 0


def test_citations_are_numbered_in_order_of_first_use(passages, embedder):
    checked = check_answer(f"{CLIMATE_1[:-1]} [1]. {HAITI_2[:-1]} [2]. {HAITI_1[:-1]} [2].", passages, embedder)
    assert checked.text == f"{CLIMATE_1} [1] {HAITI_2} [2] {HAITI_1} [2]"
    assert [c.release_id for c in checked.citations] == ["wh-climate", "wh-haiti"]


def test_an_out_of_range_number_is_removed_and_the_sentence_re_attributed(passages, embedder):
    checked = check_answer(f"{HAITI_2[:-1]} [7].", passages, embedder)
    assert checked.text == f"{HAITI_2} [1]"
    assert checked.citations[0].release_id == "wh-haiti"
    assert "[7]" not in checked.text


def test_a_wrong_passage_is_corrected_to_the_one_that_supports_it(passages, embedder):
    checked = check_answer(f"{HAITI_1[:-1]} [1].", passages, embedder)  # [1] is the climate release
    assert [c.release_id for c in checked.citations] == ["wh-haiti"]
    assert checked.corrected == 1


def test_a_sentence_with_an_invented_amount_is_dropped(passages, embedder):
    invented = HAITI_1.replace("$15 million", "$25 million")
    checked = check_answer(f"{invented[:-1]} [2]. {HAITI_2[:-1]} [2].", passages, embedder)
    assert checked.text == f"{HAITI_2} [1]"
    assert checked.dropped == [invented]
    assert "25" not in checked.text


def test_a_name_the_passage_does_not_hold_is_dropped(passages, embedder):
    checked = check_answer(f"{HAITI_1[:-1]} and Cuba [2].", passages, embedder)
    assert checked.citations == [] and checked.text == ""


def test_an_uncited_but_supported_sentence_gets_its_citation(passages, embedder):
    checked = check_answer(CLIMATE_1, passages, embedder)
    assert checked.text == f"{CLIMATE_1} [1]"
    assert checked.citations[0].release_id == "wh-climate"
    assert checked.corrected == 1


def test_content_free_sentences_are_dropped_even_when_cited(passages, embedder):
    checked = check_answer("Here is the answer: [2]. PWNED [2].", passages, embedder)
    assert checked.citations == []
    assert checked.text == ""


def test_a_mark_after_the_full_stop_belongs_to_the_sentence_before(passages, embedder):
    checked = check_answer(f"{HAITI_2} [2] {CLIMATE_1} [1]", passages, embedder)
    assert checked.text == f"{HAITI_2} [1] {CLIMATE_1} [2]"
    assert [c.release_id for c in checked.citations] == ["wh-haiti", "wh-climate"]


def test_several_marks_on_one_sentence(passages, embedder):
    both = "The United States will provide $15 million in humanitarian assistance to Haiti"
    checked = check_answer(f"{both} [2, 3].", passages, embedder, min_similarity=0.3)
    # the seed release names Haiti and the United States but not $15 million: only [2] holds
    assert [c.release_id for c in checked.citations] == ["wh-haiti"]


def test_a_sentence_joining_two_neighbouring_sentences_quotes_both(passages, embedder):
    joined = HAITI_1[:-1] + " and the aid includes food and shelter"
    checked = check_answer(f"{joined} [2].", passages, embedder)
    assert checked.citations[0].quote == f"{HAITI_1} {HAITI_2}"


def test_min_similarity_decides_for_a_paraphrase(passages, embedder):
    paraphrase = "Washington will give Haiti $15 million of assistance [2]."
    assert check_answer(paraphrase, passages, embedder).citations == []
    kept = check_answer(paraphrase, passages, embedder, min_similarity=0.2)
    assert [c.release_id for c in kept.citations] == ["wh-haiti"]


def test_the_cache_holds_each_sentence_vector_once(passages, embedder):
    cache: dict = {}
    check_answer(f"{HAITI_1[:-1]} [2].", passages, embedder, cache=cache)
    size = len(cache)
    check_answer(f"{HAITI_1[:-1]} [2].", passages, embedder, cache=cache)
    assert len(cache) == size and HAITI_1 in cache


def test_no_passages_means_nothing_survives(embedder):
    checked = check_answer(f"{HAITI_1[:-1]} [1].", [], embedder)
    assert checked.citations == [] and checked.text == ""


def test_a_passage_cited_by_two_sentences_quotes_the_support_of_each(passages, embedder):
    checked = check_answer(f"{HAITI_1} [2] {CLIMATE_1} [1] {HAITI_2} [2]", passages, embedder)
    assert [c.release_id for c in checked.citations] == ["wh-haiti", "wh-climate"]
    assert checked.citations[0].quote == f"{HAITI_1} … {HAITI_2}"
    assert checked.citations[1].quote == CLIMATE_1


def test_a_direct_answer_is_kept_only_when_a_sentence_of_its_passage_holds_every_span(passages, embedder):
    direct = Statement("$15 million", (1,), ("$15 million",))
    quote = Statement(HAITI_1, (1,))
    checked = check_statements([direct, quote], passages, embedder)
    assert checked.text == f"$15 million [1]\n\n{HAITI_1} [1]"  # its own paragraph, then the quote
    assert [(c.n, c.release_id, c.quote) for c in checked.citations] == [(1, "wh-haiti", HAITI_1)]
    wrong = Statement("$20 million", (1,), ("$20 million",))  # a span the passage does not hold
    elsewhere = Statement("$15 million", (0,), ("$15 million",))  # cited to a passage without it
    checked = check_statements([wrong, elsewhere, quote], passages, embedder)
    assert checked.text == f"{HAITI_1} [1]" and checked.dropped == ["$20 million", "$15 million"]


def test_a_drafted_text_is_parsed_once_into_statements_with_their_passages() -> None:
    assert parse_draft(f"{HAITI_1} [2] {HAITI_2} [2][3]") == [
        Statement(HAITI_1, (1,)), Statement(HAITI_2, (1, 2)),
    ]
