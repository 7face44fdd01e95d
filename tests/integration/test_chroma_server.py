"""Ingest and query through a real Chroma server (`chroma run` on 127.0.0.1), the way a
deployment that outgrows the embedded index does it (PRESSBOT_CHROMA_URL)."""

from __future__ import annotations

import json
import logging
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner, Result

from bot.cli import _settings, cli
from ingest.cli import register
from pressbot.config import Settings
from pressbot.engine import Engine
from tests.support import sample_releases

CHROMA = str(Path(sys.executable).with_name("chroma"))

register(cli, _settings)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def chroma_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    root = tmp_path_factory.mktemp("chroma-server")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    with (root / "server.log").open("wb") as log:
        server = subprocess.Popen(
            [CHROMA, "run", "--host", "127.0.0.1", "--port", str(port), "--path", str(root / "db")],
            stdout=log, stderr=subprocess.STDOUT,
        )
        try:
            deadline = time.monotonic() + 60
            while True:
                assert server.poll() is None, (root / "server.log").read_text()
                try:
                    if httpx.get(f"{url}/api/v2/heartbeat", timeout=1).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                assert time.monotonic() < deadline, "chroma run did not answer its heartbeat in 60 s"
                time.sleep(0.2)
            yield url
        finally:
            server.terminate()
            try:
                server.wait(timeout=15)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()


@pytest.fixture(scope="module")
def archive(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("server-archive")
    for rel in sample_releases():
        front = [f"title: {rel.title}"] + ([f"date: {rel.date.isoformat()}"] if rel.date else [])
        front += [f"source_url: {rel.url}"] if rel.url else []
        (root / f"{rel.id}.md").write_text("---\n" + "\n".join(front) + "\n---\n\n" + rel.text + "\n")
    return root


def run(data_dir: Path, url: str, *args: str, model: str = "hash-64") -> Result:
    return CliRunner().invoke(cli, ["--data-dir", str(data_dir), "--chroma-url", url, *args],
                              env={"PRESSBOT_EMBEDDING_MODEL": model})


def test_ingest_and_query_through_a_chroma_server(chroma_url: str, archive: Path, tmp_path: Path) -> None:
    data = tmp_path / "data"
    first = run(data, chroma_url, "ingest", str(archive), "--json", "--source-name", "sample")
    assert first.exit_code == 0, first.output
    summary = json.loads(first.stdout)
    assert (summary["added"], summary["skipped"]) == (5, 0)
    assert not (data / "chroma").exists()  # nothing embedded locally: the server holds it

    stats = json.loads(run(data, chroma_url, "stats", "--json").stdout)
    assert (stats["location"], stats["releases"], stats["embedding_model"]) == (chroma_url, 5, "hash-64")
    assert stats["chunks"] >= 5

    engine = Engine.from_settings(Settings(  # type: ignore[call-arg]
        _env_file=None, data_dir=data, chroma_url=chroma_url, embedding_model="hash-64"))
    result = engine.search("Which countries receive the $180M program?")
    assert result.passages[0].release_id == "seed.md"  # no URL: the path inside the archive
    assert "Guatemala" in result.passages[0].text
    assert result.passages[0].title == "Mexico and the U. S. continue migration talks"
    record = engine.get_release("seed.md")
    assert record is not None and record.n_chunks >= 1

    # incremental through the server too
    again = json.loads(run(data, chroma_url, "ingest", str(archive), "--json", "--source-name", "sample").stdout)
    assert (again["unchanged"], again["chunks_embedded"]) == (5, 0)

    # the collection on the server remembers its model
    other = run(data, chroma_url, "ingest", str(archive), model="hash-32")
    assert other.exit_code == 2 and "--rebuild" in other.stderr and "Traceback" not in other.stderr


def test_an_unreachable_server_is_a_clean_error(tmp_path: Path) -> None:
    result = run(tmp_path / "data", f"http://127.0.0.1:{free_port()}", "stats")
    assert result.exit_code == 2, result.output
    assert result.stderr.startswith("error: ") and "chroma run" in result.stderr


def test_a_new_replica_fetches_the_lexical_copy_the_ingest_job_published(
    chroma_url: str, archive: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    snapshots = tmp_path / "snapshots"
    env = {"PRESSBOT_EMBEDDING_MODEL": "hash-64", "PRESSBOT_COLLECTION": "snapshotted",
           "PRESSBOT_LEXICAL_SNAPSHOTS": str(snapshots)}
    ingest = CliRunner().invoke(cli, ["--data-dir", str(tmp_path / "ingest"), "--chroma-url", chroma_url, "ingest",
                                      str(archive), "--source-name", "sample"], env=env)
    assert ingest.exit_code == 0, ingest.output
    assert len(list(snapshots.glob("snapshotted-*.tar"))) == len(list(snapshots.glob("snapshotted-*.json"))) == 1

    def replica(name: str) -> Engine:
        return Engine.from_settings(Settings(  # type: ignore[call-arg]
            _env_file=None, data_dir=tmp_path / name, chroma_url=chroma_url, embedding_model="hash-64",
            collection="snapshotted", lexical_snapshots=str(snapshots)))

    with caplog.at_level(logging.INFO, "pressbot"):
        result = replica("replica").search("Which countries receive the $180M program?")
    assert result.passages[0].release_id == "seed.md"
    assert "fetched from the snapshot" in caplog.text and "bringing the lexical copy" not in caplog.text
    published = tmp_path / "ingest" / "lexical" / "snapshotted"
    fetched = tmp_path / "replica" / "lexical" / "snapshotted"
    assert {p.name: p.read_bytes() for p in fetched.rglob("*") if p.is_file()} == {
        p.name: p.read_bytes() for p in published.rglob("*") if p.is_file()}

    # a damaged snapshot is refused; the replica builds its copy from Chroma and answers the same
    tar = next(snapshots.glob("*.tar"))
    tar.write_bytes(tar.read_bytes()[:-10] + b"0" * 10)
    caplog.clear()
    with caplog.at_level(logging.INFO, "pressbot"):
        again = replica("replica-2").search("Which countries receive the $180M program?")
    assert "SHA-256" in caplog.text and "bringing the lexical copy" in caplog.text
    assert again.passages[0].release_id == "seed.md"
