"""Prompt templates: files under the `prompts` package (package data), loaded strictly.

A template is `prompts/NAME.txt` in LangChain's f-string syntax (`{var}`; `{{`/`}}` for a
literal brace). A chat prompt NAME is the pair `NAME_system.txt` + `NAME_user.txt`, built
into a `ChatPromptTemplate`. Rendering is strict both ways: a variable the template uses
but was not given, and a variable given that the template does not use, both raise
`PromptError` -- a typo in a template or a caller then fails loudly instead of sending a
prompt with a hole in it.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import lru_cache
from importlib import resources

from langchain_core.messages import BaseMessage
from langchain_core.prompts import ChatPromptTemplate, PromptTemplate

from pressbot.errors import PromptError

PACKAGE = "prompts"
SUFFIX = ".txt"


def template_names() -> list[str]:
    """Every template shipped in the prompts package (without the .txt suffix)."""
    root = resources.files(PACKAGE)
    return sorted(p.name.removesuffix(SUFFIX) for p in root.iterdir() if p.name.endswith(SUFFIX))


@lru_cache(maxsize=64)
def load(name: str) -> str:
    """The text of prompts/NAME.txt; PromptError naming the available templates when missing."""
    path = resources.files(PACKAGE).joinpath(name + SUFFIX)
    if not path.is_file():
        raise PromptError(
            f"no prompt template {name!r}: expected {PACKAGE}/{name}{SUFFIX}; "
            f"available: {', '.join(template_names()) or 'none'}"
        )
    return path.read_text(encoding="utf-8")


def _check_vars(label: str, used: Iterable[str], given: Iterable[str]) -> None:
    used_s, given_s = set(used), set(given)
    missing, unknown = sorted(used_s - given_s), sorted(given_s - used_s)
    if missing:
        raise PromptError(f"prompt {label!r} needs {missing} but was not given them; it uses {sorted(used_s)}")
    if unknown:
        raise PromptError(f"prompt {label!r} does not use {unknown}; it uses {sorted(used_s)}")


def _template(name: str) -> PromptTemplate:
    try:
        return PromptTemplate.from_template(load(name))
    except ValueError as exc:  # unbalanced braces and the like
        raise PromptError(
            f"prompt template {name!r} is malformed ({exc}); write a literal brace as {{{{ or }}}}"
        ) from None


def render(name: str, /, **variables: str) -> str:
    """prompts/NAME.txt with `variables` filled in, strictly."""
    template = _template(name)
    _check_vars(name, template.input_variables, variables)
    return template.format(**variables)


@lru_cache(maxsize=16)
def chat_template(name: str) -> ChatPromptTemplate:
    """The chat prompt NAME: NAME_system.txt then NAME_user.txt."""
    system, user = _template(f"{name}_system"), _template(f"{name}_user")
    return ChatPromptTemplate.from_messages([("system", system.template), ("human", user.template)])


def render_chat(name: str, /, **variables: str) -> list[BaseMessage]:
    """The chat prompt NAME as messages (system, human), strictly."""
    template = chat_template(name)
    _check_vars(name, template.input_variables, variables)
    return template.format_messages(**variables)
