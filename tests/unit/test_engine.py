"""Engine.answer / search over a real embedded Chroma with the deterministic hash embedder."""

from __future__ import annotations

import datetime as dt
import math
from pathlib import Path

import pytest

from pressbot.errors import QueryError
from pressbot.search import Filters, chroma_where
from tests.support import build_engine, release, sample_releases


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory):
    return build_engine(tmp_path_factory.mktemp("engine"), abstain_threshold=0.3)


def test_answer_quotes_the_release_with_a_numbered_citation(engine) -> None:
    ans = engine.answer("Which countries receive the $180 million program?", as_of="2026-01-01")
    assert not ans.abstained
    assert "Guatemala" in ans.answer and "[1]" in ans.answer
    assert ans.citations[0].n == 1
    assert ans.citations[0].title == "Mexico and the U. S. continue migration talks"
    assert "Haiti" in ans.citations[0].quote
    assert ans.citations[0].quote in engine.get_release("seed").text


def test_amount_written_differently_still_matches(engine) -> None:
    ans = engine.answer("which countries get the $180M program", as_of="2026-01-01")
    assert ans.citations and ans.citations[0].release_id == "seed"


def test_every_marker_has_a_citation(engine) -> None:
    import re

    ans = engine.answer("How much security assistance did the Secretary announce for Ukraine?", as_of="2026-01-01")
    markers = {int(n) for n in re.findall(r"\[(\d+)\]", ans.answer)}
    assert markers and markers <= {c.n for c in ans.citations}


def test_absent_topic_abstains_and_points_to_closest(engine) -> None:
    ans = engine.answer("What is the recipe for sourdough bread?", as_of="2026-01-01")
    assert ans.abstained
    assert "does not seem to hold" in ans.answer
    assert len(ans.citations) <= 3


def test_date_window_from_the_question_picks_the_release_in_the_window(engine) -> None:
    ans = engine.answer("How much security assistance for Ukraine was announced in June 2022?", as_of="2026-01-01")
    assert ans.filters["focus_since"] == "2022-06-01" and ans.filters["focus_until"] == "2022-06-30"
    # the search window also covers the reporting lag after the month asked about
    assert ans.filters["since"] == "2022-06-01" and ans.filters["until"] == "2022-07-30"
    assert ans.filters["window_from_question"]
    assert not ans.abstained
    assert "$1 billion" in ans.answer and "$60 million" not in ans.answer
    assert "2022-06-01" in ans.filters["window_note"]  # the faces say which window it searched


def test_reporting_lag_finds_the_release_published_after_the_month_asked(tmp_path: Path) -> None:
    releases = [
        release("may-report", "Border numbers", "Border Patrol encountered 8,725 migrants at the southern border "
                "in May, a record low.", "2025-06-10"),
        release("june-report", "Border numbers again", "Border Patrol encountered 6,070 migrants at the southern "
                "border in June, another record low.", "2025-07-02"),
    ]
    eng = build_engine(tmp_path, releases, abstain_threshold=0.0)
    ans = eng.answer("How many migrants did Border Patrol encounter at the southern border last month?",
                     as_of="2025-07-05")
    assert ans.filters["focus_since"] == "2025-06-01"
    assert "6,070" in ans.answer  # found in the July release, after the window asked
    assert "june-report" in [c.release_id for c in ans.citations]
    # the answer opens with the fact; which dates were searched is a note beside it
    assert not ans.answer.startswith("Releases dated")
    assert ans.filters["window_note"].startswith("Releases dated 2025-06-01 to ")


def test_a_figure_asked_for_a_fiscal_year_from_a_source_dated_later(tmp_path: Path) -> None:
    """The date the question gives its source by is the search window; the fiscal year it asks
    about is not a period the answer must be dated in (the fact sheet came out two years on)."""
    releases = [
        release("entry-2025", "Fact Sheet: Entry restrictions", "According to the Fiscal Year 2023 Overstay "
                "Report, Chad had a business and tourist visa overstay rate of 49.54 percent.", "2025-06-04"),
    ]
    eng = build_engine(tmp_path, releases, abstain_threshold=0.0)
    q = "What visa overstay rate did Chad have in fiscal year 2023, according to the June 2025 fact sheet?"
    ans = eng.answer(q, as_of="2026-01-01")
    assert ans.filters["focus_since"] == "2025-06-01" and ans.filters["focus_dates_source"]
    assert "49.54 percent" in ans.answer and [c.release_id for c in ans.citations] == ["entry-2025"]
    asked = eng.answer("What visa overstay rate did Chad have in fiscal year 2023?", as_of="2026-01-01")
    assert asked.filters["focus_since"] == "2022-10-01" and not asked.filters["focus_dates_source"]


