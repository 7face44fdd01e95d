"""Kill a real `pressbot ingest` process with SIGKILL mid-run, run it again, and check the index
is exactly what one clean run builds: no duplicate chunks, no chunk without its release, no
release with missing chunks, the lexical index in step."""

from __future__ import annotations

import json
import os
import random
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from bot.cli import _settings, cli
from evals.hash_embeddings import HashEmbeddings
from ingest.cli import register
from pressbot.runtime import open_index
from tests.support import settings_for

ROOT = Path(__file__).resolve().parents[2]
PRESSBOT = str(Path(sys.executable).with_name("pressbot"))
N_RELEASES = 200
# fast model-free vectors; small embedding batches so the run commits in many small steps
ENV = {"PRESSBOT_EMBEDDING_MODEL": "hash-64", "PRESSBOT_EMBEDDING_BATCH_SIZE": "16"}
_PROGRESS = re.compile(rb"(\d+)/(\d+) \[")

register(cli, _settings)

WORDS = ["border", "migration", "program", "funding", "talks", "delegation", "agreement", "security", "trade",
         "climate", "energy", "health", "visas", "asylum", "ports", "customs", "tariffs", "investment", "workers"]


def make_archive(root: Path) -> None:
    """Markdown with front matter and plain text releases, a few with duplicate bodies."""
    rng = random.Random(7)
    bodies = []
    for i in range(N_RELEASES):
        if i % 40 == 39:
            body = bodies[i - 20]  # an exact duplicate body under another path
        else:
            body = " ".join(
                f"Release {i} sentence {j} covers {rng.choice(WORDS)} and {rng.choice(WORDS)} with "
                f"${rng.randint(1, 900)} million for {rng.choice(WORDS)}." for j in range(rng.randint(5, 30))
            )
        bodies.append(body)
        folder = root / str(2021 + i % 5)
        folder.mkdir(parents=True, exist_ok=True)
        if i % 2:
            date = f"{2021 + i % 5}-{1 + i % 12:02d}-{1 + i % 28:02d}"
            (folder / f"r{i:04d}.md").write_text(f"---\ntitle: Release number {i}\ndate: {date}\n---\n\n{body}\n")
        else:
            (folder / f"r{i:04d}.txt").write_text(f"Release number {i}\n\n{body}\n")


def snapshot(data_dir: Path, **settings: str) -> dict[str, Any]:
    """Everything the index holds, checked for internal consistency on the way."""
    index = open_index(settings_for(data_dir.parent, data_dir=data_dir, **settings), embedder=HashEmbeddings(64))
    releases = {r.id: (r.content_hash, r.n_chunks, tuple(sorted(r.aliases))) for r in index.iter_releases()}
    chunks: dict[str, tuple[str, str, int]] = {}
    for cid, doc, meta in index.iter_chunks():
        assert cid not in chunks, f"duplicate chunk {cid}"
        chunks[cid] = (doc, str(meta["release_id"]), int(meta["n"]))
    orphans = {cid for cid, (_, rid, _) in chunks.items() if rid not in releases}
    assert not orphans, f"chunks without their release: {sorted(orphans)[:5]}"
    for rid, (_, n_chunks, _) in releases.items():
        have = sorted(n for _, r, n in chunks.values() if r == rid)
        assert have == list(range(n_chunks)), f"{rid}: chunks {have}, expected 0..{n_chunks - 1}"
    assert index.chunks.count() == len(chunks)
    assert index.meta()["state"] == "clean"
    assert sorted(index.lexical().ids) == sorted(chunks)
    # the vector side answers with existing, distinct chunks only
    hits = index.chunks.query(query_embeddings=[index.embedder.encode_query("border funding")], n_results=50)
    assert len(set(hits["ids"][0])) == 50 and set(hits["ids"][0]) <= set(chunks)
    return {"releases": releases, "chunks": chunks}


# The worst moment to die: a batch's chunks are written, its release records (the commit) are
# not. Too brief to hit from outside, so the process kills itself right there, with SIGKILL.
DIE_BEFORE_COMMIT = """
import os, signal, sys
from chromadb.api.models.Collection import Collection
upsert, batches = Collection.upsert, [0]
def dying_upsert(self, *args, **kwargs):
    if self.name.endswith("__releases"):
        batches[0] += 1
        if batches[0] == int(os.environ["DIE_AT_COMMIT"]):
            os.kill(os.getpid(), signal.SIGKILL)
    return upsert(self, *args, **kwargs)
Collection.upsert = dying_upsert
from bot.cli import main
sys.argv[0] = "pressbot"
main()
"""


