"""Integration fixtures: the bundled sample archive ingested once per test session with the
real default model, through the real CLI (the way `make demo` does it)."""

from __future__ import annotations

import os
import subprocess
import sys
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


@pytest.fixture(scope="session")
def sample_data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data dir holding the sample archive's index (real all-MiniLM-L6-v2)."""
    data_dir = tmp_path_factory.mktemp("sample-index")
    run_cli("ingest", "evals/sample_archive", "--no-progress", "--json", data_dir=data_dir)
    return data_dir
