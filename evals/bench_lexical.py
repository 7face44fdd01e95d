"""The lexical index side by side: the BM25 store (`pressbot.lexical_store`) and tantivy
(`pressbot.lexical_tantivy`), on the same input, each measured in a fresh process.

    python -m evals.bench_lexical scale --cache DIR --sizes 80000,256000
    python -m evals.bench_lexical quality --data-dir DATA_DIR [--golden evals/golden/*.jsonl]

`scale`: chunks cut from $PRESSBOT_CORPUS (whitehouse, statedept, mananeras: word windows of the
size ingest's chunks have, with their release's title, date, source and language) are held in a
SQLite file that stands in for Chroma (pages of ids + metadata; text and vector fetched by id),
so both backends are fed exactly as `Index.lexical()` feeds them. Per backend and size: a full
build (seconds, peak RSS), the update after 10 releases change (seconds), and serving: the
lexical part of 50 searches (BM25 top 40, idf of the query's tokens, coverage and passages of 80
candidates: the 40 hits and 40 other chunks standing in for the dense side), unfiltered and with
a one-year window, p50/p95 of wall time, and the peak RSS of the process serving them. Vectors
are random (the store keeps them; nothing here reads them).

`quality`: the golden sets through `evals.runner.run` (the same `Engine.answer` as `pressbot
eval`) over a real-embedding index, once per backend: hit@5 and MRR. Only aggregates are printed.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import sqlite3
import subprocess
import sys
import time
import zlib
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from evals.corpus import corpus_dir

BACKENDS = ("store", "tantivy")
WORDS, OVERLAP = 180, 30  # ~1,100 characters a chunk, as ingest's 256-token chunks
DIM = 384
PAGE = 2000


def _rss() -> dict[str, float]:
    status = Path("/proc/self/status").read_text()

    def get(key: str) -> float:
        m = re.search(rf"^{key}:\s+(\d+) kB", status, re.M)
        return round(int(m.group(1)) / 1024, 1) if m else 0.0

    return {"rss_mb": get("VmRSS"), "peak_rss_mb": get("VmHWM")}


# --- the corpus as chunks ------------------------------------------------------------------
def _releases() -> Iterator[tuple[str, str, str, str, str, str]]:
    """(id, title, date, source, language, text) of the corpus's releases."""
    root = corpus_dir()
    for path in sorted((root / "whitehouse").rglob("*.md")):
        raw = path.read_text(errors="replace")
        head, _, body = raw.partition("\n---\n") if raw.startswith("---") else ("", "", raw)
        title = re.search(r"^title:\s*['\"]?(.*?)['\"]?$", head, re.M)
        date = path.name[:10] if re.match(r"\d{4}-\d{2}-\d{2}", path.name) else ""
        rel = path.relative_to(root / "whitehouse").with_suffix("")  # a stem recurs across folders
        yield (f"wh/{rel}", title.group(1) if title else path.stem, date, "whitehouse", "en", body)
    with (root / "statedept" / "press_releases.jsonl").open() as fh:
        for line in fh:
            row = json.loads(line)
            yield (f"sd/{row['id']}", row["title"], row["published"][:10], "statedept", "en", row["text"])
    for path in sorted((root / "mananeras").rglob("*.txt")):
        lines = path.read_text(errors="replace").splitlines()
        yield (f"mx/{path.stem}", lines[0] if lines else path.stem, "", "mananeras", "es", "\n".join(lines[3:]))


def _chunks(text: str) -> Iterator[str]:
    words = text.split()
    for start in range(0, max(len(words) - OVERLAP, 1), WORDS - OVERLAP):
        yield " ".join(words[start : start + WORDS])


def build_source(db: Path, n_chunks: int) -> None:
    """The SQLite stand-in for Chroma: n_chunks chunks (the corpus again, under other ids, if
    it has fewer)."""
    if db.exists():
        with sqlite3.connect(db) as con:
            if con.execute("select count(*) from chunks").fetchone()[0] >= n_chunks:
                return
        db.unlink()
    db.parent.mkdir(parents=True, exist_ok=True)
    con = sqlite3.connect(db)
    con.execute("create table chunks (id text primary key, release text, meta text, text text)")
    total, lap = 0, 0
    while total < n_chunks:
        for rid, title, date, source, language, body in _releases():
            rid = rid if not lap else f"{rid}~{lap}"
            rows = []
            for i, text in enumerate(_chunks(body)):
                meta = {
                    "release_id": rid, "title": title, "source": source, "language": language,
                    "content_hash": hashlib.sha1(text.encode()).hexdigest()[:16],
                    "date_ord": int(date.replace("-", "")) if date else 0, **({"date": date} if date else {}),
                }
                rows.append((f"{rid}:{i}", rid, json.dumps(meta), text))
            con.executemany("insert or ignore into chunks values (?, ?, ?, ?)", rows)
            total += len(rows)
            if total >= n_chunks:
                break
        lap += 1
    con.commit()
    con.close()


