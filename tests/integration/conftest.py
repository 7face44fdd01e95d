"""Integration fixtures: the bundled sample archive ingested once per test session with the
real default model, by the first command of the Makefile's `demo` recipe (the README's
quickstart); the quickstart test checks that run, the other tests reuse its index."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PRESSBOT = str(Path(sys.executable).with_name("pressbot"))


def run_cli(*args: str, data_dir: Path, timeout: float = 900, check: bool = True,
            env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    full_env = {**os.environ, "HF_HUB_OFFLINE": "1", **(env or {})}
    proc = subprocess.run([PRESSBOT, "--data-dir", str(data_dir), *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=timeout, env=full_env)
    if check and proc.returncode != 0:
        raise AssertionError(f"pressbot {' '.join(args)} exited {proc.returncode}:\n{proc.stdout}\n{proc.stderr}")
    return proc


def demo_commands(data_dir: Path) -> list[tuple[dict[str, str], list[str]]]:
    """The `demo` recipe of the Makefile as (env, argv) pairs, its variables filled in."""
    makefile = (ROOT / "Makefile").read_text()
    question = re.search(r"^QUESTION \?= (.+)$", makefile, re.M)
    recipe = re.search(r"^demo:.*\n((?:\t.*\n)+)", makefile, re.M)
    assert question and recipe, "the Makefile has no demo recipe / QUESTION"
    values = {"BIN": str(Path(sys.executable).parent), "DEMO_DIR": str(data_dir),
              "QUESTION": question.group(1).replace("$$", "$")}
    commands = []
    for line in recipe.group(1).splitlines():
        line = re.sub(r"\$\((\w+)\)", lambda m: values[m.group(1)], line.strip())
        words = shlex.split(line)
        env = {}
        while words and re.match(r"^\w+=", words[0]):
            key, _, value = words.pop(0).partition("=")
            env[key] = value
        commands.append((env, words))
    return commands


@dataclass
class DemoRun:
    data_dir: Path
    commands: list[tuple[dict[str, str], list[str]]]
    ingest: subprocess.CompletedProcess[str]


@pytest.fixture(scope="session")
def demo_run(tmp_path_factory: pytest.TempPathFactory) -> DemoRun:
    """The demo recipe's ingest of the sample archive (real all-MiniLM-L6-v2), once per session."""
    data_dir = tmp_path_factory.mktemp("demo")
    commands = demo_commands(data_dir)
    env, argv = commands[0]
    base = {k: v for k, v in os.environ.items() if not k.startswith("PRESSBOT_")}  # the defaults, as a user has them
    proc = subprocess.run(argv, cwd=ROOT, env={**base, **env}, capture_output=True, text=True, timeout=1500)
    return DemoRun(data_dir, commands, proc)


@pytest.fixture(scope="session")
def sample_data_dir(demo_run: DemoRun) -> Path:
    """A data dir holding the sample archive's index (real all-MiniLM-L6-v2)."""
    assert demo_run.ingest.returncode == 0, demo_run.ingest.stdout + demo_run.ingest.stderr[-3000:]
    return demo_run.data_dir
