"""Flags that delete and locations that cannot hold an index, through the real `pressbot`
command: --prune touches only the source it names and refuses a prune that looks like a mistake,
--rebuild refuses to drop other sources, and a data dir that is a file, missing or read-only is
one clean `error:` line (exit 2) with nothing created, while a read-only index still answers
and is served."""

from __future__ import annotations

import json
import os
import shutil
import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[2]
PRESSBOT = str(Path(sys.executable).with_name("pressbot"))
ENV = {"PRESSBOT_EMBEDDING_MODEL": "hash-64", "HF_HUB_OFFLINE": "1"}


def pressbot(data_dir: Path, *args: str, read_only: Path | None = None) -> subprocess.CompletedProcess[str]:
    """The real command; with `read_only`, that directory is read-only for it."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PRESSBOT_")}
    cmd = [PRESSBOT, "--data-dir", str(data_dir), *args]
    if read_only is not None:
        cmd = _read_only(read_only, cmd)
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120, cwd=ROOT, env={**env, **ENV})


def _read_only(data_dir: Path, cmd: list[str]) -> list[str]:
    """`cmd` run with `data_dir` read-only: a read-only bind mount in a private mount namespace
    when we are root (root writes through file modes), else file modes."""
    if os.geteuid() == 0 and shutil.which("unshare"):
        return ["unshare", "-m", "sh", "-c", 'mount --bind -o ro "$1" "$1" && shift && exec "$@"', "sh",
                str(data_dir), *cmd]
    for path in [data_dir, *data_dir.rglob("*")]:
        path.chmod(path.stat().st_mode & ~0o222)
    return cmd


def user_error(proc: subprocess.CompletedProcess[str], *needles: str) -> None:
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.startswith("error: ") and "Traceback" not in proc.stderr, proc.stderr
    for needle in needles:
        assert needle in proc.stderr, proc.stderr


def folder(root: Path, name: str, n: int, *, first: int = 0) -> Path:
    path = root / name
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True)
    for i in range(first, first + n):
        (path / f"{name}-{i}.md").write_text(  # ids are paths: two archives must not share them
            f"---\ntitle: {name} release {i}\ndate: 2024-02-{1 + i:02d}\n---\n\n"
            f"The {name} office announced measure number {i} on {name} policy. It takes effect at once.\n"
        )
    return path


def sources(data: Path) -> dict[str, int]:
    proc = pressbot(data, "stats", "--json")
    assert proc.returncode == 0, proc.stderr
    return dict(json.loads(proc.stdout)["sources"])


@pytest.fixture()
def two_sources(tmp_path: Path) -> Path:
    data = tmp_path / "data"
    for name in ("sample", "live"):
        assert pressbot(data, "ingest", str(folder(tmp_path, name, 6))).returncode == 0
    assert sources(data) == {"sample": 6, "live": 6}
    return data


def test_prune_of_one_source_leaves_the_other_sources_alone(tmp_path: Path, two_sources: Path) -> None:
    data = two_sources
    live = folder(tmp_path, "live", 5)  # one release withdrawn from the live archive
    proc = pressbot(data, "ingest", str(live), "--prune")
    assert proc.returncode == 0, proc.stderr
    assert "0 added, 0 updated, 5 unchanged, 1 pruned" in proc.stdout
    assert sources(data) == {"sample": 6, "live": 5}

    # a third archive read with --prune: the two stored sources are not in it, and stay
    third = pressbot(data, "ingest", str(folder(tmp_path, "feed", 2)), "--source-name", "feed", "--prune", "--json")
    assert third.returncode == 0, third.stderr
    assert (json.loads(third.stdout)["added"], json.loads(third.stdout)["pruned"]) == (2, 0)
    assert sources(data) == {"sample": 6, "live": 5, "feed": 2}


def test_a_prune_that_looks_like_a_mistake_is_refused_naming_the_count(tmp_path: Path, two_sources: Path) -> None:
    data = two_sources
    partial = folder(tmp_path, "live", 2, first=10)  # a broken export: 2 new files, the 6 stored gone
    proc = pressbot(data, "ingest", str(partial), "--prune")
    user_error(proc, "--prune would remove 6 of the 6 releases of source 'live'", "--force", "--max-prune")
    assert "2 added" in proc.stdout  # the run itself is saved and reported
    assert sources(data) == {"sample": 6, "live": 8}

    over = pressbot(data, "ingest", str(folder(tmp_path, "live", 5, first=10)), "--prune", "--max-prune", "25%")
    user_error(over, "would remove 6 of the 8 releases", "--max-prune 25% = 2 of 8")
    assert sources(data) == {"sample": 6, "live": 11}

    forced = pressbot(data, "ingest", str(partial), "--prune", "--force", "--json")  # now releases 10-14
    assert forced.returncode == 0, forced.stderr
    assert json.loads(forced.stdout)["pruned"] == 6
    assert sources(data) == {"sample": 6, "live": 5}

    bad = pressbot(data, "ingest", str(partial), "--prune", "--max-prune", "lots")
    user_error(bad, "--max-prune 'lots' is neither a count nor a percentage")
    alone = pressbot(data, "ingest", str(partial), "--max-prune", "3")
    user_error(alone, "--max-prune limits --prune")


def test_rebuild_refuses_to_drop_other_sources_unless_forced(tmp_path: Path, two_sources: Path) -> None:
    data = two_sources
    live = tmp_path / "live"
    proc = pressbot(data, "ingest", str(live), "--rebuild")
    user_error(proc, "--rebuild drops the whole index", "'sample': 6", "--force")
    assert sources(data) == {"sample": 6, "live": 6}

    forced = pressbot(data, "ingest", str(live), "--rebuild", "--force")
    assert forced.returncode == 0, forced.stderr
    assert sources(data) == {"live": 6}


def test_a_data_dir_that_is_a_file_is_a_clean_error(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.write_text("not a directory")
    for args in (("ingest", str(folder(tmp_path, "a", 1))), ("stats",), ("ask", "Who spoke?")):
        user_error(pressbot(data, *args), f"{data} is a file, not a directory", "--data-dir")
    assert data.read_text() == "not a directory"


def test_readers_of_a_missing_data_dir_create_nothing(tmp_path: Path) -> None:
    data = tmp_path / "nothing-here"
    for args in (("stats",), ("ask", "Who spoke?")):
        user_error(pressbot(data, *args), "no index at", "pressbot ingest")
    assert not data.exists()


def test_readers_while_the_first_ingest_creates_the_index_find_no_index_and_touch_nothing(tmp_path: Path) -> None:
    """The first ingest's schema transaction, held open: a reader that opened Chroma now would
    apply the schema as well and one of the two would fail ("table collections already exists")."""
    data = tmp_path / "data"
    (data / "chroma").mkdir(parents=True)
    db = data / "chroma" / "chroma.sqlite3"
    writer = sqlite3.connect(db, isolation_level=None)
    writer.execute("BEGIN IMMEDIATE")
    writer.execute("CREATE TABLE collections (id TEXT PRIMARY KEY)")
    try:
        for args in (("stats",), ("ask", "Who spoke?")):
            user_error(pressbot(data, *args), "no index at", "pressbot ingest")
    finally:
        writer.execute("ROLLBACK")
        writer.close()
    assert sorted(p.name for p in (data / "chroma").iterdir()) == ["chroma.sqlite3"]


def test_a_read_only_index_is_asked_and_counted_but_not_written(tmp_path: Path) -> None:
    data = tmp_path / "data"
    assert pressbot(data, "ingest", str(folder(tmp_path, "sample", 3))).returncode == 0
    before = sorted((p.relative_to(data), p.stat().st_size, p.stat().st_mtime_ns) for p in data.rglob("*"))

    stats = pressbot(data, "stats", "--json", read_only=data)
    assert stats.returncode == 0, stats.stderr
    assert json.loads(stats.stdout)["releases"] == 3
    ask = pressbot(data, "ask", "What did the sample office announce as measure number 1?", read_only=data)
    assert ask.returncode == 0, ask.stderr
    assert "measure number 1" in ask.stdout and "[1]" in ask.stdout
    assert "Traceback" not in ask.stderr

    ingest = pressbot(data, "ingest", str(folder(tmp_path, "more", 1)), read_only=data)
    user_error(ingest, f"the index at {data} is read-only", "--data-dir")
    assert sorted((p.relative_to(data), p.stat().st_size, p.stat().st_mtime_ns) for p in data.rglob("*")) == before


def test_a_data_dir_that_cannot_be_created_is_a_clean_error(tmp_path: Path) -> None:
    parent = tmp_path / "locked"
    parent.mkdir()
    proc = pressbot(parent / "data", "ingest", str(folder(tmp_path, "a", 1)), read_only=parent)
    user_error(proc, f"cannot create the index at {parent / 'data'}", "a directory you can write to")
    assert list(parent.iterdir()) == []


def test_a_read_only_index_is_served(tmp_path: Path) -> None:
    data = tmp_path / "data"
    assert pressbot(data, "ingest", str(folder(tmp_path, "sample", 3))).returncode == 0
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {k: v for k, v in os.environ.items() if not k.startswith("PRESSBOT_")}
    env.update(ENV, PRESSBOT_API_TOKENS="read-only-replica-token-1")
    cmd = _read_only(data, [PRESSBOT, "--data-dir", str(data), "serve", "--port", str(port)])
    log = tmp_path / "serve.log"
    with log.open("w") as err:
        proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=err, cwd=ROOT)
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 90
        while True:
            assert proc.poll() is None, log.read_text()
            try:
                if httpx.get(url + "/readyz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.2)
        resp = httpx.post(url + "/v1/ask", json={"question": "What did the sample office announce as measure 2?"},
                          headers={"Authorization": "Bearer read-only-replica-token-1"}, timeout=60)
        assert resp.status_code == 200, resp.text
        assert "measure number 2" in resp.json()["answer"]
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    assert "Traceback" not in log.read_text()


def test_a_field_map_no_record_matches_is_an_error_and_leaves_the_index_clean(tmp_path: Path) -> None:
    data = tmp_path / "data"
    assert pressbot(data, "ingest", str(folder(tmp_path, "sample", 2))).returncode == 0
    export = tmp_path / "export.jsonl"
    export.write_text("".join(json.dumps({"headline": f"Item {i}", "body": f"Text of item {i}."}) + "\n"
                              for i in range(3)))
    proc = pressbot(data, "ingest", str(export), "--field", "text=no.such.key")
    user_error(proc, "no.such.key", "body")  # names the key, and the keys the records have
    figures = json.loads(pressbot(data, "stats", "--json").stdout)
    assert (figures["releases"], figures["state"]) == (2, "clean")
