"""Sentence-aware chunking within the embedding model's token limit.

Chunks are built from whole sentences (pysbd, English or Spanish rules by the release's
language), packed up to `chunk_tokens` model tokens, with the last sentence(s) of a chunk
repeated at the start of the next (overlap). Each chunk records where its sentences end: the
indexer encodes sentences, and a chunk's vector is made of its sentences' vectors and its
release's title-and-date header (see `ingest.indexer`). Sizes are measured with the model's own
tokenizer, header included (`embed_text`, also what a plain pipeline would encode): a sentence
too long for one chunk is split at word boundaries, never cut off silently.
"""

from __future__ import annotations

import itertools

from pressbot.embeddings import PressbotEmbeddings
from pressbot.sentences import split_sentences
from pressbot.types import Chunk, Release


def context_header(release: Release) -> str:
    when = f" ({release.date.isoformat()})" if release.date else ""
    return f"{release.title}{when}\n"


class Chunker:
    def __init__(self, embedder: PressbotEmbeddings, chunk_tokens: int, overlap_sentences: int = 1):
        self.embedder = embedder
        self.chunk_tokens = chunk_tokens
        self.overlap = overlap_sentences

    def _header(self, release: Release) -> str:
        header = context_header(release)
        # the header is context, not content: shorten a very long title rather than the text
        limit = self.embedder.max_tokens // 3
        while self.embedder.count_tokens(header) > limit and len(header) > 20:
            header = header[: int(len(header) * 0.8)].rstrip() + "…\n"
        return header

    def _split_long(self, sentence: str, budget: int) -> list[tuple[str, int]]:
        """A sentence over budget, cut at word boundaries into pieces within it."""
        words = sentence.split(" ")
        counts = self.embedder.count_tokens_batch(words)
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
        sentences = split_sentences(release.text, release.language)
        units: list[tuple[str, int]] = []
        for sent, n in zip(sentences, self.embedder.count_tokens_batch(sentences), strict=True):
            units.extend(self._split_long(sent, budget) if n > budget else [(sent, n)])

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
        counts = self.embedder.count_tokens_batch([c.embed_text for c in chunks])
        for chunk, n in zip(chunks, counts, strict=True):
            if n > self.embedder.max_tokens:
                raise ValueError(
                    f"chunk {chunk.id} has {n} tokens, over the model limit "
                    f"{self.embedder.max_tokens}; lower PRESSBOT_CHUNK_TOKENS"
                )
