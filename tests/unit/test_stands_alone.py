"""The project works for someone who has only this repository: no file points at a developer's
machine or at design notes that live outside it."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
ARCHIVE_TEXTS = "evals/sample_archive/whitehouse/"  # third-party release texts, quoted as published
MACHINE_PATH = re.compile(r"(?<![\w.~-])/(?:work|home|Users|root|mnt)/\w")


def _tracked_text_files() -> list[tuple[str, str]]:
    names = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    out = []
    for name in filter(None, names.split("\0")):
        try:
            out.append((name, (ROOT / name).read_text(encoding="utf-8")))
        except (UnicodeDecodeError, FileNotFoundError, IsADirectoryError):
            continue  # binary files (PDFs of the sample archive) and files deleted in the work tree
    return out


def test_no_file_holds_a_machine_path() -> None:
    found = [f"{name}:{text.count(chr(10), 0, m.start()) + 1}: {m.group(0)}"
             for name, text in _tracked_text_files() if not name.startswith(ARCHIVE_TEXTS)
             for m in MACHINE_PATH.finditer(text)]
    assert found == []


def test_design_notes_cited_by_the_code_are_in_the_repo() -> None:
    assert (ROOT / "docs" / "design.md").is_file()
    this_test = str(Path(__file__).resolve().relative_to(ROOT))  # it names the file it looks for
    cited_outside = [name for name, text in _tracked_text_files() if "DESIGN.md" in text and name != this_test]
    assert cited_outside == []
