"""Golden files: loading, URL/title normalisation, source matching, fact matching, checking."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from evals.golden import (
    GoldenFormatError,
    GoldenItem,
    check_golden,
    clean_markdown,
    fact_present,
    iter_archive_releases,
    load_golden,
    main,
    normalize_title,
    normalize_url,
    source_matches,
)
from pressbot.errors import PressbotError

SEED_TITLE = "Mexico and the U. S. continue migration talks"
SEED_TEXT = (
    "In particular, the development program in which $180 million dollars will be invested "
    "to support Guatemala, Honduras, El Salvador, Colombia, Ecuador, Venezuela, Cuba and Haiti."
)
URL = "https://bidenwhitehouse.archives.gov/briefing-room/statements-releases/2021/03/01/x/"


def _item(**kw) -> dict:
    base = {
        "id": "q-1",
        "question": "Which countries receive the $180M program?",
        "answer": "Guatemala and others.",
        "must_include": [["Guatemala"], ["$180 million", "180 million"]],
        "sources": [{"title": SEED_TITLE}],
        "type": "list",
    }
    base.update(kw)
    return base


def _write(path: Path, rows: list) -> Path:
    lines = [r if isinstance(r, str) else json.dumps(r) for r in rows]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


RELEASES = [
    ("seed/seed.txt", SEED_TITLE, None, SEED_TEXT),
    (URL, "U.S.-Mexico Joint Declaration", URL, "Both leaders met on March 1."),
]


# --------------------------------------------------------------------------- loading


def test_load_golden_reads_items_and_ignores_unknown_keys(tmp_path: Path) -> None:
    path = _write(
        tmp_path / "g.jsonl",
        [_item(topic="mexico", reviewer="me", as_of="2024-02-01"), "", _item(id="q-2")],
    )
    items = load_golden(path)
    assert [it.id for it in items] == ["q-1", "q-2"]
    assert items[0].as_of == dt.date(2024, 2, 1)
    assert items[1].as_of is None
    assert not hasattr(items[0], "topic")
    assert items[0].must_include == [["Guatemala"], ["$180 million", "180 million"]]


def test_load_golden_accepts_several_paths_and_bare_string_facts(tmp_path: Path) -> None:
    a = _write(tmp_path / "a.jsonl", [_item(must_include=["Guatemala", ["Cuba", "Cuban"]])])
    b = _write(tmp_path / "b.jsonl", [_item(id="q-2")])
    items = load_golden([a, str(b)])
    assert items[0].must_include == [["Guatemala"], ["Cuba", "Cuban"]]
    assert len(items) == 2


def test_null_values_count_as_absent(tmp_path: Path) -> None:
    """Exporters write `null` for what they lack: a source's `url`, `as_of`, `answer`."""
    path = _write(tmp_path / "g.jsonl", [_item(answer=None, as_of=None, topic=None,
                                               sources=[{"url": None, "title": SEED_TITLE, "release_id": None}])])
    (item,) = load_golden(path)
    assert item.sources == [{"title": SEED_TITLE}]
    assert item.answer == "" and item.as_of is None
    assert check_golden([item], RELEASES) == []


def test_bad_json_names_file_and_line(tmp_path: Path) -> None:
    path = _write(tmp_path / "bad.jsonl", [_item(), "{not json"])
    with pytest.raises(GoldenFormatError, match=r"bad\.jsonl:2: not valid JSON"):
        load_golden(path)


def test_non_object_line_is_an_error(tmp_path: Path) -> None:
    path = _write(tmp_path / "list.jsonl", ["[1, 2]"])
    with pytest.raises(GoldenFormatError, match=r"list\.jsonl:1: expected a JSON object"):
        load_golden(path)


def test_missing_field_names_file_line_item_and_field(tmp_path: Path) -> None:
    row = _item(id="q-9")
    del row["question"]
    path = _write(tmp_path / "g.jsonl", [_item(), row])
    with pytest.raises(GoldenFormatError) as err:
        load_golden(path)
    msg = str(err.value)
    assert "g.jsonl:2" in msg and "'q-9'" in msg and "question" in msg


def test_bad_field_types_are_reported(tmp_path: Path) -> None:
    path = _write(tmp_path / "g.jsonl", [_item(must_include=[[1, {"x": 2}]], as_of="soon")])
    with pytest.raises(GoldenFormatError, match=r"g\.jsonl:1: .*as_of"):
        load_golden(path)


def test_missing_file_is_a_golden_format_error(tmp_path: Path) -> None:
    with pytest.raises(GoldenFormatError, match="cannot read golden file"):
        load_golden(tmp_path / "nope.jsonl")
    assert issubclass(GoldenFormatError, PressbotError)


