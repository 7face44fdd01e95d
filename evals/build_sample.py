"""Build the bundled sample archive: a small, real subset of the development corpus.

Usage::

    python evals/build_sample.py --corpus "$PRESSBOT_CORPUS" --out evals/sample_archive

Standard library only (the front matter is read with a small parser that handles the plain,
single-quoted and double-quoted scalars the White House files use). The selection is
deterministic: the same corpus always gives the same sample, so the script can be re-run and
the golden set (evals/golden/sample.jsonl) stays valid.

Selection rule (see ``select_whitehouse`` / ``select_statedept``):

* seed: the Mexican foreign ministry (SRE) release, copied unchanged.
* whitehouse, *topical*: items from the release-like folders (statements-releases,
  briefings-statements, fact-sheets, releases) whose title names a topic keyword (Mexico,
  Guatemala, Honduras, El Salvador, Central America, migration, border, asylum, root causes,
  Darien, Haiti, Venezuela, Cuba, Colombia, Ecuador), body up to 20,000 characters; or whose
  body mentions topic keywords at least 5 times (at least 2 different ones), body up to
  12,000 characters. From ``articles`` only title matches, body up to 6,000 characters.
* whitehouse, *distractors*: other release-like items (no topic keyword in the title, fewer
  than 2 in the body), body 400..6,000 characters, 36 per publication year 2021..2026, drawn
  with ``random.Random(SEED)`` from the path-sorted candidates.
* duplicates: an item whose whitespace-normalised body equals an already selected one, or
  whose ``source_url`` is already taken, is skipped -- except one pair kept on purpose so the
  ingest's duplicate-body handling is exercised (``KEEP_DUPLICATE_PAIR``).
* statedept: lines whose title names a topic keyword or whose text mentions them 5 times
  (2 different), text up to 10,000 characters; plus 60 distractor lines (text 300..5,000
  characters) drawn with the same seed. Lines are copied byte-for-byte in corpus order.
* mananeras: the 22 January 2024 conference (the Foreign Minister's report on the meeting the
  seed describes), copied unchanged.

Files are copied byte-for-byte; the script prints counts, sizes and topic counts.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import re
import shutil
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from evals.corpus import corpus_dir

SEED = 20240122
RELEASE_FOLDERS = ("statements-releases", "briefings-statements", "fact-sheets", "releases")
ARTICLES = "articles"
TITLE_MAX = 20_000
BODY_MAX = 12_000
ARTICLE_MAX = 6_000
BODY_MIN_HITS = 5
DISTRACTOR_MIN, DISTRACTOR_MAX = 400, 6_000
DISTRACTORS_PER_YEAR = 36
YEARS = range(2021, 2027)
SD_TEXT_MAX = 10_000
SD_DISTRACTORS = 60
SD_DISTRACTOR_MIN, SD_DISTRACTOR_MAX = 300, 5_000
SEED_FILE = "seed/mexico-and-the-us-continue-migration-talks.txt"
MANANERA = (
    "mananeras/2024/enero/22--version-estenografica-conferencia-de-prensa-del-presidente-"
    "andres-manuel-lopez-obrador-del-22-de-enero-de-2024.txt"
)
# Same body, two URLs (briefings-statements/ and fact-sheets/): kept on purpose.
KEEP_DUPLICATE_PAIR = (
    "briefings-statements/2025-01/2025-01-22-fact-sheet-president-donald-j-trump-protects-the-"
    "states-and-the-american-people-by-closing-the-border-to-illegals-via-proclamation.md",
    "fact-sheets/2025-01/2025-01-22-fact-sheet-president-donald-j-trump-protects-the-states-"
    "and-the-american-people-by-closing-the-border-to-illegals-via-proclamation.md",
)

# topic -> pattern; the union is the topic keyword set.
TOPICS: dict[str, str] = {
    "mexico": r"Mexic\w*",
    "central-america": r"Guatemal\w*|Hondur\w*|El Salvador|Salvadoran\w*|Central America\w*",
    "migration": r"migra\w*|asylum|root causes|Dari[eé]n",
    "border": r"southern border|border security|the border|border crossings?",
    "haiti": r"Haiti\w*",
    "venezuela": r"Venezuel\w*",
    "cuba": r"Cuba\w*",
    "colombia": r"Colombia\w*",
    "ecuador": r"Ecuador\w*",
}
TOPIC_RE = {k: re.compile(rf"\b(?:{v})\b", re.IGNORECASE) for k, v in TOPICS.items()}
ANY_RE = re.compile(r"\b(?:" + "|".join(TOPICS.values()) + r")\b", re.IGNORECASE)
TITLE_RE = re.compile(r"\b(?:" + "|".join(TOPICS.values()) + r"|border\w*)\b", re.IGNORECASE)


# --------------------------------------------------------------------------- front matter


def _unquote_double(s: str) -> str:
    out: list[str] = []
    i = 0
    simple = {
        "n": "\n",
        "t": "\t",
        '"': '"',
        "\\": "\\",
        "/": "/",
        "_": "\u00a0",
        "0": "\0",
        " ": " ",
        "N": "\u0085",
        "L": "\u2028",
        "P": "\u2029",
        "a": "\a",
        "b": "\b",
        "e": "\x1b",
        "f": "\f",
        "r": "\r",
        "v": "\v",
    }
    while i < len(s):
        c = s[i]
        if c == "\\" and i + 1 < len(s):
            n = s[i + 1]
            if n in simple:
                out.append(simple[n])
                i += 2
                continue
            width = {"x": 2, "u": 4, "U": 8}.get(n)
            if width:
                out.append(chr(int(s[i + 2 : i + 2 + width], 16)))
                i += 2 + width
                continue
        out.append(c)
        i += 1
    return "".join(out)


def _fold(lines: list[str], quoted: bool) -> str:
    """Join a multi-line flow scalar the YAML way (line break -> space, blank line -> \\n)."""
    parts: list[str] = []
    for n, raw in enumerate(lines):
        line = raw.strip() if n else raw.rstrip()
        if quoted and n < len(lines) - 1 and line.endswith("\\") and not line.endswith("\\\\"):
            parts.append(line[:-1] + "\x00ESC")  # escaped line break: join without space
            continue
        parts.append(line)
    text = ""
    for n, p in enumerate(parts):
        if n == 0:
            text = p
        elif text.endswith("\x00ESC"):
            text = text[: -len("\x00ESC")] + p
        elif p == "":
            text += "\n"
        else:
            text += ("" if text.endswith("\n") else " ") + p
    return text


def parse_front_matter(raw: str) -> tuple[dict[str, str], str]:
    """Split ``---`` front matter from the body; return (top-level scalars, body)."""
    if not raw.startswith("---\n"):
        return {}, raw
    end = raw.find("\n---\n", 3)
    if end < 0:
        return {}, raw
    head, body = raw[4:end], raw[end + 5 :]
    meta: dict[str, str] = {}
    key: str | None = None
    buf: list[str] = []

    def flush() -> None:
        if key is None:
            return
        first = buf[0].strip()
        if first.startswith('"'):
            val = _fold(buf, True).strip()
            meta[key] = _unquote_double(val[1:-1] if val.endswith('"') else val[1:])
        elif first.startswith("'"):
            val = _fold(buf, False).strip()
            meta[key] = (val[1:-1] if val.endswith("'") else val[1:]).replace("''", "'")
        else:
            meta[key] = _fold(buf, False).strip()

    for line in head.split("\n"):
        m = re.match(r"^([A-Za-z_][\w-]*):(?: (.*))?$", line)
        if m and not line.startswith(" "):
            flush()
            key, buf = m.group(1), [m.group(2) or ""]
        elif key is not None:
            buf.append(line)
    flush()
    return meta, body


# --------------------------------------------------------------------------- selection


@dataclass
class Item:
    rel: str  # path relative to the whitehouse folder
    folder: str
    year: int
    title: str
    url: str
    body: str

    @property
    def body_hash(self) -> str:
        return hashlib.sha1(" ".join(self.body.split()).encode()).hexdigest()


def topics_of(title: str, text: str) -> set[str]:
    return {k for k, rx in TOPIC_RE.items() if rx.search(title) or rx.search(text)}


def body_hits(text: str) -> tuple[int, int]:
    hits = [h.lower()[:5] for h in ANY_RE.findall(text)]
    return len(hits), len(set(hits))


def is_topical(title: str, text: str, title_max: int, body_max: int) -> bool:
    if TITLE_RE.search(title):
        return len(text) <= title_max
    n, distinct = body_hits(text)
    return n >= BODY_MIN_HITS and distinct >= 2 and len(text) <= body_max


def load_whitehouse(root: Path) -> list[Item]:
    items: list[Item] = []
    for folder in (*RELEASE_FOLDERS, ARTICLES):
        base = root / folder
        if not base.is_dir():
            continue
        for path in sorted(base.rglob("*.md")):
            raw = path.read_text(encoding="utf-8")
            meta, body = parse_front_matter(raw)
            date = meta.get("date", "") or path.name[:10]
            items.append(
                Item(
                    rel=path.relative_to(root).as_posix(),
                    folder=folder,
                    year=int(date[:4]),
                    title=meta.get("title", ""),
                    url=meta.get("source_url", ""),
                    body=body,
                )
            )
    return items


def select_whitehouse(items: list[Item]) -> tuple[list[Item], list[Item]]:
    rng = random.Random(SEED)
    seen_hash: dict[str, str] = {}
    seen_url: set[str] = set()
    keep_pair = set(KEEP_DUPLICATE_PAIR)

    def take(it: Item) -> bool:
        h = it.body_hash
        if it.url in seen_url:
            return False
        if h in seen_hash and not (it.rel in keep_pair and seen_hash[h] in keep_pair):
            return False
        seen_hash.setdefault(h, it.rel)
        seen_url.add(it.url)
        return True

    # The deliberate duplicate pair first, so that nothing else claims its body.
    topical: list[Item] = []
    by_rel = {it.rel: it for it in items}
    for rel in KEEP_DUPLICATE_PAIR:
        if rel in by_rel and take(by_rel[rel]):
            topical.append(by_rel[rel])
    for it in items:
        if it.rel in keep_pair:
            continue
        if it.folder == ARTICLES:
            ok = bool(TITLE_RE.search(it.title)) and len(it.body) <= ARTICLE_MAX
        else:
            ok = is_topical(it.title, it.body, TITLE_MAX, BODY_MAX)
        if ok and take(it):
            topical.append(it)

    chosen = {it.rel for it in topical}
    distractors: list[Item] = []
    for year in YEARS:
        pool = [
            it
            for it in items
            if it.year == year
            and it.folder in RELEASE_FOLDERS
            and it.rel not in chosen
            and not TITLE_RE.search(it.title)
            and body_hits(it.body)[0] < 2
            and DISTRACTOR_MIN <= len(it.body) <= DISTRACTOR_MAX
        ]
        rng.shuffle(pool)
        picked = 0
        for it in pool:
            if picked >= DISTRACTORS_PER_YEAR:
                break
            if take(it):
                distractors.append(it)
                picked += 1
    return topical, distractors


def select_statedept(path: Path) -> tuple[list[str], int, int, list[dict]]:
    """Return (selected raw lines in corpus order, n topical, n distractors, parsed records)."""
    rng = random.Random(SEED)
    lines = path.read_bytes().decode("utf-8").splitlines(keepends=True)
    recs = [json.loads(line) for line in lines]
    topical: set[int] = set()
    seen_hash: set[str] = set()
    for i, r in enumerate(recs):
        h = hashlib.sha1(" ".join(r["text"].split()).encode()).hexdigest()
        if h in seen_hash:
            continue
        if is_topical(r["title"], r["text"], SD_TEXT_MAX, SD_TEXT_MAX):
            topical.add(i)
            seen_hash.add(h)
    pool = [
        i
        for i, r in enumerate(recs)
        if i not in topical
        and not TITLE_RE.search(r["title"])
        and body_hits(r["text"])[0] < 2
        and SD_DISTRACTOR_MIN <= len(r["text"]) <= SD_DISTRACTOR_MAX
    ]
    rng.shuffle(pool)
    distract: set[int] = set()
    for i in pool:
        if len(distract) >= SD_DISTRACTORS:
            break
        h = hashlib.sha1(" ".join(recs[i]["text"].split()).encode()).hexdigest()
        if h not in seen_hash:
            seen_hash.add(h)
            distract.add(i)
    keep = sorted(topical | distract)
    return [lines[i] for i in keep], len(topical), len(distract), [recs[i] for i in keep]


# --------------------------------------------------------------------------- output


LICENSE_TEMPLATE = """\
# Sample archive: sources, licences, selection

