"""Cold-start benchmark: how fast a new replica is ready against a Chroma server holding the
whole shared corpus, and how much memory it takes.

    PRESSBOT_CORPUS=... .venv/bin/python -m evals.bench_cold_start [--cache DIR] [--chunks 256000]
        [--json evals/out/cold_start.json]

1. The index: the search benchmark's latency index (`evals/bench_corpus.py`: real chunks of the
   corpus in `$PRESSBOT_CORPUS`, hash stand-in vectors, written as ingest writes them) of
   --chunks chunks, or the whole corpus when it has fewer; built once into --cache and reused
   (`built.json` marks a complete build). Its Chroma directory is the persist dir of a
   `chroma run` on 127.0.0.1, as in the scaled-out deployment (docs/deploy.md); its data dir is
   the ingest job's (the lexical copy and sentence vectors it wrote beside Chroma).
2. Cold: `pressbot serve` with an empty data dir and PRESSBOT_CHROMA_URL set, timed from the
   process start to the first 200 from GET /readyz; the resident memory of its process tree
   (VmRSS from /proc, children included) sampled every 0.1 s: at ready and the peak.
3. Warm: the same replica started again on the data dir the cold start left.
4. Snapshot: a replica with another empty data dir and PRESSBOT_LEXICAL_SNAPSHOTS, fetching over
   HTTP (a static server on 127.0.0.1) the snapshot published from the cold replica's copy (the
   one the ingest job publishes: same Chroma, same code; see `pressbot.lexical_snapshot`).

--profile then times the parts of a lexical build from the server in this process.

Prints each beside the goal (ready <= 60 s, RSS <= 1 GB) with PASS/FAIL, and the time the cold
replica spent bringing its lexical copy in step with Chroma (from its log).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path

import httpx
import numpy as np

from evals.bench_corpus import DEFAULT_CACHE, build_latency_index
from pressbot import lexical_snapshot

BIN = Path(sys.executable).parent
READY_TARGET_S = 60.0
RSS_TARGET_MB = 1024.0
MB = 1024 * 1024


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def tree_rss(pid: int) -> int:
    """Resident bytes of a process and its descendants (Linux /proc; 0 once it is gone)."""
    total, todo = 0, [pid]
    while todo:
        p = todo.pop()
        try:
            status = Path(f"/proc/{p}/status").read_text()
            total += int(re.search(r"^VmRSS:\s+(\d+) kB", status, re.M).group(1)) * 1024  # type: ignore[union-attr]
            for task in Path(f"/proc/{p}/task").iterdir():
                todo += [int(c) for c in (task / "children").read_text().split()]
        except (OSError, AttributeError):
            continue
    return total


class RssSampler(threading.Thread):
    """The peak resident memory of a process tree, sampled every `every` seconds."""

    def __init__(self, pid: int, every: float = 0.1) -> None:
        super().__init__(daemon=True)
        self.pid, self.every = pid, every
        self.peak = 0
        self.stopped = threading.Event()

    def run(self) -> None:
        while not self.stopped.is_set():
            self.peak = max(self.peak, tree_rss(self.pid))
            self.stopped.wait(self.every)


def wait_until(url: str, proc: subprocess.Popen[bytes], log: Path, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"{proc.args[0]} exited:\n{log.read_text()[-3000:]}")
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    proc.terminate()
    raise SystemExit(f"{url} did not answer 200 within {timeout_s:.0f} s:\n{log.read_text()[-3000:]}")


def stop(proc: subprocess.Popen[bytes]) -> None:
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


@dataclass
class Start:
    name: str
    ready_s: float
    rss_ready_mb: float
    rss_peak_mb: float
    lexical_s: float | None = None  # from the log's "lexical copy ... unusable" to "engine ready"
    engine_s: float | None = None  # as the replica logs it: the engine load, model and warm-up search included
    log_tail: list[str] = field(default_factory=list)

    def row(self) -> str:
        ok_t = "PASS" if self.ready_s <= READY_TARGET_S else "FAIL"
        ok_m = "PASS" if self.rss_peak_mb <= RSS_TARGET_MB else "FAIL"
        lex = f"{self.lexical_s:>10.1f}" if self.lexical_s is not None else f"{'-':>10}"
        return (f"{self.name:<8} {self.ready_s:>9.1f} {ok_t:<4} {self.rss_ready_mb:>10.0f} "
                f"{self.rss_peak_mb:>9.0f} {ok_m:<4} {lex}")


def _log_seconds(log: str) -> tuple[float | None, float | None]:
    """(lexical build seconds, engine load seconds) from the replica's log (timestamps to ms)."""
    stamps = {}
    for line in log.splitlines():
        m = re.match(r"(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d),(\d{3})", line)
        if not m:
            continue
        t = time.mktime(time.strptime(m.group(1), "%Y-%m-%d %H:%M:%S")) + int(m.group(2)) / 1000
        if "lexical" in line and "unusable" in line and "lexical" not in stamps:
            stamps["lexical"] = t  # its copy missing: built from Chroma, or fetched from a snapshot
        if "engine ready in" in line:
            stamps["ready"] = t
            engine = re.search(r"engine ready in ([\d.]+) s", line)
            stamps["engine"] = float(engine.group(1)) if engine else None  # type: ignore[assignment]
    lexical = stamps["ready"] - stamps["lexical"] if {"lexical", "ready"} <= stamps.keys() else None
    return lexical, stamps.get("engine")