def test_explicit_dates_are_a_hard_filter(engine) -> None:
    result = engine.search("security assistance Ukraine", since="2022-06-01", until="2022-06-30", k=5)
    dated = [p for p in result.passages if p.date]
    assert dated and all(dt.date(2022, 6, 1) <= p.date <= dt.date(2022, 6, 30) for p in dated)


def test_relative_words_resolve_against_as_of(engine) -> None:
    ans = engine.answer("What did the Secretary announce for Ukraine last June?", as_of="2022-07-10")
    assert ans.filters["since"] == "2022-06-01"
    ans2 = engine.answer("What did the Secretary announce for Ukraine last June?", as_of="2023-07-10")
    assert ans2.filters["since"] == "2023-06-01"


def test_undated_releases_rank_after_dated_matches(engine) -> None:
    result = engine.search("migration talks Mexico Guatemala", since="2021-01-01", until="2022-12-31", k=5)
    undated = [p.undated for p in result.passages]
    assert any(undated), "the undated seed release must not be dropped by a date filter"
    assert undated == sorted(undated), "undated releases come after every dated one"


def test_explicit_filters_and_sources(engine) -> None:
    result = engine.search("security assistance", source="statedept", k=5)
    assert result.passages and all(p.source == "statedept" for p in result.passages)
    assert len({p.release_id for p in result.passages}) == len(result.passages)  # grouped by release


@pytest.mark.parametrize(
    ("kwargs", "needle"),
    [
        ({"question": ""}, "empty"),
        ({"question": "x" * 2001}, "2000"),
        ({"question": "ok?", "k": 0}, "k=0"),
        ({"question": "ok?", "since": "June 2021"}, "ISO date"),
        ({"question": "ok?", "since": "2022-01-02", "until": "2022-01-01"}, "after"),
    ],
)
def test_bad_input_is_a_clear_query_error(engine, kwargs, needle) -> None:
    question = kwargs.pop("question")
    with pytest.raises(QueryError, match=needle):
        engine.answer(question, **kwargs)


def test_chroma_where_keeps_undated_in_a_window() -> None:
    where = chroma_where(Filters(since=dt.date(2021, 6, 1), until=dt.date(2021, 6, 30)))
    assert where == {"$or": [{"$and": [{"date_ord": {"$gt": 0}}, {"date_ord": {"$gte": 20210601}},
                                       {"date_ord": {"$lte": 20210630}}]}, {"date_ord": 0}]}
    assert chroma_where(Filters()) is None


def test_one_long_release_cannot_fill_the_context(tmp_path: Path) -> None:
    long_text = " ".join(f"Security assistance sentence number {i} for Ukraine is described here." for i in range(200))
    eng = build_engine(tmp_path, [*sample_releases(), release("long", "Long release", long_text, "2022-01-01")])
    result = eng.search("security assistance Ukraine", k=5)
    ids = [p.release_id for p in result.passages]
    assert ids.count("long") == 1 and len(ids) == len(set(ids))


def test_a_how_many_question_without_any_number_in_the_evidence_abstains(tmp_path: Path) -> None:
    text = "The CBP One app was ended. The app had been used by migrants to schedule appointments."
    eng = build_engine(tmp_path, [release("cbp", "CBP One app ended", text, "2025-01-20")], abstain_threshold=0.05)
    assert eng.answer("How much did the CBP One app cost?", as_of="2026-01-01").abstained
    assert not eng.answer("What was the CBP One app used for?", as_of="2026-01-01").abstained


# --- the three outcomes (pressbot/outcome.py) --------------------------------------------------------


def _decider(**changes: object):
    import dataclasses

    from pressbot.outcome import OutcomeModel

    base = OutcomeModel(features=("score",), mean=(0.0,), scale=(1.0,), coef=(0.0,), intercept=0.0, answer_at=0.5,
                        close_similarity=0.0, close_coverage=0.0, close_agreement=0.0,
                        embedding_model="hash-64", info={})
    return dataclasses.replace(base, **changes)


@pytest.fixture
def with_decider(engine):
    before = engine.decider
    yield lambda d: setattr(engine, "decider", d)
    engine.decider = before


def test_an_answer_reports_its_outcome_and_confidence(engine) -> None:
    ans = engine.answer("Which countries receive the $180 million program?", as_of="2026-01-01")
    assert ans.outcome == "answered" and not ans.abstained and 0.0 < ans.confidence <= 1.0
    assert '"outcome":"answered"' in ans.model_dump_json()