A small, real subset of the development corpus, bundled so that pressbot can be tried,
tested and evaluated offline (`evals/golden/sample.jsonl` asks questions about it). Nothing
here was written for the project; the files are copied unchanged (byte-for-byte) from the
sources below. Built by `evals/build_sample.py` (deterministic, seed {seed}):

    python evals/build_sample.py --corpus "$PRESSBOT_CORPUS" --out evals/sample_archive

## Parts

- `seed/mexico-and-the-us-continue-migration-talks.txt` (1 item): "Mexico and the U. S. continue
  migration talks", press release of the Mexican Secretariat of Foreign Affairs (Secretaría de
  Relaciones Exteriores, SRE), January 2024, English version scraped from its web page (no date
  or URL in the file). The release the project started from; an official communication of the
  Government of Mexico, reproduced as the project's seed document.
- `whitehouse/` ({wh_total} items: {wh_topical} topical + {wh_distractors} distractors): U.S.
  White House Briefing Room archive (bidenwhitehouse.archives.gov and whitehouse.gov), Markdown
  with YAML front matter, original relative paths `<category>/<YYYY-MM>/<YYYY-MM-DD>-<slug>.md`.
  Licence: CC0 1.0 Universal, see `whitehouse/LICENSE` (copied from the corpus); works of the
  U.S. federal government are in the public domain.
