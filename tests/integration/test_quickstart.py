"""The README's quickstart as a user types it: `make demo` in a fresh clone, through make and the
shell, with the real default model on the bundled sample archive; the test reads what it printed."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

from tests.integration.conftest import DemoRun, make_demo

COUNTRIES = ["Guatemala", "Honduras", "El Salvador", "Colombia", "Ecuador", "Venezuela", "Cuba", "Haiti"]
SEED_TITLE = "Mexico and the U. S. continue migration talks"


def test_make_demo_answers_the_seed_question_with_its_citation(demo_run: DemoRun) -> None:
    proc = demo_run.proc
    assert proc.returncode == 0, proc.stdout + proc.stderr[-3000:]
    assert "Traceback" not in proc.stderr
    added = re.search(r"evals/sample_archive: (\d+) added, 0 updated, 0 unchanged", proc.stdout)
    assert added and int(added.group(1)) > 400, proc.stdout

    answer, _, sources = proc.stdout[added.end():].partition("Sources:")
    for country in COUNTRIES:
        assert country in answer, f"{country} missing from the answer:\n{proc.stdout}"
    assert "$180 million" in answer
    cited = re.findall(r"^\s+\[(\d+)\] (.+) \((?:undated|\d{4}-\d\d-\d\d)\)$", sources, re.M)
    assert any(title == SEED_TITLE for _, title in cited), proc.stdout
    seed_n = next(n for n, title in cited if title == SEED_TITLE)
    assert f"[{seed_n}]" in answer  # the answer points at the seed release
    # it opens with the direct answer, the countries as the release names them, then the quote
    line = f"{', '.join(COUNTRIES[:-1])} and {COUNTRIES[-1]} [{seed_n}]"
    assert re.search(rf"^{re.escape(line)}\n\n\S", answer, re.M), answer


def test_make_demo_passes_a_question_with_dollars_and_quotes_to_the_bot_as_typed(demo_run: DemoRun,
                                                                                 tmp_path: Path) -> None:
    """QUESTION='...' on the make command line reaches the bot unchanged: no `$1` expanded, no
    quote breaking the recipe (the second run finds the index up to date and only asks). It runs
    on a copy of the index: other tests (other xdist workers) read the original meanwhile."""
    question = """Which countries receive the $180 million "development" program, and what's `it` for?"""
    data_dir = tmp_path / "demo"
    shutil.copytree(demo_run.data_dir, data_dir)
    proc = make_demo(demo_run.clone, data_dir, "QUESTION='" + question.replace("'", "'\\''") + "'")
    assert proc.returncode == 0, proc.stdout + proc.stderr[-3000:]
    assert re.search(r"0 added, 0 updated, \d+ unchanged", proc.stdout), proc.stdout
    assert "$180 million" in proc.stdout and "Guatemala" in proc.stdout, proc.stdout
