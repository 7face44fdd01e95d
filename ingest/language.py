"""Language of a release as an ISO 639-1 code ("en", "es"), "und" when it cannot be told."""

from __future__ import annotations

import re

UNDETERMINED = "und"
_SAMPLE_CHARS = 1500  # a few paragraphs decide the language; more only costs time
_MIN_LETTERS = 20


def detect_language(text: str) -> str:
    """py3langid's guess on the start of the text; "und" for texts too short to judge."""
    sample = text[:_SAMPLE_CHARS]
    if len(re.findall(r"[^\W\d_]", sample)) < _MIN_LETTERS:
        return UNDETERMINED
    import py3langid  # loads its packaged model on first classify, not at our import

    # the model knows a few languages without a two-letter code (e.g. "pcm"): take the best
    # ISO 639-1 one
    for lang, _score in py3langid.rank(sample):
        if len(lang) == 2:
            return str(lang)
    return UNDETERMINED


def normalize_language(value: object) -> str | None:
    """A declared language ("en-US", "es_MX", "EN") as ISO 639-1, None when not recognisable."""
    if not isinstance(value, str):
        return None
    m = re.match(r"^\s*([A-Za-z]{2})(?:[-_][A-Za-z0-9]+)*\s*$", value)
    return m.group(1).lower() if m else None
