"""The lexical (BM25) side of hybrid search, derived from Chroma and rebuildable from it.

It also keeps, row for row, a copy of the chunk vectors: a date/source/language-filtered dense
search is an exact scan of the allowed rows here (a few ms at 50k chunks) where Chroma's
filtered query scans metadata (measured 120-200 ms at 50k chunks); unfiltered searches stay
with Chroma's HNSW.

Amounts are written many ways ("$180M", "$180 million", "180 million dollars",
"USD 180 million"); `lexical_tokens` maps each to one canonical token so they match.
The copy kept on disk, and how it follows Chroma (the one source of truth), is in
`pressbot.lexical_store`.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, cast

import bm25s
import numpy as np
import Stemmer
from bm25s.scoring import _select_idf_scorer, _select_tfc_scorer
from bm25s.stopwords import STOPWORDS_EN, STOPWORDS_SPANISH

from pressbot.lexicon import SCALE_ABBREVIATIONS, SCALES, alternation

# combining marks of Latin and other alphabets: what NFKD splits accents into
_COMBINING = re.compile("[\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f]")


def _fold(text: str) -> str:
    # accents off ("dólares" == "dolares"), lower case; most text is ASCII and needs no more
    if text.isascii():
        return text.lower()
    return _COMBINING.sub("", unicodedata.normalize("NFKD", text)).lower()


# folded as the text is ("millón" -> "millon"), so the accented and unaccented forms are one
_SCALES = {_fold(word): value for word, value in {**SCALES, **SCALE_ABBREVIATIONS}.items()}
_SCALE_RE = alternation(_SCALES)
# number with optional thousands separators / decimals, optional scale word right after it
_AMOUNT = re.compile(
    rf"(?<![\w.,])(\d{{1,3}}(?:,\d{{3}})+|\d+)(?:\.(\d+))?(?:\s?({_SCALE_RE})\b)?",
    re.IGNORECASE,
)
_WORD = re.compile(r"\w+")
_STOP = (
    frozenset(STOPWORDS_EN)
    | frozenset(STOPWORDS_SPANISH)
    | {
        "dollars",
        "dollar",
        "usd",
        "us",
        "dolares",
        "which",
        "what",
        "who",
        "whom",
        "when",
        "where",
        "how",
        "why",
        "does",
        "did",
        "do",
        "tell",
        "please",
        "cual",
        "cuales",
        "que",
        "quien",
    }
)
_STEMMERS = {"en": Stemmer.Stemmer("english"), "es": Stemmer.Stemmer("spanish")}


def _amount_token(match: re.Match[str]) -> str:
    whole, frac, scale = match.group(1), match.group(2), match.group(3)
    if not frac and not scale:  # the common case, a plain number: no Decimal arithmetic
        return f" {int(whole.replace(',', ''))} "
    # Decimal, not float: 4.1 * 1e6 is 4099999.9999999995 in binary floating point
    value = Decimal(whole.replace(",", "") + ("." + frac if frac else ""))
    if scale:
        value *= Decimal(_SCALES[scale.lower()])
    if value == value.to_integral_value():
        return f" {int(value)} "
    return f" {value.normalize():f} ".replace(".", "_")


def number_values(text: str) -> set[str]:
    """The canonical value of every number a text states: "$180 million", "180M" and
    "180,000,000" are all 180000000."""
    return {_amount_token(m).strip() for m in _AMOUNT.finditer(text)}


def without_numbers(text: str, values: AbstractSet[str], mark: str = " ") -> str:
    """The text with the numbers of those canonical values replaced by `mark`."""
    return _AMOUNT.sub(lambda m: mark if _amount_token(m).strip() in values else m.group(0), text)


def lexical_tokens(text: str, language: str = "en") -> list[str]:
    """Tokens for BM25: folded, amounts canonicalised, stop words dropped, stemmed by the text's
    language (Spanish for "es"; English for any other, as for an undetected one)."""
    text = _AMOUNT.sub(_amount_token, _fold(text))
    words = [w for w in _WORD.findall(text) if w not in _STOP]
    stemmer = _STEMMERS.get(language, _STEMMERS["en"])
    return cast("list[str]", stemmer.stemWords(words))  # PyStemmer is untyped


def index_tokens(text: str, language: str = "en") -> list[str]:
    """The tokens a chunk is indexed under (a placeholder for a chunk without any)."""
    return lexical_tokens(text, language) or ["\u2205"]


def indexed_text(text: str, meta: Mapping[str, Any]) -> str:
    """What a chunk is indexed under: its release title (in its metadata), then its text."""
    return f"{meta.get('title', '')}\n{text}"


def bm25_from_postings(
    blocks: Callable[[], Iterator[tuple[np.ndarray, np.ndarray]]], lengths: np.ndarray, vocab: dict[str, int]
) -> bm25s.BM25:
    """A bm25s index (its scoring and defaults) built from token ids, a block at a time.

    `blocks()` yields (row of each token, token id) arrays, rows ascending, and is read twice:
    once for the document frequencies, once to fill the matrix. bm25s's own `index()` holds every
    document's token list and, while building, ~36 bytes per posting (about 0.5 GB at 230k
    chunks); this holds the finished matrix (8 bytes per posting) and one block.
    """
    bm25 = bm25s.BM25()
    if bm25.method in bm25.methods_requiring_nonoccurrence:  # not the default; would need another array
        raise ValueError(f"BM25 variant {bm25.method} is not supported here")
    n_docs, n_vocab = len(lengths), len(vocab)

    def postings() -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray]]:
        # (row, token, term frequency) of each distinct token of each row, token-major within a block
        for rows, tokens in blocks():
            keys, tf = np.unique(rows.astype(np.int64) * n_vocab + tokens, return_counts=True)
            row, tok = np.divmod(keys, n_vocab)
            order = np.argsort(tok, kind="stable")  # rows stay ascending within each token
            yield row[order], tok[order], tf[order]

    df = np.zeros(n_vocab, dtype=np.int64)
    for _, tok, _ in postings():
        df += np.bincount(tok, minlength=n_vocab)
    indptr = np.zeros(n_vocab + 1, dtype=np.int64)
    np.cumsum(df, out=indptr[1:])
    data = np.empty(indptr[-1], dtype=np.float32)
    indices = np.empty(indptr[-1], dtype=np.int32)
    idf_of = _select_idf_scorer(bm25.idf_method)
    idf = np.array([idf_of(d, N=n_docs) if d else 0.0 for d in df.tolist()], dtype=np.float32)
    tfc = _select_tfc_scorer(bm25.method)
    avg_len = float(lengths.mean()) if n_docs else 0.0
    cursor = indptr[:-1].copy()  # next free slot of each token's column
    for row, tok, tf in postings():
        first = np.searchsorted(tok, tok, side="left")  # where each token's run starts in the block
        slot = cursor[tok] + (np.arange(len(tok)) - first)
        tf_part = tfc(tf_array=tf.astype(np.float32), l_d=lengths[row], l_avg=avg_len, k1=bm25.k1, b=bm25.b)
        data[slot] = idf[tok] * tf_part
        indices[slot] = row
        cursor += np.bincount(tok, minlength=n_vocab)
    bm25.scores = {"data": data, "indices": indices, "indptr": indptr, "num_docs": n_docs}
    bm25.vocab_dict = vocab
    bm25.unique_token_ids_set = set(vocab.values())
    bm25.nonoccurrence_array = None
    return bm25


@dataclass
class LexicalIndex:
    ids: list[str]
    bm25: bm25s.BM25 | None
    date_ord: np.ndarray  # int32, 0 = undated
    source: np.ndarray  # object array of source names
    language: np.ndarray  # object array of language codes
    fingerprint: str
    vectors: np.ndarray | None = None  # float32, one row per id (None: built without them)
    # row -> (passage text, Chroma metadata); None: read passages from Chroma
    documents: Callable[[int], tuple[str, dict[str, Any]]] | None = None
    _row: dict[str, int] | None = field(default=None, repr=False, compare=False)

    @classmethod
    def build(
        cls,
        rows: Iterable[tuple[str, str, dict[str, object]] | tuple[str, str, dict[str, object], np.ndarray]],
        fingerprint: str,
    ) -> LexicalIndex:
        """In memory, from (chunk id, text to index, chunk metadata[, chunk vector]) rows; the
        copy kept on disk is built by `pressbot.lexical_store`, a page at a time."""
        ids: list[str] = []
        token_lists: list[list[str]] = []
        dates: list[int] = []
        sources: list[str] = []
        langs: list[str] = []
        vectors: list[np.ndarray] = []
        for row in rows:
            chunk_id, text, meta = row[0], row[1], row[2]
            if len(row) > 3:
                vectors.append(row[3])
            ids.append(chunk_id)
            token_lists.append(index_tokens(text))
            dates.append(int(meta.get("date_ord", 0) or 0))  # type: ignore[call-overload]
            sources.append(str(meta.get("source", "")))
            langs.append(str(meta.get("language", "und")))
        vocab: dict[str, int] = {}
        token_ids = [np.array([vocab.setdefault(t, len(vocab)) for t in ts], dtype=np.int32) for ts in token_lists]
        lengths = np.array([len(t) for t in token_ids], dtype=np.int64)
        bm25 = None
        if ids:
            flat = np.concatenate(token_ids)
            rows_of_tokens = np.repeat(np.arange(len(ids)), lengths)
            bm25 = bm25_from_postings(lambda: iter([(rows_of_tokens, flat)]), lengths, vocab)
        return cls(
            ids,
            bm25,
            np.asarray(dates, dtype=np.int32),
            np.asarray(sources, dtype=object),
            np.asarray(langs, dtype=object),
            fingerprint,
            np.stack(vectors).astype(np.float32) if vectors and len(vectors) == len(ids) else None,
        )

    def search(self, query: str, k: int, *, mask: np.ndarray | None = None) -> list[tuple[str, float]]:
        """Top-k (chunk id, score) for the query; `mask` (bool per chunk) restricts the hits."""
        if self.bm25 is None or not self.ids:
            return []
        tokens = [t for t in lexical_tokens(query) if t in self.bm25.vocab_dict]
        if not tokens:
            return []
        # bm25s's scores, top-k here: its `retrieve` adds a thread pool and a progress bar to
        # each call (measured: 8 ms of a 14 ms lexical step at 50k chunks)
        scores = self.bm25.get_scores(tokens)
        if mask is not None:
            scores = np.where(mask, scores, 0.0)
        k = min(k, len(self.ids))
        top = np.argpartition(-scores, k - 1)[:k] if k < len(scores) else np.arange(len(scores))
        top = top[np.argsort(-scores[top], kind="stable")]
        return [(self.ids[int(d)], float(scores[d])) for d in top if scores[d] > 0]

    def dense(self, query_vector: np.ndarray, n: int, mask: np.ndarray) -> list[tuple[str, float]]:
        """Exact top-n (chunk id, cosine) among the rows `mask` allows; vectors are normalised."""
        if self.vectors is None:
            raise ValueError("this lexical index holds no vectors")
        rows = np.flatnonzero(mask)
        if not len(rows):
            return []
        # a wide window: one product over every row beats gathering most of the matrix first
        sims = (
            (self.vectors @ query_vector)[rows] if 4 * len(rows) > len(self.ids) else self.vectors[rows] @ query_vector
        )
        top = np.argsort(-sims) if len(rows) <= n else np.argpartition(-sims, n)[:n]
        top = top[np.argsort(-sims[top], kind="stable")]
        return [(self.ids[int(rows[i])], float(sims[i])) for i in top]

    def _column(self, token: str) -> np.ndarray:
        """Rows (chunk indices) whose text holds the (stemmed) token: the token's column of the
        BM25 matrix."""
        col = self.bm25.vocab_dict.get(token) if self.bm25 is not None else None
        if col is None:
            return np.zeros(0, dtype=np.int64)
        scores = self.bm25.scores  # type: ignore[union-attr]
        return np.asarray(scores["indices"][scores["indptr"][col] : scores["indptr"][col + 1]])

    def date_range(self) -> tuple[dt.date, dt.date] | None:
        """The first and last publication dates of the chunks held; None when none is dated."""
        dated = self.date_ord[self.date_ord > 0]
        if not len(dated):
            return None
        return _from_ord(int(dated.min())), _from_ord(int(dated.max()))

    def row_of(self, chunk_id: str) -> int:
        """The row of a chunk id, -1 if absent."""
        if self._row is None:
            self._row = {cid: i for i, cid in enumerate(self.ids)}
        return self._row.get(chunk_id, -1)

    def dates(self, chunk_ids: Sequence[str]) -> dict[str, int]:
        """The `date_ord` of the given chunks this copy holds with their passages (none without
        `documents`: their passages come from Chroma, and their dates with them)."""
        if self.documents is None:
            return {}
        return {cid: int(self.date_ord[row]) for cid in chunk_ids if (row := self.row_of(cid)) >= 0}

    def passages(self, chunk_ids: Sequence[str]) -> dict[str, tuple[str, dict[str, Any]]]:
        """(text, metadata) of the given chunks this copy holds (none without `documents`)."""
        if self.documents is None:
            return {}
        return {cid: self.documents(row) for cid in chunk_ids if (row := self.row_of(cid)) >= 0}

    def coverage(self, weights: dict[str, float], chunk_ids: Sequence[str]) -> np.ndarray:
        """For each of `chunk_ids`, the summed weights of the tokens its text holds: read off the
        BM25 matrix, so candidates are not tokenized again."""
        rows = np.fromiter((self.row_of(c) for c in chunk_ids), dtype=np.int64, count=len(chunk_ids))
        out = np.zeros(len(chunk_ids))
        for token, weight in weights.items():
            column = self._column(token)  # rows ascending, as in any CSC matrix
            if len(column):
                at = np.minimum(np.searchsorted(column, rows), len(column) - 1)
                out += weight * (column[at] == rows)
        return out

    def idf(self, token: str) -> float:
        """Inverse document frequency of a (stemmed) token over the chunks; unseen tokens get the
        highest value. Read off the BM25 matrix (one column per token), no extra storage."""
        n = len(self.ids)
        if self.bm25 is None or n == 0:
            return 0.0
        return float(_select_idf_scorer(self.bm25.idf_method)(len(self._column(token)), N=n))

    def mask(
        self,
        *,
        since: int | None = None,
        until: int | None = None,
        sources: Sequence[str] | None = None,
        language: str | None = None,
        include_undated: bool = False,
    ) -> np.ndarray | None:
        if since is None and until is None and not sources and not language:
            return None
        m = np.ones(len(self.ids), dtype=bool)
        if since is not None or until is not None:
            dated = self.date_ord > 0
            in_range = dated.copy()
            if since is not None:
                in_range &= self.date_ord >= since
            if until is not None:
                in_range &= self.date_ord <= until
            m &= in_range | (~dated if include_undated else False)
        if sources:
            m &= np.isin(self.source, list(sources))
        if language:
            m &= self.language == language
        return m


def _from_ord(value: int) -> dt.date:
    """A date from its `date_ord` form (YYYYMMDD as an integer, see `Chunk.metadata`)."""
    return dt.date(value // 10000, value // 100 % 100, value % 100)
