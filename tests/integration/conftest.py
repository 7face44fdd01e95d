"""Integration fixtures: the bundled sample archive ingested once per test session with the
real default model, by the first command of the Makefile's `demo` recipe (the README's
quickstart); the quickstart test checks that run, the other tests reuse its index."""

from __future__ import annotations

import os
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


@dataclass
class DemoRun:
    clone: Path
    data_dir: Path
    proc: subprocess.CompletedProcess[str]


def make_demo(clone: Path, data_dir: Path, *make_args: str) -> subprocess.CompletedProcess[str]:
    """`make demo` typed into a shell in `clone`, as the README says, with the test session's venv
    (already installed, so the recipe's install step has nothing to do) and the clone's code."""
    venv = Path(sys.executable).parent.parent
    line = " ".join(["make", "--no-print-directory", "demo", f"VENV={shlex.quote(str(venv))}",
                     f"DEMO_DIR={shlex.quote(str(data_dir))}", *make_args])
    env = {k: v for k, v in os.environ.items() if not k.startswith("PRESSBOT_")}  # the defaults, as a user has them
    env["PYTHONPATH"] = str(clone)  # the venv's editable install points at the checkout under test, not the clone
    return subprocess.run(["/bin/sh", "-c", line], cwd=clone, env=env, capture_output=True, text=True, timeout=1500)


def fresh_clone(dest: Path) -> Path:
    """A clone of this checkout's HEAD, its files as new as `git clone` leaves them."""
    subprocess.run(["git", "clone", "--quiet", str(ROOT), str(dest)], check=True, capture_output=True, timeout=300)
    old = 946684800  # 2000-01-01: older than the venv's install stamp, so make does not reinstall into it
    os.utime(dest / "pyproject.toml", (old, old))
    return dest


@pytest.fixture(scope="session")
def demo_run(tmp_path_factory: pytest.TempPathFactory) -> DemoRun:
    """`make demo` in a fresh clone (real all-MiniLM-L6-v2 on the sample archive), once per session;
    the quickstart test reads what it printed, the other tests reuse its index."""
    clone = fresh_clone(tmp_path_factory.mktemp("clone") / "pressbot")
    data_dir = tmp_path_factory.mktemp("demo")
    return DemoRun(clone, data_dir, make_demo(clone, data_dir))


@pytest.fixture(scope="session")
def sample_data_dir(demo_run: DemoRun) -> Path:
    """A data dir holding the sample archive's index (real all-MiniLM-L6-v2)."""
    assert demo_run.proc.returncode == 0, demo_run.proc.stdout + demo_run.proc.stderr[-3000:]
    return demo_run.data_dir