- `statedept/press_releases.jsonl` ({sd_total} lines: {sd_topical} topical + {sd_distractors}
  distractors): U.S. Department of State press releases (state.gov, rebuilt from the
  department's RSS feed), JSON Lines; lines copied unchanged, `content_html` included (nothing
  dropped). Public domain: works of the U.S. federal government (17 U.S.C. 105).
- `mananeras/2024/enero/` ({mananeras} item): "Versión estenográfica. Conferencia de prensa del
  presidente Andrés Manuel López Obrador del 22 de enero de 2024", Presidencia de la República
  (gob.mx), Spanish transcript; it contains Foreign Minister Alicia Bárcena's oral report on the
  meeting the seed release describes. Licence: CC BY-SA 4.0
  (https://creativecommons.org/licenses/by-sa/4.0/). Attribution: from the Kaggle dataset
  "ioexception/mananeras" (https://www.kaggle.com/datasets/ioexception/mananeras), transcripts
  published by the Presidencia de la República on gob.mx. Copied unchanged; if you redistribute
  it, keep this attribution and the same licence.

## Selection

{rule}

Duplicates: bodies that repeat an already selected body and URLs already taken are skipped,
except one pair kept on purpose so that the ingest's duplicate-body handling is exercised:

{pair}

## Counts (as built)

- files/records: {total_items} releases ({wh_total} White House files, {sd_total} State
  Department lines, {seed_n} seed, {mananeras} transcript)
- body text: {body_bytes:,} bytes (UTF-8; front matter, JSON fields other than `text` and
  `content_html` not counted); files: {disk_bytes:,} bytes (sum of file sizes, this file
  included)
- White House by folder: {by_folder}
- by year (White House + State Department): {by_year}
- topic mentions (items mentioning the topic, title or body): {topic_counts}
"""


def _selection_rule_text() -> str:
    doc = __doc__ or ""
    start = doc.index("Selection rule")
    end = doc.index("Files are copied")
    block = doc[start:end].strip()
    return block.replace("``", "`")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    ap.add_argument("--corpus", type=Path, default=corpus_dir(),
                    help="the corpus folder (whitehouse/, statedept/, seed/, ...); default $PRESSBOT_CORPUS")
    ap.add_argument("--out", type=Path, default=Path(__file__).parent / "sample_archive")
    ap.add_argument("--no-mananeras", action="store_true", help="leave the transcript out")
    args = ap.parse_args(argv)
    corpus: Path = args.corpus
    out: Path = args.out
    if not (corpus / SEED_FILE).is_file():
        print(f"error: {corpus} does not look like the corpus ({SEED_FILE} missing)", file=sys.stderr)
        return 2

    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)

    # seed
    (out / "seed").mkdir()
    shutil.copyfile(corpus / SEED_FILE, out / SEED_FILE)
    seed_text = (corpus / SEED_FILE).read_text(encoding="utf-8")

    # whitehouse
    wh_root = corpus / "whitehouse"
    topical, distractors = select_whitehouse(load_whitehouse(wh_root))
    wh = sorted(topical + distractors, key=lambda it: it.rel)
    for it in wh:
        dst = out / "whitehouse" / it.rel
        dst.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(wh_root / it.rel, dst)
    shutil.copyfile(wh_root / "LICENSE", out / "whitehouse" / "LICENSE")

    # statedept
    sd_lines, sd_top, sd_dis, sd_recs = select_statedept(corpus / "statedept" / "press_releases.jsonl")
    (out / "statedept").mkdir()
    with open(out / "statedept" / "press_releases.jsonl", "wb") as fh:
        for line in sd_lines:
            fh.write(line.encode("utf-8"))

    # mananeras
    n_man = 0
    man_text = ""
    if not args.no_mananeras:
        dst = out / MANANERA
        dst.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(corpus / MANANERA, dst)
        man_text = (corpus / MANANERA).read_text(encoding="utf-8")
        n_man = 1

    # stats
    body_bytes = (
        len(seed_text.encode())
        + sum(len(it.body.encode()) for it in wh)
        + sum(len(r["text"].encode()) for r in sd_recs)
        + len(man_text.encode())
    )
    topic_counts: Counter[str] = Counter()
    for title, text in (
        [(it.title, it.body) for it in wh] + [(r["title"], r["text"]) for r in sd_recs] + [("", seed_text)]
    ):
        topic_counts.update(topics_of(title, text))
    by_folder = Counter(it.folder for it in wh)
    by_year = Counter(str(it.year) for it in wh) + Counter(r["published"][:4] for r in sd_recs)

    def fmt(c: Counter[str]) -> str:
        return ", ".join(f"{k} {v}" for k, v in sorted(c.items()))

    pair = "\n".join(f"- `whitehouse/{p}`" for p in KEEP_DUPLICATE_PAIR)
    values = dict(
        seed=SEED,
        wh_total=len(wh),
        wh_topical=len(topical),
        wh_distractors=len(distractors),
        sd_total=len(sd_lines),
        sd_topical=sd_top,
        sd_distractors=sd_dis,
        mananeras=n_man,
        seed_n=1,
        total_items=len(wh) + len(sd_lines) + 1 + n_man,
        body_bytes=body_bytes,
        disk_bytes=0,
        by_folder=fmt(by_folder),
        by_year=fmt(by_year),
        topic_counts=fmt(topic_counts),
        rule=_selection_rule_text(),
        pair=pair,
    )
    license_path = out / "LICENSE.md"
    license_path.write_text(LICENSE_TEMPLATE.format(**values), encoding="utf-8")
    disk = sum(p.stat().st_size for p in out.rglob("*") if p.is_file())
    # The licence file states the total size including itself: write it twice.
    for _ in range(3):
        values["disk_bytes"] = disk
        license_path.write_text(LICENSE_TEMPLATE.format(**values), encoding="utf-8")
        disk = sum(p.stat().st_size for p in out.rglob("*") if p.is_file())

    print(f"sample archive: {out}")
    print(
        f"  seed: 1   whitehouse: {len(wh)} ({len(topical)} topical, "
        f"{len(distractors)} distractors)   statedept: {len(sd_lines)} ({sd_top} topical, "
        f"{sd_dis} distractors)   mananeras: {n_man}"
    )
    print(f"  releases total: {values['total_items']}")
    print(f"  body text: {body_bytes:,} bytes   files on disk: {disk:,} bytes")
    print(f"  whitehouse by folder: {fmt(by_folder)}")
    print(f"  by year: {fmt(by_year)}")
    print(f"  topics: {fmt(topic_counts)}")
    return 0


if __name__ == "__main__":
    os.umask(0o022)
    raise SystemExit(main())
