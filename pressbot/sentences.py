"""Sentence splitting shared by chunking (ingest) and answering (core): pysbd rules for the
release's language, paragraph breaks always end a sentence."""

from __future__ import annotations

import re
from functools import lru_cache

import pysbd
from pysbd.languages import LANGUAGE_CODES

from pressbot.types import Passage, sentences_at

_SUPPORTED = frozenset(LANGUAGE_CODES)  # others fall back to the English rules
_PARA = re.compile(r"\n\s*\n")


@lru_cache(maxsize=16)
def _segmenter(language: str) -> pysbd.Segmenter:
    return pysbd.Segmenter(language=language if language in _SUPPORTED else "en", clean=False)


def split_sentences(text: str, language: str = "en") -> list[str]:
    seg = _segmenter(language)
    out: list[str] = []
    for para in _PARA.split(text):
        para = " ".join(para.split())
        if para:
            out.extend(s.strip() for s in seg.segment(para) if s.strip())
    return out


def passage_sentences(passage: Passage) -> list[str]:
    """A retrieved chunk's sentences: as cut at ingest (the ones whose vectors are stored), or,
    for an index built before sentence ends were stored, split again."""
    if passage.sentence_ends:
        return sentences_at(passage.text, passage.sentence_ends)
    return split_sentences(passage.text, passage.language)
