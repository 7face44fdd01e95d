"""Test helpers shared by unit and integration tests: a real (embedded) index built from
Release objects, with the deterministic hash embedder by default (no model, no network)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from pathlib import Path

from evals.hash_embeddings import HashEmbeddings
from ingest.chunking import Chunker
from ingest.indexer import Indexer
from pressbot.config import Settings
from pressbot.embeddings import PressbotEmbeddings
from pressbot.engine import Engine
from pressbot.index import Index
from pressbot.runtime import open_index
from pressbot.types import Release

SEED_TEXT = (
    "Mexico City, Mexico — Mexico and the U.S. have resumed talks that began in December at the "
    "National Palace.\n\nRegarding collaboration with the rest of the hemisphere, the Mexican delegation "
    "highlighted the great effort initiated to address the root causes of migration. In particular, the "
    "development program in which $180 million dollars will be invested to support Guatemala, Honduras, "
    "El Salvador, Colombia, Ecuador, Venezuela, Cuba and Haiti.\n\nMexico and the United States agreed to "
    "carry out a joint visit to Darién, together with Panama."
)


def release(rid: str, title: str, text: str, date: str | None = None, source: str = "test", **kw: object) -> Release:
    return Release(
        id=rid, title=title, text=text, date=dt.date.fromisoformat(date) if date else None,
        url=kw.pop("url", f"https://example.org/{rid}"), source=source, language=str(kw.pop("language", "en")),
    )


def sample_releases() -> list[Release]:
    return [
        release("seed", "Mexico and the U. S. continue migration talks", SEED_TEXT, None, source="seed", url=None),
        release("wh-haiti", "Statement on Haiti", "The United States will provide $15 million in humanitarian "
                "assistance to Haiti after the earthquake. The aid includes food and shelter.", "2021-08-20"),
        release("wh-climate", "Climate summit", "The President hosted forty world leaders at the Leaders Summit "
                "on Climate. New targets cut emissions by 50 percent by 2030.", "2021-04-22"),
        release("sd-ukraine", "Support for Ukraine", "The Secretary announced $1 billion in security assistance "
                "for Ukraine, including air defense systems.", "2022-06-15", source="statedept"),
        release("sd-ukraine-old", "Support for Ukraine", "The Secretary announced $60 million in security "
                "assistance for Ukraine, including Javelin missiles.", "2021-09-01", source="statedept"),
    ]


def settings_for(tmp_path: Path, **overrides: object) -> Settings:
    values: dict[str, object] = {"data_dir": tmp_path / "data", "embedding_model": "hash-64", "_env_file": None}
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]


def build_index(
    settings: Settings, releases: Iterable[Release], embedder: PressbotEmbeddings | None = None
) -> Index:
    index = open_index(settings, create=True, embedder=embedder or HashEmbeddings(64))
    chunker = Chunker(index.embedder, settings.chunk_tokens, settings.chunk_overlap_sentences)
    Indexer(index, chunker).run(releases)
    return index


def build_engine(tmp_path: Path, releases: Iterable[Release] | None = None, **overrides: object) -> Engine:
    settings = settings_for(tmp_path, **overrides)
    index = build_index(settings, sample_releases() if releases is None else releases)
    return Engine(settings, index)