# --------------------------------------------------------------------------- normalising


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("https://www.state.gov/foo/", "http://state.gov/foo"),
        ("HTTPS://WWW.State.GOV/foo", "state.gov/foo/"),
        ("https://state.gov/foo#section", "https://state.gov/foo"),
        ("https://state.gov/?page_id=1", "https://www.state.gov/?page_id=1"),
    ],
)
def test_normalize_url_equal(a: str, b: str) -> None:
    assert normalize_url(a) == normalize_url(b)


def test_normalize_url_keeps_path_case_and_query() -> None:
    assert normalize_url("https://x.org/A") != normalize_url("https://x.org/a")
    assert normalize_url("https://x.org/?p=1") != normalize_url("https://x.org/?p=2")
    assert normalize_url("") == ""


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("Mexico and the U. S. continue migration talks", "Mexico and the U.S. Continue Migration Talks"),
        ("FACT SHEET: U.S. – Mexico Bilateral Cooperation", "fact sheet us-mexico bilateral cooperation"),
        ("President Biden’s Call", "President Biden's call"),
        ("Readout of Call with López Obrador", "readout of call with Lopez Obrador"),
        ("Biden-\u2060Harris  Administration", "Biden Harris Administration"),
    ],
)
def test_normalize_title_equal(a: str, b: str) -> None:
    assert normalize_title(a) == normalize_title(b)


def test_normalize_title_distinguishes_words() -> None:
    assert normalize_title("Mexico talks") != normalize_title("Mexico walks")


# --------------------------------------------------------------------------- sources


def test_source_matches_by_each_key() -> None:
    assert source_matches(
        {"url": "http://www.bidenwhitehouse.archives.gov/briefing-room/statements-releases/2021/03/01/x"}, URL, URL, "t"
    )
    assert source_matches({"title": "mexico and the u.s. continue migration talks"}, "seed/seed.txt", None, SEED_TITLE)
    assert source_matches({"release_id": "seed/seed.txt"}, "seed/seed.txt", None, "x")
    assert source_matches({"release_id": URL.replace("https://", "http://")}, URL, URL, "t")


def test_source_matches_when_any_key_matches() -> None:
    src = {"url": "https://example.org/other", "title": SEED_TITLE}
    assert source_matches(src, "seed/seed.txt", None, SEED_TITLE)
    assert not source_matches({"url": "https://example.org/other"}, "seed/seed.txt", None, SEED_TITLE)


def test_source_matches_url_against_release_id_when_url_missing() -> None:
    assert source_matches({"url": URL}, URL, None, "t")


def test_source_without_known_keys_matches_nothing() -> None:
    assert not source_matches({}, "a", "https://a", "A")
    assert not source_matches({"note": "x"}, "a", "https://a", "A")
    assert not source_matches({"title": ""}, "a", None, "")


# --------------------------------------------------------------------------- facts


def test_fact_present_is_case_insensitive_and_takes_any_form() -> None:
    assert fact_present(["GUATEMALA"], SEED_TEXT)
    assert fact_present(["$180M", "180 million"], SEED_TEXT)
    assert not fact_present(["$180M"], SEED_TEXT)
    assert not fact_present([], SEED_TEXT)
    assert not fact_present([""], SEED_TEXT)


def test_fact_present_normalises_quotes_spaces_and_wraps() -> None:
    text = "the \u201cWet Foot, Dry Foot\u201d policy\nremains\u00a0 terminated; Mexico\u2019s  role"
    assert fact_present(['"Wet Foot, Dry Foot" policy remains terminated'], text)
    assert fact_present(["Mexico's role"], text)
    assert fact_present(["Mexico\u2019s\u00a0role"], "Mexico's role")
    assert fact_present(["Biden-Harris"], "the Biden-\u2060Harris Administration")


# --------------------------------------------------------------------------- checking


def test_check_golden_clean_set_has_no_problems() -> None:
    items = [
        GoldenItem.model_validate(_item()),
        GoldenItem.model_validate(
            _item(
                id="q-2",
                type="multi",
                must_include=[["Guatemala"], ["March 1"]],
                sources=[{"title": SEED_TITLE}, {"url": URL}],
            )
        ),
        GoldenItem.model_validate(_item(id="q-3", type="unanswerable", must_include=[], sources=[])),
    ]
    assert check_golden(items, RELEASES) == []