class Source:
    """Pages of (ids, metadata) and a fetch of (text, vector) by id, as `Index` gives them."""

    def __init__(self, db: Path) -> None:
        self.con = sqlite3.connect(db)

    def fingerprint(self) -> str:
        count, changed = self.con.execute("select count(*), total(length(text)) from chunks").fetchone()
        return f"{count}:{int(changed)}"

    def pages(self) -> Iterator[tuple[list[str], list[dict[str, Any]]]]:
        last = ""
        while True:
            rows = self.con.execute(
                "select id, meta from chunks where id > ? order by id limit ?", (last, PAGE)
            ).fetchall()
            if not rows:
                return
            yield [r[0] for r in rows], [json.loads(r[1]) for r in rows]
            last = rows[-1][0]

    def fetch(self, ids: list[str]) -> Mapping[str, tuple[str, np.ndarray]]:
        out = {}
        for start in range(0, len(ids), 500):
            part = ids[start : start + 500]
            q = f"select id, text from chunks where id in ({','.join('?' * len(part))})"
            for cid, text in self.con.execute(q, part):
                rng = np.random.default_rng(zlib.crc32(cid.encode()))
                vec = rng.standard_normal(DIM).astype(np.float32)
                out[cid] = (text, vec / np.linalg.norm(vec))
        return out

    def change_releases(self, n: int) -> list[str]:
        """Rewrite every chunk of n releases (new text, new content hash)."""
        query = "select distinct release from chunks order by release limit ?"
        releases = [r[0] for r in self.con.execute(query, (n,))]
        stamp = str(time.time_ns())
        for rid in releases:
            for cid, meta_json, text in self.con.execute(
                "select id, meta, text from chunks where release = ?", (rid,)
            ).fetchall():
                text = f"{text} revised {stamp}"
                meta = json.loads(meta_json)
                meta["content_hash"] = hashlib.sha1(text.encode()).hexdigest()[:16]
                self.con.execute("update chunks set text = ?, meta = ? where id = ?", (text, json.dumps(meta), cid))
        self.con.commit()
        return releases


# --- one backend, in its own process ---------------------------------------------------------
def _write(backend: str, path: Path, source: Source) -> None:
    from pressbot import lexical_store, lexical_tantivy

    fp = source.fingerprint()
    if backend == "tantivy":
        lexical_tantivy.sync(path, fp, source.pages(), source.fetch)
    else:
        lexical_store.write(path, fp, source.pages(), source.fetch)


def _load(backend: str, path: Path, fp: str) -> Any:
    from pressbot import lexical_store, lexical_tantivy

    lex = lexical_tantivy.load(path, fp) if backend == "tantivy" else lexical_store.load(path, fp)
    if lex is None:
        raise SystemExit(f"no {backend} index at {path} for {fp}")
    return lex


def worker(step: str, backend: str, db: Path, path: Path) -> dict[str, Any]:
    import shutil

    source = Source(db)
    before = _rss()
    if step == "build":
        shutil.rmtree(path, ignore_errors=True)
        t0 = time.perf_counter()
        _write(backend, path, source)
        return {"build_s": round(time.perf_counter() - t0, 1), "before": before, "after": _rss()}
    if step == "update":
        t0 = time.perf_counter()
        _write(backend, path, source)
        return {"update_s": round(time.perf_counter() - t0, 2), "after": _rss()}
    return serve(backend, path, source, before)


def _queries() -> list[str]:
    from evals.search_questions import questions

    return [q["q"] for q in questions()]


def serve(backend: str, path: Path, source: Source, before: dict[str, float]) -> dict[str, Any]:
    from pressbot.lexical import lexical_tokens

    t0 = time.perf_counter()
    lex = _load(backend, path, source.fingerprint())
    load_ms = (time.perf_counter() - t0) * 1e3
    ids = [r[0] for r in source.con.execute("select id from chunks order by id")]
    rng = np.random.default_rng(7)
    filters: dict[str, dict[str, Any]] = {"unfiltered": {}, "one_year": {"since": 20220101, "until": 20221231}}
    out: dict[str, Any] = {"load_ms": round(load_ms, 1)}
    for name, window in filters.items():
        times = []
        for round_ in range(3):
            for q in _queries():
                others = [ids[i] for i in rng.integers(0, len(ids), 40)]  # the dense side's candidates
                t = time.perf_counter()
                mask = lex.mask(**window, include_undated=True) if window else None
                hits = lex.search(q, 40, mask=mask)
                cands = list(dict.fromkeys([cid for cid, _ in hits] + others))
                got = lex.passages(cands)
                weights = {tok: lex.idf(tok) for tok in set(lexical_tokens(q))}
                lex.coverage(weights, cands)
                if round_:  # the first round warms pages and caches
                    times.append((time.perf_counter() - t) * 1e3)
                assert len(got) == len(cands), f"{len(cands) - len(got)} candidates without a passage"
        arr = np.asarray(times)
        out[name] = {f"p{p}_ms": round(float(np.percentile(arr, p)), 2) for p in (50, 95)}
    out["top5_sample"] = {q: [cid for cid, _ in lex.search(q, 5)] for q in _queries()[:50]}
    out["before"], out["after"] = before, _rss()
    return out


