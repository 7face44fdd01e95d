"""Spanish questions over English releases: the question's terms rendered in English.

The dense model (all-MiniLM-L6-v2) is English-only, and no translation model ships offline. A
question detected as Spanish is rendered word by word with a bilingual glossary of the archives'
policy vocabulary (`glossary_es_en.toml`, data, not code): "¿Qué arancel fijó Trump a la potasa
de Canadá?" -> "what tariff set Trump potash Canada?". Names and numbers are kept as written,
countries come from pressbot/places.py, words the glossary lacks are left out of the rendering.
The dense side embeds the rendering; the lexical side reads the rendering with every search
word of the glossary, then the question as asked, so a release in Spanish still matches its own
words; the search vector adds the question's own to the rendering's. The answerer reads the
rendering alone unless the best release found is Spanish: then the question as asked.
`PRESSBOT_GLOSSARY=off` turns it off (ablations).
"""

from __future__ import annotations

import functools
import re
import tomllib
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import cast

import numpy as np
import Stemmer
from bm25s.stopwords import STOPWORDS_SPANISH

from pressbot.embeddings import PressbotEmbeddings
from pressbot.errors import ConfigError
from pressbot.lexicon import NUMBERS_EN, NUMBERS_ES, SCALES_EN, SCALES_ES
from pressbot.places import spanish_country_names
from pressbot.types import Passage

GLOSSARY_FILE = Path(__file__).with_name("glossary_es_en.toml")

# A word, a hyphenated word ("T-MEC"), or a number with its currency sign and percent ("$310", "25%")
_TOKEN = re.compile(r"[$€£]?\d[\d.,]*%?|[^\W\d_]+(?:[-'’][^\W\d_]+)*")
_COMBINING = re.compile("[\u0300-\u036f]")
_stemmer = Stemmer.Stemmer("spanish")

# Language detection for questions (a sentence is too short for py3langid, which ingest uses on
# releases): inverted marks are Spanish; else two or more Spanish function words, and more of
# them than of English ones ("Tren de Aragua" alone does not make an English question Spanish).
_INVERTED = re.compile("[¿¡]")
_ES_WORDS = frozenset({
    "de", "del", "la", "el", "los", "las", "que", "en", "por", "para", "con", "una", "un", "unos", "unas",
    "se", "su", "sus", "al", "lo", "como", "es", "son", "fue", "fueron", "ha", "han", "y", "o", "según",
    "entre", "desde", "hasta", "sobre", "tras", "ante", "qué", "cuál", "cuáles", "cuánto", "cuánta", "cuántos",
    "cuántas", "cuándo", "dónde", "quién", "quiénes", "cómo", "este", "esta", "estos", "estas",
})  # fmt: skip
_EN_WORDS = frozenset({
    "the", "of", "and", "to", "in", "for", "on", "with", "by", "at", "from", "what", "which", "how", "when",
    "where", "who", "whom", "is", "was", "were", "are", "did", "does", "do", "has", "have", "that", "this",
    "these", "those", "according",
})  # fmt: skip
_ES_STOP = frozenset(STOPWORDS_SPANISH)


def _fold(word: str) -> str:
    return _COMBINING.sub("", unicodedata.normalize("NFKD", word)).lower()


def _stem(word: str) -> str:
    return str(_stemmer.stemWord(_fold(word)))


def is_spanish(text: str) -> bool:
    """Whether a question is in Spanish (see the heuristic above)."""
    if _INVERTED.search(text):
        return True
    words = [w.lower() for w in _TOKEN.findall(text)]
    es = sum(w in _ES_WORDS for w in words)
    en = sum(w in _EN_WORDS for w in words)
    return es >= 2 and es > en


@dataclass(frozen=True)
class Rendering:
    dense: str  # the question in English words: what the English-only model embeds
    english: str  # those words with the glossary's other search words
    lexical: str  # those, then the question as asked: what BM25 reads


@dataclass(frozen=True)
class Glossary:
    exact: Mapping[tuple[str, ...], tuple[str, ...]]  # lower-case words as written -> English
    terms: Mapping[tuple[str, ...], tuple[str, ...]]  # Spanish stems -> English (rendering first)
    countries: Mapping[tuple[str, ...], str]  # folded Spanish country names -> English names
    longest: int  # words in the longest key

    def render(self, question: str) -> Rendering | None:
        """The English rendering of a Spanish question; None for a question not in Spanish."""
        if not is_spanish(question):
            return None
        words = [part for w in _TOKEN.findall(question) for part in self._split(w)]
        lower = [w.lower() for w in words]
        folded = [_fold(w) for w in words]
        stems = [_stem(w) for w in words]
        dense: list[str] = []
        extra: list[str] = []
        i = 0
        while i < len(words):
            n, english = self._match(i, lower, folded, stems)
            if english:
                dense.append(english[0])
                extra.extend(english[1:])
                i += n
                continue
            w = words[i]
            if w[0].isdigit() or w[0] in "$€£" or (w[0].isupper() and folded[i] not in _ES_STOP):
                dense.append(w)  # a number or a name, as written
            i += 1
        if not dense:
            return None
        english_text = " ".join(dense) + ("?" if question.rstrip().endswith("?") else "")
        all_words = " ".join([english_text, *extra])
        return Rendering(dense=english_text, english=all_words, lexical=f"{all_words} {question}")

    def _split(self, word: str) -> list[str]:
        """A hyphenated word the glossary does not know, in its parts ("México-Estados Unidos")."""
        if "-" not in word or (word.lower(),) in self.exact or (_stem(word),) in self.terms:
            return [word]
        return word.split("-")

    def _match(
        self, i: int, lower: list[str], folded: list[str], stems: list[str]
    ) -> tuple[int, tuple[str, ...] | None]:
        """The longest entry starting at word i: (its length in words, its English)."""
        for n in range(min(self.longest, len(lower) - i), 0, -1):
            if (q := self.exact.get(tuple(lower[i : i + n]))) is not None:
                return n, q
            if (c := self.countries.get(tuple(folded[i : i + n]))) is not None:
                return n, (c,)
            if (t := self.terms.get(tuple(stems[i : i + n]))) is not None:
                return n, t
        # the stemmer leaves the "i" of a preterite in "-ió" ("nació" -> "naci", "nacer" -> "nac")
        if folded[i].endswith("io") and (t := self.terms.get((stems[i][:-1],))) is not None:
            return 1, t
        return 1, None


