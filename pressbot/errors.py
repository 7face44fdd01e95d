"""The one exception tree of pressbot.

    PressbotError                 base: every error a user can act on
    +-- ConfigError               a setting is missing or has a bad value
    +-- SourceError               an archive/source cannot be read at all (bad path, bad URL)
    +-- IndexError_               the index cannot be opened or used
    |   +-- ModelMismatchError    the collection was built with another embedding model
    |   +-- IndexEmptyError       nothing has been ingested yet
    |   +-- IndexBusyError        another ingest is writing the index
    +-- QueryError                a question or its filters are invalid
    +-- PromptError               a prompt template is missing or has unknown variables
    +-- LLMError                  the configured chat model failed

Messages say what failed, the bad value, and how to fix it. Faces turn these into clean
messages (CLI exit code 2, HTTP problem+json), never tracebacks.
"""

from __future__ import annotations


class PressbotError(Exception):
    """Base class for errors a user can act on."""


class ConfigError(PressbotError):
    pass


class SourceError(PressbotError):
    pass


class IndexError_(PressbotError):  # noqa: N801 - avoid shadowing the builtin IndexError
    pass


class ModelMismatchError(IndexError_):
    pass


class IndexEmptyError(IndexError_):
    pass


class IndexBusyError(IndexError_):
    pass


class QueryError(PressbotError):
    pass


class PromptError(PressbotError):
    pass


class LLMError(PressbotError):
    pass
