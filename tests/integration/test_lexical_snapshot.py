"""Snapshots of the lexical copy: published once, fetched whole and verified, or refused."""

from __future__ import annotations

import functools
import json
import logging
import threading
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from pressbot import lexical_snapshot

FP = "7:1200:all-MiniLM-L6-v2+onnx-int8"


def copy_at(root: Path, marker: str = "a") -> Path:
    """A lexical copy as the snapshot sees one: files, some in a subdirectory."""
    root.mkdir(parents=True)
    (root / "rows.json").write_text(json.dumps({"ids": [marker]}))
    (root / "vectors.f32").write_bytes(bytes(range(256)) * 64)
    (root / "bm25").mkdir()
    (root / "bm25" / "vocab.index.json").write_text('{"program": 0}')
    return root


def files(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture
def http_dir(tmp_path: Path) -> Iterator[tuple[Path, str]]:
    root = tmp_path / "served"
    root.mkdir()
    handler = functools.partial(SimpleHTTPRequestHandler, directory=str(root))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield root, f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_published_copy_is_fetched_whole_from_a_directory(tmp_path: Path) -> None:
    source = copy_at(tmp_path / "ingest" / "lexical" / "pressbot")
    manifest = lexical_snapshot.publish(str(tmp_path / "snaps"), "pressbot", FP, source)
    assert manifest is not None and manifest.name == "pressbot-7_1200_all-MiniLM-L6-v2_onnx-int8.json"
    assert json.loads(manifest.read_text())["fingerprint"] == FP
    assert lexical_snapshot.publish(str(tmp_path / "snaps"), "pressbot", FP, source) is None  # already there

    dest = tmp_path / "replica" / "lexical" / "pressbot"
    assert lexical_snapshot.fetch(str(tmp_path / "snaps"), "pressbot", FP, dest)
    assert files(dest) == files(source)
    assert [p.name for p in dest.parent.iterdir()] == ["pressbot"]  # no temp dirs left


def test_fetched_over_http_replacing_a_stale_copy(tmp_path: Path, http_dir: tuple[Path, str]) -> None:
    served, url = http_dir
    source = copy_at(tmp_path / "ingest", marker="new")
    lexical_snapshot.publish(str(served), "pressbot", FP, source)
    dest = copy_at(tmp_path / "replica" / "pressbot", marker="old")
    assert lexical_snapshot.fetch(url, "pressbot", FP, dest)
    assert files(dest) == files(source)


def test_nothing_published_for_this_fingerprint(tmp_path: Path, http_dir: tuple[Path, str]) -> None:
    served, url = http_dir
    lexical_snapshot.publish(str(served), "pressbot", FP, copy_at(tmp_path / "ingest"))
    for where in (str(served), url):
        assert not lexical_snapshot.fetch(where, "pressbot", "8:1300:all-MiniLM-L6-v2+onnx-int8", tmp_path / "r")
    assert not (tmp_path / "r").exists()


def test_a_corrupt_archive_is_refused_and_the_old_copy_kept(
    tmp_path: Path, http_dir: tuple[Path, str], caplog: pytest.LogCaptureFixture
) -> None:
    served, url = http_dir
    lexical_snapshot.publish(str(served), "pressbot", FP, copy_at(tmp_path / "ingest"))
    archive = next(served.glob("*.tar"))
    data = bytearray(archive.read_bytes())
    data[len(data) // 2] ^= 0xFF  # same size, one byte flipped
    archive.write_bytes(bytes(data))
    dest = copy_at(tmp_path / "replica" / "pressbot", marker="old")
    before = files(dest)
    with caplog.at_level(logging.WARNING, "pressbot.lexical_snapshot"):
        assert not lexical_snapshot.fetch(url, "pressbot", FP, dest)
    assert "SHA-256" in caplog.text and "building from Chroma" in caplog.text
    assert files(dest) == before
    archive.write_bytes(bytes(data[:100]))  # truncated
    assert not lexical_snapshot.fetch(str(served), "pressbot", FP, dest)
    assert files(dest) == before


def test_the_publisher_keeps_the_newest_two(tmp_path: Path) -> None:
    out = tmp_path / "snaps"
    for gen in range(1, 5):
        lexical_snapshot.publish(str(out), "pressbot", f"{gen}:10:m", copy_at(tmp_path / f"c{gen}"))
        lexical_snapshot.publish(str(out), "other", f"{gen}:10:m", copy_at(tmp_path / f"o{gen}"))
    names = sorted(p.name for p in out.iterdir())
    assert [n for n in names if n.startswith("pressbot")] == [
        "pressbot-3_10_m.json", "pressbot-3_10_m.tar", "pressbot-4_10_m.json", "pressbot-4_10_m.tar"]
    assert len([n for n in names if n.startswith("other")]) == 4  # another collection's are its own


def test_a_url_is_not_a_place_to_publish(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, "pressbot.lexical_snapshot"):
        assert lexical_snapshot.publish("https://example.org/s", "pressbot", FP, copy_at(tmp_path / "c")) is None
    assert "publishes to a directory" in caplog.text
