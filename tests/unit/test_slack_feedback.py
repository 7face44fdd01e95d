"""The feedback store (SQLite) and `pressbot feedback export` (golden-set candidates)."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from bot.slack_feedback import FeedbackStore, default_path
from evals.golden import load_golden
from pressbot.errors import ConfigError
from pressbot.types import Answer, Citation
from tests.support import settings_for

HAITI = Answer(
    question="What aid goes to Haiti since last week?",
    answer="The aid includes food and shelter. [1]",
    abstained=False,
    citations=[Citation(n=1, release_id="wh-haiti", title="Statement on Haiti", date=dt.date(2021, 8, 20),
                        url="https://example.org/wh-haiti", quote="The aid includes food and shelter.")],
    filters={"as_of": "2021-08-27"},
)
CLIMATE = Answer(question="Who hosted the climate summit?", answer="The archive does not seem to hold it.",
                 abstained=True, filters={"as_of": "2024-05-01"})


@pytest.fixture
def store(tmp_path: Path) -> FeedbackStore:
    return FeedbackStore(tmp_path / "fb" / "feedback.sqlite3")


def test_a_click_is_stored_with_question_answer_citations_user_verdict_and_time(store: FeedbackStore) -> None:
    answer_id = store.record_answer(HAITI, channel="C1", thread_ts="1.1", asked_by="U1")
    stored = store.add_feedback(answer_id, user="U9", verdict="not_helpful")
    assert stored["known_answer"]
    [row] = store.feedback()
    assert row["answer_id"] == answer_id and row["question"] == HAITI.question and row["answer"] == HAITI.answer
    assert row["citations"][0]["url"] == "https://example.org/wh-haiti" and row["citations"][0]["date"] == "2021-08-20"
    assert row["user"] == "U9" and row["verdict"] == "not_helpful"
    assert dt.datetime.fromisoformat(row["ts"]).tzinfo is not None


def test_a_click_on_an_answer_the_store_never_saw_keeps_the_shown_text(store: FeedbackStore) -> None:
    stored = store.add_feedback("elsewhere", user="U2", verdict="helpful", answer_text="what Slack showed")
    assert not stored["known_answer"]
    assert store.feedback()[0]["answer"] == "what Slack showed"


def test_an_unknown_verdict_is_refused(store: FeedbackStore) -> None:
    with pytest.raises(ValueError, match="verdict 'meh'"):
        store.add_feedback("x", user="U1", verdict="meh")


def test_golden_candidates_are_the_answers_last_judged_not_helpful(store: FeedbackStore) -> None:
    haiti = store.record_answer(HAITI)
    climate = store.record_answer(CLIMATE)
    changed_mind = store.record_answer(HAITI.model_copy(update={"question": "Changed mind?"}))
    store.add_feedback(haiti, user="U1", verdict="not_helpful")
    store.add_feedback(haiti, user="U2", verdict="not_helpful")
    store.add_feedback(haiti, user="U3", verdict="helpful")
    store.add_feedback(climate, user="U1", verdict="helpful")
    store.add_feedback(changed_mind, user="U1", verdict="not_helpful")
    store.add_feedback(changed_mind, user="U1", verdict="helpful")
    store.add_feedback("unknown", user="U1", verdict="not_helpful")  # no question to ask again

    [cand] = store.golden_candidates()
    assert cand["id"] == f"feedback-{haiti}" and cand["question"] == HAITI.question
    assert cand["must_include"] == [] and cand["sources"] == [] and cand["needs_review"] is True
    assert cand["as_of"] == "2021-08-27"  # "since last week" keeps its meaning
    assert cand["bot_answer"] == HAITI.answer and cand["bot_abstained"] is False
    assert cand["bot_citations"] == [{"n": 1, "release_id": "wh-haiti", "title": "Statement on Haiti",
                                      "date": "2021-08-20", "url": "https://example.org/wh-haiti"}]
    assert cand["feedback"]["not_helpful_votes"] == 2 and cand["feedback"]["users"] == ["U1", "U2"]


def test_export_writes_lines_the_golden_loader_reads(store: FeedbackStore, tmp_path: Path) -> None:
    for ans in (HAITI, CLIMATE):
        store.add_feedback(store.record_answer(ans), user="U1", verdict="not_helpful")
    out = tmp_path / "candidates.jsonl"
    with out.open("w", encoding="utf-8") as fh:
        assert store.export_golden(fh) == 2
    items = load_golden(out)
    assert [it.question for it in items] == [HAITI.question, CLIMATE.question]
    assert items[0].as_of == dt.date(2021, 8, 27) and items[0].type == "factoid"


def test_default_path_and_unusable_path(tmp_path: Path) -> None:
    assert default_path(settings_for(tmp_path)) == tmp_path / "data" / "feedback.sqlite3"
    assert default_path(settings_for(tmp_path, feedback_db=tmp_path / "x.db")) == tmp_path / "x.db"
    (tmp_path / "dir.db").mkdir()
    with pytest.raises(ConfigError, match="PRESSBOT_FEEDBACK_DB"):
        FeedbackStore(tmp_path / "dir.db")


def _cli():  # the command group with the Slack face's commands registered
    from bot.cli import _settings, cli
    from bot.slack_cli import register

    register(cli, _settings)
    return cli


def test_pressbot_feedback_export(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("PRESSBOT_FEEDBACK_DB", raising=False)
    data = tmp_path / "data"
    store = FeedbackStore(data / "feedback.sqlite3")
    store.add_feedback(store.record_answer(HAITI), user="U1", verdict="not_helpful")
    runner = CliRunner()

    to_stdout = runner.invoke(_cli(), ["--data-dir", str(data), "feedback", "export"])
    assert to_stdout.exit_code == 0, to_stdout.output
    assert json.loads(to_stdout.stdout.splitlines()[0])["question"] == HAITI.question
    assert "1 golden-set candidate(s) written to stdout" in to_stdout.stderr

    out = tmp_path / "cands.jsonl"
    to_file = runner.invoke(_cli(), ["--data-dir", str(data), "feedback", "export", "--out", str(out)])
    assert to_file.exit_code == 0 and len(load_golden(out)) == 1

    missing = runner.invoke(_cli(), ["--data-dir", str(tmp_path / "nowhere"), "feedback", "export"])
    assert missing.exit_code == 2 and "no feedback database at" in missing.output and "Traceback" not in missing.output

    bad_out = runner.invoke(_cli(), ["--data-dir", str(data), "feedback", "export", "--out", str(tmp_path / "no/x")])
    assert bad_out.exit_code == 2 and "cannot write" in bad_out.output