class Ingest:
    """A real `pressbot ingest` process whose progress bar is followed from its stderr."""

    def __init__(self, data_dir: Path, archive: Path, die_at_commit: int = 0, *, args: tuple[str, ...] = (),
                 env: dict[str, str] | None = None, script: str | None = None) -> None:
        """`args` go after `ingest ARCHIVE`; `script` runs instead of the console script (a hook)."""
        full_env = {k: v for k, v in os.environ.items() if not k.startswith("PRESSBOT_")}
        full_env.update(ENV, HF_HUB_OFFLINE="1", DIE_AT_COMMIT=str(die_at_commit), **(env or {}))
        script = script or (DIE_BEFORE_COMMIT if die_at_commit else None)
        command = [sys.executable, "-c", script] if script else [PRESSBOT]
        self.proc = subprocess.Popen(
            [*command, "--data-dir", str(data_dir), "ingest", str(archive), "--progress", "--json", *args],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=ROOT, env=full_env,
        )
        self.stderr = b""
        self.seen = 0
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stderr is not None
        while chunk := os.read(self.proc.stderr.fileno(), 4096):
            self.stderr += chunk
            if found := _PROGRESS.findall(self.stderr[-200:]):
                self.seen = int(found[-1][0])

    def wait_until_read(self, fraction: float, timeout: float = 90) -> None:
        """Return once the run has read `fraction` of the archive (its progress bar counts
        releases read; commits trail it by up to one batch)."""
        deadline = time.monotonic() + timeout
        while self.seen < fraction * N_RELEASES:
            assert self.proc.poll() is None, f"finished too early:\n{self.stderr.decode()[-2000:]}"
            assert time.monotonic() < deadline, "no progress"
            time.sleep(0.02)

    def kill_at(self, fraction: float, timeout: float = 90) -> int:
        """SIGKILL once the run has read `fraction` of the archive; returns how far it got."""
        self.wait_until_read(fraction, timeout)
        self.proc.send_signal(signal.SIGKILL)
        assert self.close() == -signal.SIGKILL
        return self.seen

    def close(self, timeout: float = 30) -> int:
        if self.proc.poll() is None and timeout == 0:
            self.proc.kill()
        code = self.proc.wait(timeout=timeout or 30)
        self._reader.join(timeout=5)
        for pipe in (self.proc.stdout, self.proc.stderr):
            assert pipe is not None
            pipe.close()
        return code

    def finish(self) -> dict[str, Any]:
        assert self.proc.stdout is not None
        out = self.proc.stdout.read()
        assert self.close(timeout=120) == 0, self.stderr.decode()[-3000:]
        return json.loads(out)


def ingest_in_process(data: Path, archive: Path) -> dict[str, Any]:
    result = CliRunner().invoke(cli, ["--data-dir", str(data), "ingest", str(archive), "--json"], env=ENV)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


@pytest.fixture(scope="module")
def archive(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("crash-archive")
    make_archive(root)
    return root


@pytest.fixture(scope="module")
def clean(archive: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The reference: one uninterrupted run (in-process; the same CLI code)."""
    data = tmp_path_factory.mktemp("clean") / "data"
    summary = ingest_in_process(data, archive)
    assert summary["added"] + summary["duplicates"] == N_RELEASES and summary["duplicates"] == 5
    return snapshot(data)


def test_killed_between_chunks_and_commit(archive: Path, clean: dict[str, Any], tmp_path: Path) -> None:
    data = tmp_path / "data"
    run = Ingest(data, archive, die_at_commit=3)
    assert run.close(timeout=120) == -signal.SIGKILL
    summary = recover_and_compare(data, archive, clean)
    # the dead run left the chunks of its last batch without their release records
    assert summary["repaired"]["orphan_chunks"] > 0


def test_killed_mid_run_and_again_while_recovering(archive: Path, clean: dict[str, Any], tmp_path: Path) -> None:
    data = tmp_path / "data"
    # the second kill hits the run that is recovering from the first; progress moves in steps of
    # a batch (about 20 releases), so the fractions leave a few batches still to commit
    for fraction in (0.4, 0.75):
        run = Ingest(data, archive)
        try:
            run.kill_at(fraction)
        finally:
            if run.proc.returncode is None:
                run.close(timeout=0)  # the test failed before the kill: do not leave it running
    recover_and_compare(data, archive, clean)


def recover_and_compare(data: Path, archive: Path, clean: dict[str, Any]) -> dict[str, Any]:
    summary = Ingest(data, archive).finish()
    # the kill really was mid-run: part of the archive was committed before it, part was not
    assert 0 < summary["unchanged"] < N_RELEASES - 5, summary
    assert summary["added"] > 0
    assert summary["unchanged"] + summary["added"] + summary["duplicates"] == N_RELEASES
    assert summary["updated"] == 0

    recovered = snapshot(data)
    assert recovered["releases"] == clean["releases"]
    assert recovered["chunks"] == clean["chunks"]

    again = ingest_in_process(data, archive)  # and the recovered index is a normal one
    assert (again["unchanged"], again["chunks_embedded"], again["repaired"]) == (N_RELEASES - 5, 0, {})
    return summary
