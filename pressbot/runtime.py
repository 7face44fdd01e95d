"""Composition helpers: build the embedder, the Chroma client and the index from Settings.

Entry points (the CLI, the API, the Slack app, the evals) call these; nothing is built at
import time.
"""

from __future__ import annotations

import logging
import os

from pressbot.config import Settings
from pressbot.embeddings import PressbotEmbeddings, build_embeddings
from pressbot.index import Index, make_client


def quiet_libraries() -> None:
    """Offline, telemetry off, no progress bars from the libraries we drive."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    for name in ("chromadb.telemetry", "httpx", "sentence_transformers", "transformers", "bm25s"):
        logging.getLogger(name).setLevel(logging.WARNING)
    try:
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()
    except ImportError:  # transformers is optional for the hash stand-in
        pass


def open_index(settings: Settings, *, create: bool = False, embedder: PressbotEmbeddings | None = None) -> Index:
    quiet_libraries()
    client = make_client(settings, create=create)
    if not create:
        Index.require(client, settings)  # before loading the model: a missing index is told at once
    embedder = embedder or build_embeddings(settings)
    return Index(client, settings, embedder).open(create=create)
