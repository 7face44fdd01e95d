"""`pressbot ask`: the command-line face of `Engine.answer`."""

from __future__ import annotations

from collections.abc import Callable

import click

from pressbot.config import Settings
from pressbot.types import Answer


def format_answer(ans: Answer) -> str:
    """A readable answer, its outcome and confidence, and its numbered sources (title, date, link)."""
    lines = [ans.answer, "", f"Outcome: {ans.outcome.replace('_', ' ')} (confidence {ans.confidence:.2f})"]
    if ans.citations:
        lines.append("Pointers:" if ans.abstained else "Sources:")
        for c in ans.citations:
            when = c.date.isoformat() if c.date else "undated"
            lines.append(f"  [{c.n}] {c.title} ({when})" + (f"\n      {c.url}" if c.url else f"\n      {c.release_id}"))
    if note := ans.filters.get("window_note"):
        lines += ["", f"Searched: {note}"]
    return "\n".join(lines).rstrip()


def register(cli: click.Group, settings_of: Callable[..., Settings]) -> None:
    @cli.command()
    @click.argument("question")
    @click.option("--json", "as_json", is_flag=True, help="Print the Answer JSON.")
    @click.option("--since", help="Only releases dated on/after this ISO date.")
    @click.option("--until", help="Only releases dated on/before this ISO date.")
    @click.option("--as-of", help="The date relative words ('last February') refer to (default today).")
    @click.option("--source", multiple=True, help="Only this archive (repeatable).")
    @click.option("--language", help="Only releases in this language (ISO 639-1).")
    @click.option("--k", type=int, help="Releases given to the answerer (1..50, env PRESSBOT_K).")
    @click.pass_context
    def ask(
        ctx: click.Context,
        question: str,
        as_json: bool,
        since: str | None,
        until: str | None,
        as_of: str | None,
        source: tuple[str, ...],
        language: str | None,
        k: int | None,
    ) -> None:
        """Answer QUESTION from the index, with numbered citations.

        \b
        Examples:
          pressbot ask "Which countries receive the $180 million program?"
          pressbot ask "What did the State Department say about Haiti in June 2021?" --json
          pressbot ask "What was announced last February?" --as-of 2024-03-15
        """
        from pressbot.engine import Engine

        engine = Engine.from_settings(settings_of(ctx))
        ans = engine.answer(
            question, k=k, since=since, until=until, as_of=as_of, source=list(source) or None, language=language
        )
        click.echo(ans.model_dump_json() if as_json else format_answer(ans))
