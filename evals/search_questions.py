"""The questions of the search benchmark (`evals/bench_search.py`): the fixed list its latency part
times (golden questions of every type plus others over the whole corpus), and the seed questions
its quality part ranks the seed release for."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

GOLDEN = Path(__file__).parent / "golden" / "sample.jsonl"
# 36 golden questions (every type, two with an as_of date) + 14 others over the whole corpus
GOLDEN_IDS = (
    "seed-001 seed-002 seed-004 seed-007 mananeras-002 multi-002 mx-003 mx-006 mx-009 mx-012 mx-015 "
    "mx-018 mx-021 mx-024 mx-027 ca-001 ca-004 ca-007 ca-013 ca-016 ca-019 ca-022 sd-003 sd-006 sd-009 "
    "sd-012 ht-001 ht-004 cu-001 ve-002 mig-004 mig-007 d-002 d-005 unans-002 unans-008"
)
OTHER_QUESTIONS = (
    "How much funding does the CHIPS and Science Act provide for semiconductor manufacturing?",
    "When did President Biden sign the Bipartisan Infrastructure Law?",
    "What sanctions did the United States impose on Russia after it invaded Ukraine?",
    "How much humanitarian assistance did the United States announce for Ukraine in 2022?",
    "What does the Inflation Reduction Act cap insulin costs at for seniors on Medicare?",
    "Which countries joined the Indo-Pacific Economic Framework for Prosperity?",
    "What did the State Department say about the evacuation from Kabul in August 2021?",
    "What does the executive order on safe, secure and trustworthy artificial intelligence require?",
    "How many COVID-19 vaccine doses has the United States donated to other countries?",
    "What did the President say after the school shooting in Uvalde, Texas?",
    "What are the goals of the Global Methane Pledge?",
    "What tariffs did the administration announce on electric vehicles from China in May 2024?",
    "How many borrowers get relief under the student debt relief plan?",
    "Who leads the U.S. delegation to the inauguration of the President of Honduras?",
)
SEED_QUESTIONS = ("Which countries receive the $180 million program?", "which countries receive the $180M program?")
SEED_COUNTRIES = ("Guatemala", "Honduras", "El Salvador", "Colombia", "Ecuador", "Venezuela", "Cuba", "Haiti")


def questions() -> list[dict[str, Any]]:
    golden = {}
    for line in GOLDEN.read_text().splitlines():
        if line.strip():
            item = json.loads(line)
            golden[item["id"]] = item
    out = [{"q": golden[i]["question"], "as_of": golden[i].get("as_of")} for i in GOLDEN_IDS.split() if i in golden]
    return out + [{"q": q, "as_of": None} for q in OTHER_QUESTIONS]