def start_replica(name: str, data_dir: Path, chroma_url: str, log: Path, timeout_s: float,
                  extra_env: dict[str, str] | None = None) -> Start:
    port = free_port()
    # the replica's settings are the defaults (model, backend, collection) plus the server: what
    # the index was built with; nothing from this shell's PRESSBOT_* leaks in
    env = {k: v for k, v in os.environ.items() if not k.startswith("PRESSBOT_")}
    env.update(HF_HUB_OFFLINE="1", PRESSBOT_CHROMA_URL=chroma_url, **(extra_env or {}))
    args = [str(BIN / "pressbot"), "-v", "--data-dir", str(data_dir), "serve", "--port", str(port)]
    with log.open("w") as fh:
        t0 = time.perf_counter()
        proc = subprocess.Popen(args, env=env, stdout=fh, stderr=subprocess.STDOUT)
    sampler = RssSampler(proc.pid)
    sampler.start()
    try:
        wait_until(f"http://127.0.0.1:{port}/readyz", proc, log, timeout_s)
        ready_s = time.perf_counter() - t0
        rss_ready = tree_rss(proc.pid)
        sampler.stopped.set()
        sampler.join()
    finally:
        sampler.stopped.set()
        stop(proc)
    text = log.read_text()
    lexical_s, engine_s = _log_seconds(text)
    return Start(name, round(ready_s, 1), round(rss_ready / MB), round(max(sampler.peak, rss_ready) / MB),
                 None if lexical_s is None else round(lexical_s, 1), engine_s, text.splitlines()[-8:])


def profile_lexical_build(chroma_url: str, out: Path) -> dict[str, float]:
    """Where a cold replica's lexical build spends its time, in this process against the same
    server: reading the chunk ids and metadata from Chroma, reading texts and vectors from
    Chroma, tokenising and writing the rows, and the BM25 matrix at the end (`finish`)."""
    from pressbot import lexical_store
    from pressbot.config import load_settings
    from pressbot.runtime import open_index

    index = open_index(load_settings(data_dir=out, chroma_url=chroma_url))
    spent = {"chroma_metadata_s": 0.0, "chroma_texts_vectors_s": 0.0, "bm25_matrix_and_save_s": 0.0}

    def pages() -> Iterator[lexical_store.Page]:
        it = iter(index.chunk_metadata_pages())
        while True:
            t0 = time.perf_counter()
            page = next(it, None)
            spent["chroma_metadata_s"] += time.perf_counter() - t0
            if page is None:
                return
            yield page

    def fetch(ids: list[str]) -> Mapping[str, tuple[str, np.ndarray]]:
        t0 = time.perf_counter()
        try:
            return index._texts_and_vectors(ids)
        finally:
            spent["chroma_texts_vectors_s"] += time.perf_counter() - t0

    finish = lexical_store._Writer.finish

    def timed_finish(self: lexical_store._Writer, fingerprint: str) -> None:
        t0 = time.perf_counter()
        finish(self, fingerprint)
        spent["bm25_matrix_and_save_s"] += time.perf_counter() - t0

    lexical_store._Writer.finish = timed_finish  # type: ignore[method-assign]
    t0 = time.perf_counter()
    try:
        lexical_store.write(index.settings.lexical_path, index.fingerprint(), pages(), fetch)
    finally:
        lexical_store._Writer.finish = finish  # type: ignore[method-assign]
    total = time.perf_counter() - t0
    spent["tokenise_and_write_rows_s"] = total - sum(spent.values())
    spent["total_s"] = total
    return {k: round(v, 1) for k, v in spent.items()}


