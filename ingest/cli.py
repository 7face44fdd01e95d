"""`pressbot ingest`: read an archive into the index, incrementally."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import click

from pressbot.config import Settings
from pressbot.errors import ConfigError

if TYPE_CHECKING:
    from pressbot.index import Index


def _field_map(pairs: tuple[str, ...]) -> dict[str, str] | None:
    out = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key or not value:
            raise ConfigError(f"--field {pair!r} is not KEY=NAME; e.g. --field title=headline --field text=body")
        out[key.strip()] = value.strip()
    return out or None


def register(cli: click.Group, settings_of: Callable[..., Settings]) -> None:
    @cli.command()
    @click.argument("source")
    @click.option("--source-name", help="Archive name stored with each release (default: folder/file/host name).")
    @click.option(
        "--field",
        "fields",
        multiple=True,
        metavar="KEY=NAME",
        help="JSON field map, e.g. --field text=body --field date=pub (repeatable).",
    )
    @click.option(
        "--prune", is_flag=True, help="Remove releases of this source (by --source-name) that are no longer in it."
    )
    @click.option(
        "--max-prune",
        metavar="N|N%",
        help="Refuse a prune of more than N releases or N% of the source's (default 50%; never all without --force).",
    )
    @click.option("--rebuild", is_flag=True, help="Drop the index and build it again from the source.")
    @click.option("--force", is_flag=True, help="Prune past --max-prune; rebuild an index that holds other sources.")
    @click.option(
        "--wait-timeout",
        type=click.FloatRange(min=0),
        default=600.0,
        show_default=True,
        metavar="SECONDS",
        help="How long to wait for another ingest into the same index to finish (0: refuse at once).",
    )
    @click.option("--strict", is_flag=True, help="Exit 1 when any item was skipped.")
    @click.option("--json", "as_json", is_flag=True, help="Print a one-line JSON summary.")
    @click.option("--progress/--no-progress", default=None, help="Progress bar (default: on a terminal).")
    @click.pass_context
    def ingest(
        ctx: click.Context,
        source: str,
        source_name: str | None,
        fields: tuple[str, ...],
        prune: bool,
        max_prune: str | None,
        rebuild: bool,
        force: bool,
        wait_timeout: float,
        strict: bool,
        as_json: bool,
        progress: bool | None,
    ) -> None:
        """Ingest SOURCE (a folder, a .jsonl/.json export, a file, or an http(s) URL of a page,
        sitemap.xml or RSS/Atom feed) into the index. Unchanged releases cost nothing.

        \b
        Examples:
          pressbot ingest evals/sample_archive
          pressbot ingest press_releases.jsonl --source-name statedept --field date=published
          pressbot ingest https://example.org/feed.xml --source-name example --prune
          pressbot ingest archive/ --rebuild --json
        """
        from ingest.chunking import Chunker
        from ingest.indexer import Indexer
        from ingest.prune import PruneLimit
        from ingest.sources import open_source
        from ingest.writer_lock import writer_lock
        from pressbot.embeddings import build_embeddings, set_threads
        from pressbot.index import Index
        from pressbot.runtime import quiet_libraries

        settings = settings_of(ctx)
        limit = PruneLimit.parse(max_prune, force=force) if prune else None
        if max_prune is not None and not prune:
            raise ConfigError("--max-prune limits --prune; add --prune, or leave --max-prune out")
        src = open_source(source, settings, field_map=_field_map(fields), source_name=source_name)
        quiet_libraries()
        set_threads(settings.torch_threads)
        def on_wait(msg: str) -> None:
            click.echo(msg, err=True)

        with writer_lock(settings, wait_s=wait_timeout, on_wait=on_wait) as (client, lock):
            index = Index(client, settings, build_embeddings(settings))
            index.guard = lock.check
            if rebuild:
                _refuse_rebuild_over_other_sources(index, src.name, force)
                index.drop()  # before opening: a rebuild is how a new embedding model replaces the old
            index.open(create=True)
            chunker = Chunker(index.embedder, settings.chunk_tokens, settings.chunk_overlap_sentences)
            show = sys.stderr.isatty() if progress is None else progress
            bar = _progress_bar(src, show)
            try:
                summary = Indexer(index, chunker, batch_chunks=max(settings.embedding_batch_size * 4, 64)).run(
                    src, source=src.name, prune=limit, on_item=(lambda _item: bar.update(1)) if bar else None
                )
            finally:
                if bar:
                    bar.close()
        if as_json:
            click.echo(json.dumps({"source": source, **summary.to_json()}))
        else:
            _print_summary(source, summary.to_json(), summary.skipped_examples)
        if summary.prune_refused:
            raise ConfigError(summary.prune_refused)
        if strict and summary.skipped:
            raise click.exceptions.Exit(1)


def _refuse_rebuild_over_other_sources(index: Index, name: str, force: bool) -> None:
    """A rebuild drops the whole index: refuse when that would lose other sources' releases."""
    others = {s: n for s, n in index.sources().items() if s != name}
    if others and not force:
        listed = ", ".join(f"{s!r}: {n}" for s, n in sorted(others.items()))
        raise ConfigError(
            f"--rebuild drops the whole index, which also holds releases of other sources ({listed}); "
            "they would be lost. Ingest this source without --rebuild, or pass --force and ingest the "
            "others again afterwards"
        )


def _progress_bar(src: Any, show: bool) -> Any:
    if not show:
        return None
    from tqdm import tqdm

    total = src.estimate() if hasattr(src, "estimate") else None
    return tqdm(total=total, unit="release", desc="ingest", file=sys.stderr, dynamic_ncols=True)


def _print_summary(source: str, s: dict[str, Any], examples: list[Any]) -> None:
    click.echo(
        f"{source}: {s['added']} added, {s['updated']} updated, {s['unchanged']} unchanged, "
        f"{s['pruned']} pruned, {s['duplicates']} duplicate bodies, {s['skipped']} skipped "
        f"({s['chunks_embedded']} chunks embedded in {s['elapsed_s']} s)"
    )
    for reason, n in sorted(s["skipped_by_reason"].items()):
        click.echo(f"  skipped {n} x {reason}")
    for skip in examples[:10]:
        click.echo(f"    {skip.location}: {skip.reason} ({skip.detail})")
    if s["skipped"] > 10:
        click.echo(f"    ... and {s['skipped'] - 10} more (`pressbot -v ingest ...` logs every skip)")
    if s["repaired"] and any(s["repaired"].values()):
        click.echo(f"  repaired an interrupted run: {s['repaired']}")
