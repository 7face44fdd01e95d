"""Citation checking, in both answer modes, before anything is returned.

A draft answer cites passages by number (`[n]`, 1-based, in the order they were given).
Each sentence is checked against the passages it cites:
- numbers out of range are removed;
- it must state something checkable: a fact (amount, number, date/year, name) or at least
  `MIN_CONTENT_WORDS` content words -- "PWNED", "Yes." or "Here is the answer:" are dropped;
- the facts it states (amounts, numbers, dates/years, names) must occur in the passage;
- it must be semantically close to a sentence of the passage, or to two neighbouring
  sentences (an answer often joins them), with cosine >= `min_similarity`.
A sentence its citations do not support is re-attributed to a passage that does support it,
or dropped. The kept sentences are renumbered in order of first citation; each citation
carries the passage text that best supports each sentence citing it as its `quote` (joined by
" … " when several sentences cite one passage).
A mark written after the sentence's full stop ("... Haiti. [2]") belongs to that sentence.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from pressbot.embeddings import PressbotEmbeddings
from pressbot.lexical import lexical_tokens, number_values
from pressbot.sentences import passage_sentences, split_sentences
from pressbot.types import Citation, Passage, Statement

# one citation mark: [1], [1, 2]; several may follow each other: [1][2]
CITATION_MARK = re.compile(r"\s*\[(\d+(?:\s*,\s*\d+)*)\]")
_LEADING_MARKS = re.compile(r"^(?:\s*\[\d+(?:\s*,\s*\d+)*\])+")
_NAME = re.compile(r"(?<![.!?]\s)(?<!^)\b([A-Z][a-zà-ÿ]+(?:\s+[A-Z][a-zà-ÿ]+)*)")
_STOP_NAMES = {
    "The",
    "This",
    "That",
    "These",
    "Those",
    "It",
    "In",
    "On",
    "At",
    "He",
    "She",
    "They",
    "We",
    "I",
    "A",
    "An",
}
MIN_CONTENT_WORDS = 3
QUOTE_SEPARATOR = " … "


def fold(text: str) -> str:
    text = unicodedata.normalize("NFKD", text)
    text = "".join(c for c in text if not unicodedata.combining(c))
    return " ".join(text.replace("’", "'").split()).lower()


def facts_of(sentence: str) -> tuple[set[str], set[str]]:
    """(canonical numbers/amounts, names) a sentence states."""
    numbers = number_values(sentence)
    names = {n for n in _NAME.findall(sentence) if n not in _STOP_NAMES}
    return numbers, names


def supports(passage_text: str, sentence: str) -> bool:
    """The passage states every number and name the sentence states."""
    numbers, names = facts_of(sentence)
    p_numbers = number_values(passage_text)
    if not numbers <= p_numbers:
        return False
    folded = fold(passage_text)
    return all(fold(n) in folded for n in names)


def checkable(sentence: str) -> bool:
    """The sentence states a fact, or enough content words to be compared with a passage."""
    numbers, names = facts_of(sentence)
    return bool(numbers or names) or len(lexical_tokens(sentence)) >= MIN_CONTENT_WORDS


@dataclass
class Checked:
    text: str
    citations: list[Citation]
    dropped: list[str] = field(default_factory=list)
    corrected: int = 0


def _split_marks(sentence: str) -> tuple[str, list[int]]:
    nums: list[int] = []
    for m in CITATION_MARK.finditer(sentence):
        nums.extend(int(x) for x in m.group(1).split(","))
    return CITATION_MARK.sub("", sentence).strip(), nums


def _draft_sentences(draft: str) -> list[str]:
    """Sentences of the draft, with marks that open a sentence given back to the one before."""
    out: list[str] = []
    for s in split_sentences(draft):
        lead = _LEADING_MARKS.match(s)
        if lead and out:
            out[-1] += " " + lead.group(0).strip()
            s = s[lead.end() :]
        if s.strip():
            out.append(s)
    return out


_VERBATIM = 0.98


def _sentences_of(passage: Passage) -> list[str]:
    return passage_sentences(passage) or [passage.text]


def parse_draft(draft: str) -> list[Statement]:
    """A drafted text (a model's), parsed once: its sentences, each with the passages it cites
    ("[2]" is passage 1)."""
    out: list[Statement] = []
    for sentence in _draft_sentences(draft):
        text, nums = _split_marks(sentence)
        if text:
            out.append(Statement(text, tuple(n - 1 for n in dict.fromkeys(nums))))
    return out


def holds_spans(quote: str, spans: Sequence[str]) -> bool:
    """Every span occurs in the quote (case, accents and spacing aside)."""
    folded = fold(quote)
    return bool(spans) and all(fold(s) in folded for s in spans)


def check_answer(
    draft: str,
    passages: list[Passage],
    embedder: PressbotEmbeddings,
    *,
    min_similarity: float = 0.5,
    cache: dict[str, np.ndarray] | None = None,
) -> Checked:
    """`check_statements` of a drafted text."""
    return check_statements(parse_draft(draft), passages, embedder, min_similarity=min_similarity, cache=cache)


def check_statements(
    statements: Sequence[Statement],
    passages: list[Passage],
    embedder: PressbotEmbeddings,
    *,
    min_similarity: float = 0.5,
    cache: dict[str, np.ndarray] | None = None,
) -> Checked:
    """The statements its citations support (re-attributed or dropped otherwise, see the module
    docstring), renumbered, with their citations. A direct answer (a statement with spans) is
    kept only when a sentence of the passage it cites holds every span; it stands as its own
    paragraph."""
    cache = {} if cache is None else cache
    singles = [_sentences_of(p) for p in passages]
    claims = [st for st in statements if not st.spans]
    s_vecs = iter(embedder.encode_cached([st.text for st in claims], cache))

    def best_in(i: int, vec: np.ndarray, text: str) -> tuple[float, str]:
        # single sentences first (ties go to them); pairs of neighbours only when no single
        # sentence carries the claim, since model answers often join two (pairs cost encodes)
        units = singles[i]
        sims = embedder.encode_cached(units, cache) @ vec
        j = int(np.argmax(sims))
        if sims[j] >= _VERBATIM or len(units) < 2:  # a quoted sentence (extractive): nothing to join
            return float(sims[j]), units[j]
        pairs = [f"{a} {b}" for a, b in zip(units, units[1:], strict=False)]
        psims = embedder.encode_cached(pairs, cache) @ vec
        k = int(np.argmax(psims))
        return (float(psims[k]), pairs[k]) if psims[k] > sims[j] else (float(sims[j]), units[j])

    kept: list[tuple[Statement, list[tuple[int, str]]]] = []
    dropped: list[str] = []
    corrected = 0
    for st in statements:
        text = st.text
        valid = [i for i in st.refs if 0 <= i < len(passages)]
        if st.spans:
            quote = next((u for i in valid[:1] for u in singles[i] if holds_spans(u, st.spans)), None)
            if quote is None:
                dropped.append(text)
            else:
                kept.append((st, [(valid[0], quote)]))
            continue
        vec = next(s_vecs)
        if not checkable(text):
            dropped.append(text)
            continue
        ok = []
        for i in valid:
            sim, quote = best_in(i, vec, text)
            if sim >= min_similarity and supports(passages[i].text, text):
                ok.append((i, quote))
        if not ok:
            # re-attribute: the passage that supports it best, if any does
            best = sorted(((*best_in(i, vec, text), i) for i in range(len(passages))), key=lambda t: -t[0])
            for sim, quote, i in best:
                if sim >= min_similarity and supports(passages[i].text, text):
                    ok = [(i, quote)]
                    corrected += 1
                    break
        if ok:
            kept.append((st, ok))
        else:
            dropped.append(text)

    order: dict[int, int] = {}
    quotes: dict[int, list[str]] = {}
    parts: list[str] = []
    for n, (st, refs) in enumerate(kept):
        marks = []
        for i, quote in refs:
            order.setdefault(i, len(order) + 1)
            if quote not in quotes.setdefault(i, []):
                quotes[i].append(quote)
            marks.append(f"[{order[i]}]")
        parts.append(f"{st.text} {''.join(marks)}" + ("\n\n" if st.spans and n + 1 < len(kept) else " "))
    # a passage cited by several sentences is quoted for each of them, not only for the first
    citations = [
        Citation(
            n=n, release_id=passages[i].release_id, title=passages[i].title, date=passages[i].date,
            url=passages[i].url, quote=QUOTE_SEPARATOR.join(quotes[i]),
        )
        for i, n in order.items()
    ]
    return Checked("".join(parts).rstrip(), citations, dropped, corrected)
