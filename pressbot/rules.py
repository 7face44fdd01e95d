"""The answerer's rules, by name, each one that can be switched off.

A rule earns its place by what it adds on every golden set, not by the question it was written
for: `pressbot eval --ablate` runs the sets once with all rules and once with each rule off
(PRESSBOT_RULES_OFF does the same for any face), and prints what each one earns or costs.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from pressbot.errors import ConfigError

RULES: Mapping[str, str] = {
    # what the question asks for (pressbot/asked.py `answer_kind`): a sentence must state it
    "kind:date": "a when-question is answered by a sentence that states a date",
    "kind:amount": "a how-much-money question, by a sum of money",
    "kind:count": "a how-many question, by a count",
    "kind:share": "a what-share/rate question, by a percentage or fraction",
    "kind:number": "another how-much question, by a number",
    "kind:place": "a which-country question, by a country",
    "kind:leader": "a who-led question, by a sentence that says who leads (leads, heads, chairs)",
    # the constraints on that answer (asked.Asked)
    "given": "the numbers the question states are not its answer",
    "named": "a release must state the numbers that are part of a name in the question",
    "counted": "a count must be of what the question counts",
    "role": "a who-is question's role must be named whole",
    "places": "a release that names only other countries than the one asked is no answer",
    "every_place": "... nor one that names some of the countries asked, not all",
    "ordinal": "a release must state the ordinal of a series the question names (the second meeting)",
    "period": "a figure must be stated for the period the question asks about",
    # the time window read from the question (pressbot/timewindow.py, the engine's filters)
    "window": "a time the question names becomes a date filter",
    "lag": "a closed window also searches the reporting lag after it",
    "focus": "a sentence that names the month or year asked ranks higher",
    "undated": "an undated release answers a dated question only as unconfirmed, unless it states the time",
    # how sentences are chosen and what joins them (pressbot/extractive.py)
    "list": "a which/list question prefers an enumeration, and quotes the items after a colon",
    "breakdown": "a breakdown question quotes, after the total, the sentences that follow it with figures",
    "list_block": "a list question quotes the list its release gives under a heading naming what is asked",
    "parts": "each later part of a multi-part question gets its own best sentence",
    "rival": "a sentence of another release joins only for what the best one's release lacks",
    "outdone": "a release whose title names the topic replaces a passing mention",
    "same_release": "close sentences of the answering release follow the best one",
}


def rules_off(names: Iterable[str]) -> frozenset[str]:
    """The named rules, checked against the table: a misspelt rule is an error, not a no-op."""
    off = frozenset(n.strip() for n in names if n.strip())
    unknown = sorted(off - RULES.keys())
    if unknown:
        raise ConfigError(
            f"unknown rule(s) {', '.join(unknown)}; the rules are: {', '.join(RULES)} (see pressbot/rules.py)"
        )
    return off
