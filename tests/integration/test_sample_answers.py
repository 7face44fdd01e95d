"""End to end on the bundled sample archive with the real default model: the seed question,
an absent topic, a dated question, and the eval gate of CI (extractive mode)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.integration.conftest import run_cli

COUNTRIES = ["Guatemala", "Honduras", "El Salvador", "Colombia", "Ecuador", "Venezuela", "Cuba", "Haiti"]
SEED_TITLE = "Mexico and the U. S. continue migration talks"


def _ask(data_dir: Path, question: str, *extra: str) -> dict:
    return json.loads(run_cli("ask", question, "--json", *extra, data_dir=data_dir).stdout)


def test_seed_question_names_all_eight_countries_citing_the_seed(sample_data_dir: Path) -> None:
    for question in ("Which countries receive the $180 million program?", "which countries receive the $180M program?"):
        ans = _ask(sample_data_dir, question)
        assert not ans["abstained"], ans
        for country in COUNTRIES:
            assert country in ans["answer"], (country, ans["answer"])
        assert ans["citations"][0]["title"] == SEED_TITLE
        assert "[1]" in ans["answer"]


def test_absent_topic_abstains(sample_data_dir: Path) -> None:
    ans = _ask(sample_data_dir, "What did the White House say about the Mars colony lottery results?")
    assert ans["abstained"], ans
    assert "does not seem to hold" in ans["answer"]


def test_readable_answer_lists_numbered_sources(sample_data_dir: Path) -> None:
    out = run_cli("ask", "Which countries receive the $180 million program?", data_dir=sample_data_dir).stdout
    assert "Sources:" in out and f"[1] {SEED_TITLE} (undated)" in out


def test_eval_gate_passes_on_the_bundled_set(sample_data_dir: Path, tmp_path: Path) -> None:
    check = run_cli("eval", "--check", data_dir=sample_data_dir, check=False)
    assert check.returncode == 0, check.stdout + check.stderr
    proc = run_cli("eval", "--gate", "--out", str(tmp_path / "report"), data_dir=sample_data_dir, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    report = json.loads((tmp_path / "report" / "report.json").read_text())
    assert report["baseline"] is not None and report["meta"]["mode"] == "extractive"
    for name in ("report.md", "metrics_by_type.png", "latency.png"):
        assert (tmp_path / "report" / name).stat().st_size > 0


@pytest.mark.parametrize("golden_set", ["dev2", "dev3", "dev_es", "dev4", "heldout"])
def test_eval_gate_passes_on_the_other_dev_sets_and_the_heldout_set(sample_data_dir: Path, tmp_path: Path,
                                                                     golden_set: str) -> None:
    golden = str(Path(__file__).resolve().parents[2] / "evals" / "golden" / f"{golden_set}.jsonl")
    proc = run_cli("eval", "--golden", golden, "--gate", "--no-baseline", "--out", str(tmp_path / "report"),
                   data_dir=sample_data_dir, check=False)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr
    assert "gate passed" in proc.stdout


def test_a_gate_without_floors_for_the_set_says_so_before_running(sample_data_dir: Path, tmp_path: Path) -> None:
    mine = tmp_path / "mine.jsonl"
    mine.write_text(Path(__file__).resolve().parents[2].joinpath("evals", "golden", "dev3.jsonl").read_text())
    proc = run_cli("eval", "--golden", str(mine), "--gate", "--out", str(tmp_path / "r"), data_dir=sample_data_dir,
                   check=False)
    assert proc.returncode == 2 and "no floors for the golden set 'mine'" in proc.stderr, proc.stderr
    assert not (tmp_path / "r").exists()


def test_eval_of_the_heldout_set_reports_only_aggregates(sample_data_dir: Path, tmp_path: Path) -> None:
    """Nobody reads a held-out question's answer by accident: report.json and report.md hold the
    figures only, unless --unseal (which makes the set a dev set) is given."""
    golden = str(Path(__file__).resolve().parents[2] / "evals" / "golden" / "heldout.jsonl")
    sealed, unsealed = tmp_path / "sealed", tmp_path / "unsealed"
    run_cli("eval", "--golden", golden, "--no-baseline", "--limit", "5", "--out", str(sealed), data_dir=sample_data_dir)
    report = json.loads((sealed / "report.json").read_text())
    assert report["meta"]["questions"] == 5 and "fact_recall" in report["pressbot"]
    assert "questions" not in report and report["meta"]["sealed"] is True
    assert "ho3-" not in (sealed / "report.md").read_text() and "ho3-" not in (sealed / "report.json").read_text()
    run_cli("eval", "--golden", golden, "--no-baseline", "--limit", "5", "--unseal", "--out", str(unsealed),
            data_dir=sample_data_dir)
    assert len(json.loads((unsealed / "report.json").read_text())["questions"]) == 5


def test_ablate_shows_what_a_rule_earns_on_each_set(sample_data_dir: Path, tmp_path: Path) -> None:
    """`eval --ablate window`: with the question's time window off, a dated question searches the
    whole archive; the run with all rules and the run without the window are both reported, per set."""
    golden = Path(__file__).resolve().parents[2] / "evals" / "golden"
    proc = run_cli("eval", "--golden", str(golden / "dev3.jsonl"), "--golden", str(golden / "dev2.jsonl"),
                   "--ablate", "window", "--limit", "20", "--out", str(tmp_path / "abl"), data_dir=sample_data_dir)
    figures = json.loads((tmp_path / "abl" / "ablation.json").read_text())
    assert set(figures) == {"(all rules)", "window"} and set(figures["window"]) == {"dev3", "dev2"}
    on, off = figures["(all rules)"]["dev3"], figures["window"]["dev3"]
    assert on["n"] == off["n"] == 20 and on["fact_recall"] != off["fact_recall"]
    assert "| window |" in proc.stdout and "earns on dev3" in (tmp_path / "abl" / "ablation.md").read_text()


def test_ablate_names_the_rules_when_one_is_misspelt(sample_data_dir: Path, tmp_path: Path) -> None:
    proc = run_cli("eval", "--ablate", "windows", "--out", str(tmp_path / "abl"), data_dir=sample_data_dir,
                   check=False)
    assert proc.returncode != 0 and "unknown rule(s) windows" in proc.stderr and "kind:count" in proc.stderr
    assert "Traceback" not in proc.stderr and not (tmp_path / "abl").exists()
