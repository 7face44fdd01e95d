"""Would fitted weights choose better sentences than the extractive score's hand-set ones?

    python -m evals.fit_sentence_score --data-dir <index of evals/sample_archive>

Every answerable dev question is answered once; the candidate sentences of its first scoring
call (pressbot/extractive.py `score_sentences`) are kept with the terms of their score: cosine,
question-term coverage, coverage with the release's title, the passage's rank, whether it states
the kind asked (for questions that ask one) and whether it is a list where one is asked. Label:
the sentence, with the list items it announces, states a golden fact (evals/metrics.py). A
logistic regression over those terms is fitted with 5-fold cross-validation grouped by question,
and each set is also predicted by a fit on the others; printed is how often each way ranks first
a sentence stating a fact, over the questions where some candidate does. The held-out set is
never read here.
"""

from __future__ import annotations

import argparse
import os
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from evals.fit_outcome import DEV_SETS, GOLDEN
from evals.golden import load_golden
from evals.metrics import fact_present

TERMS = ("similarity", "coverage", "context", "rank", "kind", "list")


def collect(data_dir: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, list[str]]:
    """(terms, labels, hand scores, question of each row, set of each question)."""
    import pressbot.extractive_answerer as answerer
    from pressbot.config import load_settings
    from pressbot.engine import Engine
    from pressbot.extractive import _ENUM, _coverage
    from pressbot.lexical import lexical_tokens

    calls: list[tuple[str, list[Any], Callable[[str], float] | None, Any, list[Any]]] = []
    original = answerer.score_sentences

    def recording(question: str, passages: list[Any], embedder: Any, **kw: Any) -> list[Any]:
        scored = original(question, passages, embedder, **kw)
        calls.append((question, passages, kw.get("idf"), kw.get("asked"), scored))
        return scored

    answerer.score_sentences = recording  # type: ignore[assignment]  # the one hook: what the answerer scored
    engine = Engine.from_settings(load_settings(data_dir=data_dir))
    rows, labels, hand, groups, sets = [], [], [], [], []
    for name in DEV_SETS:
        for item in load_golden([GOLDEN / name]):
            if not item.must_include:
                continue
            calls.clear()
            engine.answer_traced(item.question, k=5, as_of=item.as_of)
            if not calls:
                continue
            question, passages, idf, asked, scored = calls[0]
            weights = {t: (idf(t) if idf else 1.0) for t in set(lexical_tokens(question))}
            for s in scored:
                title = set(lexical_tokens(s.passage.title))
                tokens = set(lexical_tokens(s.text))
                rows.append([
                    s.similarity, s.overlap, _coverage(weights, tokens | title), passages.index(s.passage),
                    float(s.has_kind and asked.kind is not None),
                    float(asked.wants_list and (bool(_ENUM.search(s.text)) or bool(s.items))),
                ])  # fmt: skip
                text = " ".join([s.text, *s.items])
                labels.append(float(any(fact_present(f, text) for f in item.must_include)))
                hand.append(s.score)
                groups.append(len(sets))
            sets.append(name)
    return np.asarray(rows), np.asarray(labels), np.asarray(hand), np.asarray(groups), sets


def top1(score: np.ndarray, y: np.ndarray, groups: np.ndarray, keep: Callable[[int], bool]) -> tuple[float, int]:
    """How often the best-scored candidate states a fact, over the questions where one does."""
    by_q: dict[int, list[int]] = defaultdict(list)
    for i, g in enumerate(groups):
        by_q[int(g)].append(i)
    hits = [y[max(ix, key=lambda i: score[i])] for g, ix in by_q.items() if keep(g) and y[ix].max() > 0]
    return float(np.mean(hits)), len(hits)


def main() -> None:
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import GroupKFold

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data-dir", type=Path, required=True, help="The index of the sample archive.")
    args = ap.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    x, y, hand, groups, sets = collect(args.data_dir)
    oof = np.zeros(len(y))
    for train, test in GroupKFold(5).split(x, y, groups):
        oof[test] = LogisticRegression(max_iter=1000).fit(x[train], y[train]).decision_function(x[test])
    fit = LogisticRegression(max_iter=1000).fit(x, y)
    print(f"{len(y)} candidate sentences; coefficients:", dict(zip(TERMS, fit.coef_[0].round(3).tolist(), strict=True)))
    (h, n), (f, _) = top1(hand, y, groups, lambda g: True), top1(oof, y, groups, lambda g: True)
    print(f"top-1 states a fact, {n} questions: hand weights {h:.3f}, fitted out of fold {f:.3f}")
    row_set = np.asarray([sets[int(g)] for g in groups])
    for name in DEV_SETS:
        other = row_set != name
        loso = LogisticRegression(max_iter=1000).fit(x[other], y[other]).decision_function(x)
        in_set = lambda g, name=name: sets[g] == name  # noqa: E731
        (h, n), (f, _) = top1(hand, y, groups, in_set), top1(loso, y, groups, in_set)
        print(f"{name} ({n}): hand {h:.3f}, fitted on the other sets {f:.3f}")


if __name__ == "__main__":
    main()
