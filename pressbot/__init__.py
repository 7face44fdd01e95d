"""pressbot: question answering with numbered citations over press-release archives.

The core package. `ingest`, `bot` and `evals` import it; it never imports them.
Nothing here connects, reads the environment or loads a model at import time.
"""

__version__ = "0.1.0"
