"""The outcome decision (pressbot/outcome.py): signals, the fitted model file, the deciders."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import math
from pathlib import Path

import pytest
from pydantic import ValidationError

from pressbot.extractive import ScoredSentence
from pressbot.outcome import (
    MODEL_PATH,
    Decision,
    OutcomeModel,
    Signals,
    ThresholdRule,
    decider_for,
    signals_of,
)
from pressbot.types import Answer, Passage


def passage(rid: str, *, dense_rank: int | None = 0, lexical_rank: int | None = 0) -> Passage:
    return Passage(chunk_id=f"{rid}:0", release_id=rid, text="x", title=rid, date=dt.date(2024, 1, 1),
                   dense_rank=dense_rank, lexical_rank=lexical_rank)


def sentence(p: Passage, *, score: float = 0.6, sim: float = 0.7, has_kind: bool = True,
             terms: frozenset[str] = frozenset()) -> ScoredSentence:
    return ScoredSentence(text="s", passage=p, similarity=sim, overlap=0.0, score=score, covers=terms,
                          has_kind=has_kind, in_context=terms, in_release=terms)


def model(**changes: object) -> OutcomeModel:
    base = OutcomeModel(features=("score", "states_asked"), mean=(0.5, 0.5), scale=(0.1, 0.5), coef=(2.0, 1.0),
                        intercept=0.0, answer_at=0.5, close_similarity=0.5, close_coverage=0.4, close_agreement=0.6,
                        embedding_model="all-MiniLM-L6-v2", info={})
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


# --- signals -------------------------------------------------------------------------------------


def test_signals_measure_the_best_chosen_sentence() -> None:
    top, other = passage("a", dense_rank=0, lexical_rank=3), passage("b")
    best = sentence(top, score=0.7, sim=0.8, terms=frozenset({"haiti"}))
    runner_up = sentence(other, score=0.5, terms=frozenset({"haiti", "food"}))
    idf = {"haiti": 3.0, "food": 1.0}.__getitem__
    s = signals_of("haiti food", [best, runner_up], [best], [top, other], idf, for_period=lambda _: False)
    assert (s.similarity, s.score, s.evidence, s.states_asked) == (0.8, 0.7, 0.7, 1.0)
    assert s.coverage == pytest.approx(0.75)  # haiti's weight of haiti + food
    assert s.agreement == pytest.approx((1 + 1 / 4) / 2)  # first on the dense side, fourth on the lexical
    assert s.top_release == 1.0 and s.period_miss == 1.0


def test_a_draft_that_states_nothing_asked_has_no_evidence() -> None:
    p = passage("a", lexical_rank=None)
    s = signals_of("how many", [sentence(p, has_kind=False)], [sentence(p, has_kind=False)], [p], None)
    assert s.evidence == 0.0 and s.states_asked == 0.0 and s.score > 0
    assert s.agreement == pytest.approx(0.5)  # a side that did not find it counts nothing
    assert s.period_miss == 0.0  # no period asked


def test_no_sentences_no_signals() -> None:
    assert signals_of("q", [], [], [], None) == Signals()


# --- the deciders --------------------------------------------------------------------------------


def test_confidence_is_a_sigmoid_of_standardised_signals() -> None:
    m = model()
    s = Signals(score=0.6, states_asked=1.0)
    assert m.confidence(s) == pytest.approx(1 / (1 + math.exp(-(2.0 * 1.0 + 1.0 * 1.0))))
    assert m.decide(s).answer and m.decide(Signals(score=0.3)).answer is False


def test_not_found_only_when_far_in_meaning_in_words_and_in_rank() -> None:
    m = model(intercept=-50.0)  # never answers
    assert m.decide(Signals(similarity=0.4, coverage=0.3)).close is False
    assert m.decide(Signals(similarity=0.6, coverage=0.3)).close  # close in meaning: a paraphrase
    assert m.decide(Signals(similarity=0.4, coverage=0.5)).close  # close in words
    assert m.decide(Signals(similarity=0.4, coverage=0.3, agreement=0.75)).close  # both searches rank it first


def test_the_threshold_rule_keeps_the_two_old_outcomes() -> None:
    rule = ThresholdRule(0.42)
    assert rule.decide(Signals(evidence=0.5)).answer and not rule.decide(Signals(evidence=0.4)).answer
    assert not rule.decide(Signals(evidence=0.4, similarity=0.9)).close
    assert rule.decide(Signals(evidence=1.7)).confidence == 1.0


def test_the_threshold_decides_by_default_and_the_fitted_model_only_when_asked_for() -> None:
    model = OutcomeModel.load()
    default = decider_for("all-MiniLM-L6-v2+onnx-int8", 0.42)
    assert default == ThresholdRule(0.42, model)  # answers by the threshold, unconfirmed by the model
    weak = Signals(evidence=0.2, similarity=0.9)
    assert default.decide(weak) == Decision(False, True, model.confidence(weak))
    assert isinstance(decider_for("all-MiniLM-L6-v2", 0.42, fitted=True), OutcomeModel)
    assert decider_for("hash-64", 0.42, fitted=True) == ThresholdRule(0.42)  # fitted for another model
    assert decider_for("hash-64", 0.3) == ThresholdRule(0.3)


def test_no_model_file_means_the_threshold_rule(tmp_path: Path) -> None:
    assert decider_for("all-MiniLM-L6-v2", 0.42, False, tmp_path / "missing.json") == ThresholdRule(0.42)


def test_the_shipped_model_is_complete_and_sensible() -> None:
    data = json.loads(MODEL_PATH.read_text())
    m = OutcomeModel.load()
    fields = set(Signals().features())
    assert set(m.features) <= fields
    assert len(m.features) == len(m.mean) == len(m.scale) == len(m.coef) and all(s > 0 for s in m.scale)
    assert 0 < m.answer_at < 1 and 0 < m.close_similarity < 1 and 0 < m.close_coverage < 1
    assert 0 < m.close_agreement < 1
    dev_sets = ["sample.jsonl", "dev2.jsonl", "dev3.jsonl", "dev_es.jsonl", "dev4.jsonl"]
    assert data["info"]["dev_sets"] == dev_sets  # never the held-out set
    coef = dict(zip(m.features, m.coef, strict=True))
    # stating what was asked, and scoring well, make an answer more likely right
    assert coef["states_asked"] > 0 and coef["score"] > 0
    strong = Signals(similarity=0.75, score=0.8, evidence=0.8, states_asked=1, coverage=0.9, agreement=1)
    weak = Signals(similarity=0.45, score=0.3, coverage=0.3, agreement=0.1)
    assert m.decide(strong).answer and not m.decide(weak).answer and not m.decide(weak).close


# --- the Answer contract -------------------------------------------------------------------------


def test_abstained_is_outcome_not_answered() -> None:
    assert Answer(question="q", answer="a", abstained=True).outcome == "not_found"  # an older producer
    assert Answer(question="q", answer="a", abstained=False).outcome == "answered"
    ok = Answer(question="q", answer="a", abstained=True, outcome="unconfirmed", confidence=0.3)
    assert Answer.model_validate_json(ok.model_dump_json()) == ok
    with pytest.raises(ValidationError, match="contradicts"):
        Answer(question="q", answer="a", abstained=False, outcome="unconfirmed")
    with pytest.raises(ValidationError):
        Answer(question="q", answer="a", abstained=False, confidence=1.5)


# --- the faces show it -----------------------------------------------------------------------------


def test_faces_show_the_outcome() -> None:
    from bot.ask_cli import format_answer
    from bot.slack_format import answer_message, fallback_text
    from pressbot.engine import ABSTAIN_TEXT, UNCONFIRMED_TEXT
    from pressbot.types import Citation

    cite = Citation(n=1, release_id="r", title="Haiti aid", quote="The U.S. gives $15 million.")
    unconfirmed = Answer(question="q", answer=f"{UNCONFIRMED_TEXT} The closest passage: '{cite.quote}' [1]",
                         outcome="unconfirmed", confidence=0.31, abstained=True, citations=[cite])
    assert "Outcome: unconfirmed (confidence 0.31)" in format_answer(unconfirmed)
    msg = answer_message(unconfirmed)
    assert cite.quote in msg["blocks"][0]["text"]["text"]  # the quote is the answer shown
    assert "Closest passage:" in fallback_text(unconfirmed)
    not_found = Answer(question="q", answer=f"{ABSTAIN_TEXT} The closest releases: [1] Haiti aid (undated)",
                       outcome="not_found", abstained=True, citations=[cite])
    assert "Outcome: not found" in format_answer(not_found)
    assert fallback_text(not_found).startswith(ABSTAIN_TEXT + "\nClosest releases:")


def test_the_cli_shows_the_searched_window_as_a_footer() -> None:
    from bot.ask_cli import format_answer
    from pressbot.types import Citation

    cite = Citation(n=1, release_id="r", title="Haiti aid", quote="The U.S. gives $15 million.")
    ans = Answer(question="q", answer="The U.S. gives $15 million. [1]", abstained=False, citations=[cite],
                 filters={"window_note": "Releases dated 2021-06-01 to 2021-06-30"})
    shown = format_answer(ans).splitlines()
    assert shown[0] == "The U.S. gives $15 million. [1]"  # the fact first
    assert shown[-1] == "Searched: Releases dated 2021-06-01 to 2021-06-30"
