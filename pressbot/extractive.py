"""The extractive answerer (the default; no LLM): quote the sentences that answer.

Every sentence of the retrieved passages is scored against the question with the
embedding model (cosine) and term overlap (content words and canonical amounts, as the
lexical index sees them). The best sentence answers; a second one joins when it scores
close and adds something. "Which / list" questions prefer sentences that hold an
enumeration. The evidence score of the best sentence decides abstention.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from pressbot.embeddings import PressbotEmbeddings
from pressbot.lexical import lexical_tokens
from pressbot.sentences import split_sentences
from pressbot.types import Passage

_LIST_Q = re.compile(r"^\s*(which|what|list|name)\b|\b(which|list)\b", re.IGNORECASE)
_ENUM = re.compile(r"(?:[A-Z][\w.'’-]*(?: [A-Z][\w.'’-]*)*, ){2,}")
MIN_SENTENCE_CHARS = 25


@dataclass
class ScoredSentence:
    text: str
    passage: Passage
    similarity: float
    overlap: float
    score: float


def _overlap(q_tokens: set[str], sentence: str) -> float:
    if not q_tokens:
        return 0.0
    return len(q_tokens & set(lexical_tokens(sentence))) / len(q_tokens)


def score_sentences(
    question: str,
    passages: list[Passage],
    embedder: PressbotEmbeddings,
    *,
    query_vector: np.ndarray | None = None,
    cache: dict[str, np.ndarray] | None = None,
    focus_terms: list[str] | None = None,
) -> list[ScoredSentence]:
    sentences: list[tuple[str, Passage]] = []
    seen: set[str] = set()
    for p in passages:
        for s in split_sentences(p.text, p.language):
            if len(s) >= MIN_SENTENCE_CHARS and s not in seen:
                seen.add(s)
                sentences.append((s, p))
    if not sentences:
        return []
    qvec = query_vector if query_vector is not None else embedder.encode_query(question)
    svecs = embedder.encode_cached([s for s, _ in sentences], {} if cache is None else cache)
    sims = svecs @ qvec
    q_tokens = set(lexical_tokens(question))
    wants_list = bool(_LIST_Q.search(question))
    focus_re = re.compile(r"\b(" + "|".join(map(re.escape, focus_terms)) + r")\b") if focus_terms else None
    out = []
    for (s, p), sim in zip(sentences, sims, strict=True):
        ov = _overlap(q_tokens, s)
        score = 0.65 * float(sim) + 0.35 * ov
        if wants_list and _ENUM.search(s):
            score += 0.05
        if focus_re and focus_re.search(s):
            score += 0.05
        out.append(ScoredSentence(s, p, float(sim), ov, score))
    out.sort(key=lambda x: -x.score)
    return out


def select_sentences(
    scored: list[ScoredSentence], *, max_sentences: int = 2, ratio: float = 0.9
) -> list[ScoredSentence]:
    """The best sentence, plus close runners-up that add new content words."""
    if not scored:
        return []
    chosen = [scored[0]]
    words = set(lexical_tokens(scored[0].text))
    for cand in scored[1:]:
        if len(chosen) >= max_sentences or cand.score < ratio * scored[0].score:
            break
        new = set(lexical_tokens(cand.text)) - words
        if len(new) >= 3:
            chosen.append(cand)
            words |= new
    return chosen
