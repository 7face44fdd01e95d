"""pressbot: question answering with numbered citations over press-release archives.

The core package. `ingest`, `bot` and `evals` import it; it never imports them.
Nothing here connects, reads the environment or loads a model at import time.

The public API is re-exported here, loaded on first use (PEP 562): `import pressbot` stays a
millisecond, while `pressbot.Engine` pulls in chromadb, numpy and the search stack (~1 s) and
`pressbot.Settings` pydantic (~0.2 s). The submodules stay importable as before.

    engine = pressbot.Engine.from_settings(pressbot.load_settings())
    answer = engine.answer("Which countries receive the $180 million program?")
"""

from __future__ import annotations

import importlib

# typing.TYPE_CHECKING without importing typing (3 ms, most of this module's import time);
# type checkers treat any name TYPE_CHECKING as true
TYPE_CHECKING = False

__version__ = "0.1.0"

# Literal, so type checkers and linters read it; _EXPORTS says where each name lives.
__all__ = [
    "__version__",
    "Engine",
    "QueryOptions",
    "Settings",
    "load_settings",
    "open_index",
    "Answer",
    "Citation",
    "Passage",
    "Release",
    "Chunk",
    "PressbotError",
    "ConfigError",
    "SourceError",
    "IndexError_",
    "ModelMismatchError",
    "IndexEmptyError",
    "QueryError",
    "PromptError",
    "LLMError",
]

_EXPORTS = {
    **dict.fromkeys(("Engine", "QueryOptions"), "pressbot.engine"),
    "Settings": "pressbot.config",
    "load_settings": "pressbot.config",
    "open_index": "pressbot.runtime",
    **dict.fromkeys(("Answer", "Citation", "Passage", "Release", "Chunk"), "pressbot.types"),
    **dict.fromkeys(
        (
            "PressbotError", "ConfigError", "SourceError", "IndexError_", "ModelMismatchError",
            "IndexEmptyError", "QueryError", "PromptError", "LLMError",
        ),
        "pressbot.errors",
    ),
}

if TYPE_CHECKING:  # what type checkers and IDEs see; at run time __getattr__ below loads these
    from pressbot.config import Settings, load_settings
    from pressbot.engine import Engine, QueryOptions
    from pressbot.errors import (
        ConfigError,
        IndexEmptyError,
        IndexError_,
        LLMError,
        ModelMismatchError,
        PressbotError,
        PromptError,
        QueryError,
        SourceError,
    )
    from pressbot.runtime import open_index
    from pressbot.types import Answer, Chunk, Citation, Passage, Release
else:
    # Defined only at run time: a module __getattr__ would make type checkers accept any name.
    def __getattr__(name: str) -> object:
        module = _EXPORTS.get(name)
        if module is None:
            raise AttributeError(f"module 'pressbot' has no attribute {name!r}")
        value = getattr(importlib.import_module(module), name)
        globals()[name] = value  # later lookups skip __getattr__
        return value

    def __dir__() -> list[str]:
        return sorted({*globals(), *_EXPORTS})
