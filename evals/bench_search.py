"""The search benchmark of issue 3: latency at scale, and retrieval quality at scale.

    python -m evals.bench_search [--cache DIR] [--sizes 5000,20000,50000] [--skip-quality] [--skip-latency]

Part 1, latency: for each size, an index of that many real chunks of the corpus in $PRESSBOT_CORPUS, written
as ingest writes it (chunks with their sentence ends, the sentences' vectors in the sentence-vector
store) but with hash stand-ins for passage and sentence vectors; queries are embedded with the
real model (see `evals/bench_corpus.py`). Single-threaded and warm, over a fixed list of 50
questions: the floor (plain Chroma `collection.query`, query embedding included), `Engine.search`
and extractive `Engine.answer`, p50/p95 of wall and CPU time, with the parts each call reports.
With stand-in sentence vectors most extractive answers abstain, skipping the citation check, so
the answer is also timed with abstention off (the full path a real answer takes). Probes time the
steps of a search and an answer one by one, as the live code runs them, to say where the time
goes; texts the engine had to encode at question time (sentences missing from the store) are
counted. Each size is measured in a fresh process, which also gives the resident memory of a
process holding that index ready to answer. CPU time is recorded beside wall time: on a shared
machine the wall time includes waiting for a core; the load average is printed with each size.

Part 2, quality: real embeddings over >= 9,000 releases plus the seed (built once with the real
`pressbot ingest`, reused); the rank of the seed release for the seed questions in pressbot's search,
next to the naive pipeline (RecursiveCharacterTextSplitter(1000, 200) + same model + Chroma top-k),
with the diagnostics of where the seed's chunks stand on each side of the fusion, and fusion
variants checked against the golden questions whose source is in the index.

Figures are printed with PASS/FAIL and written to DIR/bench-search.json. Builds and
measurements run in child processes bounded by timeouts.

This module is the entry point; each part lives in a module of its own: `evals/search_latency.py`
(part 1), `evals/search_quality.py` (part 2) with `evals/fusion_variants.py`, `evals/search_report.py`
(verdicts and the printed report), `evals/search_questions.py` (the question sets) and
`evals/timing.py` (clocks, percentiles, collector pauses).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from evals.bench_corpus import DEFAULT_CACHE, QUALITY_SOURCES, latency_dir
from evals.search_latency import measure_latency
from evals.search_quality import measure_quality
from evals.search_report import print_report, verdicts

DEFAULT_QUALITY_DIR = Path(__file__).parent / ".cache" / "quality-9k"


def run_latency(cache: Path, sizes: list[int], rounds: int, build_timeout: float) -> list[dict[str, Any]]:
    results = []
    for n in sorted(sizes, reverse=True):  # the largest first: its chunking serves every size
        info = _child(["-m", "evals.bench_corpus", "latency", "--cache", str(cache), "--chunks", str(n)], build_timeout)
        print(f"  index of {n} chunks: {info}", flush=True)
    for n in sorted(sizes):
        worker = ["-m", "evals.bench_search", "--worker", "latency", "--data-dir", str(latency_dir(cache, n))]
        out = _child([*worker, "--rounds", str(rounds)], 3600)
        out["size"] = n
        results.append(out)
        print(f"  measured {n}: search p50 {out['search']['wall_ms']['p50']} ms", flush=True)
    return results


def _child(args: list[str], timeout: float) -> dict[str, Any]:
    """Run a build or measurement in a fresh process; its last stdout line is a JSON object."""
    proc = subprocess.run([sys.executable, *args], capture_output=True, text=True, timeout=timeout)
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(args)} failed ({proc.returncode}):\n{proc.stderr[-4000:]}")
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("{")]
    return json.loads(lines[-1]) if lines else {}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cache", type=Path, default=DEFAULT_CACHE, help="where the latency indexes are cached")
    parser.add_argument("--quality-dir", type=Path, default=DEFAULT_QUALITY_DIR, help="the real-embedding index")
    parser.add_argument("--sizes", default="5000,20000,50000", help="chunk counts of the latency indexes")
    parser.add_argument("--rounds", type=int, default=3, help="passes over the questions")
    parser.add_argument("--skip-quality", action="store_true")
    parser.add_argument("--skip-latency", action="store_true")
    parser.add_argument(
        "--naive",
        choices=["competitors", "all"],
        default="competitors",
        help="naive pipeline over the seed and its likely competitors (quick), or every release",
    )
    parser.add_argument("--build-timeout", type=float, default=3600, help="seconds per latency index build")
    parser.add_argument("--quality-timeout", type=float, default=7200, help="seconds for the quality build")
    parser.add_argument(
        "--no-quality-build", action="store_true", help="measure the quality index as it is (no ingest)"
    )
    parser.add_argument("--worker", choices=["latency", "quality"], help=argparse.SUPPRESS)
    parser.add_argument("--data-dir", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(name)s %(message)s")
    for name in ("evals.search_latency", "evals.search_quality"):  # each part logs its progress
        logging.getLogger(name).setLevel(logging.INFO)

    if args.worker == "latency":
        print(json.dumps(measure_latency(args.data_dir, args.rounds)))
        return
    if args.worker == "quality":
        print(json.dumps(measure_quality(args.data_dir, args.cache, args.naive)))
        return

    sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    command = " ".join(["python -m evals.bench_search", *(argv if argv is not None else sys.argv[1:])])
    out = args.cache / "bench-search.json"
    # a run of one part keeps the other part's last figures (each part says which command made it)
    report: dict[str, Any] = json.loads(out.read_text()) if out.exists() else {}
    if not args.skip_latency:
        lat = run_latency(args.cache, sizes, args.rounds, args.build_timeout)
        report["latency"] = lat
        report["latency_run"] = {"command": command, "finished": time.strftime("%Y-%m-%d %H:%M:%S")}
        report["verdicts"] = [
            {"figure": n, "value": v, "target": t, "pass": ok}
            for n, v, t, ok in verdicts(max(lat, key=lambda r: r["chunks"]))
        ]
    if not args.skip_quality:
        report["quality"] = run_quality(args)
        report["quality_run"] = {"command": command, "finished": time.strftime("%Y-%m-%d %H:%M:%S")}
    report["loadavg"] = os.getloadavg()
    args.cache.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2))
    print_report(report)
    print(f"\nfigures: {out}")


def run_quality(args: argparse.Namespace) -> dict[str, Any]:
    import subprocess as sp

    from evals.bench_corpus import build_quality_index

    if not args.no_quality_build:
        print(f"quality index: {args.quality_dir} (ingesting {len(QUALITY_SOURCES)} sources; unchanged ones are quick)")
        try:
            build_quality_index(args.quality_dir, args.quality_dir.with_suffix(".log"), args.quality_timeout)
        except (sp.CalledProcessError, sp.TimeoutExpired) as exc:
            # measure what is there: the figures carry the index's size
            print(f"quality build incomplete ({exc}); measuring the index as it is", file=sys.stderr)
    worker = ["-m", "evals.bench_search", "--worker", "quality", "--data-dir", str(args.quality_dir)]
    return _child([*worker, "--cache", str(args.cache), "--naive", args.naive], args.quality_timeout)


if __name__ == "__main__":
    main()
