"""The README's quickstart, run the way `make demo` runs it (minus the install step): the recipe's
own commands, read from the Makefile, with the real default model on the bundled sample archive."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

from tests.integration.conftest import DemoRun

ROOT = Path(__file__).resolve().parents[2]
COUNTRIES = ["Guatemala", "Honduras", "El Salvador", "Colombia", "Ecuador", "Venezuela", "Cuba", "Haiti"]
SEED_TITLE = "Mexico and the U. S. continue migration talks"


def test_make_demo_answers_the_seed_question_with_its_citation(demo_run: DemoRun) -> None:
    commands = demo_run.commands
    assert [argv[3] for _, argv in commands] == ["ingest", "ask"]
    assert commands[1][1][4] == "Which countries receive the $180 million program?"
    base = {k: v for k, v in os.environ.items() if not k.startswith("PRESSBOT_")}  # the defaults, as a user has them

    ingest = demo_run.ingest  # the recipe's first command, run once per session by the fixture
    assert ingest.returncode == 0, ingest.stdout + ingest.stderr[-3000:]
    assert "Traceback" not in ingest.stderr
    added = re.search(r"evals/sample_archive: (\d+) added, 0 updated, 0 unchanged", ingest.stdout)
    assert added and int(added.group(1)) > 400, ingest.stdout

    env, argv = commands[1]
    ask = subprocess.run(argv, cwd=ROOT, env={**base, **env}, capture_output=True, text=True, timeout=300)
    assert ask.returncode == 0, ask.stdout + ask.stderr[-3000:]
    answer, _, sources = ask.stdout.partition("Sources:")
    for country in COUNTRIES:
        assert country in answer, f"{country} missing from the answer:\n{ask.stdout}"
    assert "$180 million" in answer
    cited = re.findall(r"^\s+\[(\d+)\] (.+) \((?:undated|\d{4}-\d\d-\d\d)\)$", sources, re.M)
    assert any(title == SEED_TITLE for _, title in cited), ask.stdout
    seed_n = next(n for n, title in cited if title == SEED_TITLE)
    assert f"[{seed_n}]" in answer  # the answer points at the seed release
