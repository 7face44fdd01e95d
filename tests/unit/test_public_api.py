"""The package's public API: `pressbot.<name>` for what the faces use, loaded on first use."""

from __future__ import annotations

import importlib
import subprocess
import sys
from pathlib import Path

import pytest

import pressbot

ROOT = Path(__file__).resolve().parents[2]


def test_import_pressbot_loads_nothing_heavy() -> None:
    # a fresh interpreter: this test process has long imported everything
    code = (
        "import sys, pressbot; "
        "print(sorted(m for m in sys.modules if m.startswith('pressbot') or m.split('.')[0] in "
        "('numpy', 'pydantic', 'chromadb', 'torch', 'onnxruntime', 'sentence_transformers')))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60, check=True
    ).stdout
    assert out.strip() == "['pressbot']"


def test_every_public_name_is_the_submodules_own() -> None:
    names = set(pressbot.__all__) - {"__version__"}
    assert names == set(pressbot._EXPORTS)
    for name in names:
        module = importlib.import_module(pressbot._EXPORTS[name])
        assert getattr(pressbot, name) is getattr(module, name), name
    assert issubclass(pressbot.ConfigError, pressbot.PressbotError)
    assert names <= set(dir(pressbot))


def test_unknown_name_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="no attribute 'Engines'"):
        pressbot.Engines  # type: ignore[attr-defined]  # noqa: B018


def test_ships_its_annotations() -> None:
    assert (ROOT / "pressbot" / "py.typed").is_file()
