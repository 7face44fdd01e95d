"""Answerer rules switched off by name (pressbot/rules.py): ablations and PRESSBOT_RULES_OFF."""

from __future__ import annotations

import datetime as dt

import pytest

from pressbot.asked import Asked
from pressbot.config import load_settings
from pressbot.errors import ConfigError
from pressbot.rules import RULES, rules_off

QUESTION = "How many officers of the 1944 Water Treaty commission did Mexico send in 2022, and who led them?"
YEAR_2022 = (dt.date(2022, 1, 1), dt.date(2022, 12, 31))


def test_each_constraint_switched_off_leaves_the_others() -> None:
    full = Asked.of(QUESTION, None, YEAR_2022)
    assert full.kind == "count" and full.named == {"1944"} and full.counted and full.places == {"MX"}
    assert full.period == YEAR_2022
    assert Asked.of(QUESTION, None, YEAR_2022, {"kind:count"}).kind is None
    no_named = Asked.of(QUESTION, None, YEAR_2022, {"named"})
    assert not no_named.named and no_named.kind == "count" and no_named.places == {"MX"}
    assert not Asked.of(QUESTION, None, YEAR_2022, {"counted"}).counted
    assert not Asked.of(QUESTION, None, YEAR_2022, {"places"}).places
    assert Asked.of(QUESTION, None, YEAR_2022, {"period"}).period is None
    assert not Asked.of(QUESTION, None, YEAR_2022, {"given"}).given


def test_a_misspelt_rule_is_an_error_that_lists_the_rules() -> None:
    with pytest.raises(ConfigError, match="unknown rule\\(s\\) kind:counts; the rules are: kind:date"):
        rules_off(["kind:counts"])
    assert rules_off([" window", "", "lag "]) == {"window", "lag"}


def test_the_setting_reads_a_comma_separated_list_and_names_the_variable_when_wrong(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("PRESSBOT_RULES_OFF", "window, focus")
    assert load_settings().rules_off == {"window", "focus"}
    monkeypatch.setenv("PRESSBOT_RULES_OFF", "window,nope")
    with pytest.raises(ConfigError, match="PRESSBOT_RULES_OFF: .*unknown rule\\(s\\) nope"):
        load_settings()
    monkeypatch.delenv("PRESSBOT_RULES_OFF")
    assert load_settings().rules_off == frozenset()


def test_every_rule_is_described() -> None:
    assert all(len(text) > 20 for text in RULES.values()) and len(RULES) >= 20


def test_every_kind_of_the_table_has_its_rule() -> None:
    from pressbot.asked import KINDS

    assert {f"kind:{kind}" for kind, _ in KINDS} == {r for r in RULES if r.startswith("kind:")}