def test_check_golden_reports_every_kind_of_problem() -> None:
    items = [
        GoldenItem.model_validate(_item()),
        GoldenItem.model_validate(_item()),  # duplicate id
        GoldenItem.model_validate(_item(id="t", type="trivia")),
        GoldenItem.model_validate(_item(id="u", type="unanswerable")),
        GoldenItem.model_validate(_item(id="s", sources=[{"url": "https://nowhere.example/x"}])),
        GoldenItem.model_validate(_item(id="f", must_include=[["Guatemala"], ["Nicaragua"]])),
        GoldenItem.model_validate(_item(id="n", sources=[])),
        GoldenItem.model_validate(_item(id="k", sources=[{"author": "x"}])),
        GoldenItem.model_validate(_item(id="e", must_include=[[""]])),
    ]
    problems = "\n".join(check_golden(items, RELEASES))
    assert "q-1: duplicate id (2 items)" in problems
    assert "t: unknown type 'trivia'" in problems
    assert "u: unanswerable item has must_include facts" in problems
    assert "u: unanswerable item has sources" in problems
    assert "s: source {'url': 'https://nowhere.example/x'} matches no release" in problems
    assert "f: fact ['Nicaragua'] occurs in none of its sources" in problems
    assert "f: fact ['Guatemala']" not in problems
    assert "n: answerable item has no sources" in problems
    assert "k: source {'author': 'x'} has none of the keys" in problems
    assert "e: must_include has a fact with no forms" in problems


def test_fact_must_be_in_the_items_own_sources() -> None:
    # "March 1" is in the archive, but not in the seed, the item's only source.
    item = GoldenItem.model_validate(_item(must_include=[["March 1"]]))
    assert check_golden([item], RELEASES) == ["q-1: fact ['March 1'] occurs in none of its sources"]


# --------------------------------------------------------------------------- raw archives


def test_clean_markdown_removes_escapes_and_joins_hard_wraps() -> None:
    raw = "The \\[bracketed\\] text and \\### not a heading,\nwrapped across\nlines.\\\nNext\n\n  \nPara two\\*"
    cleaned = clean_markdown(raw)
    assert "\\" not in cleaned
    assert "The [bracketed] text and ### not a heading, wrapped across lines." in cleaned
    assert cleaned.endswith("Para two*")
    assert "\n\n" in cleaned
    assert fact_present(["wrapped across lines"], cleaned)


def test_iter_archive_releases_reads_md_jsonl_and_txt(tmp_path: Path) -> None:
    (tmp_path / "wh" / "2021-03").mkdir(parents=True)
    (tmp_path / "wh" / "2021-03" / "a.md").write_text(
        '---\ntitle: "FACT SHEET: U.S. \\u2013 Mexico\\\n  \\ Cooperation"\n'
        f"source_url: {URL}\ndate: '2021-03-01'\n---\n \nEach day, nearly \\$1.9 billion in\n"
        "trade crosses our shared border.\n",
        encoding="utf-8",
    )
    (tmp_path / "wh" / "LICENSE").write_text("CC0", encoding="utf-8")
    (tmp_path / "sd.jsonl").write_text(
        json.dumps({"title": "T1", "url": "https://www.state.gov/t1/", "text": "One."})
        + "\n\n"
        + json.dumps({"title": "T2", "text": "Two."})
        + "\n",
        encoding="utf-8",
    )
    (tmp_path / "seed.txt").write_text(
        'Press "Enter" to skip to content\n\n' + SEED_TITLE + "\n\n" + SEED_TEXT, encoding="utf-8"
    )
    rows = list(iter_archive_releases(tmp_path))
    by_title = {r[1]: r for r in rows}
    assert len(rows) == 4
    md = by_title["FACT SHEET: U.S. – Mexico Cooperation"]
    assert md[0] == URL and md[2] == URL
    assert "nearly $1.9 billion in trade crosses" in md[3]
    assert by_title["T1"][0] == "https://www.state.gov/t1/"
    assert by_title["T2"][0] == "sd.jsonl#3" and by_title["T2"][2] is None
    assert by_title[SEED_TITLE][0] == "seed.txt"
    raw = {r[1]: r for r in iter_archive_releases(tmp_path, clean=False)}
    assert "\\$1.9 billion in\n" in raw["FACT SHEET: U.S. – Mexico Cooperation"][3]


def test_command_line_exit_codes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "arch").mkdir()
    (tmp_path / "arch" / "seed.txt").write_text(SEED_TITLE + "\n\n" + SEED_TEXT, encoding="utf-8")
    good = _write(tmp_path / "good.jsonl", [_item()])
    bad = _write(tmp_path / "bad.jsonl", [_item(must_include=[["Nicaragua"]])])
    broken = _write(tmp_path / "broken.jsonl", ["{"])
    assert main([str(good), "--archive", str(tmp_path / "arch")]) == 0
    assert "1 items (list 1); 0 problems" in capsys.readouterr().out
    assert main([str(bad), "--archive", str(tmp_path / "arch")]) == 1
    assert "Nicaragua" in capsys.readouterr().out
    assert main([str(broken), "--archive", str(tmp_path / "arch")]) == 2
    assert "broken.jsonl:1" in capsys.readouterr().err
    assert main([str(good), "--archive", str(tmp_path / "missing")]) == 2
