"""report.md (a table per type with the baseline beside, the worst questions) and PNG charts."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from evals.runner import Report

METRICS = [
    "hit_at_k",
    "mrr",
    "fact_recall",
    "all_facts_accuracy",
    "citation_precision",
    "answers_with_valid_citation",
    "abstention_accuracy",
    "false_abstentions",
    "false_not_found",
    "unconfirmed_answerable",
    "confidently_wrong",
    "unanswerable_not_found",
    "latency_p50_ms",
    "latency_p95_ms",
]


def _fmt(v: Any) -> str:
    return "–" if v is None else (f"{v:.3f}" if isinstance(v, float) and v <= 1.0 else str(v))


def _table(ours: dict[str, Any], base: dict[str, Any] | None) -> list[str]:
    lines = ["| metric | pressbot | baseline |", "|---|---|---|"]
    for m in METRICS:
        lines.append(f"| {m} | {_fmt(ours.get(m))} | {_fmt(base.get(m)) if base else '–'} |")
    return lines


def markdown(report: Report) -> str:
    meta = report.meta
    out = [
        "# pressbot evaluation",
        "",
        f"{meta['questions']} questions, k={meta['k']}, mode {meta['mode']}, model {meta['embedding_model']}, "
        f"index {meta['collection']} at {meta['index']}, {meta['when']}.",
        "",
        "Baseline: RecursiveCharacterTextSplitter(1000, 200) + the same model + Chroma top-k, "
        "top passage as the answer.",
        "",
        "## Overall",
        "",
        *_table(report.pressbot, report.baseline),
        "",
    ]
    for t, ours in report.pressbot_by_type.items():
        base = (report.baseline_by_type or {}).get(t)
        out += [f"## {t} ({ours['n']} questions)", "", *_table(ours, base), ""]
    worst = sorted(
        report.results,
        key=lambda r: (r.answerable and not r.abstained and r.fact_recall == 1.0, r.fact_recall, r.rr),
    )[:15]
    if report.sealed:
        return "\n".join([*out, "Held-out set: only aggregate figures are reported (`--unseal` shows questions).", ""])
    out += ["## Worst questions", ""]
    for r in worst:
        if r.answerable and r.fact_recall == 1.0 and r.hit:
            continue
        if not r.answerable and r.abstained:
            continue
        out += [
            f"- **{r.id}** ({r.type}) {r.question}",
            f"  - answer ({r.outcome}, confidence {r.confidence:.2f}): {r.answer[:300]}",
            f"  - fact recall {r.fact_recall:.2f}, reciprocal rank {r.rr:.2f}",
            "  - retrieved: " + "; ".join(r.retrieved[:5]),
        ]
    return "\n".join(out) + "\n"


def charts(report: Report, out: Path) -> list[Path]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    paths = []
    names = ["hit_at_k", "mrr", "fact_recall", "citation_precision", "abstention_accuracy"]
    types = list(report.pressbot_by_type)
    fig, axes = plt.subplots(1, len(names), figsize=(4 * len(names), 4), sharey=True)
    for ax, m in zip(axes, names, strict=True):
        x = np.arange(len(types))
        ours = [report.pressbot_by_type[t].get(m) or 0 for t in types]
        base = [((report.baseline_by_type or {}).get(t) or {}).get(m) or 0 for t in types]
        ax.bar(x - 0.2, ours, 0.4, label="pressbot")
        ax.bar(x + 0.2, base, 0.4, label="baseline")
        ax.set_xticks(x, types, rotation=45, ha="right")
        ax.set_title(m)
        ax.set_ylim(0, 1.05)
    axes[0].legend()
    fig.tight_layout()
    paths.append(out / "metrics_by_type.png")
    fig.savefig(paths[-1], dpi=90)
    plt.close(fig)

    fig, ax = plt.subplots(figsize=(6, 4))
    ax.hist([r.latency_ms for r in report.results], bins=30, alpha=0.7, label="pressbot")
    if report.baseline_results:
        ax.hist([r.latency_ms for r in report.baseline_results], bins=30, alpha=0.7, label="baseline")
    ax.set_xlabel("latency per question (ms)")
    ax.set_ylabel("questions")
    ax.legend()
    fig.tight_layout()
    paths.append(out / "latency.png")
    fig.savefig(paths[-1], dpi=90)
    plt.close(fig)
    return paths


def write(report: Report, out: Path) -> list[Path]:
    """report.json, report.md and the charts in `out`."""
    out.mkdir(parents=True, exist_ok=True)
    (out / "report.json").write_text(json.dumps(report.to_json(), indent=2, default=str))
    (out / "report.md").write_text(markdown(report))
    return [out / "report.json", out / "report.md", *charts(report, out)]
