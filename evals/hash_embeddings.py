"""A deterministic, model-free stand-in with the embedders' interface: the cheap vectors of the
large search benchmark (evals/bench_corpus.py) and of the tests. No setting selects it: the
tests install it for `PRESSBOT_EMBEDDING_MODEL=hash-N` themselves (tests/model_free.py)."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, cast

import numpy as np

from pressbot.embeddings.base import PressbotEmbeddings

if TYPE_CHECKING:
    pass


_WORD = re.compile(r"\w+", re.UNICODE)


class HashEmbeddings(PressbotEmbeddings):
    """Deterministic bag-of-words vectors (feature hashing): similar words, similar vectors.

    No model, no randomness across runs; words are the "tokens".
    """

    def __init__(self, dimension: int = 64, max_tokens: int = 254, name: str = "hash") -> None:
        self.dimension = dimension
        self.max_tokens = max_tokens
        self.name = f"{name}-{dimension}"

    def count_tokens(self, text: str) -> int:
        return len(_WORD.findall(text))

    def _vector(self, text: str) -> np.ndarray:
        vec = np.zeros(self.dimension, dtype=np.float32)
        for word in _WORD.findall(text.lower()):
            h = int.from_bytes(hashlib.blake2b(word.encode(), digest_size=8).digest(), "little")
            vec[h % self.dimension] += 1.0 if (h >> 32) & 1 else -1.0
        norm = float(np.linalg.norm(vec))
        if norm == 0.0:
            vec[0] = 1.0  # a zero vector has no cosine; keep empty texts valid
            return vec
        return vec / norm

    def encode_passages(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        return np.stack([self._vector(t) for t in texts])

    def encode_query(self, text: str) -> np.ndarray:
        return self._vector(text)

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return cast("list[list[float]]", self.encode_passages(texts).tolist())  # numpy: tolist() -> Any

    def embed_query(self, text: str) -> list[float]:
        return cast("list[float]", self.encode_query(text).tolist())
