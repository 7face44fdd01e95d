"""The countries a text names: an answer about Guatemala is no answer to a question about Honduras.

Names come from pycountry (ISO 3166, English and Spanish), in their short forms ("Venezuela"
for "Venezuela, Bolivarian Republic of"), and are matched on the lexical index's stemmed tokens,
so that a demonym names its country ("Guatemalan migrants", "Mexican officials", "cubanos").
The United States is left out: the archives are its government's, every release names it.
"""

from __future__ import annotations

import functools
import gettext
import re
from collections import defaultdict

import pycountry

from pressbot.lexical import lexical_tokens

# the archives' own country, and Georgia, a U.S. state as often as a country in them
_LEFT_OUT = {"US", "GE"}
# names with a country's name inside that are not that country
_NOT_COUNTRIES = re.compile(
    r"\b(New Mexico|Gulf of Mexico|Golfo de México|Nuevo México|American Samoa|Indiana)\b", re.IGNORECASE
)
# everyday names pycountry does not give
_ALIASES = {
    "RU": ["Russia"], "LA": ["Laos"], "MM": ["Burma"], "CI": ["Ivory Coast"], "CV": ["Cape Verde"],
    "VA": ["Vatican"], "KP": ["North Korea"], "KR": ["South Korea"], "GB": ["Britain", "British"],
    "CZ": ["Czech Republic"], "SY": ["Syria"], "IR": ["Iran"], "BO": ["Bolivia"], "VE": ["Venezuela"],
}  # fmt: skip
# what a demonym adds to its country's (stemmed) name, in English and Spanish
_DEMONYM_ENDINGS = frozenset({
    "n", "an", "ian", "nian", "vian", "es", "ese", "i", "no", "na", "ano", "ana", "eno", "ena",
})  # fmt: skip
_PREFIX = 3  # country tokens are bucketed by their first letters (every stemmed name has 3 or more)


def _spanish() -> gettext.NullTranslations:
    return gettext.translation("iso3166-1", pycountry.LOCALES_DIR, languages=["es"], fallback=True)


@functools.cache
def spanish_country_names() -> dict[str, str]:
    """Spanish short names of the countries -> English ones ("Alemania" -> "Germany", "Reino Unido"
    -> "United Kingdom", "Estados Unidos" -> "United States"): the glossary renders Spanish
    questions in English with them (pressbot/glossary.py)."""
    spanish = _spanish()
    out = {}
    for c in pycountry.countries:
        english = getattr(c, "common_name", c.name).split(",")[0]
        out[spanish.gettext(c.name).split(",")[0]] = english
    return out


@functools.cache
def _names() -> dict[str, list[tuple[str, tuple[str, ...]]]]:
    """First letters of a name's first token -> (ISO code, the name's tokens)."""
    spanish = _spanish()
    buckets: dict[str, list[tuple[str, tuple[str, ...]]]] = defaultdict(list)
    for c in pycountry.countries:
        if c.alpha_2 in _LEFT_OUT:
            continue
        names = {c.name, getattr(c, "common_name", c.name), spanish.gettext(c.name), *_ALIASES.get(c.alpha_2, [])}
        forms = {tuple(lexical_tokens(n.split(",")[0])) for n in names}
        for form in forms:
            if form and len(form[0]) >= _PREFIX:
                buckets[form[0][:_PREFIX]].append((c.alpha_2, form))
    return dict(buckets)


def _names_country(token: str, name: str) -> bool:
    """The token is the country's name or its demonym: "guatemalan" for "guatemala", "mexican"
    and "mexicano" for "mexico", "chines" for "china"; not "children" for "chile", nor "indiana"
    for "india"."""
    if token == name:
        return True
    if token.startswith(name):
        return token[len(name) :] in _DEMONYM_ENDINGS
    # the name's last letter gives way to the ending: mexic-o, mexic-an
    return len(name) >= 5 and token.startswith(name[:-1]) and token[len(name) - 1 :] in _DEMONYM_ENDINGS


def countries(text: str) -> frozenset[str]:
    """The ISO codes of the countries the text names."""
    tokens = lexical_tokens(_NOT_COUNTRIES.sub(" ", text))
    buckets = _names()
    found = set()
    for i, token in enumerate(tokens):
        for code, form in buckets.get(token[:_PREFIX], ()):
            if _names_country(token, form[0]) and tuple(tokens[i + 1 : i + len(form)]) == form[1:]:
                found.add(code)
    return frozenset(found)
