"""Folder and JSON sources: ids, order, field maps, and every skip reason."""

from __future__ import annotations

import itertools
import json
import os
from datetime import date
from pathlib import Path

import pytest

from ingest.sources import FolderSource, JsonSource, Skip, Source, open_source
from ingest.sources import folder as folder_module
from pressbot.config import Settings
from pressbot.errors import ConfigError, SourceError
from pressbot.types import Release
from tests.unit.test_extract import PDF_LINES, make_pdf

MD = """---
title: "Talks\\_resume"
date: '2024-01-22'
source_url: https://ex.gov/talks-resume/
---
Mexico and the U.S. have resumed talks that began in December at the
National Palace.
"""

HTML = """<html><head><title>Page title</title></head><body><article><h1>Page title</h1>
<p>WASHINGTON, D.C. — March 3, 2023 — The department announced a new program for the region
today, with funding for eight countries and a joint visit planned for February.</p>
</article></body></html>"""


def settings(**kw: object) -> Settings:
    return Settings(_env_file=None, **kw)  # type: ignore[call-arg]


def collect(source: Source) -> tuple[list[Release], list[Skip]]:
    items = list(source)
    return [i for i in items if isinstance(i, Release)], [i for i in items if isinstance(i, Skip)]


@pytest.fixture
def archive(tmp_path: Path) -> Path:
    root = tmp_path / "press-archive"
    (root / "sub").mkdir(parents=True)
    (root / ".git").mkdir()
    (root / "a.md").write_text(MD, encoding="utf-8")
    (root / "b.html").write_text(HTML, encoding="utf-8")
    (root / "c.txt").write_text("A plain title\n\nThe plain body of the release.\n", encoding="utf-8")
    (root / "d.pdf").write_bytes(make_pdf(PDF_LINES))
    (root / "sub" / "e.markdown").write_text("# Nested\n\nNested body.\n", encoding="utf-8")
    (root / "sub" / "f.htm").write_text(HTML, encoding="utf-8")
    (root / "data.jsonl").write_text(
        json.dumps({"id": 7, "title": "From JSONL", "text": "JSONL body."}) + "\n", encoding="utf-8"
    )
    # ignored silently
    (root / ".hidden.md").write_text("# Hidden\n\nnot read\n", encoding="utf-8")
    (root / ".git" / "HEAD.md").write_text("# Git\n\nnot read\n", encoding="utf-8")
    for name in ("LICENSE", "README.md", "NOTICE.txt", "LICENSE-CODE.txt"):
        (root / name).write_text("Not a release.\n", encoding="utf-8")
    # skipped, each with its reason
    (root / "image.png").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(100))
    (root / "binary.txt").write_bytes(b"text\x00with\x00nul bytes")
    (root / "empty.md").write_bytes(b"")
    (root / "blank.txt").write_text("  \n\t\n", encoding="utf-8")
    (root / "latin1.txt").write_bytes("Título\n\nAño nuevo en México, señor.".encode("latin-1"))
    (root / "undecodable.txt").write_bytes(bytes([0x80, 0x81, 0x8D, 0x8F, 0x90, 0x9D]) * 50)
    (root / "corrupt.pdf").write_bytes(b"%PDF-1.4\nthis is not a pdf body")
    (root / "images-only.md").write_text('---\ntitle: Poster\n---\n<figure><img src="x.png"/></figure>\n')
    (root / "broken-link.md").symlink_to(root / "missing-target.md")
    return root


EXPECTED_SKIPS = {
    "binary.txt": "binary",
    "blank.txt": "empty",
    "broken-link.md": "unreadable",
    "corrupt.pdf": "unreadable",
    "empty.md": "empty",
    "image.png": "unsupported",
    "images-only.md": "no_text",
    "undecodable.txt": "undecodable",
}


