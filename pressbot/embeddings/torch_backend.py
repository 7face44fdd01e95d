"""The model run by sentence-transformers on torch."""

from __future__ import annotations

import copy
import os
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from pressbot.config import DEFAULT_MODEL
from pressbot.embeddings.base import threads
from pressbot.embeddings.model import ModelEmbeddings, _unloadable, resolve_model_path

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer



def _window(model: SentenceTransformer) -> int:
    """Tokens the model reads (sentence-transformers truncates beyond), special tokens included."""
    return int(model.max_seq_length or model.tokenizer.model_max_length)


def _load_sentence_transformer(model: str, path: str, device: str = "cpu") -> SentenceTransformer:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")  # never reach for a hub at run time
    from sentence_transformers import SentenceTransformer

    if n := threads():
        import torch

        torch.set_num_threads(n)
    try:
        return SentenceTransformer(path, device=device)
    except Exception as exc:  # the library raises many kinds for a bad name or path
        raise _unloadable(model, exc) from None


class SentenceTransformerEmbeddings(ModelEmbeddings):
    """The model run by sentence-transformers on torch."""

    def __init__(
        self,
        model: str = DEFAULT_MODEL,
        *,
        device: str = "cpu",
        batch_size: int = 64,
        query_prefix: str | None = None,
        passage_prefix: str | None = None,
    ) -> None:
        self.name = model
        self.backend = "torch"
        self.model = _load_sentence_transformer(model, resolve_model_path(model), device)
        self.batch_size = batch_size
        self._prefixes(model, query_prefix, passage_prefix)
        self.dimension = int(self.model.get_embedding_dimension() or 0)
        # a tokenizer of our own for counting: HF fast tokenizers change padding/truncation
        # state per call, so sharing the model's with a thread that encodes corrupts batches
        self._tokenizer = copy.deepcopy(self.model.tokenizer)
        # special tokens ([CLS], [SEP]) take two places of the model's window
        self.max_tokens = _window(self.model) - 2 - self.count_tokens(self.passage_prefix)

    def count_tokens(self, text: str) -> int:
        return len(self._tokenizer(text, add_special_tokens=False, verbose=False)["input_ids"])

    def count_tokens_batch(self, texts: Sequence[str]) -> list[int]:
        if not texts:
            return []
        enc = self._tokenizer(list(texts), add_special_tokens=False, verbose=False)["input_ids"]
        return [len(ids) for ids in enc]

    def _encode(self, texts: list[str]) -> np.ndarray:
        return self.model.encode(
            texts,
            batch_size=self.batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        ).astype(np.float32)
