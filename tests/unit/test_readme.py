"""The README stays true: every setting is in its table, and its two commands exist."""

from __future__ import annotations

import re
from pathlib import Path

from pressbot.config import Settings

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text()


def test_every_setting_is_documented() -> None:
    documented = set(re.findall(r"`(PRESSBOT_[A-Z0-9_]+)`", README))
    for name in Settings.model_fields:
        assert f"PRESSBOT_{name.upper()}" in documented, f"README lacks PRESSBOT_{name.upper()}"


def test_readme_commands_are_make_targets() -> None:
    makefile = (ROOT / "Makefile").read_text()
    assert "make demo" in README and "make test" in README
    assert re.search(r"^demo:", makefile, re.M) and re.search(r"^test:", makefile, re.M)
    assert "make test" in (ROOT / ".ci" / "run").read_text()