def test_unconfirmed_quotes_the_closest_passage_with_its_citation(engine, with_decider) -> None:
    from pressbot.engine import UNCONFIRMED_TEXT

    with_decider(_decider(intercept=-4.0))  # never confident enough; everything is close
    ans = engine.answer("Which countries receive the $180 million program?", as_of="2026-01-01")
    assert ans.outcome == "unconfirmed" and ans.abstained
    assert ans.confidence == pytest.approx(1 / (1 + math.exp(4.0)), abs=1e-4)
    assert ans.answer.startswith(f"{UNCONFIRMED_TEXT} The closest passage: '") and ans.answer.endswith("' [1]")
    (cite,) = ans.citations
    assert cite.n == 1 and cite.release_id == "seed" and f"'{cite.quote}'" in ans.answer
    assert cite.quote in " ".join(engine.get_release("seed").text.split())
    assert "Releases dated" not in ans.answer  # the window note belongs to answers only


def test_not_found_when_no_passage_is_close(engine, with_decider) -> None:
    with_decider(_decider(intercept=-4.0, close_similarity=2.0, close_coverage=2.0, close_agreement=2.0))
    ans = engine.answer("Which countries receive the $180 million program?", as_of="2026-01-01")
    assert ans.outcome == "not_found" and ans.abstained and "does not seem to hold" in ans.answer
    assert 1 <= len(ans.citations) <= 3


def test_a_confident_draft_is_answered_and_nothing_retrieved_is_not_found(engine, with_decider) -> None:
    with_decider(_decider(intercept=4.0))
    ans = engine.answer("Which countries receive the $180 million program?", as_of="2026-01-01")
    assert ans.outcome == "answered" and ans.confidence > 0.9
    # nothing retrieved: nothing to quote, whatever the decider says
    empty = engine.answer("Which countries receive the $180 million program?", source="no-such-source")
    assert empty.outcome == "not_found" and empty.citations == []


def test_a_window_outside_the_archive_says_what_the_archive_covers(engine) -> None:
    # the sample releases are dated 2021-04-22 .. 2022-06-15 (and one undated)
    before = engine.answer("How much aid did the United States give Haiti in June 2019?", as_of="2026-01-01")
    assert before.filters["window_note"].endswith("; the archive covers 2021-04-22 to 2022-06-15")
    after = engine.answer("What was announced about Ukraine in 2030?", as_of="2031-01-01")
    assert after.filters["window_note"].endswith("; the archive covers 2021-04-22 to 2022-06-15")
    inside = engine.answer("How much aid did the United States give Haiti in August 2021?", as_of="2026-01-01")
    assert "the archive covers" not in inside.filters["window_note"]
    undated = engine.answer("How much aid did the United States give Haiti?")
    assert "window_note" not in undated.filters


def test_an_undated_release_answers_a_dated_question_only_as_unconfirmed(tmp_path: Path) -> None:
    """Nothing says an undated release speaks of the time asked, unless its text names it."""
    releases = [
        release("undated", "Border numbers", "Border Patrol encountered 8,725 migrants at the southern border, "
                "a record low for the month.", None),
        release("named", "Border numbers again", "In June 2025, Border Patrol encountered 6,070 migrants at the "
                "southern border, another record low.", None),
    ]
    eng = build_engine(tmp_path, releases[:1], abstain_threshold=0.0)
    question = "How many migrants did Border Patrol encounter at the southern border in June 2025?"
    ans = eng.answer(question, as_of="2025-07-05")
    assert ans.outcome == "unconfirmed" and "8,725" in ans.answer and ans.citations[0].release_id == "undated"
    assert eng.answer("How many migrants did Border Patrol encounter at the southern border?").outcome == "answered"
    off = build_engine(tmp_path / "off", releases[:1], abstain_threshold=0.0, rules_off=frozenset({"undated"}))
    assert off.answer(question, as_of="2025-07-05").outcome == "answered"
    named = build_engine(tmp_path / "named", releases[1:], abstain_threshold=0.0)
    ans = named.answer(question, as_of="2025-07-05")
    assert ans.outcome == "answered" and "6,070" in ans.answer  # its text states the month asked


def test_each_part_of_a_question_is_answered_or_named_as_not_confirmed(tmp_path: Path) -> None:
    releases = [
        release("relief", "Relief for Central America", "The Vice President announced $310 million in urgent "
                "relief for Central America. The relief includes food assistance for families.", "2021-04-26"),
        release("talks", "Talks", "The two governments met in Mexico City to discuss trade and energy.", "2021-05-02"),
    ]
    eng = build_engine(tmp_path, releases, abstain_threshold=0.0)
    ans = eng.answer("How much urgent relief did the Vice President announce for Central America, and who "
                     "chaired the oversight board?", as_of="2022-01-01")
    assert ans.outcome == "answered" and "$310 million" in ans.answer
    assert ans.answer.endswith("Not confirmed in the archive: who chaired the oversight board?"), ans.answer
    # a part that a quoted sentence answers is not named
    ans = eng.answer("How much urgent relief did the Vice President announce, and what does the relief "
                     "include?", as_of="2022-01-01")
    assert "Not confirmed" not in ans.answer and "food assistance" in ans.answer, ans.answer
