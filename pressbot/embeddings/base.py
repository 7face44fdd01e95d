"""The embedding interface every model implements, and the CPU threads models are built with."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
from langchain_core.embeddings import Embeddings

from pressbot.sentence_vectors import VectorCache

if TYPE_CHECKING:
    pass


_threads: int | None = None  # CPU threads for models built from now on (None: the runtime's default)


def set_threads(n: int | None) -> None:
    """CPU threads of the embedding model (torch or ONNX Runtime): ONNX sessions and torch models
    made from now on, and torch's kernels at once if torch is already loaded. One per answering
    thread: a query embeds a few dozen short sentences, where two threads on two cores gain
    little and oversubscribe under load. Importing torch is left to the models that need it."""
    global _threads
    _threads = n
    if n is not None and "torch" in sys.modules:
        sys.modules["torch"].set_num_threads(n)


def threads() -> int | None:
    """The thread count set by `set_threads` (None: the runtime's default)."""
    return _threads


class PressbotEmbeddings(Embeddings):
    """What the index and the chunker need beyond LangChain's interface."""

    name: str
    dimension: int
    max_tokens: int

    def count_tokens(self, text: str) -> int:
        raise NotImplementedError

    def count_tokens_batch(self, texts: Sequence[str]) -> list[int]:
        return [self.count_tokens(t) for t in texts]

    def encode_passages(self, texts: Sequence[str]) -> np.ndarray:
        return np.asarray(self.embed_documents(list(texts)), dtype=np.float32)

    def encode_query(self, text: str) -> np.ndarray:
        return np.asarray(self.embed_query(text), dtype=np.float32)

    def encode_cached(self, texts: Sequence[str], cache: dict[str, np.ndarray]) -> np.ndarray:
        """Passage vectors, encoding only texts not in `cache` (one answer embeds a sentence once);
        a `VectorCache` is first filled from the sentence vectors stored at ingest."""
        todo = list(dict.fromkeys(t for t in texts if t not in cache))
        if todo and isinstance(cache, VectorCache):
            todo = cache.load(todo)
        if todo:
            vectors = self.encode_passages(todo)
            cache.update(zip(todo, vectors, strict=True))
            if isinstance(cache, VectorCache):
                cache.save(todo, vectors)
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        return np.stack([cache[t] for t in texts])
