"""Where the benchmarks find the full corpus (whitehouse/, statedept/, seed/, mananeras/): the
folder named by $PRESSBOT_CORPUS, or ./corpus. It is not bundled; evals/sample_archive is the
part of it that ships with the project."""

from __future__ import annotations

import os
from pathlib import Path


def corpus_dir() -> Path:
    return Path(os.environ.get("PRESSBOT_CORPUS", "corpus"))
