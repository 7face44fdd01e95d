"""The words of dates, numbers and money, English and Spanish: one table of each.

Every module that reads these words builds its patterns from here: time windows in questions
(pressbot/timewindow.py), what a question asks and whether a sentence states it (asked.py), the
direct answer's spans (direct.py), amounts in lexical search (lexical.py) and datelines at
ingest (ingest/dates.py). A table maps each written form, lower case, to its value; where
releases write a word with and without its accent both are here ("miércoles", "miercoles").
Which tables a module reads is its own choice (a count is no article: "a" is one only in "a
week ago"), but a word is written once, here. This module imports nothing of the project.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

# --- dates -------------------------------------------------------------------------------

MONTHS_EN = {
    "january": 1, "february": 2, "march": 3, "april": 4, "may": 5, "june": 6, "july": 7,
    "august": 8, "september": 9, "october": 10, "november": 11, "december": 12,
}  # fmt: skip
MONTHS_ES = {
    "enero": 1, "febrero": 2, "marzo": 3, "abril": 4, "mayo": 5, "junio": 6, "julio": 7,
    "agosto": 8, "septiembre": 9, "setiembre": 9, "octubre": 10, "noviembre": 11, "diciembre": 12,
}  # fmt: skip
# "Jan.", "Sept": English only ("may" is the full name)
MONTH_ABBREVIATIONS_EN = {
    "jan": 1, "feb": 2, "mar": 3, "apr": 4, "jun": 6, "jul": 7, "aug": 8, "sep": 9, "sept": 9,
    "oct": 10, "nov": 11, "dec": 12,
}  # fmt: skip
MONTHS = {**MONTHS_EN, **MONTHS_ES}  # full names, both languages

# Monday is 0, as in `datetime.date.weekday()`
WEEKDAYS_EN = {
    "monday": 0, "tuesday": 1, "wednesday": 2, "thursday": 3, "friday": 4, "saturday": 5, "sunday": 6,
}  # fmt: skip
WEEKDAYS_ES = {
    "lunes": 0, "martes": 1, "miércoles": 2, "miercoles": 2, "jueves": 3, "viernes": 4,
    "sábado": 5, "sabado": 5, "domingo": 6,
}  # fmt: skip
WEEKDAY_ABBREVIATIONS_EN = {
    "mon": 0, "tues": 1, "tue": 1, "wed": 2, "thurs": 3, "thur": 3, "thu": 3, "fri": 4, "sat": 5, "sun": 6,
}  # fmt: skip
WEEKDAYS = {**WEEKDAYS_EN, **WEEKDAYS_ES}

# A year as releases write one: 1900-2099 (a pattern; callers add the boundaries they need)
YEAR = r"(?:19|20)\d\d"

# --- numbers -----------------------------------------------------------------------------

NUMBERS_EN = {
    "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
    "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14,
    "fifteen": 15, "sixteen": 16, "seventeen": 17, "eighteen": 18, "nineteen": 19,
    "twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70,
    "eighty": 80, "ninety": 90, "hundred": 100, "hundreds": 100, "dozen": 12, "dozens": 12,
}  # fmt: skip
NUMBERS_ES = {
    "uno": 1, "dos": 2, "tres": 3, "cuatro": 4, "cinco": 5, "seis": 6, "siete": 7, "ocho": 8,
    "nueve": 9, "diez": 10, "once": 11, "doce": 12, "trece": 13, "catorce": 14, "quince": 15,
    "dieciséis": 16, "dieciseis": 16, "diecisiete": 17, "dieciocho": 18, "diecinueve": 19,
    "veinte": 20, "treinta": 30, "cuarenta": 40, "cincuenta": 50, "sesenta": 60, "setenta": 70,
    "ochenta": 80, "noventa": 90, "cien": 100, "ciento": 100,
}  # fmt: skip
# "the second meeting", "la quinta reunión"; a quarter or half of a year (timewindow)
ORDINALS_EN = {
    "first": 1, "1st": 1, "second": 2, "2nd": 2, "third": 3, "3rd": 3, "fourth": 4, "4th": 4,
    "fifth": 5, "5th": 5, "sixth": 6, "6th": 6, "seventh": 7, "7th": 7, "eighth": 8, "8th": 8,
    "ninth": 9, "9th": 9, "tenth": 10, "10th": 10,
}  # fmt: skip
ORDINALS_ES = {
    "primer": 1, "primero": 1, "primera": 1, "segundo": 2, "segunda": 2, "tercer": 3, "tercero": 3,
    "tercera": 3, "cuarto": 4, "cuarta": 4, "quinto": 5, "quinta": 5, "sexto": 6, "sexta": 6,
    "séptimo": 7, "séptima": 7, "octavo": 8, "octava": 8, "noveno": 9, "novena": 9,
    "décimo": 10, "décima": 10,
}  # fmt: skip
ORDINALS = {**ORDINALS_EN, **ORDINALS_ES}
# the articles that say one: "a week ago", "hace una semana" (but "a" is no count)
ONE_ARTICLES = {"a": 1, "an": 1, "un": 1, "una": 1}

# Scale words after a number: "180 million", "180 millones", "12 mil"
SCALES_EN = {
    "thousand": 10**3, "thousands": 10**3, "million": 10**6, "millions": 10**6,
    "billion": 10**9, "billions": 10**9, "trillion": 10**12, "trillions": 10**12,
}  # fmt: skip
SCALES_ES = {
    "mil": 10**3, "millón": 10**6, "millon": 10**6, "millones": 10**6, "mil millones": 10**9,
    "billón": 10**12, "billon": 10**12, "billones": 10**12,
}  # fmt: skip
SCALES = {**SCALES_EN, **SCALES_ES}
# written right after the digits or a space: "$180M", "2.5bn", "5k"
SCALE_ABBREVIATIONS = {
    "k": 10**3, "m": 10**6, "mn": 10**6, "mln": 10**6, "b": 10**9, "bn": 10**9, "t": 10**12, "tn": 10**12,
}  # fmt: skip

# --- money -------------------------------------------------------------------------------

CURRENCY_SYMBOLS = {"$": "USD", "€": "EUR", "£": "GBP", "¥": "JPY"}
# after the amount: "180 million dollars", "180 millones de dólares"
CURRENCY_WORDS = {
    "dollar": "USD", "dollars": "USD", "dólar": "USD", "dolar": "USD", "dólares": "USD",
    "dolares": "USD", "euro": "EUR", "euros": "EUR", "peso": "MXN", "pesos": "MXN",
}  # fmt: skip
# before or after the amount: "USD 5 million", "US$ 180", "MXN 300"
CURRENCY_CODES = {"usd": "USD", "us$": "USD", "mxn": "MXN"}
# the symbols for use inside a regex character class, and that class: "[$€£¥]"
SYMBOL_CHARS = "".join(re.escape(s) for s in CURRENCY_SYMBOLS)
SYMBOL = f"[{SYMBOL_CHARS}]"


def alternation(words: Iterable[str]) -> str:
    """A regex alternation of the literal words, longest first (so "june" is tried before
    "jun"): `rf"\\b(?:{alternation(MONTHS)})\\b"`."""
    return "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True))