def test_folder_of_mixed_files(archive: Path) -> None:
    source = open_source(str(archive), settings())
    assert isinstance(source, FolderSource)
    assert source.name == "press-archive"
    releases, skips = collect(source)

    assert {s.location: s.reason for s in skips} == EXPECTED_SKIPS
    by_id = {r.id: r for r in releases}
    assert sorted(by_id) == sorted(
        [
            "https://ex.gov/talks-resume/",
            "b.html",
            "c.txt",
            "d.pdf",
            "data.jsonl#7",
            "latin1.txt",
            "sub/e.markdown",
            "sub/f.htm",
        ]
    )
    md = by_id["https://ex.gov/talks-resume/"]
    assert md.title == "Talks resume"
    assert md.date == date(2024, 1, 22)
    assert md.url == "https://ex.gov/talks-resume/"
    assert md.aliases == ["a.md"]
    assert md.text == ("Mexico and the U.S. have resumed talks that began in December at the National Palace.")
    assert {r.source for r in releases} == {"press-archive"}
    assert by_id["b.html"].title == "Page title"
    assert by_id["b.html"].date == date(2023, 3, 3)  # from the dateline
    assert by_id["c.txt"].title == "A plain title"
    assert by_id["c.txt"].date is None
    assert by_id["c.txt"].url is None
    assert by_id["d.pdf"].date == date(2024, 1, 22)
    assert by_id["latin1.txt"].text == "Año nuevo en México, señor."
    assert by_id["sub/e.markdown"].title == "Nested"
    assert by_id["data.jsonl#7"].title == "From JSONL"
    assert all(r.content_hash for r in releases)


def _location(item: Release | Skip) -> str:
    if isinstance(item, Skip):
        return item.location
    return item.aliases[0] if item.id.startswith("https://") else item.id


