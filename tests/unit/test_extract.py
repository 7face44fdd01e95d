"""Per-format extraction: Markdown + front matter, plain text, HTML, PDF; decoding; language."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from ingest.extract import (
    ExtractError,
    decode_bytes,
    extract_html,
    extract_markdown,
    extract_pdf,
    extract_text,
    split_title,
)
from ingest.language import detect_language, normalize_language

# Front matter exactly as the White House archive writes it: a YAML double-quoted title with
# `\_` (YAML's non-breaking space) and `\u2060`, an unquoted tz-aware published_time.
WHITEHOUSE_MD = r"""---
tags: statements-releases
date: '2021-01-15'
modified_time: 2021-01-25 02:21:50-05:00
source_url: https://bidenwhitehouse.archives.gov/briefing-room/statements-releases/2021/01/15/fact-sheet/
published_time: 2021-01-15 16:17:00-05:00
title: "Fact Sheet: President-elect Biden Outlines COVID-\u206019 Vaccination\_Plan"
---

The COVID-19 pandemic is getting worse by the day — more people are
hospitalized with COVID-19 than ever before, the death rate is up almost
20 percent \[1\].

\# \# \#
"""

SEED_TXT = """Press "Enter" to skip to content

Mexico and the U. S. continue migration talks

Mexico City, Mexico — Mexico and the U.S. have resumed talks that began in December at the \
National Palace.

In particular, the development program in which $180 million dollars will be invested to \
support Guatemala, Honduras, El Salvador, Colombia, Ecuador, Venezuela, Cuba and Haiti.

