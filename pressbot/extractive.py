"""The extractive answerer (the default; no LLM): quote the sentences that answer.

Every sentence of the retrieved passages is scored against the question with
- the embedding model (cosine of sentence and question),
- IDF-weighted coverage of the question's terms (content words and canonical amounts, as the
  lexical index sees them) in the sentence, and in the sentence plus its release title: rare
  terms ("Otay", "$180 million") weigh more than common ones ("border"),
- the rank of its release in the search, and the expected kind of answer: "how many" questions
  prefer sentences with a count, "how much" ones a number or an amount, "what share / rate" a
  percentage, "when" a date, "which / list" ones an enumeration, dated ones a sentence naming
  the period.
The weights were fitted on the bundled golden set (2-fold cross-validated: top-sentence fact
accuracy 0.66-0.69 on the held-out half, against 0.64 for cosine + plain overlap). The best
sentence answers; a sentence of another release joins when it scores close and adds what the best
one's release does not state; the sentences of the answering release that score nearly as well
follow (no extra citation). The
best score is the evidence that decides abstention (PRESSBOT_ABSTAIN_THRESHOLD); a sentence
that cannot answer (pressbot/asked.py: no number for "how many", a figure for another period or
another country, a role other than the one asked) falls behind those that can, and an answer
without one abstains whatever its score.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import defaultdict
from collections.abc import Callable, Iterable
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, replace

import numpy as np

from pressbot.asked import URL, Asked, stated_for
from pressbot.embeddings import PressbotEmbeddings
from pressbot.lexical import lexical_tokens
from pressbot.places import countries
from pressbot.sentences import passage_sentences
from pressbot.types import Passage

# an enumeration: capitalised names in a row ("Guatemala, Honduras, El Salvador, ..."), or items
# numbered inline ("three components: 1) ...; 2) ...")
_ENUM = re.compile(
    r"(?:[A-Z][\w.'’-]*(?: [A-Z][\w.'’-]*)*, ){2,}|(?:^|[\s:;,])\(?(?:1|i|a)\)\s.+?[\s;,]\(?(?:2|ii|b)\)\s"
)
# "How does the $310 million break down?": the total, then the sentences giving its parts
_BREAKDOWN_Q = re.compile(
    r"\bbreaks?\s+down\b|\bbreakdown\b|\bbroken\s+down\b|\bsplit\b|\bdesglos\w*|\bse\s+(?:reparte|divide|distribuye)",
    re.IGNORECASE,
)
MIN_SENTENCE_CHARS = 25
W_SIM, W_COVERAGE, W_CONTEXT, W_RANK, W_KIND, W_BONUS = 0.4, 0.3, 0.3, 0.02, 0.06, 0.05
# a sentence without the kind of answer asked for (a number for "how many", a date for "when")
# cannot answer, however close its words: it falls behind the ones that can, and alone it abstains
W_NO_KIND = 0.15
SAME_RELEASE_RATIO, SAME_RELEASE_EXTRA = 0.7, 2
REDUNDANT_SHARE = 0.8
W_PERIOD = 0.08  # names the month/year asked: "6,070 in June" answers "last month" asked in July


@dataclass
class ScoredSentence:
    text: str
    passage: Passage
    similarity: float
    overlap: float
    score: float
    covers: frozenset[str] = frozenset()  # the question terms it states
    # the sentences after it in its passage, when it announces a list ("... five pillars:")
    items: tuple[str, ...] = ()
    # it can answer: it states what the question asks for (asked.Asked.answered_by: a count of the
    # thing asked, for the period and country asked, the role a "Who is ...?" names, ...)
    has_kind: bool = True
    in_context: frozenset[str] = frozenset()  # the question terms it or its release's title states
    in_release: frozenset[str] = frozenset()  # the question terms its release states anywhere


def _coverage(weights: dict[str, float], tokens: set[str]) -> float:
    total = sum(weights.values())
    return sum(w for t, w in weights.items() if t in tokens) / total if total else 0.0


def score_sentences(
    question: str,
    passages: list[Passage],
    embedder: PressbotEmbeddings,
    *,
    query_vector: np.ndarray | None = None,
    cache: dict[str, np.ndarray] | None = None,
    focus_terms: list[str] | None = None,
    period: tuple[dt.date, dt.date] | None = None,
    idf: Callable[[str], float] | None = None,
    off: AbstractSet[str] = frozenset(),
    asked: Asked | None = None,
) -> list[ScoredSentence]:
    """Every sentence of the passages, scored for the question, best first. `focus_terms` name
    the period asked ("2022", "June"); `period` is that period's dates: a figure asked for a
    period ("how many ... in 2022?") must be one a sentence states for it, by naming it or by
    coming from a release dated inside it ("this year, 5,000 ..."), else it is no answer: a
    release of 2023 that gives a total without a year may give one since 2021. `asked`: what the
    question asks, when the caller has read it already (else read here, with the rules `off`)."""
    sentences: list[tuple[str, Passage]] = []
    seen: set[str] = set()
    follows: dict[str, tuple[str, ...]] = {}
    breakdown = "breakdown" not in off and bool(_BREAKDOWN_Q.search(question))
    for p in passages:
        in_order = passage_sentences(p)
        for i, s in enumerate(in_order):
            # "Full report here: https://..." points to an answer, it does not give one
            if len(URL.sub("", s).strip()) >= MIN_SENTENCE_CHARS and s not in seen:
                seen.add(s)
                sentences.append((s, p))
                if "list" not in off and _introduces_list(s, in_order[i + 1 : i + 2]):
                    follows[s] = _list_items(in_order[i + 1 :])
                elif breakdown and _NUMBER_IN.search(s):
                    follows[s] = _parts(in_order[i + 1 :])
    if not sentences:
        return []
    qvec = query_vector if query_vector is not None else embedder.encode_query(question)
    svecs = embedder.encode_cached([s for s, _ in sentences], {} if cache is None else cache)
    sims = svecs @ qvec
    weights = {t: (idf(t) if idf else 1.0) for t in set(lexical_tokens(question))}
    rank = {id(p): i for i, p in enumerate(passages)}
    titles = {id(p): set(lexical_tokens(p.title)) for p in passages}
    # a link's words are not the sentence's
    sentence_tokens = [set(lexical_tokens(URL.sub(" ", s))) for s, _ in sentences]
    focus_re = focus_pattern(focus_terms)
    asked = asked or Asked.of(question, focus_re, period, off)
    in_release = _release_terms(weights.keys() | asked.ordinal_terms(), sentences, sentence_tokens, titles)
    kind = asked.kind
    places: dict[str, frozenset[str]] = defaultdict(frozenset)  # the countries each release's passages name
    if asked.places:
        for p in passages:
            places[p.release_id] |= countries(f"{p.title}\n{p.text}")
        if asked.every_place and not any(asked.places <= named for named in places.values()):
            # no release names them all: the question spans releases ("the rewards for a Guatemalan
            # trafficker and for a Honduran family"), each answering for its own
            asked = replace(asked, every_place=False)
    out = []
    for (s, p), sim, tokens in zip(sentences, sims, sentence_tokens, strict=True):
        ov = _coverage(weights, tokens)
        score = (
            W_SIM * float(sim)
            + W_COVERAGE * ov
            + W_CONTEXT * _coverage(weights, tokens | titles[id(p)])
            - W_RANK * rank[id(p)]
        )
        has_kind = asked.answered_by(s, p, in_release[id(p)], places[p.release_id])
        if kind is not None or not has_kind:
            score += W_KIND if has_kind else -W_NO_KIND
        if asked.wants_list and (_ENUM.search(s) or follows.get(s)):  # a list, in the sentence or after it
            score += W_BONUS
        if focus_re and focus_re.search(s):
            score += W_PERIOD
        out.append(
            ScoredSentence(
                s,
                p,
                float(sim),
                ov,
                score,
                frozenset(weights.keys() & tokens),
                follows.get(s, ()),
                has_kind,
                frozenset(weights.keys() & (tokens | titles[id(p)])),
                in_release[id(p)],
            )
        )
    out.sort(key=lambda x: -x.score)
    return out


def focus_pattern(focus_terms: list[str] | None) -> re.Pattern[str] | None:
    return re.compile(r"\b(" + "|".join(map(re.escape, focus_terms)) + r")\b") if focus_terms else None


def states_period(s: ScoredSentence, focus_terms: list[str] | None, period: tuple[dt.date, dt.date]) -> bool:
    """The sentence gives its figure for the period asked (see asked.stated_for)."""
    return stated_for(s.text, s.passage, focus_pattern(focus_terms), period)


def _release_terms(
    terms: Iterable[str], sentences: list[tuple[str, Passage]], tokens: list[set[str]], titles: dict[int, set[str]]
) -> dict[int, frozenset[str]]:
    """For each passage (by id), the question terms its title or any of its sentences states."""
    found = {key: set(title) for key, title in titles.items()}
    for (_, p), toks in zip(sentences, tokens, strict=True):
        found[id(p)] |= toks
    wanted = set(terms)
    return {key: frozenset(wanted & toks) for key, toks in found.items()}


_BULLET = ("-", "•", "*", "–")
_ANNOUNCES = re.compile(r"\b(as follows|the following)\b", re.IGNORECASE)


def _introduces_list(sentence: str, after: list[str]) -> bool:
    """It announces what follows: it ends in a colon, says "as follows" / "the following", or,
    not a bullet itself, is followed by one ("The package includes" + "- $50 million for ...")."""
    text = sentence.strip()
    if text.endswith(":") or _ANNOUNCES.search(text):
        return True
    return bool(after) and not text.startswith(_BULLET) and after[0].lstrip().startswith(_BULLET)


def _list_items(after: list[str]) -> tuple[str, ...]:
    """What a sentence ending in a colon introduces: the sentences after it, as long as they look
    like items (a bullet, or short), within a budget, up to the next sentence that opens a list."""
    return _run_of(
        after, lambda s: not s.rstrip().endswith(":") and (s.lstrip().startswith(_BULLET) or len(s) < 200), 600
    )


_NUMBER_IN = re.compile(r"\d")


def _parts(after: list[str]) -> tuple[str, ...]:
    """The parts that follow a total: the sentences after it that state a figure, in a row."""
    return _run_of(after, lambda s: bool(_NUMBER_IN.search(s)), 700)


def _run_of(
    after: list[str], is_item: Callable[[str], bool], max_chars: int, max_items: int = 6
) -> tuple[str, ...]:
    """The sentences of `after` that are items, from the first, up to the first that is not or
    the one that would pass the budget (items, characters)."""
    items: list[str] = []
    for s in after:
        if len(items) >= max_items or sum(map(len, items)) + len(s) > max_chars or not is_item(s):
            break
        items.append(s)
    return tuple(items)


def select_sentences(
    scored: list[ScoredSentence],
    *,
    max_sentences: int = 2,
    ratio: float = 0.9,
    same_release_ratio: float = SAME_RELEASE_RATIO,
    same_release_extra: int = SAME_RELEASE_EXTRA,
    off: AbstractSet[str] = frozenset(),
    wants_list: bool = False,
) -> list[ScoredSentence]:
    """The best sentence, plus a close runner-up that states, in itself or in its release's title,
    question terms it does not (the other half of a two-part question), never a rival answer to
    the same part (`_adds_to_release`, `_outdone`); then the next best sentences of the answering
    release (`_same_release`); for a list question, the list that release gives (`_list_block`)."""
    if not scored:
        return []
    chosen = [scored[0]]
    covered = set(scored[0].in_context)
    for cand in scored[1:]:
        if len(chosen) >= max_sentences or cand.score < ratio * scored[0].score:
            break
        if cand.in_context - covered and ("rival" in off or _adds_to_release(cand, scored[0])):
            chosen.append(cand)
            covered |= cand.in_context
    if len(chosen) == 2 and "outdone" not in off and _outdone(chosen[0], chosen[1]):
        chosen = [chosen[1]]
    if "same_release" not in off:
        chosen += _same_release(scored, chosen, same_release_ratio, same_release_extra)
    if wants_list and "list_block" not in off and not any(s.items for s in chosen):
        chosen += _list_block(scored, chosen[0])
    return chosen


def _list_block(scored: list[ScoredSentence], top: ScoredSentence) -> list[ScoredSentence]:
    """ "Who was on the delegation?": the best sentence announces it ("... designated a Presidential
    Delegation"), the names follow under a heading ("Members of the Presidential Delegation:").
    A heading with its items, in the best sentence's release, naming a question term itself: the
    best such, whatever its score (a bare heading is far from the question in meaning)."""
    return next(
        (
            [s]
            for s in scored
            if s.items and s.covers and s.passage.release_id == top.passage.release_id and s.text != top.text
        ),
        [],
    )


def _outdone(best: ScoredSentence, other: ScoredSentence) -> bool:
    """The other sentence's release is the one about what was asked: its title names a question
    term the best sentence's release never states ("Readout of the Call with ..." for "what did
    they discuss in their call?"), and it states every question term the best sentence does. Then
    the best sentence only mentions the topic in passing, and the other release alone answers."""
    named_by_title = other.in_context - other.covers - best.in_release
    return other.passage is not best.passage and bool(named_by_title) and best.in_context <= other.in_release


def _adds_to_release(cand: ScoredSentence, top: ScoredSentence) -> bool:
    """A sentence of another release joins only for what the best sentence's release does not
    state anywhere (the other meeting, the other year): where that release covers the whole
    question, a close rival from elsewhere is another answer to the same thing, and its
    citation is most often wrong."""
    return cand.passage is top.passage or bool(cand.in_context - top.in_release)


def _same_release(
    scored: list[ScoredSentence], chosen: list[ScoredSentence], ratio: float, extra: int
) -> list[ScoredSentence]:
    """Sentences of the best sentence's release that score nearly as well. The best sentence
    often names the topic ("X traveled to Mexico City") and the next one states what was asked
    ("On June 11, she met Y"); quoting both costs no extra citation, so no precision."""
    top = chosen[0]
    taken = {s.text for s in chosen}
    out: list[ScoredSentence] = []
    for cand in scored:
        if len(out) >= extra or cand.score < ratio * top.score:
            break
        if cand.passage is top.passage and cand.text not in taken and not _redundant(cand, chosen + out):
            out.append(cand)
    return out


def _redundant(cand: ScoredSentence, chosen: list[ScoredSentence]) -> bool:
    """Says again what a chosen sentence says (most of its words are in it)."""
    words = set(lexical_tokens(cand.text))
    return any(len(words & set(lexical_tokens(s.text))) >= REDUNDANT_SHARE * len(words) for s in chosen)
