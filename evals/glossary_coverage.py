"""Which of the archive's frequent English content words the Spanish glossary can produce.

The glossary (pressbot/glossary_es_en.toml) was written from this list: the most frequent
content words of the index's English chunks, counted once per chunk. Run it after adding
releases to see which frequent words no Spanish term renders to yet:

    python -m evals.glossary_coverage --data-dir <index> --top 400
"""

from __future__ import annotations

import argparse
import re
from collections import Counter
from pathlib import Path

from bm25s.stopwords import STOPWORDS_EN

from pressbot.config import Settings
from pressbot.glossary import default_glossary
from pressbot.lexical import lexical_tokens

_WORD = re.compile(r"[A-Za-z][a-z-]{2,}")
_PAGE = 5000  # chunks read from Chroma at a time


def frequent_words(settings: Settings, top: int) -> list[tuple[str, int]]:
    """The `top` most frequent English content words of the index (chunks they occur in), names
    left out: a word written capitalised more often than not (a name is rendered as written)."""
    from pressbot.runtime import open_index

    index = open_index(settings)
    counts: Counter[str] = Counter()
    capitalised: Counter[str] = Counter()
    stop = frozenset(STOPWORDS_EN)
    offset = 0
    while True:
        got = index.chunks.get(where={"language": "en"}, include=["documents"], limit=_PAGE, offset=offset)
        docs = got["documents"] or []
        for doc in docs:
            words = _WORD.findall(doc)
            counts.update({w.lower() for w in words if w.lower() not in stop})
            capitalised.update({w.lower() for w in words if w[0].isupper()})
        if len(docs) < _PAGE:
            words_ = [(w, n) for w, n in counts.most_common() if capitalised[w] * 2 <= n]
            return words_[:top]
        offset += _PAGE


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data-dir", type=Path, required=True)
    ap.add_argument("--top", type=int, default=400)
    args = ap.parse_args()
    glossary = default_glossary()
    rendered = {
        t
        for table in (glossary.exact, glossary.terms)
        for english in table.values()
        for e in english
        for t in lexical_tokens(e)
    }
    words = frequent_words(Settings(data_dir=args.data_dir), args.top)
    missing = [(w, n) for w, n in words if not set(lexical_tokens(w)) <= rendered]
    print(f"{len(words) - len(missing)} of the {len(words)} most frequent English content words can be rendered")
    print("not rendered:", " ".join(w for w, _ in missing))


if __name__ == "__main__":
    main()