def load_glossary(path: Path = GLOSSARY_FILE) -> Glossary:
    """Read a glossary file; a bad one is a ConfigError naming the entry and the fix."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"cannot read the glossary {path}: {exc}") from None
    exact = {
        **_number_words(),
        **{tuple(w.lower() for w in _TOKEN.findall(k)): v for k, v in _entries(path, data, "exact")},
    }
    terms: dict[tuple[str, ...], tuple[str, ...]] = {}
    spelled: dict[tuple[str, ...], str] = {}
    for key, english in _entries(path, data, "terms"):
        stems = tuple(_stem(w) for w in _TOKEN.findall(key))
        if not stems:
            raise ConfigError(f"{path}: [terms] key {key!r} has no words; remove it")
        if stems in terms and terms[stems] != english:
            raise ConfigError(
                f"{path}: [terms] {spelled[stems]!r} and {key!r} have the same Spanish stem {' '.join(stems)!r} "
                f"but different English ({list(terms[stems])} vs {list(english)}); give them one translation"
            )
        terms[stems], spelled[stems] = english, key
    countries = {tuple(_fold(w) for w in _TOKEN.findall(es)): en for es, en in spanish_country_names().items()}
    longest = max(len(k) for k in [*exact, *terms, *countries])
    return Glossary(exact=exact, terms=terms, countries=countries, longest=longest)


def _number_words() -> dict[tuple[str, ...], tuple[str, ...]]:
    """The Spanish number and scale words (pressbot/lexicon.py), each as the English word of its
    value: "cuarenta" -> "forty", "mil millones" -> "billion", "billón" -> "trillion"; not "uno",
    mostly a pronoun ("uno de los estados")."""
    english: dict[int, str] = {}
    for word, value in {**NUMBERS_EN, **SCALES_EN}.items():
        english.setdefault(value, word)  # the first, singular word of each value: "twelve", not "dozen"
    return {
        tuple(word.split()): (english[value],)
        for word, value in {**NUMBERS_ES, **SCALES_ES}.items()
        if value in english and word != "uno"
    }


def _entries(path: Path, data: dict[str, object], table: str) -> list[tuple[str, tuple[str, ...]]]:
    section = data.get(table)
    if not isinstance(section, dict):
        raise ConfigError(f"{path}: no [{table}] table; the glossary needs [exact] and [terms]")
    out = []
    for key, value in section.items():
        english = (value,) if isinstance(value, str) else value
        if not isinstance(english, list | tuple) or not english or not all(isinstance(e, str) and e for e in english):
            raise ConfigError(
                f"{path}: [{table}] {key!r} = {value!r}; give an English term or a list of them, e.g. 'tariff'"
            )
        out.append((key, tuple(english)))
    return out


@functools.cache
def default_glossary() -> Glossary:
    return load_glossary()


@dataclass(frozen=True)
class Glossed:
    """A question as searched (see `Rendering`; all the question as asked unless it is Spanish and
    the glossary is on)."""

    asked: str
    dense: str
    lexical: str

    def search_vector(self, embedder: PressbotEmbeddings) -> np.ndarray:
        """The query vector of the search: the rendering's and the question's, summed, so that the
        English releases (near the rendering) and the Spanish ones (near the question) are both found."""
        v = embedder.encode_query(self.dense)
        if self.dense == self.asked:
            return v
        v = v + embedder.encode_query(self.asked)
        return cast("np.ndarray", v / np.linalg.norm(v))

    def for_answer(
        self, found: Sequence[Passage], embedder: PressbotEmbeddings, query_vector: np.ndarray
    ) -> tuple[str, np.ndarray]:
        """(text, vector) the answerer scores sentences with: when the best release found is Spanish,
        the question as asked (a transcript states the answer in the question's words, which the
        rendering misses: "¿Cuántos homicidios dolosos...?" counts "homicidios", not "homicides");
        else the rendering alone, with its vector (the Spanish words, which no English sentence
        states, would only dilute the evidence; a part it finds no answer to is named in it)."""
        if self.dense == self.asked:
            return self.asked, query_vector
        if found and found[0].language == "es":
            return self.asked, embedder.encode_query(self.asked)
        return self.dense, embedder.encode_query(self.dense)


def glossed(query: str, *, enabled: bool = True) -> Glossed:
    """The query as searched (see `Glossed`); `enabled=False` (PRESSBOT_GLOSSARY=off) leaves it as asked."""
    rendering = default_glossary().render(query) if enabled else None
    if rendering is None:
        return Glossed(query, query, query)
    return Glossed(query, rendering.dense, rendering.lexical)
