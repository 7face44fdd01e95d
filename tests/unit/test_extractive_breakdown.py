"""A breakdown question ("How does the $310 million break down?") is answered by the total and
the sentences after it that give its parts; an inline numbered list is an enumeration."""

from __future__ import annotations

import itertools

from evals.hash_embeddings import HashEmbeddings
from pressbot.asked import asks_for_list
from pressbot.extractive import score_sentences
from pressbot.types import Passage


def _passage(sents: list[str]) -> Passage:
    text = " ".join(sents)
    ends = list(itertools.accumulate(len(x) + 1 for x in sents))
    ends[-1] = len(text)
    return Passage(chunk_id="r:0", release_id="r", text=text, title="T", sentence_ends=ends)


SENTS = [
    "The Vice President announced $310 million in new support for the region.",
    "USAID will provide $125 million for food assistance.",
    "The Department of State will provide $104 million for shelters.",
    "The officials also met local leaders in the capital city.",
    "Another $5 million goes elsewhere.",
]


def test_a_breakdown_question_brings_the_figures_that_follow_the_total() -> None:
    scored = score_sentences("How does the $310 million break down?", [_passage(SENTS)], HashEmbeddings(64))
    total = next(s for s in scored if s.text == SENTS[0])
    assert total.items == (SENTS[1], SENTS[2])  # up to the first sentence without a figure


def test_without_a_breakdown_asked_or_with_the_rule_off_the_total_stands_alone() -> None:
    p = _passage(SENTS)
    for question, off in (
        ("How much did the Vice President announce?", frozenset()),
        ("How does the $310 million break down?", frozenset({"breakdown"})),
    ):
        total = next(s for s in score_sentences(question, [p], HashEmbeddings(64), off=off) if s.text == SENTS[0])
        assert total.items == ()


def test_an_inline_numbered_list_counts_as_an_enumeration_for_a_list_question() -> None:
    numbered = "The task force will include three parts: 1) prosecutors; 2) advisers; and 3) investigators."
    plain = "The task force will include prosecutors and advisers and investigators in the region."
    p = _passage([plain, numbered])
    assert asks_for_list("What three parts will the task force include?")
    on = {
        s.text: s.score
        for s in score_sentences("What three parts will the task force include?", [p], HashEmbeddings(64))
    }
    off = {
        s.text: s.score
        for s in score_sentences(
            "What three parts will the task force include?", [p], HashEmbeddings(64), off=frozenset({"list"})
        )
    }
    assert on[numbered] - off[numbered] > on[plain] - off[plain]  # the bonus goes to the enumeration
