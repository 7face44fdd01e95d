"""The report of the search benchmark (`evals/bench_search.py`): the verdicts against the targets
of issue 3 and the printed tables of both parts."""

from __future__ import annotations

import os
from typing import Any

from evals.bench_corpus import VECTORS_NOTE

TARGETS = {  # upper limits, as set in issue 3
    "search_p50_ms": 40.0,
    "search_p50_over_floor": 1.5,
    "search_p95_ms": 120.0,
    "answer_p50_ms": 300.0,
    "rss_mb": 1536.0,
}


def verdicts(lat: dict[str, Any]) -> list[tuple[str, float, str, bool]]:
    s, f = lat["search"]["wall_ms"], lat["floor"]["wall_ms"]
    a, full = lat["answer"]["wall_ms"], lat["answer_no_abstention"]["wall_ms"]
    ratio = s["p50"] / f["p50"] if f["p50"] else float("inf")
    out = [
        ("search p50 (ms)", s["p50"], "<= 40", s["p50"] <= TARGETS["search_p50_ms"]),
        ("search p50 / floor p50", round(ratio, 2), "<= 1.5", ratio <= TARGETS["search_p50_over_floor"]),
    ]
    if lat.get("floor_torch"):
        ft = lat["floor_torch"]["wall_ms"]
        ratio_t = s["p50"] / ft["p50"] if ft["p50"] else float("inf")
        out.append(
            ("  over the floor with a torch query embedding", round(ratio_t, 2), "<= 1.5", ratio_t <= 1.5)
        )
    out += [
        ("search p95 (ms)", s["p95"], "<= 120", s["p95"] <= TARGETS["search_p95_ms"]),
        ("extractive answer p50 (ms)", a["p50"], "<= 300", a["p50"] <= TARGETS["answer_p50_ms"]),
        ("  the same, never abstaining", full["p50"], "<= 300", full["p50"] <= TARGETS["answer_p50_ms"]),
        ("RSS ready to answer (MB)", lat["rss_mb"], "<= 1536", lat["rss_mb"] <= TARGETS["rss_mb"]),
    ]
    return out


def _cell(fig: dict[str, Any]) -> str:
    return f"{fig['wall_ms']['p50']}/{fig['wall_ms']['p95']} [{fig['cpu_ms']['p50']}]"


def print_report(report: dict[str, Any]) -> None:
    lat = report.get("latency") or []
    if lat:
        print(f"\nLatency (vectors: {VECTORS_NOTE}: {lat[0]['query_model']}; single-threaded, warm)")
        print("wall ms p50/p95 [CPU ms p50]; 'no abst.': the extractive answer with abstention off")
        print(
            f"{'chunks':>7} {'floor':>18} {'search':>20} {'answer':>20} {'answer, no abst.':>20}"
            f" {'RSS MB':>7} {'load 1m':>7}"
        )
        for r in lat:
            print(
                f"{r['chunks']:>7} {_cell(r['floor']):>18} {_cell(r['search']):>20} {_cell(r['answer']):>20}"
                f" {_cell(r['answer_no_abstention']):>20} {r['rss_mb']:>7} {r['loadavg'][0]:>7.2f}"
            )
        big = max(lat, key=lambda r: r["chunks"])
        print(f"\nAt {big['chunks']} chunks ({big['sentence_vectors_stored']} sentence vectors stored):")
        print(f"  search parts p50 (ms): {big['search_parts_p50_ms']}")
        print(
            f"  answer parts p50 (ms): {big['answer_parts_p50_ms']}; "
            f"abstained {big['answer_abstained']}/{big['questions']}"
        )
        if big.get("floor_torch"):
            ft = big["floor_torch"]["wall_ms"]
            print(f"  floor with a torch query embedding (plain Chroma as users run it): {ft['p50']}/{ft['p95']}")
        print(f"  texts encoded at question time (not in the store): {big['encoded_at_question_time']}")
        print(f"  garbage collector pauses while measuring: {big['gc_pauses']}")
        print("  probes, p50 ms (questions):")
        for name, p in big["probes_p50_ms"].items():
            print(f"    {name:<58} {p['p50']:>8} ({p['n']})")
        print(f"\nTargets at {big['chunks']} chunks:")
        for name, value, target, ok in verdicts(big):
            print(f"  {name:<30} {value:>9} {target:>8}  {'PASS' if ok else 'FAIL'}")
    qual = report.get("quality")
    if qual:
        print(
            f"\nQuality: {qual['releases']} releases, {qual['chunks']} chunks, passage vectors "
            f"{qual.get('passage_vectors')}; "
            f"naive pipeline over {qual['naive']['releases']} releases ({qual['naive']['subset']})"
        )
        for q, row in qual["questions"].items():
            nv, proxy = row["naive"], row["small_to_big_proxy"]
            ok = row["rank"] == 1
            print(f"\n  {q!r}")
            print(
                f"    pressbot rank {row['rank']} ({'PASS' if ok else 'FAIL'}: target 1), "
                f"rank with k=50: {row['rank_k50']}"
            )
            print(
                f"    naive release rank {nv['release_rank']} (a lower bound; among the top-20 chunks: "
                f"{nv['rank_in_top20_chunks']}); its best seed chunk: {nv['seed_best_chunk']}"
            )
            print(
                f"    answer names {len(row['answer_has_countries'])}/8 countries, "
                f"cites the seed: {row['answer_cites_seed']}"
            )
            for c in row["seed_chunks"]:
                holds = " (holds the answer)" if c["has_answer"] else ""
                print(
                    f"    seed chunk {c['chunk'].rsplit(':', 1)[1]}: cosine {c['cosine']}, "
                    f"dense rank {c['dense_rank']}, lexical rank {c['lexical_rank']}{holds}"
                )
            print(f"    seed's fused score {row['seed_fused']}; the top 3:")
            for t in row["top5"][:3]:
                print(
                    f"      {t['fused']} cosine {t['cosine']} dense {t['dense_rank']} lexical {t['lexical_rank']}: "
                    f"{t['title']}"
                )
            print(
                f"    sentence-level estimate (small-to-big): seed rank by best sentence "
                f"{proxy['seed_rank_by_best_sentence']}, fused with lexical {proxy['seed_rank_fused_with_lexical']} "
                f"(over {proxy['candidate_chunks']} candidate chunks)"
            )
        variants = qual.get("variants", {})
        print(
            "\n  Search variants (golden questions whose source is in the index: "
            f"{variants.get('golden_questions_in_index')}):"
        )
        for name, v in variants.items():
            if isinstance(v, dict):
                wall = v["search_wall_ms"] or {}
                print(
                    f"    {name:<46} seed ranks {v['seed_rank_top10']}, golden hit@1 {v['golden_hit@1']}, "
                    f"hit@5 {v['golden_hit@5']}, search p50 {wall.get('p50')} ms"
                )
    print(f"\nload average during the run: {report['loadavg']} on {os.cpu_count()} cores (shared machine)")