@contextmanager
def serve_directory(root: Path, log: Path) -> Iterator[str]:
    """A static HTTP server of `root` on 127.0.0.1, as a bucket or web server would publish it."""
    port = free_port()
    with log.open("w") as fh:
        proc = subprocess.Popen([sys.executable, "-m", "http.server", "--bind", "127.0.0.1", "--directory",
                                 str(root), str(port)], stdout=fh, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until(url + "/", proc, log, 30)
        yield url
    finally:
        stop(proc)


def start_chroma(persist: Path, log: Path) -> tuple[subprocess.Popen[bytes], str, float]:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    t0 = time.perf_counter()
    with log.open("w") as fh:
        proc = subprocess.Popen([str(BIN / "chroma"), "run", "--host", "127.0.0.1", "--port", str(port),
                                 "--path", str(persist)], stdout=fh, stderr=subprocess.STDOUT)
    wait_until(f"{url}/api/v2/heartbeat", proc, log, 300)
    return proc, url, time.perf_counter() - t0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cache", type=Path, default=DEFAULT_CACHE, help="index cache (default: %(default)s)")
    parser.add_argument("--chunks", type=int, default=256_000, help="chunks in the index (default: %(default)s)")
    parser.add_argument("--replica-dir", type=Path, help="the replica's data dir (default: a new temporary one)")
    parser.add_argument("--timeout", type=float, default=1800, help="seconds a start may take (default: %(default)s)")
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    parser.add_argument("--profile", action="store_true",
                        help="then time the parts of a lexical build from the server, in this process")
    args = parser.parse_args(argv)

    print(f"index of {args.chunks} chunks in {args.cache} (built once; hours the first time)...", file=sys.stderr)
    source = args.cache / f"server-{args.chunks}"  # the ingest job's data dir; its chroma/ is served
    built = build_latency_index(args.cache, args.chunks, data_dir=source, sentence_vectors=False, lexical=False)
    work = Path(tempfile.mkdtemp(prefix="pressbot-cold-start-"))
    replica = args.replica_dir or work / "replica"
    if replica.exists() and any(replica.iterdir()):
        raise SystemExit(f"--replica-dir {replica} is not empty; a cold start needs an empty data dir")
    chroma, url, chroma_s = start_chroma(source / "chroma", work / "chroma.log")
    try:
        chroma_rss = tree_rss(chroma.pid)
        starts = []
        for name in ("cold", "warm"):
            print(f"{name} replica against {url} ...", file=sys.stderr)
            starts.append(start_replica(name, replica, url, work / f"{name}.log", args.timeout))
        # the cold replica's copy is the one the ingest job publishes (same Chroma, same code)
        fingerprint = (replica / "lexical" / "pressbot" / "fingerprint").read_text()
        t0 = time.perf_counter()
        lexical_snapshot.publish(str(work / "snapshots"), "pressbot", fingerprint, replica / "lexical" / "pressbot")
        publish_s = time.perf_counter() - t0
        with serve_directory(work / "snapshots", work / "http.log") as snapshots_url:
            print(f"fresh replica fetching the lexical snapshot from {snapshots_url} ...", file=sys.stderr)
            starts.append(start_replica("snapshot", work / "replica-snapshot", url, work / "snapshot.log",
                                        args.timeout, {"PRESSBOT_LEXICAL_SNAPSHOTS": snapshots_url}))
        shutil.rmtree(work / "replica-snapshot", ignore_errors=True)
        chroma_rss = max(chroma_rss, tree_rss(chroma.pid))
        profile = None
        if args.profile:
            print("profiling a lexical build from the server ...", file=sys.stderr)
            profile = profile_lexical_build(url, work / "profile")
            shutil.rmtree(work / "profile", ignore_errors=True)
    finally:
        stop(chroma)
    lexical_mb = sum(f.stat().st_size for f in (replica / "lexical").rglob("*") if f.is_file()) / MB
    print(f"\nChroma server: {built['chunks']} chunks, {built['releases']} releases; heartbeat after "
          f"{chroma_s:.1f} s, {chroma_rss / MB:.0f} MB resident after the replicas")
    print(f"goal: ready <= {READY_TARGET_S:.0f} s, RSS <= {RSS_TARGET_MB:.0f} MB (peak)")
    print(f"{'start':<8} {'ready_s':>9} {'':<4} {'rss_ready':>10} {'rss_peak':>9} {'':<4} {'lexical_s':>10}")
    for s in starts:
        print(s.row())
    print(f"the replica's lexical copy: {lexical_mb:.0f} MB on disk")
    snapshot_mb = sum(f.stat().st_size for f in (work / "snapshots").glob("*.tar")) / MB
    print(f"snapshot: {snapshot_mb:.0f} MB, published in {publish_s:.1f} s (tar + SHA-256)")
    if profile:
        print("lexical build from the server, by part (s): " + ", ".join(f"{k[:-2]} {v}" for k, v in profile.items()))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({
            "index": built, "chroma_heartbeat_s": round(chroma_s, 1), "chroma_rss_mb": round(chroma_rss / MB),
            "targets": {"ready_s": READY_TARGET_S, "rss_mb": RSS_TARGET_MB},
            "starts": [asdict(s) for s in starts], "lexical_copy_mb": round(lexical_mb),
            "lexical_build_profile": profile, "snapshot_mb": round(snapshot_mb), "publish_s": round(publish_s, 1),
        }, indent=2))
    print(f"logs in {work}", file=sys.stderr)
    if not args.replica_dir:
        shutil.rmtree(replica, ignore_errors=True)
    return 0 if all(s.ready_s <= READY_TARGET_S and s.rss_peak_mb <= RSS_TARGET_MB for s in starts) else 1


if __name__ == "__main__":
    raise SystemExit(main())
