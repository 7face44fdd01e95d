"""`pressbot eval --ablate`: each answerer rule (pressbot/rules.py) switched off in turn, on every
golden set given, beside the run with all rules on. A rule that earns nothing on any set is a
candidate for removal; one that earns on the set it was written for and costs elsewhere is
fitted to that set.

Only aggregate figures are computed, so a held-out set can be ablated without reading its
answers.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from evals import runner
from evals.golden import GoldenItem
from pressbot.engine import Engine
from pressbot.rules import RULES

ALL_ON = "(all rules)"
# the figures compared, and which way is better
METRICS: Mapping[str, int] = {
    "fact_recall": 1,
    "all_facts_accuracy": 1,
    "citation_precision": 1,
    "abstention_accuracy": 1,
    "false_not_found": -1,
    "confidently_wrong": -1,
}


def ablate(
    engine: Engine,
    sets: Mapping[str, list[GoldenItem]],
    rules: Sequence[str] = tuple(RULES),
    *,
    k: int = 5,
    as_of: dt.date | None = None,
) -> dict[str, dict[str, dict[str, Any]]]:
    """{variant: {set: aggregate}} for all rules on, then each rule off (on top of what the
    engine's settings already switch off). The index and model are shared by every variant."""
    out: dict[str, dict[str, dict[str, Any]]] = {}
    for variant in (ALL_ON, *rules):
        off = engine.settings.rules_off | ({variant} if variant != ALL_ON else set())
        settings = engine.settings.model_copy(update={"rules_off": frozenset(off)})
        run_engine = Engine(settings, engine.index, engine.chat_model)
        out[variant] = {
            name: runner.run(run_engine, items, k=k, as_of=as_of, baseline=False, progress=False).pressbot
            for name, items in sets.items()
        }
    return out


def earns(figures: Mapping[str, Mapping[str, Mapping[str, Any]]], rule: str, set_name: str) -> float:
    """What the rule earns on the set: the signed sum of its metrics' changes when it is switched
    off, each counted the way that is better (positive: the rule helps)."""
    on, off = figures[ALL_ON][set_name], figures[rule][set_name]
    return round(
        sum(sign * ((on.get(m) or 0.0) - (off.get(m) or 0.0)) for m, sign in METRICS.items()), 4
    )


def table(figures: Mapping[str, Mapping[str, Mapping[str, Any]]]) -> str:
    """Markdown: what each rule earns on each set, then per set the change of each metric when
    the rule is off (the first row: the figures with all rules)."""
    sets = list(figures[ALL_ON])
    rules = [r for r in figures if r != ALL_ON]
    lines = ["| rule | " + " | ".join(f"earns on {s}" for s in sets) + " |", "|---" * (len(sets) + 1) + "|"]
    lines += [f"| {r} | " + " | ".join(f"{earns(figures, r, s):+.3f}" for s in sets) + " |" for r in rules]
    for s in sets:
        lines += ["", f"{s}:", "", "| rule | " + " | ".join(METRICS) + " |", "|---" * (len(METRICS) + 1) + "|"]
        on = figures[ALL_ON][s]
        base = ("—" if on.get(m) is None else f"{on[m]:.3f}" for m in METRICS)
        lines.append(f"| {ALL_ON} | " + " | ".join(base) + " |")
        for r in rules:
            cells = ("—" if on.get(m) is None else f"{figures[r][s][m] - on[m]:+.3f}" for m in METRICS)
            lines.append(f"| {r} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def write(figures: Mapping[str, Mapping[str, Mapping[str, Any]]], out: Path) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    md, js = out / "ablation.md", out / "ablation.json"
    md.write_text(
        "# Ablation: each rule off in turn\n\n"
        "Each cell is the change when the rule is switched off (the first row: the figures with all rules).\n"
        "`earns`: the signed sum of those changes, each the way that is better; positive means the rule helps.\n\n"
        + table(figures),
        encoding="utf-8",
    )
    js.write_text(json.dumps(figures, indent=1), encoding="utf-8")
    return [md, js]
