"""Per-question scores and their aggregation (overall and per question type)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from evals.golden import GoldenItem, fact_present, source_matches
from pressbot.types import Answer, Passage


@dataclass
class QuestionResult:
    id: str
    type: str
    question: str
    answer: str
    abstained: bool
    answerable: bool
    hit: bool  # a gold source among the top-k releases
    rr: float  # reciprocal rank of the first gold source (0 if none)
    fact_recall: float
    all_facts: bool
    cited: int
    cited_valid: int
    latency_ms: float
    retrieved: list[str] = field(default_factory=list)
    outcome: str = "answered"  # answered | unconfirmed | not_found (pressbot/outcome.py)
    confidence: float = 0.0

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def _is_gold(item: GoldenItem, release_id: str, url: str | None, title: str) -> bool:
    return any(source_matches(s, release_id, url, title) for s in item.sources)


def score(item: GoldenItem, ans: Answer, passages: list[Passage], k: int, latency_ms: float) -> QuestionResult:
    answerable = item.type != "unanswerable"
    ranked: list[Passage] = []
    for p in passages:
        if p.release_id not in {r.release_id for r in ranked}:
            ranked.append(p)
    ranked = ranked[:k]
    rr = 0.0
    for rank, p in enumerate(ranked, 1):
        if _is_gold(item, p.release_id, p.url, p.title):
            rr = 1.0 / rank
            break
    text = "" if ans.abstained else ans.answer
    facts = [fact_present(forms, text) for forms in item.must_include]
    recall = sum(facts) / len(facts) if facts else (1.0 if answerable else 0.0)
    cites = [] if ans.abstained else ans.citations
    valid = sum(
        1
        for c in cites
        if _is_gold(item, c.release_id, c.url, c.title) or any(fact_present(f, c.quote) for f in item.must_include)
    )
    return QuestionResult(
        id=item.id,
        type=item.type,
        question=item.question,
        answer=ans.answer,
        abstained=ans.abstained,
        answerable=answerable,
        hit=rr > 0,
        rr=rr,
        fact_recall=recall,
        all_facts=bool(facts) and all(facts),
        cited=len(cites),
        cited_valid=valid,
        latency_ms=latency_ms,
        retrieved=[f"{p.title} ({p.date or 'undated'})" for p in ranked],
        outcome=ans.outcome,
        confidence=ans.confidence,
    )


def aggregate(results: list[QuestionResult]) -> dict[str, Any]:
    ans = [r for r in results if r.answerable]
    una = [r for r in results if not r.answerable]
    cited = sum(r.cited for r in ans)
    lat = np.asarray([r.latency_ms for r in results]) if results else np.zeros(1)

    def mean(xs: list[float]) -> float | None:
        return round(float(np.mean(xs)), 4) if xs else None

    return {
        "n": len(results),
        "answerable": len(ans),
        "unanswerable": len(una),
        "hit_at_k": mean([float(r.hit) for r in ans]),
        "mrr": mean([r.rr for r in ans]),
        "fact_recall": mean([r.fact_recall for r in ans]),
        "all_facts_accuracy": mean([float(r.all_facts) for r in ans]),
        "citation_precision": round(sum(r.cited_valid for r in ans) / cited, 4) if cited else None,
        "answers_with_valid_citation": mean([float(r.cited_valid > 0) for r in ans]),
        "abstention_accuracy": mean([float(r.abstained) for r in una]),
        "false_abstentions": mean([float(r.abstained) for r in ans]),
        # the three outcomes: "not found" for what the archive holds is the costly kind of abstention,
        # an answer that states none of the facts the confidently wrong kind of answer
        "false_not_found": mean([float(r.outcome == "not_found") for r in ans]),
        "unconfirmed_answerable": mean([float(r.outcome == "unconfirmed") for r in ans]),
        "confidently_wrong": mean([float(not r.abstained and r.fact_recall == 0.0) for r in ans]),
        "unanswerable_not_found": mean([float(r.outcome == "not_found") for r in una]),
        "latency_p50_ms": round(float(np.percentile(lat, 50)), 1),
        "latency_p95_ms": round(float(np.percentile(lat, 95)), 1),
    }


def by_type(results: list[QuestionResult]) -> dict[str, dict[str, Any]]:
    groups: dict[str, list[QuestionResult]] = defaultdict(list)
    for r in results:
        groups[r.type].append(r)
    return {t: aggregate(rs) for t, rs in sorted(groups.items())}
