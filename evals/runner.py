"""Run a golden set through the same `Engine.answer` that Slack and the API call, beside the
baseline, and write report.json, report.md and charts."""

from __future__ import annotations

import datetime as dt
import logging
import sys
import time
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from evals.golden import GoldenItem, check_golden
from evals.metrics import QuestionResult, aggregate, by_type, score
from pressbot.engine import Engine
from pressbot.errors import ConfigError

log = logging.getLogger(__name__)

GATED = ["hit_at_k", "mrr", "fact_recall", "citation_precision", "abstention_accuracy"]
LOWER_IS_BETTER = {
    "false_abstentions", "false_not_found", "unconfirmed_answerable", "confidently_wrong", "latency_p50_ms",
    "latency_p95_ms",
}


@dataclass
class Report:
    pressbot: dict[str, Any]
    pressbot_by_type: dict[str, dict[str, Any]]
    baseline: dict[str, Any] | None
    baseline_by_type: dict[str, dict[str, Any]] | None
    results: list[QuestionResult]
    baseline_results: list[QuestionResult]
    meta: dict[str, Any]

    @property
    def sealed(self) -> bool:
        """A held-out run: only aggregate figures are written, so no failure can shape a rule."""
        return bool(self.meta.get("sealed"))

    def to_json(self) -> dict[str, Any]:
        if self.sealed:
            return {k: v for k, v in self._full_json().items() if k not in ("questions", "baseline_questions")}
        return self._full_json()

    def _full_json(self) -> dict[str, Any]:
        return {
            "meta": self.meta,
            "pressbot": self.pressbot,
            "pressbot_by_type": self.pressbot_by_type,
            "baseline": self.baseline,
            "baseline_by_type": self.baseline_by_type,
            "questions": [r.to_json() for r in self.results],
            "baseline_questions": [r.to_json() for r in self.baseline_results],
        }


def check(engine: Engine, items: list[GoldenItem]) -> list[str]:
    rows = ((r.id, r.title, r.url, r.text or "") for r in engine.index.iter_releases(with_text=True))
    return check_golden(items, rows)


def run(
    engine: Engine,
    items: list[GoldenItem],
    *,
    k: int = 5,
    as_of: dt.date | None = None,
    baseline: bool = True,
    progress: bool | None = None,
) -> Report:
    from tqdm import tqdm

    show = sys.stderr.isatty() if progress is None else progress
    results: list[QuestionResult] = []
    for item in tqdm(items, desc="pressbot", unit="q", disable=not show, file=sys.stderr):
        t0 = time.perf_counter()
        ans, passages = engine.answer_traced(item.question, k=k, as_of=item.as_of or as_of)
        results.append(score(item, ans, passages, k, (time.perf_counter() - t0) * 1e3))
    base_results: list[QuestionResult] = []
    if baseline:
        from evals.baseline import Baseline

        base = Baseline(engine.index)
        for item in tqdm(items, desc="baseline", unit="q", disable=not show, file=sys.stderr):
            t0 = time.perf_counter()
            ans, passages = base.answer(item.question, k)
            base_results.append(score(item, ans, passages, k, (time.perf_counter() - t0) * 1e3))
    meta = {
        "questions": len(items),
        "k": k,
        "as_of": as_of.isoformat() if as_of else None,
        "mode": "llm:" + str(engine.settings.llm) if engine.chat_model is not None else "extractive",
        "embedding_model": engine.index.embedder.name,
        "index": engine.index.location(),
        "collection": engine.index.name,
        "when": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    }
    return Report(
        aggregate(results),
        by_type(results),
        aggregate(base_results) if base_results else None,
        by_type(base_results) if base_results else None,
        results,
        base_results,
        meta,
    )


def load_thresholds(path: Path, golden_set: str) -> dict[str, float]:
    """The floors of one golden set (its file's stem: `[thresholds.<stem>]`)."""
    with path.open("rb") as fh:
        tables = tomllib.load(fh).get("thresholds", {})
    if golden_set not in tables:
        raise ConfigError(
            f"{path} has no floors for the golden set {golden_set!r} (sets: {', '.join(sorted(tables))}); "
            f"add a [thresholds.{golden_set}] table, or gate one of those sets"
        )
    return {k: float(v) for k, v in tables[golden_set].items()}


def gate(report: Report, thresholds: dict[str, float]) -> list[str]:
    """Failures: a metric below its minimum (or above it, for lower-is-better metrics)."""
    failures = []
    for name, limit in thresholds.items():
        value = report.pressbot.get(name)
        if value is None:
            continue
        bad = value > limit if name in LOWER_IS_BETTER else value < limit
        if bad:
            failures.append(f"{name} = {value} ({'max' if name in LOWER_IS_BETTER else 'min'} {limit})")
    return failures

