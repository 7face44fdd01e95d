"""`PRESSBOT_EMBEDDING_MODEL=hash-N` in the tests: the model-free stand-in (evals/hash_embeddings.py)
of dimension N, where production code would load a model of that name and fail.

`install()` wraps `pressbot.embeddings.build_embeddings`; tests/conftest.py runs it in the test
process, and puts tests/hooks on PYTHONPATH so that every Python process a test starts (the
`pressbot` command, a replica, a race) runs it too, through tests/hooks/sitecustomize.py.
"""

from __future__ import annotations

import sys
from typing import Any

HASH_PREFIX = "hash"


def install() -> None:
    import pressbot.embeddings as embeddings

    real = getattr(embeddings.build_embeddings, "__wrapped__", embeddings.build_embeddings)

    def build_embeddings(settings: Any) -> Any:
        name = settings.embedding_model
        if name == HASH_PREFIX or name.startswith(HASH_PREFIX + "-"):
            from evals.hash_embeddings import HashEmbeddings

            _, _, dim = name.partition("-")
            return HashEmbeddings(dimension=int(dim) if dim else 64)
        return real(settings)

    build_embeddings.__wrapped__ = real  # type: ignore[attr-defined]
    embeddings.build_embeddings = build_embeddings  # type: ignore[assignment]
    runtime = sys.modules.get("pressbot.runtime")  # imported already: it holds its own reference
    if runtime is not None:
        runtime.build_embeddings = build_embeddings  # type: ignore[attr-defined]
