"""Integration fixtures: the bundled sample archive ingested once per test run with the
real default model, by the first command of the Makefile's `demo` recipe (the README's
quickstart); the quickstart test checks that run, the other tests reuse its index.

That run (about two minutes) starts in the background as soon as the first integration test
of a run that needs it begins, so the other tests go on meanwhile; under pytest-xdist the
workers share the one run (a file lock and its result under the run's temp base)."""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
from filelock import FileLock

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


def make_demo(clone: Path, data_dir: Path, *make_args: str,
              environ: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """`make demo` typed into a shell in `clone`, as the README says, with the test session's venv
    (already installed, so the recipe's install step has nothing to do) and the clone's code."""
    venv = Path(sys.executable).parent.parent
    line = " ".join(["make", "--no-print-directory", "demo", f"VENV={shlex.quote(str(venv))}",
                     f"DEMO_DIR={shlex.quote(str(data_dir))}", *make_args])
    env = {k: v for k, v in (environ or os.environ).items() if not k.startswith("PRESSBOT_")}  # the defaults
    env["PYTHONPATH"] = str(clone)  # the venv's editable install points at the checkout under test, not the clone
    return subprocess.run(["/bin/sh", "-c", line], cwd=clone, env=env, capture_output=True, text=True, timeout=1500)


def fresh_clone(dest: Path) -> Path:
    """A clone of this checkout's HEAD, its files as new as `git clone` leaves them."""
    subprocess.run(["git", "clone", "--quiet", str(ROOT), str(dest)], check=True, capture_output=True, timeout=300)
    old = 946684800  # 2000-01-01: older than the venv's install stamp, so make does not reinstall into it
    os.utime(dest / "pyproject.toml", (old, old))
    return dest


def _run_dir(factory: pytest.TempPathFactory) -> Path:
    """A folder of this test run that every xdist worker of the run shares (each worker's own
    temp base is a folder of the controller's)."""
    base = factory.getbasetemp()
    return base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base


def _make_demo_to(clone: Path, data_dir: Path, result: Path, environ: dict[str, str]) -> None:
    """`make demo`, its outcome written to `result` (renamed into place: readers see it whole)."""
    try:
        proc = make_demo(clone, data_dir, environ=environ)
        outcome = {"args": proc.args, "returncode": proc.returncode, "stdout": proc.stdout, "stderr": proc.stderr}
    except Exception as exc:  # noqa: BLE001 - a time-out: the tests that wait for it report it
        outcome = {"args": "make demo", "returncode": -1, "stdout": "", "stderr": f"make demo failed: {exc!r}"}
    tmp = result.with_suffix(".tmp")
    tmp.write_text(json.dumps({**outcome, "clone": str(clone), "data_dir": str(data_dir)}))
    tmp.replace(result)


def start_demo(factory: pytest.TempPathFactory) -> Path:
    """Start `make demo` in a fresh clone in the background, once per test run, whichever worker
    asks first; returns the file its outcome will be in."""
    shared = _run_dir(factory) / "demo-run"
    shared.mkdir(exist_ok=True)
    result = shared / "result.json"
    with FileLock(shared / "start.lock"):
        if not (shared / "started").exists():
            clone = fresh_clone(shared / "pressbot")
            # not a daemon: a worker with no tests left still lets the run finish for the others
            threading.Thread(target=_make_demo_to, args=(clone, shared / "data", result, dict(os.environ)),
                             name="make-demo").start()
            (shared / "started").touch()
    return result


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Under pytest-xdist, the tests on the sample archive come first: the worker that takes them
    waits for `make demo` while the others run the rest, and then takes the longest tests of the
    run (the eval gates) early instead of at the end (the order is the same in every worker)."""
    if os.environ.get("PYTEST_XDIST_WORKER"):
        items.sort(key=lambda item: "demo_run" not in getattr(item, "fixturenames", ()))


@pytest.fixture(scope="session", autouse=True)
def _demo_starts_early(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> None:
    """At the first integration test, start `make demo` if a test of this run needs it."""
    if any("demo_run" in getattr(item, "fixturenames", ()) for item in request.session.items):
        start_demo(tmp_path_factory)


@pytest.fixture(scope="session")
def demo_run(tmp_path_factory: pytest.TempPathFactory) -> DemoRun:
    """`make demo` in a fresh clone (real all-MiniLM-L6-v2 on the sample archive), once per run;
    the quickstart test reads what it printed, the other tests reuse its index."""
    result = start_demo(tmp_path_factory)
    deadline = time.monotonic() + 1800
    while not result.exists():
        assert time.monotonic() < deadline, f"make demo wrote no outcome to {result} in 30 minutes"
        time.sleep(0.2)
    run = json.loads(result.read_text())
    proc = subprocess.CompletedProcess(run["args"], run["returncode"], run["stdout"], run["stderr"])
    return DemoRun(Path(run["clone"]), Path(run["data_dir"]), proc)


@pytest.fixture(scope="session")
def sample_data_dir(demo_run: DemoRun) -> Path:
    """A data dir holding the sample archive's index (real all-MiniLM-L6-v2)."""
    assert demo_run.proc.returncode == 0, demo_run.proc.stdout + demo_run.proc.stderr[-3000:]
    return demo_run.data_dir
