"""Two real `pressbot ingest` processes on one index: they run one after the other, whatever the
timing (started together; the second while the first writes; the first killed while the second
waits; the first paused inside repair), and the index ends exactly as one clean run builds it:
nothing lost, no orphan chunk. Readers never wait for a writer. Against a Chroma server the lock
is a lease that a killed writer's successor takes over once it expires."""

# ruff: noqa: F401, F811 - fixtures imported from the other modules are used as parameters
from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

from tests.integration.test_chroma_server import chroma_url
from tests.integration.test_crash_recovery import (
    ENV,
    N_RELEASES,
    PRESSBOT,
    ROOT,
    Ingest,
    archive,
    clean,
    snapshot,
)

# the writer stops itself (SIGSTOP) as it enters repair, the moment a second writer once used to
# write chunks that the first then deleted as orphans
PAUSE_IN_REPAIR = """
import os, signal, sys
import ingest.indexer
repair = ingest.indexer.repair
def paused_repair(index):
    os.kill(os.getpid(), signal.SIGSTOP)
    return repair(index)
ingest.indexer.repair = paused_repair
from bot.cli import main
sys.argv[0] = "pressbot"
main()
"""

# a writer slow enough (1.2 s a commit, ~12 commits) for a second to start while it writes
SLOW_COMMITS = """
import sys, time
from chromadb.api.models.Collection import Collection
upsert = Collection.upsert
def slow_upsert(self, *args, **kwargs):
    if self.name.endswith("__releases"):
        time.sleep(1.2)
    return upsert(self, *args, **kwargs)
Collection.upsert = slow_upsert
from bot.cli import main
sys.argv[0] = "pressbot"
main()
"""

# a writer that stops itself (SIGSTOP) as it is about to commit its third batch of releases:
# it holds the ingest lock, has written part of the archive, and no Chroma transaction is open
PAUSE_BETWEEN_COMMITS = """
import os, signal, sys
from chromadb.api.models.Collection import Collection
upsert = Collection.upsert
calls = 0
def paused_upsert(self, *args, **kwargs):
    global calls
    if self.name.endswith("__releases"):
        calls += 1
        if calls == 3:
            os.kill(os.getpid(), signal.SIGSTOP)
    return upsert(self, *args, **kwargs)
Collection.upsert = paused_upsert
from bot.cli import main
sys.argv[0] = "pressbot"
main()
"""

WAITING = b"is writing the index at"


def is_stopped(pid: int) -> bool:
    stat = Path(f"/proc/{pid}/stat").read_text()
    return stat.rsplit(")", 1)[1].split()[0] == "T"


