"""Text clean-up: pandoc escapes, hard wraps, boilerplate, whitespace (English and Spanish)."""

from __future__ import annotations

import pytest

from ingest.clean import (
    clean_text,
    clean_title,
    drop_boilerplate,
    html_to_text,
    markdown_to_text,
    normalize_chars,
    undo_pandoc_escapes,
    unwrap,
)

# A White House body as found in the archive: pandoc Markdown, wrapped at 72 columns.
WHITEHOUSE_BODY = """\
\x20
*Effectively and equitably vaccinating the U.S. population will happen
through stronger partnerships with states and communities*

The COVID-19 pandemic is getting worse by the day — more people are
hospitalized with COVID-19 than ever before, the death rate is up almost
20 percent \\[as of today\\], and costs \\$1.9 trillion.

**Get more people vaccinated**

-   **Encourage states to allow more people to be vaccinated including
    individuals 65 and older.** The process of establishing priority
    groups was driven by science.
-   **Ensure equity** throughout the [vaccination
    process](https://example.gov/a_(b)/c).
    -   A nested point with an escaped star \\* and an underscore
        file\\_name.

Read the plan at <https://example.gov/plan>.\x20\x20
Contact: press@example.gov

1\\. Saved 15 million Americans \\$800 in 2023.

\\###
"""


def test_whitehouse_markdown_becomes_clean_prose() -> None:
    text = clean_text(WHITEHOUSE_BODY, markdown=True)
    assert text.split("\n\n") == [
        "Effectively and equitably vaccinating the U.S. population will happen through "
        "stronger partnerships with states and communities",
        "The COVID-19 pandemic is getting worse by the day — more people are hospitalized with "
        "COVID-19 than ever before, the death rate is up almost 20 percent [as of today], and "
        "costs $1.9 trillion.",
        "Get more people vaccinated",
        "- Encourage states to allow more people to be vaccinated including individuals 65 and "
        "older. The process of establishing priority groups was driven by science.\n"
        "- Ensure equity throughout the vaccination process.\n"
        "- A nested point with an escaped star * and an underscore file_name.",
        "Read the plan at https://example.gov/plan. Contact: press@example.gov",
        "1. Saved 15 million Americans $800 in 2023.",
    ]


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (r"\[1\] \#hashtag \$5 \*star\* a\_b", "[1] #hashtag $5 *star* a_b"),
        (r"back\\slash", "back\\slash"),
        (r"C:\Users\me", r"C:\Users\me"),  # not an escape: kept
        ("non\\ breaking", "non breaking"),
        (r"\(a\) \{x\} \<tag\> \`22", "(a) {x} <tag> `22"),
    ],
)
def test_undo_pandoc_escapes(raw: str, expected: str) -> None:
    assert undo_pandoc_escapes(raw) == expected


def test_escaped_markup_stays_literal_in_markdown() -> None:
    assert markdown_to_text(r"a \*not emphasis\* and \[not\](a link)") == ("a *not emphasis* and [not](a link)")


@pytest.mark.parametrize("marker", ["# # #", r"\# \# \#", r"\###", "###", "-30-", "***", "* * *", "---"])
def test_end_markers_are_dropped(marker: str) -> None:
    text = clean_text(f"Last sentence of the release.\n\n{marker}\n", markdown=True)
    assert text == "Last sentence of the release."
    assert clean_text(f"Last sentence.\n\n{marker}\n") == "Last sentence."


def test_end_mark_glued_to_the_last_line() -> None:
    assert clean_text("to be Director, vice Russell Vought. \\###", markdown=True) == (
        "to be Director, vice Russell Vought."
    )
    assert clean_text("Executive Director of Joining Forces ###") == ("Executive Director of Joining Forces")


def test_web_chrome_lines_are_dropped() -> None:
    raw = (
        'Press "Enter" to skip to content\n\nFOR IMMEDIATE RELEASE\n\nTitle of it\n\n'
        "Body paragraph one.\n\nShare\nPrint\nTweet\n\nBody paragraph two."
    )
    assert clean_text(raw) == "Title of it\n\nBody paragraph one.\n\nBody paragraph two."


def test_curly_quoted_skip_link_is_dropped() -> None:
    assert clean_text("Press “Enter” to skip to content\nHello there.") == "Hello there."


def test_office_of_the_spokesperson_only_as_opener() -> None:
    raw = "Office of the Spokesperson\n\nThe United States condemns the attack.\n\n"
    assert clean_text(raw) == "The United States condemns the attack."
    later = "The statement came from the\n\nOffice of the Spokesperson\n\nyesterday."
    assert "Office of the Spokesperson" in drop_boilerplate(later)


def test_hard_wrapped_plain_text_is_joined_but_short_lines_end_paragraphs() -> None:
    raw = (
        "The Secretary of Foreign Affairs led a delegation of high-level officials\n"
        "who met with their counterparts in the city of Washington with the aim\n"
        "of continuing talks.\n"
        "The meeting also covered the modernisation of the border crossing and the\n"
        "need to continue working on it for its prompt entry into operation soon.\n"
        "- first item\n"
        "- second item\n"
    )
    assert unwrap(raw).split("\n") == [
        "The Secretary of Foreign Affairs led a delegation of high-level officials who met "
        "with their counterparts in the city of Washington with the aim of continuing talks.",
        "The meeting also covered the modernisation of the border crossing and the need to "
        "continue working on it for its prompt entry into operation soon.",
        "- first item",
        "- second item",
        "",
    ]


