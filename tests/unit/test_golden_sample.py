"""The bundled golden sets (the dev sets sample, dev2, dev3 and the frozen held-out set) fit the bundled sample archive.

The archive is read raw (front matter, JSON Lines, plain text) and cleaned the way the ingest
will clean it (pandoc escapes removed, hard wraps joined), so every must_include fact has to
occur in the cleaned text of its sources, and every source has to exist.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from pathlib import Path

import pytest

from evals.golden import GOLDEN_TYPES, check_golden, iter_archive_releases, load_golden

ROOT = Path(__file__).resolve().parents[2]
ARCHIVE = ROOT / "evals" / "sample_archive"
GOLDEN = ROOT / "evals" / "golden" / "sample.jsonl"
SEED_TITLE = "Mexico and the U. S. continue migration talks"
EIGHT = ["Guatemala", "Honduras", "El Salvador", "Colombia", "Ecuador", "Venezuela", "Cuba", "Haiti"]
REGION_TOPICS = {"mexico", "mexico-migration", "central-america", "migration"}


@pytest.fixture(scope="module")
def releases() -> list[tuple[str, str, str | None, str]]:
    return list(iter_archive_releases(ARCHIVE))


@pytest.fixture(scope="module")
def items():
    return load_golden(GOLDEN)


def test_sample_golden_has_no_problems(items, releases) -> None:
    assert check_golden(items, releases) == []


@pytest.mark.parametrize("name", ["dev2.jsonl", "dev3.jsonl", "dev4.jsonl"])
def test_dev_golden_has_no_problems_and_asks_nothing_the_sample_does(name, items, releases) -> None:
    """The other dev sets (written as held-out sets, then read to change rules, so dev sets now)
    fit the archive too, and share no question with the sample set."""
    dev = load_golden(GOLDEN.parent / name)
    assert check_golden(dev, releases) == []
    assert len(dev) >= 40 and sum(it.type == "unanswerable" for it in dev) >= 20
    assert not {it.question.lower() for it in dev} & {it.question.lower() for it in items}


HELDOUT = GOLDEN.parent / "heldout.jsonl"
# The held-out set is frozen: written from the sample archive alone by someone who saw neither the
# answerer's code nor the other sets; only its aggregate figures are read. Changing it makes it a
# dev set: add a new held-out set instead, and say so in the README.
HELDOUT_SHA256 = "0e8c1b3f7597ba9a9c9c6a15f434e6973d5a58c7d37b63ef089298833335575f"


def test_heldout_golden_is_frozen_and_fits_the_archive(items, releases) -> None:
    assert hashlib.sha256(HELDOUT.read_bytes()).hexdigest() == HELDOUT_SHA256
    heldout = load_golden(HELDOUT)
    assert check_golden(heldout, releases) == []
    types = Counter(it.type for it in heldout)
    assert len(heldout) >= 80 and types["paraphrase"] >= 15 and types["multi"] >= 10
    assert types["list"] >= 10 and types["unanswerable"] >= 12
    assert not {it.question.lower() for it in heldout} & {it.question.lower() for it in items}


def test_sample_golden_coverage(items) -> None:
    assert len(items) >= 120
    types = Counter(it.type for it in items)
    assert set(types) == set(GOLDEN_TYPES)
    assert types["unanswerable"] >= 20
    assert len({it.id for it in items}) == len(items)
    raw = [json.loads(line) for line in GOLDEN.read_text(encoding="utf-8").splitlines() if line]
    regional = [r for r in raw if r.get("topic") in REGION_TOPICS]
    assert len(regional) >= 25
    relative = [r for r in raw if r["type"] == "dated" and "last month" in r["question"]]
    assert relative and all(r.get("as_of") for r in relative)


def test_seed_question_comes_first(items) -> None:
    first = items[0]
    assert first.id == "seed-001"
    assert first.question == "Which countries receive the $180 million program?"
    assert first.type == "list"
    assert first.sources == [{"title": SEED_TITLE}]
    assert sorted(f[0] for f in first.must_include) == sorted(EIGHT)
    variants = [it for it in items if "$180M" in it.question]
    assert variants and all(it.sources == first.sources for it in variants)


def test_sample_archive_parts_and_budget(releases) -> None:
    assert (ARCHIVE / "LICENSE.md").is_file()
    assert (ARCHIVE / "whitehouse" / "LICENSE").is_file()
    assert (ARCHIVE / "seed" / "mexico-and-the-us-continue-migration-talks.txt").is_file()
    assert (ARCHIVE / "statedept" / "press_releases.jsonl").is_file()
    assert 500 <= len(releases) <= 800
    assert any(title == SEED_TITLE for _, title, _, _ in releases)
    size = sum(p.stat().st_size for p in ARCHIVE.rglob("*") if p.is_file())
    assert size < 8 * 1024 * 1024
    body = sum(len(text.encode("utf-8")) for *_, text in releases)
    assert body <= 3_700_000