In order to continue this high-level dialogue, both delegations agreed to hold a new meeting \
in February."""

# the seed release as bundled with the sample archive (a byte-for-byte copy of the corpus file)
REAL_SEED = (
    Path(__file__).resolve().parents[2] / "evals/sample_archive/seed/mexico-and-the-us-continue-migration-talks.txt"
)


def test_whitehouse_markdown() -> None:
    e = extract_markdown(WHITEHOUSE_MD)
    assert e.title == "Fact Sheet: President-elect Biden Outlines COVID-19 Vaccination Plan"
    assert e.date == date(2021, 1, 15)
    assert e.url == ("https://bidenwhitehouse.archives.gov/briefing-room/statements-releases/2021/01/15/fact-sheet/")
    assert e.language == "en"
    assert e.text == (
        "The COVID-19 pandemic is getting worse by the day — more people are hospitalized with "
        "COVID-19 than ever before, the death rate is up almost 20 percent [1]."
    )


def test_markdown_published_time_and_url_fallbacks() -> None:
    md = "---\ntitle: T\npublished_time: 2022-03-04 23:30:00-05:00\nurl: https://ex.org/a\n---\nBody text here."
    e = extract_markdown(md)
    assert (e.date, e.url) == (date(2022, 3, 4), "https://ex.org/a")


def test_markdown_without_front_matter_takes_the_heading() -> None:
    e = extract_markdown("# The Title\n\nWASHINGTON, D.C. — March 3, 2023 — Body\nwrapped.\n")
    assert e.title == "The Title"
    assert e.text == "WASHINGTON, D.C. — March 3, 2023 — Body wrapped."
    assert e.date == date(2023, 3, 3)
    assert e.url is None


def test_markdown_with_broken_front_matter_keeps_the_body() -> None:
    e = extract_markdown("---\ntitle: [unclosed\n---\nFirst line\n\nSecond paragraph.\n")
    assert e.title == "First line"
    assert e.text == "Second paragraph."


def test_front_matter_with_an_invalid_date_keeps_the_other_fields() -> None:
    md = "---\ntitle: Talks resume\ndate: 2024-13-45\nsource_url: https://ex.gov/talks/\n---\nOne paragraph.\n"
    e = extract_markdown(md)
    assert (e.title, e.url, e.text) == ("Talks resume", "https://ex.gov/talks/", "One paragraph.")
    assert e.date is None
    assert e.problems == ["front matter field 'date': '2024-13-45' is not a date; ignored"]


def test_broken_front_matter_is_read_field_by_field() -> None:
    md = (
        "---\n"
        "title: Briefing: the border program\n"  # an unquoted ": " breaks the whole block
        "date: 2024-01-22\n"
        "tags:\n  - migration\n  - talks\n"
        "summary: [never closed\n"
        "not a field at all\n"
        "url: https://ex.gov/briefing/\n"
        "---\n"
        "WASHINGTON — The body is one paragraph.\n"
    )
    e = extract_markdown(md)
    assert (e.title, e.date, e.url) == ("Briefing: the border program", date(2024, 1, 22), "https://ex.gov/briefing/")
    assert e.text == "WASHINGTON — The body is one paragraph."  # no front matter line in the body
    problems = "\n".join(e.problems)
    assert "'title' is not valid YAML" in problems and "read as plain text" in problems
    assert "'summary' is not valid YAML" in problems and "'not a field at all'" in problems
    assert "'date'" not in problems and "'tags'" not in problems and "'url'" not in problems


def test_front_matter_without_a_closing_line_is_not_body_text() -> None:
    e = extract_markdown("---\ntitle: Unclosed\ndate: 2023-03-03\n\nThe body paragraph.\n")
    assert (e.title, e.date, e.text) == ("Unclosed", date(2023, 3, 3), "The body paragraph.")
    assert e.problems and "no closing" in e.problems[0]
    # a leading thematic break is not front matter
    e = extract_markdown("---\nA first paragraph of text.\n\nAnother one.\n")
    assert "A first paragraph of text." in f"{e.title} {e.text}" and e.problems == []


def test_markdown_body_repeating_the_title_is_not_duplicated() -> None:
    e = extract_markdown("---\ntitle: Big News\n---\n## Big News\n\nThe body.\n")
    assert (e.title, e.text) == ("Big News", "The body.")


def test_seed_text() -> None:
    e = extract_text(SEED_TXT)
    assert e.title == "Mexico and the U. S. continue migration talks"
    assert e.date is None  # no dateline: never taken from "December"/"February"
    assert e.url is None
    assert e.language == "en"
    assert e.text.startswith("Mexico City, Mexico — Mexico and the U.S. have resumed talks")
    assert "Enter" not in e.text
    assert "Guatemala, Honduras, El Salvador, Colombia, Ecuador, Venezuela, Cuba and Haiti" in e.text


def test_real_seed_file() -> None:
    e = extract_text(REAL_SEED.read_text(encoding="utf-8"))
    assert e.title == "Mexico and the U. S. continue migration talks"
    assert e.date is None
    assert 'Press "Enter"' not in e.text


def test_spanish_text_with_dateline() -> None:
    raw = (
        "Versión estenográfica de la conferencia de prensa matutina\n"
        "Presidencia de la República\n"
        "22 de enero de 2024\n"
        "---\n"
        "PRESIDENTE ANDRÉS MANUEL LÓPEZ OBRADOR\n"
        "Buenos días. Vamos a informar sobre la reunión con el gobierno de Estados Unidos.\n"
    )
    e = extract_text(raw)
    assert e.title == "Versión estenográfica de la conferencia de prensa matutina"
    assert e.date == date(2024, 1, 22)
    assert e.language == "es"
    assert "---" not in e.text


def test_split_title_of_a_text_without_a_title_line() -> None:
    long = "word " * 100
    title, rest = split_title(long)
    assert title.endswith("…") and len(title) <= 201
    assert rest == long.strip()


PAGE = """<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">
<title>Mexico and the U.S. continue migration talks | SRE</title>
<link rel="canonical" href="/en/press/migration-talks">
<meta property="og:title" content="Mexico and the U.S. continue migration talks">
<meta property="article:published_time" content="2024-01-22T18:00:00-06:00"></head>
<body><a class="skip" href="#main">Press "Enter" to skip to content</a>
<header><nav><ul><li><a href="/">Home</a></li><li><a href="/press">Press</a></li></ul></nav></header>
<main id="main"><article><h1>Mexico and the U.S. continue migration talks</h1>
<p>Mexico City, Mexico — Mexico and the U.S. have resumed talks that began in December at the
National Palace. Talks were resumed regarding greater collaboration to confront migratory flows.</p>
<p>In particular, the development program in which $180 million dollars will be invested to
support Guatemala, Honduras, El Salvador, Colombia, Ecuador, Venezuela, Cuba and Haiti.</p>
<ul><li>Guatemala</li><li>Honduras</li></ul>
<p>Both delegations agreed to hold a new meeting in February.</p></article></main>
<footer><p>Share</p><p>© 2024 Secretaría de Relaciones Exteriores. All rights reserved.</p></footer>
</body></html>"""


def test_html_page() -> None:
    e = extract_html(PAGE, url="https://www.gob.mx/sre/prensa/x")
    assert e.title == "Mexico and the U.S. continue migration talks"
    assert e.date == date(2024, 1, 22)
    assert e.url == "https://www.gob.mx/en/press/migration-talks"  # canonical, resolved
    assert e.language == "en"
    assert e.text.split("\n\n") == [
        "Mexico City, Mexico — Mexico and the U.S. have resumed talks that began in December at "
        "the National Palace. Talks were resumed regarding greater collaboration to confront "
        "migratory flows.",
        "In particular, the development program in which $180 million dollars will be invested "
        "to support Guatemala, Honduras, El Salvador, Colombia, Ecuador, Venezuela, Cuba and Haiti.",
        "- Guatemala\n- Honduras",
        "Both delegations agreed to hold a new meeting in February.",
    ]


def test_html_without_date_metadata_stays_undated_and_uses_og_url() -> None:
    page = PAGE.replace('<meta property="article:published_time" content="2024-01-22T18:00:00-06:00">', "")
    page = page.replace(
        '<link rel="canonical" href="/en/press/migration-talks">',
        '<meta property="og:url" content="https://sre.example/og">',
    )
    e = extract_html(page, url="http://127.0.0.1:8000/page.html")
    assert e.date is None
    assert e.url == "https://sre.example/og"


def test_html_without_content() -> None:
    e = extract_html("<html><head><title>Nothing</title></head><body><script>x = 1;</script></body></html>")
    assert e.text == ""


def make_pdf(lines: list[str], title: str | None = None) -> bytes:
    """A minimal valid one-page PDF with Helvetica text, built by hand (no external tools)."""
    shown = " ".join("(" + ln.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)") + ") '" for ln in lines)
    content = f"BT /F1 12 Tf 72 720 Td 14 TL {shown} ET"
    objs = [
        "<< /Type /Catalog /Pages 2 0 R >>",
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        "/Resources << /Font << /F1 5 0 R >> >> >>",
        f"<< /Length {len(content)} >>\nstream\n{content}\nendstream",
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    if title:
        objs.append(f"<< /Title ({title}) >>")
    out = b"%PDF-1.4\n"
    offsets = []
    for i, body in enumerate(objs, 1):
        offsets.append(len(out))
        out += f"{i} 0 obj\n{body}\nendobj\n".encode("latin-1")
    xref = len(out)
    out += f"xref\n0 {len(objs) + 1}\n0000000000 65535 f \n".encode()
    out += b"".join(f"{off:010d} 00000 n \n".encode() for off in offsets)
    info = f" /Info {len(objs)} 0 R" if title else ""
    out += (f"trailer\n<< /Size {len(objs) + 1} /Root 1 0 R{info} >>\nstartxref\n{xref}\n%%EOF\n").encode()
    return out


PDF_LINES = [
    "Ministry announces development program",
    "Mexico City, January 22, 2024",
    "The ministry said the program will invest 180 million dollars in the region.",
]


def test_pdf_title_from_metadata() -> None:
    e = extract_pdf(make_pdf(PDF_LINES, title="Program announced"))
    assert e.title == "Program announced"
    assert e.date == date(2024, 1, 22)
    assert "180 million dollars" in e.text


def test_pdf_title_from_first_line_when_metadata_is_a_file_name() -> None:
    e = extract_pdf(make_pdf(PDF_LINES, title="Microsoft Word - draft3.docx"))
    assert e.title == "Ministry announces development program"
    assert e.text.startswith("Mexico City, January 22, 2024")


@pytest.mark.parametrize("data", [b"%PDF-1.4 garbage", b"not a pdf at all", b"%PDF-1.7\n1 0 obj\n<<"])
def test_corrupt_pdf(data: bytes) -> None:
    with pytest.raises(ExtractError):
        extract_pdf(data)


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ("Señor presidente, año nuevo.".encode(), "Señor presidente, año nuevo."),
        ("\ufeffBOM text".encode(), "BOM text"),
        (
            "Señor presidente, año nuevo. Política exterior de México.".encode("latin-1"),
            "Señor presidente, año nuevo. Política exterior de México.",
        ),
        ("“Quoted” text – with dashes and café.".encode("cp1252"), "“Quoted” text – with dashes and café."),
        ("Hola señor".encode("utf-16"), "Hola señor"),
    ],
)
def test_decode_bytes(data: bytes, expected: str) -> None:
    assert decode_bytes(data) == expected


def test_undecodable_bytes() -> None:
    assert decode_bytes(bytes([0x80, 0x81, 0x8D, 0x8F, 0x90, 0x9D]) * 50) is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("The Secretary of State spoke today with the Foreign Minister about the region.", "en"),
        ("La Secretaría de Relaciones Exteriores informó hoy sobre la reunión con Estados Unidos.", "es"),
        ("ok", "und"),
        ("12345 678", "und"),
    ],
)
def test_detect_language(text: str, expected: str) -> None:
    assert detect_language(text) == expected


@pytest.mark.parametrize(
    ("value", "expected"), [("en-US", "en"), ("es_MX", "es"), ("EN", "en"), ("English", None), (None, None)]
)
def test_normalize_language(value: object, expected: str | None) -> None:
    assert normalize_language(value) == expected
