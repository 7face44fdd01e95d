"""The `pressbot` command: the composition root that wires ingest, the faces and evals.

User errors (bad paths, bad settings, an empty index) print one clean line and exit 2.
"""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path
from typing import Any

import click

from pressbot.config import Settings, load_settings
from pressbot.errors import PressbotError

log = logging.getLogger("pressbot.cli")


class UserError(click.ClickException):
    exit_code = 2

    def show(self, file: Any = None) -> None:
        click.echo(f"error: {self.message}", err=True)


class Group(click.Group):
    """Turns pressbot's own errors into clean messages with exit code 2."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except PressbotError as exc:
            raise UserError(str(exc)) from None


def _settings(ctx: click.Context, **overrides: Any) -> Settings:
    base: dict[str, Any] = dict(ctx.obj or {})
    base.update({k: v for k, v in overrides.items() if v is not None})
    return load_settings(**base)


@click.group(cls=Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--data-dir", type=click.Path(path_type=Path), help="Index location (env PRESSBOT_DATA_DIR).")
@click.option("--collection", help="Index name (env PRESSBOT_COLLECTION).")
@click.option("--chroma-url", help="A Chroma server URL instead of the embedded index (env PRESSBOT_CHROMA_URL).")
@click.option("-v", "--verbose", count=True, help="More log output (-v info, -vv debug).")
@click.version_option(package_name="pressbot")
@click.pass_context
def cli(
    ctx: click.Context, data_dir: Path | None, collection: str | None, chroma_url: str | None, verbose: int
) -> None:
    """pressbot: ask questions of a press-release archive, get answers with numbered citations.

    \b
    Examples:
      pressbot ingest evals/sample_archive           # index a folder (incremental)
      pressbot ingest releases.jsonl --source-name statedept
      pressbot ingest https://example.org/sitemap.xml
      pressbot stats
    """
    ctx.obj = {k: v for k, v in {"data_dir": data_dir, "collection": collection, "chroma_url": chroma_url}.items() if v}
    level = logging.DEBUG if verbose > 1 else logging.INFO if verbose else logging.WARNING
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stderr)


def main() -> None:
    from ingest.cli import register as register_ingest

    register_ingest(cli, _settings)
    _register_faces()
    cli(prog_name="pressbot")


def _register_faces() -> None:
    """Subcommands of the other faces register here as they land."""
    for module in ("bot.ask_cli", "bot.api_cli", "bot.slack_cli", "evals.cli"):
        try:
            mod = __import__(module, fromlist=["register"])
        except ModuleNotFoundError as exc:
            if exc.name != module:
                raise
            continue
        mod.register(cli, _settings)


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Print the figures as JSON.")
@click.pass_context
def stats(ctx: click.Context, as_json: bool) -> None:
    """What the index holds: releases, chunks, date range, model, location.

    \b
    Examples:
      pressbot stats
      pressbot stats --json
    """
    from pressbot.index_stats import index_stats
    from pressbot.runtime import open_index

    figures = index_stats(open_index(_settings(ctx)))
    if as_json:
        click.echo(json.dumps(figures))
        return
    for key, value in figures.items():
        click.echo(f"{key:18} {value}")
