"""Prompt templates: every shipped template renders, and rendering is strict both ways."""

from __future__ import annotations

import re

import pytest
from langchain_core.messages import HumanMessage, SystemMessage
from langchain_core.prompts import PromptTemplate

from pressbot import prompts
from pressbot.errors import PromptError


def _variables(name: str) -> list[str]:
    return PromptTemplate.from_template(prompts.load(name)).input_variables


def test_the_answer_templates_ship_in_the_package():
    names = prompts.template_names()
    assert {"answer_system", "answer_user", "release"} <= set(names)


@pytest.mark.parametrize("name", prompts.template_names())
def test_every_template_renders_with_its_variables(name: str):
    variables = _variables(name)
    values = {v: f"<<{v.upper()}-VALUE>>" for v in variables}
    text = prompts.render(name, **values)
    for value in values.values():
        assert value in text
    # nothing left unfilled: no single-brace placeholder survives rendering
    assert not re.search(r"(?<!\{)\{[a-z_]+\}(?!\})", text)
    assert text.strip()


def test_every_chat_pair_renders_as_system_then_human():
    chats = [n.removesuffix("_system") for n in prompts.template_names() if n.endswith("_system")]
    assert "answer" in chats
    for chat in chats:
        variables = sorted(set(_variables(f"{chat}_system")) | set(_variables(f"{chat}_user")))
        messages = prompts.render_chat(chat, **{v: f"[{v}]" for v in variables})
        assert [type(m) for m in messages] == [SystemMessage, HumanMessage]
        joined = "\n".join(str(m.content) for m in messages)
        assert all(f"[{v}]" in joined for v in variables)


def test_a_missing_template_names_the_available_ones():
    with pytest.raises(PromptError, match=r"no prompt template 'nope'.*prompts/nope\.txt.*available: .*answer_system"):
        prompts.render("nope")


def test_a_variable_the_template_uses_but_was_not_given_raises():
    with pytest.raises(PromptError, match=r"needs \['text'\]"):
        prompts.render("release", n="1", title="t", date="2024-01-22")


def test_a_variable_given_that_the_template_does_not_use_raises():
    with pytest.raises(PromptError, match=r"does not use \['colour'\]"):
        prompts.render("release", n="1", title="t", date="2024-01-22", text="x", colour="red")


def test_chat_rendering_is_strict_both_ways():
    good = {"question": "q", "releases": "r", "window": "all dates", "not_found": "I cannot find it."}
    assert len(prompts.render_chat("answer", **good)) == 2
    with pytest.raises(PromptError, match="needs"):
        prompts.render_chat("answer", **{k: v for k, v in good.items() if k != "releases"})
    with pytest.raises(PromptError, match="does not use"):
        prompts.render_chat("answer", **good, today="2024-01-22")
    with pytest.raises(PromptError, match="no prompt template 'nope_system'"):
        prompts.render_chat("nope")


def test_a_malformed_template_raises_prompt_error(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(prompts, "load", lambda name: "Hello {name")
    with pytest.raises(PromptError, match="malformed"):
        prompts.render("broken", name="x")


def test_values_are_inserted_verbatim_not_parsed_as_templates():
    text = prompts.render("release", n="1", title="t", date="undated", text="braces {question} and {{x}} stay")
    assert "braces {question} and {{x}} stay" in text