def wait_for(condition: Any, what: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def same_as_clean(data: Path, clean: dict[str, Any], **settings: str) -> None:
    got = snapshot(data, **settings)
    assert got["releases"] == clean["releases"]
    assert got["chunks"] == clean["chunks"]


def writer_and_waiting_second(data: Path, archive: Path, fraction: float,
                              env: dict[str, str] | None = None) -> tuple[Ingest, Ingest]:
    """A slow writer that has read `fraction` of the archive, and a second ingest that waits for it."""
    first = Ingest(data, archive, env=env, script=SLOW_COMMITS)
    first.wait_until_read(fraction)
    second = Ingest(data, archive, env=env)
    wait_for(lambda: WAITING in second.stderr, "the second ingest to say it waits")
    return first, second


def stats(data: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PRESSBOT_")}
    return subprocess.run([PRESSBOT, "--data-dir", str(data), *args, "stats", "--json"], capture_output=True,
                          text=True, timeout=60, cwd=ROOT, env={**env, **ENV, "HF_HUB_OFFLINE": "1"})


def test_two_ingests_started_together_run_one_after_the_other(archive: Path, clean: dict[str, Any],
                                                              tmp_path: Path) -> None:
    data = tmp_path / "data"
    first, second = Ingest(data, archive), Ingest(data, archive)
    summaries = sorted((first.finish(), second.finish()), key=lambda s: s["added"])
    # one wrote everything, the other waited and then found it all in place
    assert (summaries[0]["added"], summaries[0]["unchanged"]) == (0, N_RELEASES - 5)
    assert summaries[1]["added"] + summaries[1]["duplicates"] == N_RELEASES
    assert WAITING in first.stderr + second.stderr
    same_as_clean(data, clean)


def test_a_second_ingest_during_the_write_waits_and_a_reader_does_not(archive: Path, clean: dict[str, Any],
                                                                     tmp_path: Path) -> None:
    """A reader waits for no ingest, even one stopped half way through its run. (What it can wait
    for is a Chroma transaction in flight: every Chroma client records its start in the index,
    which takes SQLite's write lock for a moment; see `ingest.writer_lock`.)"""
    data = tmp_path / "data"
    first = Ingest(data, archive, script=PAUSE_BETWEEN_COMMITS)
    try:
        wait_for(lambda: is_stopped(first.proc.pid), "the writer to stop half way")
        second = Ingest(data, archive)
        wait_for(lambda: WAITING in second.stderr, "the second ingest to say it waits")
        reader = stats(data)
    finally:
        first.proc.send_signal(signal.SIGCONT)
    assert reader.returncode == 0, reader.stderr  # the reader did not wait for it
    assert json.loads(reader.stdout)["releases"] > 0
    assert first.finish()["added"] > 0
    assert second.finish()["unchanged"] == N_RELEASES - 5
    same_as_clean(data, clean)


def test_a_writer_killed_while_another_waits_is_repaired_by_it(archive: Path, clean: dict[str, Any],
                                                              tmp_path: Path) -> None:
    data = tmp_path / "data"
    first, second = writer_and_waiting_second(data, archive, 0.4)
    first.proc.send_signal(signal.SIGKILL)
    assert first.close() == -signal.SIGKILL
    summary = second.finish()
    assert summary["unchanged"] > 0 and summary["added"] > 0  # it took over half way
    assert summary["unchanged"] + summary["added"] + summary["duplicates"] == N_RELEASES
    same_as_clean(data, clean)


def test_a_writer_paused_in_repair_keeps_the_index_and_loses_nothing(archive: Path, clean: dict[str, Any],
                                                                    tmp_path: Path) -> None:
    data = tmp_path / "data"
    Ingest(data, archive).kill_at(0.5)  # leaves the index dirty: the next writer repairs first
    paused = Ingest(data, archive, script=PAUSE_IN_REPAIR)
    wait_for(lambda: Path(f"/proc/{paused.proc.pid}/stat").read_text().split()[2] == "T", "the pause in repair")

    refused = Ingest(data, archive, args=("--wait-timeout", "1"))
    assert refused.close(timeout=60) == 2
    message = refused.stderr.decode()
    assert message.startswith("error: ") or "\nerror: " in message, message
    assert f"another ingest (pid {paused.proc.pid}" in message and "--wait-timeout" in message
    assert "Traceback" not in message
    assert stats(data).returncode == 0  # readers still read

    paused.proc.send_signal(signal.SIGCONT)
    summary = paused.finish()
    assert summary["repaired"] and summary["unchanged"] > 0
    same_as_clean(data, clean)


def test_a_killed_writers_lease_on_a_chroma_server_expires_and_the_next_takes_over(
    archive: Path, clean: dict[str, Any], chroma_url: str, tmp_path: Path
) -> None:
    data = tmp_path / "data"
    server = {"PRESSBOT_CHROMA_URL": chroma_url, "PRESSBOT_COLLECTION": "leased", "PRESSBOT_WRITER_LEASE_S": "3"}
    first, second = writer_and_waiting_second(data, archive, 0.4, env=server)
    first.proc.send_signal(signal.SIGKILL)  # its lease is never released, only expires
    assert first.close() == -signal.SIGKILL
    summary = second.finish()
    assert summary["unchanged"] > 0 and summary["added"] > 0
    assert summary["repaired"] is not None
    same_as_clean(data, clean, chroma_url=chroma_url, collection="leased")
    figures = json.loads(stats(data, "--chroma-url", chroma_url, "--collection", "leased").stdout)
    assert figures["releases"] == N_RELEASES - 5 and figures["state"] == "clean"


def test_wait_timeout_zero_refuses_at_once(archive: Path, tmp_path: Path) -> None:
    data = tmp_path / "data"
    first = Ingest(data, archive, script=SLOW_COMMITS)
    first.wait_until_read(0.2)
    refused = Ingest(data, archive, args=("--wait-timeout", "0"))
    assert refused.close(timeout=60) == 2
    assert first.proc.poll() is None  # refused while the first still ran: it did not wait
    assert "gave up after waiting 0 s" in refused.stderr.decode()
    first.finish()
