"""Sentence-aware chunking within the embedding model's token limit.

Chunks are built from whole sentences (pysbd, English or Spanish rules by the release's
language), packed up to `chunk_tokens` model tokens, with the last sentence(s) of a chunk
repeated at the start of the next (overlap). Each chunk records where its sentences end: the
indexer encodes sentences, and a chunk's vector is made of its sentences' vectors and its
release's title-and-date header (see `ingest.indexer`). Sizes are measured with the model's own
tokenizer, header included (`embed_text`, also what a plain pipeline would encode): a sentence
too long for one chunk is split at word boundaries, never cut off silently.

Text no tokenizer reads as words is cut first, so it is neither lost nor unbounded: a word of
more than `MAX_WORD_CHARS` letters (BERT's WordPiece reads any longer word as one [UNK] token,
so a chunk could hold megabytes "within" its token limit) is cut into pieces of that size, and
a run of more than `MAX_RUN_CHARS` characters without a space (a pasted blob) is cut into such
pieces without going through the sentence splitter (pysbd needs ~800 MB and 13 s for a 5 MB
one). Normal text pays two regex scans for this.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Sequence

from pressbot.embeddings import PressbotEmbeddings
from pressbot.sentences import split_sentences
from pressbot.types import Chunk, Release

MAX_WORD_CHARS = 100  # WordPiece's max_input_chars_per_word (all-MiniLM, BERT)
MAX_RUN_CHARS = 1000  # a longer run without a space is not a word of a sentence
# CJK ideographs are left alone: the tokenizer reads each as a word, and Chinese has no spaces
_CJK = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0002fa1f"
# (the look-behinds try a match only where a run starts: twice as fast on normal text)
_LONG_WORD = re.compile(rf"(?<![^\W{_CJK}])[^\W{_CJK}]{{{MAX_WORD_CHARS + 1},}}")
_BLOB = re.compile(rf"(?<![^\s{_CJK}])[^\s{_CJK}]{{{MAX_RUN_CHARS + 1},}}")
_COUNT_BATCH = 1024  # texts per tokenizer call: its per-token lists stay small


def _cut_long_words(text: str) -> str:
    if not _LONG_WORD.search(text):
        return text
    return _LONG_WORD.sub(lambda m: " ".join(_pieces(m.group())), text)


def _pieces(run: str, size: int = MAX_WORD_CHARS) -> list[str]:
    return [run[i : i + size] for i in range(0, len(run), size)]


def context_header(release: Release) -> str:
    when = f" ({release.date.isoformat()})" if release.date else ""
    return f"{release.title}{when}\n"


class Chunker:
    def __init__(self, embedder: PressbotEmbeddings, chunk_tokens: int, overlap_sentences: int = 1):
        self.embedder = embedder
        self.chunk_tokens = chunk_tokens
        self.overlap = overlap_sentences

    def _header(self, release: Release) -> str:
        header = _cut_long_words(context_header(release))
        # the header is context, not content: shorten a very long title rather than the text
        limit = self.embedder.max_tokens // 3
        if len(header) > limit * (MAX_WORD_CHARS + 1):  # more characters than `limit` tokens can hold
            header = header[: limit * (MAX_WORD_CHARS + 1)].rstrip() + "…\n"
        while self.embedder.count_tokens(header) > limit and len(header) > 20:
            header = header[: int(len(header) * 0.8)].rstrip() + "…\n"
        return header

    def _count(self, texts: Sequence[str]) -> list[int]:
        out: list[int] = []
        for i in range(0, len(texts), _COUNT_BATCH):
            out.extend(self.embedder.count_tokens_batch(texts[i : i + _COUNT_BATCH]))
        return out

    def _units(self, text: str, language: str, budget: int) -> list[tuple[str, int]]:
        """(sentence or piece, tokens) in text order, each within `budget`."""
        segments: list[tuple[str, bool]] = []  # (text, is a blob)
        pos = 0
        for m in _BLOB.finditer(text):
            segments += [(text[pos : m.start()], False), (m.group(), True)]
            pos = m.end()
        segments.append((text[pos:], False))
        units: list[tuple[str, int]] = []
        for segment, blob in segments:
            if blob:
                units.extend(self._pack(_pieces(segment), budget))
                continue
            sentences = split_sentences(_cut_long_words(segment), language)
            for sent, n in zip(sentences, self._count(sentences), strict=True):
                units.extend(self._split_long(sent, budget) if n > budget else [(sent, n)])
        return units

    def _split_long(self, sentence: str, budget: int) -> list[tuple[str, int]]:
        """A sentence over budget, cut at word boundaries into pieces within it."""
        return self._pack(sentence.split(" "), budget)

    def _pack(self, words: list[str], budget: int) -> list[tuple[str, int]]:
        """Words joined into pieces within budget; a word over budget is cut by characters."""
        counts = self._count(words)
        pieces: list[tuple[str, int]] = []
        cur: list[str] = []
        cur_n = 0
        for word, n in zip(words, counts, strict=True):
            if cur and cur_n + n > budget:
                pieces.append((" ".join(cur), cur_n))
                cur, cur_n = [], 0
            if n > budget:  # one "word" over budget (a URL, a table): cut by characters
                pieces.extend(self._split_word(word, n, budget))
                continue
            cur.append(word)
            cur_n += n
        if cur:
            pieces.append((" ".join(cur), cur_n))
        return pieces

    def _split_word(self, word: str, n: int, budget: int) -> list[tuple[str, int]]:
        """Character pieces of a word, each measured to fit: token density varies along a word
        (letters vs. punctuation), so a piece sized from the average is halved until it fits."""
        pieces: list[tuple[str, int]] = []
        start, step = 0, max(1, len(word) * budget // (n + 1))
        while start < len(word):
            size = step
            part = word[start : start + size]
            count = self.embedder.count_tokens(part)
            while count > budget and size > 1:
                size //= 2
                part = word[start : start + size]
                count = self.embedder.count_tokens(part)
            pieces.append((part, count))
            start += size
        return pieces

    def chunk(self, release: Release) -> list[Chunk]:
        header = self._header(release)
        budget = max(8, min(self.chunk_tokens, self.embedder.max_tokens - self.embedder.count_tokens(header)))
        units = self._units(release.text, release.language, budget)

        groups: list[list[tuple[str, int]]] = []
        cur: list[tuple[str, int]] = []
        cur_n = 0
        for unit in units:
            if cur and cur_n + unit[1] > budget:
                groups.append(cur)
                # overlap: carry the last sentence(s) over, if they leave room for new text
                carry = cur[-self.overlap :] if self.overlap else []
                while carry and sum(n for _, n in carry) + unit[1] > budget:
                    carry = carry[1:]
                if sum(n for _, n in carry) > budget // 2:
                    carry = []
                cur, cur_n = list(carry), sum(n for _, n in carry)
            cur.append(unit)
            cur_n += unit[1]
        if cur:
            groups.append(cur)

        chunks = []
        for n, group in enumerate(groups):
            text = " ".join(s for s, _ in group)
            ends = list(itertools.accumulate(len(s) + 1 for s, _ in group))
            ends[-1] = len(text)
            chunks.append(
                Chunk(
                    id=f"{release.id}:{n}",
                    release_id=release.id,
                    n=n,
                    text=text,
                    embed_text=header + text,
                    title=release.title,
                    date=release.date,
                    url=release.url,
                    source=release.source,
                    language=release.language,
                    content_hash=release.content_hash,
                    sentence_ends=ends,
                )
            )
        self._verify(chunks)
        return chunks

    def _verify(self, chunks: list[Chunk]) -> None:
        # token counts of joined sentences can differ slightly from the sum of their parts
        # (tokenizers that merge across spaces); the model's tokenizer has the last word
        counts = self._count([c.embed_text for c in chunks])
        for chunk, n in zip(chunks, counts, strict=True):
            if n > self.embedder.max_tokens:
                raise ValueError(
                    f"chunk {chunk.id} has {n} tokens, over the model limit "
                    f"{self.embedder.max_tokens}; lower PRESSBOT_CHUNK_TOKENS"
                )
