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


def test_the_settings_table_gives_the_real_defaults() -> None:
    rows = dict(re.findall(r"^\| `PRESSBOT_([A-Z0-9_]+)` \| `([^`]*)` \|", README, re.M))
    for name, field in Settings.model_fields.items():
        default = field.get_default(call_default_factory=True)
        shown = rows.get(name.upper())
        if shown is None or default is None or default == []:
            continue  # a setting without a table row is caught above; unset ones read "unset"/"none"
        want = str(default).lower() if isinstance(default, bool) else str(default)
        assert shown == want, f"README says PRESSBOT_{name.upper()} defaults to {shown!r}, the code {want!r}"