def test_a_bad_front_matter_field_is_logged_and_the_rest_kept(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    (tmp_path / "press").mkdir()
    (tmp_path / "press" / "bad-date.md").write_text(
        "---\ntitle: Talks resume\ndate: 2024-13-45\nsource_url: https://ex.gov/talks/\n---\nOne paragraph only.\n",
        encoding="utf-8",
    )
    with caplog.at_level("WARNING", logger="ingest.sources.folder"):
        releases, skips = collect(open_source(str(tmp_path), settings()))
    assert skips == []  # before: the front matter was lost and the lone paragraph became the title
    [r] = releases
    assert (r.id, r.title, r.text, r.date) == ("https://ex.gov/talks/", "Talks resume", "One paragraph only.", None)
    [warning] = [rec.getMessage() for rec in caplog.records]
    assert warning.startswith("press/bad-date.md: ") and "'date'" in warning and "2024-13-45" in warning


def test_folder_order_is_deterministic_and_sorted(archive: Path) -> None:
    locations = [_location(i) for i in open_source(str(archive), settings())]
    assert locations == [
        "a.md", "b.html", "binary.txt", "blank.txt", "broken-link.md", "c.txt", "corrupt.pdf",
        "d.pdf", "data.jsonl#7", "empty.md", "image.png", "images-only.md", "latin1.txt",
        "sub/e.markdown", "sub/f.htm", "undecodable.txt",
    ]  # fmt: skip
    assert locations == [_location(i) for i in open_source(str(archive), settings())]


def test_estimate_counts_candidate_files(archive: Path) -> None:
    # 8 release files + 8 files that are skipped (ignored and hidden ones are not counted)
    assert open_source(str(archive), settings()).estimate() == 16


def test_estimate_counts_the_records_of_a_jsonl_file_in_a_folder(tmp_path: Path) -> None:
    (tmp_path / "a.md").write_text("---\ntitle: A\n---\nSome text about the border.\n")
    (tmp_path / "b.txt").write_text("B\nMore text about trade.\n")
    records = [{"title": f"R{i}", "text": f"Body number {i} about migration."} for i in range(5)]
    (tmp_path / "export.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    source = open_source(str(tmp_path), settings())
    assert source.estimate() == 7
    assert sum(1 for _ in source) == 7


def test_source_name_override(archive: Path) -> None:
    releases, _ = collect(open_source(str(archive), settings(), source_name="whitehouse"))
    assert {r.source for r in releases} == {"whitehouse"}


def test_oversized_files_are_skipped_without_reading(archive: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (archive / "big.txt").write_text("Big title\n\n" + "word " * 400, encoding="utf-8")
    read: list[str] = []
    original = Path.read_bytes

    def spy(self: Path) -> bytes:
        read.append(self.name)
        return original(self)

    monkeypatch.setattr(Path, "read_bytes", spy)
    _, skips = collect(open_source(str(archive), settings(max_file_mb=0.001)))  # ~1 KB
    assert [(s.location, s.reason) for s in skips if s.reason == "oversized"] == [("big.txt", "oversized")]
    assert "big.txt" not in read


def test_unreadable_special_file(tmp_path: Path) -> None:
    # works as root too: a FIFO is not a regular file (and reading it would block)
    os.mkfifo(tmp_path / "pipe.txt")
    (tmp_path / "ok.txt").write_text("Title\n\nBody.", encoding="utf-8")
    releases, skips = collect(open_source(str(tmp_path), settings()))
    assert [(s.location, s.reason) for s in skips] == [("pipe.txt", "unreadable")]
    assert [r.id for r in releases] == ["ok.txt"]


def test_a_file_that_fails_unexpectedly_does_not_end_the_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "a.txt").write_text("Boom\n\nbody", encoding="utf-8")
    (tmp_path / "b.txt").write_text("Fine\n\nbody", encoding="utf-8")
    real = folder_module.extract_text

    def flaky(raw: str):  # type: ignore[no-untyped-def]
        if raw.startswith("Boom"):
            raise RuntimeError("extractor bug")
        return real(raw)

    monkeypatch.setattr(folder_module, "extract_text", flaky)
    releases, skips = collect(open_source(str(tmp_path), settings()))
    assert [(s.location, s.reason) for s in skips] == [("a.txt", "unreadable")]
    assert "extractor bug" in skips[0].detail
    assert [r.id for r in releases] == ["b.txt"]


def test_folder_streams_one_file_at_a_time(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for i in range(50):
        (tmp_path / f"{i:03d}.txt").write_text(f"Title {i}\n\nBody {i}.", encoding="utf-8")
    calls: list[str] = []
    real = folder_module.extract_text

    def counting(raw: str):  # type: ignore[no-untyped-def]
        calls.append(raw)
        return real(raw)

    monkeypatch.setattr(folder_module, "extract_text", counting)
    first = list(itertools.islice(open_source(str(tmp_path), settings()), 2))
    assert [r.id for r in first if isinstance(r, Release)] == ["000.txt", "001.txt"]
    assert len(calls) == 2


def test_single_file_source(archive: Path) -> None:
    source = open_source(str(archive / "c.txt"), settings())
    assert source.name == "c"
    assert source.estimate() == 1
    releases, skips = collect(source)
    assert skips == []
    assert [(r.id, r.title, r.source) for r in releases] == [("c.txt", "A plain title", "c")]


def test_single_unsupported_file(archive: Path) -> None:
    _, skips = collect(open_source(str(archive / "image.png"), settings()))
    assert [(s.location, s.reason) for s in skips] == [("image.png", "unsupported")]


# --- JSON Lines and JSON ------------------------------------------------------------------------


def write_jsonl(path: Path, lines: list[object | str]) -> Path:
    path.write_text("\n".join(x if isinstance(x, str) else json.dumps(x) for x in lines) + "\n", encoding="utf-8")
    return path


def test_jsonl_detects_common_fields(tmp_path: Path) -> None:
    path = write_jsonl(
        tmp_path / "press_releases.jsonl",
        [
            {
                "id": "https://www.state.gov/?page_id=1",
                "title": "Secretary Blinken’s Call",
                "url": "https://www.state.gov/call/",
                "published": "2021-05-20T22:14:56+00:00",
                "text": "Office of the Spokesperson\n\nThe Secretary spoke today with the Minister.",
                "content_html": "<p>Office of the Spokesperson</p><p>ignored: text wins</p>",
            },
            {
                "id": 42,
                "headline": "HTML only",
                "content_html": "<p>From <b>markup</b>.</p><ul><li>a</li><li>b</li></ul>",
            },
            {
                "title": "No id, no url",
                "body": "Body from the body field.",
                "lang": "en-US",
                "date": "22 de enero de 2024",
            },
            {
                "title": {"rendered": "WordPress &#8211; title"},
                "content": {"rendered": "<p>WP body.</p>"},
                "link": "https://wp.example/p/1",
            },
        ],
    )
    source = open_source(str(path), settings())
    assert isinstance(source, JsonSource)
    assert source.name == "press_releases"
    assert source.estimate() == 4
    releases, skips = collect(source)
    assert skips == []
    first, html_only, no_id, wordpress = releases
    assert first.id == first.url == "https://www.state.gov/call/"
    assert first.date == date(2021, 5, 20)
    assert first.text == "The Secretary spoke today with the Minister."  # opener dropped
    assert first.aliases == ["https://www.state.gov/?page_id=1"]
    assert first.source == "press_releases"
    assert (html_only.id, html_only.title, html_only.text) == (
        "press_releases.jsonl#42",
        "HTML only",
        "From markup.\n\n- a\n- b",
    )
    assert no_id.id == "press_releases.jsonl#3"  # the line number
    assert (no_id.language, no_id.date) == ("en", date(2024, 1, 22))
    assert (wordpress.id, wordpress.title, wordpress.text) == (
        "https://wp.example/p/1",
        "WordPress – title",
        "WP body.",
    )


def test_jsonl_field_map(tmp_path: Path) -> None:
    path = write_jsonl(
        tmp_path / "export.jsonl",
        [
            {
                "headline": "Mapped title",
                "story": "Mapped story text.",
                "pub": "2023-03-03",
                "meta": {"link": "https://ex.org/m"},
                "title": "not this one",
                "text": "nor this",
            },
        ],
    )
    fmap = {"title": "headline", "text": "story", "date": "pub", "url": "meta.link"}
    releases, _ = collect(open_source(str(path), settings(), field_map=fmap, source_name="news"))
    [r] = releases
    assert (r.id, r.title, r.text, r.date, r.source) == (
        "https://ex.org/m",
        "Mapped title",
        "Mapped story text.",
        date(2023, 3, 3),
        "news",
    )


def test_a_mapped_key_no_record_has_is_a_config_error(tmp_path: Path) -> None:
    records = [{"title": f"T{i}", "body": f"Body {i}.", "meta": {"link": f"https://ex.org/{i}"}} for i in range(3)]
    path = write_jsonl(tmp_path / "x.jsonl", records)
    with pytest.raises(ConfigError) as info:
        list(open_source(str(path), settings(), field_map={"text": "no.such.key"}))
    message = str(info.value)
    assert "text=no.such.key" in message and "x.jsonl" in message
    assert "body, meta, meta.link, title" in message  # the keys the records do have
    # a key that only some records have is data, not a mistake
    records[1]["story"] = "Only this record has a story."
    write_jsonl(path, records)
    releases, skips = collect(open_source(str(path), settings(), field_map={"text": "story"}))
    assert [r.title for r in releases] == ["T1"] and [s.reason for s in skips] == ["no_text", "no_text"]


def test_a_wrong_field_map_fails_early_and_before_any_record_is_yielded(tmp_path: Path) -> None:
    from ingest.sources.jsonl import FIELD_MAP_PROBE

    lines = [{"headline": f"T{i}", "text": f"Body {i}."} for i in range(FIELD_MAP_PROBE + 100)]
    lines.insert(FIELD_MAP_PROBE + 10, "{not json")  # lines after the probe are never read
    path = write_jsonl(tmp_path / "x.jsonl", lines)
    yielded: list[object] = []
    with pytest.raises(ConfigError, match=f"none of the first {FIELD_MAP_PROBE} record"):
        yielded.extend(open_source(str(path), settings(), field_map={"title": "titel"}))
    assert yielded == []  # nothing reached the index
    # in a folder, the check spans its JSON files and a wrong map is not a skipped file
    (tmp_path / "y.json").write_text(json.dumps([{"headline": "Y", "text": "Body."}]), encoding="utf-8")
    path.unlink()
    with pytest.raises(ConfigError, match="title=titel"):
        list(open_source(str(tmp_path), settings(), field_map={"title": "titel"}))
    assert [r.title for r in collect(open_source(str(tmp_path), settings(), field_map={"title": "headline"}))[0]] == [
        "Y"
    ]


def test_jsonl_mapped_text_with_html_is_converted(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "x.jsonl", [{"t": "T", "s": "<p>One.</p><p>Two &amp; three.</p>"}])
    [r] = collect(open_source(str(path), settings(), field_map={"title": "t", "text": "s"}))[0]
    assert r.text == "One.\n\nTwo & three."


def test_jsonl_bad_lines_are_skipped_and_the_run_goes_on(tmp_path: Path) -> None:
    path = write_jsonl(
        tmp_path / "x.jsonl",
        [
            {"title": "One", "text": "First."},
            '{"title": "broken", "text": ',
            "",
            "[1, 2, 3]",
            {"title": "No text", "text": "   ", "content_html": ""},
            {"title": "Two", "text": "Second."},
        ],
    )
    releases, skips = collect(open_source(str(path), settings()))
    assert [r.title for r in releases] == ["One", "Two"]
    assert [(s.location, s.reason) for s in skips] == [
        ("x.jsonl#2", "malformed_json"),
        ("x.jsonl#4", "malformed_json"),
        ("x.jsonl#5", "no_text"),
    ]
    assert "line 2" in skips[0].detail
    assert "expected an object" in skips[1].detail


def test_jsonl_undecodable_and_oversized_lines(tmp_path: Path) -> None:
    path = tmp_path / "x.jsonl"
    path.write_bytes(
        b'{"title": "ok", "text": "fine"}\n{"title": "bad \xff\xfe", "text": "x"}\n'
        + b'{"title": "big", "text": "'
        + b"w" * 3000
        + b'"}\n'
    )
    releases, skips = collect(open_source(str(path), settings(max_file_mb=0.001)))
    assert [r.title for r in releases] == ["ok"]
    assert [(s.location, s.reason) for s in skips] == [("x.jsonl#2", "undecodable"), ("x.jsonl#3", "oversized")]


@pytest.mark.parametrize(
    "document",
    [
        [{"title": "A", "text": "Body A."}, {"title": "B", "text": "Body B."}],
        {"items": [{"title": "A", "text": "Body A."}, {"title": "B", "text": "Body B."}]},
        {"meta": {"n": 2}, "stuff": [{"title": "A", "text": "Body A."}, {"title": "B", "text": "Body B."}]},
    ],
)
def test_json_documents(tmp_path: Path, document: object) -> None:
    path = tmp_path / "export.json"
    path.write_text(json.dumps(document), encoding="utf-8")
    releases, skips = collect(open_source(str(path), settings()))
    assert skips == []
    assert [(r.id, r.title) for r in releases] == [("export.json#1", "A"), ("export.json#2", "B")]


def test_json_single_object_and_jsonl_named_json(tmp_path: Path) -> None:
    single = tmp_path / "one.json"
    single.write_text(json.dumps({"title": "Solo", "text": "Only one."}), encoding="utf-8")
    assert [r.title for r in collect(open_source(str(single), settings()))[0]] == ["Solo"]
    lines = write_jsonl(tmp_path / "lines.json", [{"title": "L1", "text": "x"}, {"title": "L2", "text": "y"}])
    assert [r.title for r in collect(open_source(str(lines), settings()))[0]] == ["L1", "L2"]


def test_json_malformed_and_unsupported(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text('{"items": [', encoding="utf-8")
    assert [(s.location, s.reason) for s in collect(open_source(str(bad), settings()))[1]] == [
        ("bad.json", "malformed_json")
    ]
    other = tmp_path / "package.json"
    other.write_text(json.dumps({"name": "x", "version": "1"}), encoding="utf-8")
    assert [s.reason for s in collect(open_source(str(other), settings()))[1]] == ["unsupported"]


def test_json_nested_too_deep_is_refused_per_record(tmp_path: Path) -> None:
    deep_array = "[" * 10_000 + "]" * 10_000
    deep_object = '{"text": ' + '{"a": ' * 10_000 + "1" + "}" * 10_001
    path = write_jsonl(
        tmp_path / "x.jsonl",
        [{"title": "One", "text": "First."}, deep_array, deep_object, {"title": "Two", "text": "Second."}],
    )
    releases, skips = collect(open_source(str(path), settings()))
    assert [r.title for r in releases] == ["One", "Two"]  # the records after the deep ones are read
    assert [(s.location, s.reason) for s in skips] == [("x.jsonl#2", "malformed_json"), ("x.jsonl#3", "malformed_json")]
    assert all(s.detail.startswith(f"line {n}: nested too deeply") for n, s in zip((2, 3), skips, strict=True))
    # the same file inside a folder: the folder source reads it through the same code
    releases, skips = collect(open_source(str(tmp_path), settings()))
    assert [r.title for r in releases] == ["One", "Two"] and len(skips) == 2


def test_json_document_nested_too_deep_is_a_skip(tmp_path: Path) -> None:
    path = tmp_path / "deep.json"
    path.write_text('{"items": ' + "[" * 10_000 + "]" * 10_000 + "}", encoding="utf-8")
    [skip] = list(open_source(str(path), settings()))
    assert isinstance(skip, Skip)
    assert (skip.location, skip.reason) == ("deep.json", "malformed_json")
    assert "nested too deeply" in skip.detail


# --- open_source errors ---------------------------------------------------------------------------


@pytest.mark.parametrize("spec", ["", "   ", "/no/such/archive", "ftp://example.org/feed", "s3://bucket/x"])
def test_bad_specs_raise_source_error(spec: str) -> None:
    with pytest.raises(SourceError) as info:
        open_source(spec, settings())
    message = str(info.value)
    assert "http(s)://" in message and "folder" in message
    if spec.strip():
        assert spec in message


def test_unknown_field_map_key_raises(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "x.jsonl", [{"title": "t", "text": "x"}])
    with pytest.raises(SourceError, match="headline"):
        open_source(str(path), settings(), field_map={"headline": "title"})


def test_skip_rejects_unknown_reasons() -> None:
    with pytest.raises(ValueError, match="unknown skip reason"):
        Skip("x", "gone", "")  # type: ignore[arg-type]