def test_one_paragraph_per_line_text_keeps_its_newlines() -> None:
    long = "This paragraph is written on one long line, as scraped pages often are. " * 3
    raw = f"{long}\n{long}\nShort line\n{long}"
    assert unwrap(raw).split("\n") == [long.strip(), long.strip(), "Short line", long.strip()]


def test_wrapped_line_starting_with_letters_is_not_a_list_item() -> None:
    raw = "whole grains consumed in intact forms (e.g., oats, barley, brown\nrice) rather than"
    assert markdown_to_text(raw) == (
        "whole grains consumed in intact forms (e.g., oats, barley, brown rice) rather than"
    )
    assert markdown_to_text("the\nU. S. government") == "the U. S. government"


def test_markdown_breaks() -> None:
    # pandoc's trailing double spaces are joined (the archive has them mid-sentence); an
    # explicit backslash break, <br> and a line block ("| ") are kept
    assert markdown_to_text("Line one  \nline two\\\nline three\nand four") == (
        "Line one line two\nline three and four"
    )
    assert markdown_to_text("Cahill Center<br />Baltimore\nMaryland") == "Cahill Center\nBaltimore Maryland"
    assert markdown_to_text("| Roses are red\n| Violets") == "Roses are red\nViolets"


def test_markdown_list_needs_a_list_context() -> None:
    assert markdown_to_text("increased by\n12. percent") == "increased by 12. percent"
    assert markdown_to_text("Intro:\n\n1.  one\n2.  two\n    wrapped") == "Intro:\n\n1. one\n2. two wrapped"


def test_plain_text_hyphenated_wrap() -> None:
    raw = (
        "The report was prepared by the ministry and the national gov-\n"
        "ernment of the country, and it was then published on the website of\n"
        "the ministry with all the data for 2024 and the years before it, with\n"
        "a long self-\n"
        "Reliance plan.\n"
    )
    assert unwrap(raw) == (
        "The report was prepared by the ministry and the national gov-ernment of the country, "
        "and it was then published on the website of the ministry with all the data for 2024 "
        "and the years before it, with a long self-\nReliance plan.\n"
    )


def test_link_with_unbalanced_parentheses_in_the_url() -> None:
    raw = "[Mike Spier](https://ex.com/a/?x=1#:~:text=U.S.%20(USW,high%20wheat.): “We are excited”"
    assert markdown_to_text(raw) == "Mike Spier: “We are excited”"


def test_nonbreaking_spaces_and_joiners() -> None:
    assert normalize_chars("COVID-\u206019 Vaccination\u00a0Plan\u200b") == "COVID-19 Vaccination Plan"
    assert clean_text("a\u00a0\u00a0b\tc\r\nd") == "a b c\nd"


def test_whitespace_is_normalised() -> None:
    assert clean_text("  one  two \n\n\n\n three   \n") == "one two\n\nthree"


def test_spanish_text() -> None:
    raw = (
        "Saltar al contenido\n\n"
        "Ciudad de México, 22 de enero de 2024\n\n"
        "La Secretaría de Relaciones Exteriores, Alicia Bárcena Ibarra, encabezó una\n"
        "delegación de alto nivel que se reunió con sus contrapartes en la ciudad de\n"
        "Washington con el objetivo de dar continuidad al diálogo de alto nivel sobre\n"
        "migración. ¿Qué se acordó? Más cooperación.\n\n"
        "Compartir\nImprimir\n\n# # #\n"
    )
    assert clean_text(raw).split("\n\n") == [
        "Ciudad de México, 22 de enero de 2024",
        "La Secretaría de Relaciones Exteriores, Alicia Bárcena Ibarra, encabezó una delegación "
        "de alto nivel que se reunió con sus contrapartes en la ciudad de Washington con el "
        "objetivo de dar continuidad al diálogo de alto nivel sobre migración. ¿Qué se acordó? "
        "Más cooperación.",
    ]


def test_spanish_markdown_keeps_accents_and_inverted_marks() -> None:
    md = "## ¿Qué dijo la *Cancillería*?\n\nEl programa de \\$180 millones de dólares\nbeneficiará a ocho países."
    assert clean_text(md, markdown=True) == (
        "¿Qué dijo la Cancillería?\n\nEl programa de $180 millones de dólares beneficiará a ocho países."
    )


def test_spanish_decomposed_accents_are_composed() -> None:
    assert clean_text("Me\u0301xico") == "México"


def test_clean_title() -> None:
    title = "Fact Sheet: President-elect Biden Outlines COVID-\u206019 Vaccination\u00a0Plan"
    assert clean_title(title) == "Fact Sheet: President-elect Biden Outlines COVID-19 Vaccination Plan"
    assert clean_title("  **Bold** \\[Draft\\] &amp; more\n title ") == "Bold [Draft] & more title"


def test_html_to_text() -> None:
    html = (
        "<p>Office of the Spokesperson</p>\n<p>Hello &amp; <b>welcome</b>\nback.</p>"
        "<ul><li>one</li>\n<li>two</li></ul><p>x&nbsp;y<br>z</p><script>var a = 1;</script>"
    )
    assert html_to_text(html) == "Office of the Spokesperson\n\nHello & welcome back.\n\n- one\n- two\n\nx y\nz"
    page = (
        "<html><head><title>T</title></head><body><nav>Home | About</nav><p>Body.</p><footer>©</footer></body></html>"
    )
    assert html_to_text(page, page=True) == "Body."
