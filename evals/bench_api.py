"""Load benchmark of the HTTP API on loopback: what the API adds on top of the engine.

    .venv/bin/python -m evals.bench_api [--data-dir .pressbot-demo] [--seconds 20] [--levels 1,4,16]

A `pressbot serve` process runs on 127.0.0.1 (or --url names a running one).

1. Overhead, for --seconds: each golden question is answered by `Engine.answer()` in this
   process and then by POST /v1/ask, one after the other, so each pair is timed under the same
   machine load; the API overhead is the median of the paired differences.
2. Load: 1, 4 and 16 concurrent clients (closed loop: each sends its next question when its
   last one is answered) post the golden questions to /v1/ask (extractive), --seconds per level.

Prints throughput and p50/p95 latency per level and PASS/FAIL against the targets: overhead
<= 10 ms at p50; p95 at 16 clients within 4x of p95 at 1 client. The server-side engine time
of each request (`timings_ms.total` in the Answer) is reported too, so queueing and service
time can be told apart.

The index defaults to the sample archive at --data-dir; it is built (`pressbot ingest
evals/sample_archive`, a few minutes) when missing.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
PRESSBOT = str(Path(sys.executable).with_name("pressbot"))
GOLDEN = ROOT / "evals" / "golden" / "sample.jsonl"
ARCHIVE = ROOT / "evals" / "sample_archive"
OVERHEAD_TARGET_MS = 10.0
SCALING_TARGET = 4.0


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


@dataclass
class Level:
    clients: int
    seconds: float
    latencies_ms: list[float] = field(default_factory=list)
    engine_ms: list[float] = field(default_factory=list)
    errors: int = 0

    @property
    def throughput(self) -> float:
        return len(self.latencies_ms) / self.seconds

    def row(self) -> str:
        lat, eng = self.latencies_ms, self.engine_ms
        return (f"{self.clients:>7} {len(lat):>8} {self.errors:>6} {self.throughput:>9.1f} {pct(lat, 50):>9.1f} "
                f"{pct(lat, 95):>9.1f} {pct(eng, 50):>10.1f} {pct(eng, 95):>10.1f}")


def load_questions() -> list[dict]:
    items = [json.loads(line) for line in GOLDEN.read_text(encoding="utf-8").splitlines() if line.strip()]
    return [{"question": it["question"], **({"as_of": it["as_of"]} if it.get("as_of") else {})} for it in items]


def ensure_index(data_dir: Path) -> None:
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    stats = subprocess.run([PRESSBOT, "--data-dir", str(data_dir), "stats", "--json"], capture_output=True,
                           text=True, env=env)
    if stats.returncode == 0 and json.loads(stats.stdout).get("releases"):
        return
    print(f"building the sample archive index at {data_dir} (a few minutes)...", file=sys.stderr)
    subprocess.run([PRESSBOT, "--data-dir", str(data_dir), "ingest", str(ARCHIVE), "--no-progress"], env=env,
                   check=True)


@dataclass
class Overhead:
    local_ms: list[float] = field(default_factory=list)
    api_ms: list[float] = field(default_factory=list)
    engine_ms: list[float] = field(default_factory=list)  # server-side engine time of each API call


def overhead(data_dir: Path, url: str, headers: dict[str, str], questions: list[dict], seconds: float) -> Overhead:
    from pressbot.config import load_settings
    from pressbot.engine import Engine

    engine = Engine.from_settings(load_settings(data_dir=data_dir))
    out = Overhead()
    with httpx.Client(base_url=url, headers=headers, timeout=120) as http:
        for q in questions[:3]:  # warm up both sides
            engine.answer(**q)
            http.post("/v1/ask", json=q).raise_for_status()
        deadline = time.perf_counter() + seconds
        i = 0
        while time.perf_counter() < deadline:
            q = questions[i % len(questions)]
            t0 = time.perf_counter()
            engine.answer(**q)
            t1 = time.perf_counter()
            resp = http.post("/v1/ask", json=q)
            t2 = time.perf_counter()
            resp.raise_for_status()
            out.local_ms.append((t1 - t0) * 1e3)
            out.api_ms.append((t2 - t1) * 1e3)
            out.engine_ms.append(resp.json()["timings_ms"]["total"])
            i += 1
    return out


async def run_level(url: str, headers: dict[str, str], questions: list[dict], clients: int,
                    seconds: float) -> Level:
    level = Level(clients, seconds)
    deadline = time.perf_counter() + seconds
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(base_url=url, headers=headers, timeout=120, limits=limits) as http:

        async def client(n: int) -> None:
            i = n  # the clients start at different questions
            while time.perf_counter() < deadline:
                t0 = time.perf_counter()
                resp = await http.post("/v1/ask", json=questions[i % len(questions)])
                elapsed = (time.perf_counter() - t0) * 1e3
                if resp.status_code != 200:
                    level.errors += 1
                else:
                    level.latencies_ms.append(elapsed)
                    level.engine_ms.append(resp.json()["timings_ms"]["total"])
                i += clients

        await asyncio.gather(*(client(n) for n in range(clients)))
    return level


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(data_dir: Path, concurrency: int | None, log_path: Path) -> tuple[subprocess.Popen, str]:
    port = free_port()
    args = [PRESSBOT, "--data-dir", str(data_dir), "serve", "--port", str(port)]
    if concurrency:
        args += ["--concurrency", str(concurrency)]
    env = {k: v for k, v in os.environ.items() if k != "PRESSBOT_API_TOKENS"}
    env.update(HF_HUB_OFFLINE="1", PRESSBOT_API_RATE_LIMIT="1000000")
    with log_path.open("w") as log:
        proc = subprocess.Popen(args, env=env, stdout=subprocess.DEVNULL, stderr=log)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"the server exited:\n{log_path.read_text()}")
        try:
            if httpx.get(url + "/readyz", timeout=2).status_code == 200:
                return proc, url
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    proc.terminate()
    raise SystemExit(f"the server was not ready within 180 s:\n{log_path.read_text()}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", type=Path, default=ROOT / ".pressbot-demo", help="index (default: %(default)s)")
    parser.add_argument("--url", help="a running server to load instead of starting one")
    parser.add_argument("--token", default=None, help="bearer token for --url (default: none)")
    parser.add_argument("--seconds", type=float, default=20.0, help="per level and in-process (default: 20)")
    parser.add_argument("--levels", default="1,4,16", help="concurrent clients (default: 1,4,16)")
    parser.add_argument("--concurrency", type=int, help="the server's --concurrency (engine calls at once)")
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    args = parser.parse_args(argv)
    levels = [int(n) for n in args.levels.split(",")]

    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("OMP_NUM_THREADS", "1")  # one torch thread per engine call, as `pressbot serve` runs it
    questions = load_questions()
    ensure_index(args.data_dir)
    proc = None
    headers = {"Authorization": f"Bearer {args.token}"} if args.token else {}
    url = args.url
    if url is None:
        proc, url = start_server(args.data_dir, args.concurrency, Path(tempfile.mkdtemp()) / "serve.log")
    try:
        print(f"in-process and HTTP, interleaved, for {args.seconds:.0f} s ...", file=sys.stderr)
        paired = overhead(args.data_dir, url, headers, questions, args.seconds)
        results = []
        for clients in levels:
            print(f"{clients} concurrent client(s) for {args.seconds:.0f} s ...", file=sys.stderr)
            results.append(asyncio.run(run_level(url, headers, questions, clients, args.seconds)))
    finally:
        if proc is not None:
            proc.terminate()
            proc.wait(timeout=30)

    local = paired.local_ms
    print(f"\n{len(questions)} golden questions, {args.seconds:.0f} s per phase, server {url} "
          f"(--concurrency {args.concurrency or 'default'}), {os.cpu_count()} CPUs, "
          f"load average {os.getloadavg()[0]:.1f}")
    print(f"{'clients':>7} {'requests':>8} {'errors':>6} {'req/s':>9} {'p50 ms':>9} {'p95 ms':>9} "
          f"{'engine p50':>10} {'engine p95':>10}")
    print(f"{'in-proc':>7} {len(local):>8} {0:>6} {'':>9} {pct(local, 50):>9.1f} {pct(local, 95):>9.1f}")
    print(f"{'1 (int)':>7} {len(paired.api_ms):>8} {0:>6} {'':>9} {pct(paired.api_ms, 50):>9.1f} "
          f"{pct(paired.api_ms, 95):>9.1f} {pct(paired.engine_ms, 50):>10.1f} {pct(paired.engine_ms, 95):>10.1f}")
    for r in results:
        print(r.row())

    verdicts = {}
    diff = statistics.median(a - b for a, b in zip(paired.api_ms, local, strict=True))
    served = statistics.median(a - e for a, e in zip(paired.api_ms, paired.engine_ms, strict=True))
    verdicts["overhead"] = diff <= OVERHEAD_TARGET_MS
    print(f"\nAPI overhead (interleaved pairs, same question): median {diff:.1f} ms; p50 difference "
          f"{pct(paired.api_ms, 50) - pct(local, 50):.1f} ms; HTTP latency minus the server's engine time "
          f"{served:.1f} ms (target <= {OVERHEAD_TARGET_MS:.0f} ms): {'PASS' if verdicts['overhead'] else 'FAIL'}")
    by_clients = {r.clients: r for r in results}
    one, top = by_clients.get(1), by_clients.get(16) or results[-1]
    if one and top is not one:
        ratio = pct(top.latencies_ms, 95) / pct(one.latencies_ms, 95)
        verdicts["scaling"] = ratio <= SCALING_TARGET and top.errors == 0
        little = top.clients / top.throughput * 1e3 if top.throughput else float("nan")
        print(f"p95 at {top.clients} clients / p95 at 1 client: {ratio:.1f}x (target <= {SCALING_TARGET:.0f}x): "
              f"{'PASS' if verdicts['scaling'] else 'FAIL'}; errors {top.errors}. Little's law: {top.clients} "
              f"clients at {top.throughput:.1f} req/s wait {little:.0f} ms on average, whatever the server does.")
        service = pct(top.engine_ms, 95) / pct(one.engine_ms, 95)
        print(f"(engine time alone, p95 at {top.clients} / at 1 client: {service:.1f}x: the rest is queueing for "
              f"the cores, bounded by --concurrency)")
    if args.json:
        args.json.write_text(json.dumps({
            "overhead_ms": {"median_paired": diff, "minus_engine_time": served, "n": len(local),
                            "in_process_p50": pct(local, 50), "in_process_p95": pct(local, 95),
                            "api_p50": pct(paired.api_ms, 50), "api_p95": pct(paired.api_ms, 95)},
            "levels": [{"clients": r.clients, "requests": len(r.latencies_ms), "errors": r.errors,
                        "throughput": r.throughput, "p50_ms": pct(r.latencies_ms, 50),
                        "p95_ms": pct(r.latencies_ms, 95), "engine_p50_ms": pct(r.engine_ms, 50),
                        "engine_p95_ms": pct(r.engine_ms, 95)} for r in results],
            "pass": verdicts,
        }, indent=2))
    return 0 if all(verdicts.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