def _child(args: Sequence[str]) -> dict[str, Any]:
    proc = subprocess.run([sys.executable, "-m", "evals.bench_lexical", *args], capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(args)} failed:\n{proc.stderr[-3000:]}")
    return dict(json.loads(proc.stdout.strip().splitlines()[-1]))


def run_scale(cache: Path, sizes: list[int], changed: int) -> dict[str, Any]:
    report: dict[str, Any] = {}
    for n in sizes:
        db = cache / f"source-{n}.sqlite3"
        build_source(db, n)
        paths = {b: cache / f"lexical-{n}" / b for b in BACKENDS}
        fig: dict[str, Any] = {b: {} for b in BACKENDS}
        for b in BACKENDS:
            fig[b]["build"] = _child(["--worker", "build", b, str(db), str(paths[b])])
            print(f"{n} {b} build {fig[b]['build']}", flush=True)
        for b in BACKENDS:
            fig[b]["serve"] = _child(["--worker", "serve", b, str(db), str(paths[b])])
            print(f"{n} {b} serve { {k: v for k, v in fig[b]['serve'].items() if k != 'top5_sample'} }", flush=True)
        Source(db).change_releases(changed)
        for b in BACKENDS:
            fig[b]["update"] = _child(["--worker", "update", b, str(db), str(paths[b])])
            print(f"{n} {b} update after {changed} releases changed {fig[b]['update']}", flush=True)
        top = [fig[b]["serve"].pop("top5_sample") for b in BACKENDS]
        same = [len(set(top[0][q]) & set(top[1][q])) / max(len(top[0][q]), 1) for q in top[0]]
        fig["top5_overlap"] = round(float(np.mean(same)), 3)
        with sqlite3.connect(db) as con:
            fig["chunks"] = con.execute("select count(*) from chunks").fetchone()[0]
        report[str(n)] = fig
    return report


# --- quality ---------------------------------------------------------------------------------
def run_quality(data_dir: Path, golden: list[Path]) -> dict[str, Any]:
    from evals.golden import load_golden
    from evals.runner import run
    from pressbot.config import load_settings
    from pressbot.engine import Engine

    out: dict[str, Any] = {}
    for backend in BACKENDS:
        settings = load_settings(data_dir=data_dir, lexical_backend=backend)
        engine = Engine.from_settings(settings)
        t0 = time.perf_counter()
        engine.index.lexical()
        out.setdefault(backend, {})["sync_s"] = round(time.perf_counter() - t0, 1)
        for path in golden:
            report = run(engine, load_golden(path), baseline=False, progress=False)
            agg = report.pressbot
            out[backend][path.stem] = {"hit_at_5": agg["hit_at_k"], "mrr": agg["mrr"], "n": agg.get("answerable")}
            print(f"{backend} {path.stem}: hit@5 {agg['hit_at_k']} MRR {agg['mrr']}", flush=True)
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("what", nargs="?", choices=["scale", "quality"])
    parser.add_argument("--cache", type=Path, default=Path(__file__).parent / ".cache" / "bench-lexical")
    parser.add_argument("--sizes", default="80000,256000")
    parser.add_argument("--changed", type=int, default=10, help="releases changed before the timed update")
    parser.add_argument("--data-dir", type=Path, help="quality: a real-embedding data dir")
    golden = sorted((Path(__file__).parent / "golden").glob("*.jsonl"))
    parser.add_argument("--golden", type=Path, nargs="*", default=golden)
    parser.add_argument("--out", type=Path, help="write the figures here as JSON")
    parser.add_argument("--worker", nargs=4, metavar=("STEP", "BACKEND", "DB", "PATH"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        step, backend, db, path = args.worker
        print(json.dumps(worker(step, backend, Path(db), Path(path))))
        return
    if args.what == "scale":
        report = run_scale(args.cache, [int(s) for s in args.sizes.split(",")], args.changed)
    elif args.what == "quality":
        if args.data_dir is None:
            parser.error("quality needs --data-dir (a data dir built by `pressbot ingest`)")
        report = run_quality(args.data_dir, args.golden)
    else:
        parser.error("say what to measure: scale or quality")
    text = json.dumps(report, indent=1)
    print(text)
    if args.out:
        args.out.write_text(text)


if __name__ == "__main__":
    main()
