"""Spanish questions over English releases: the glossary's rendering, its data file, and a Spanish
question answered from an English release through the real engine (real Chroma, hash vectors)."""

from __future__ import annotations

from pathlib import Path

import pytest

from evals.hash_embeddings import HashEmbeddings
from pressbot.errors import ConfigError
from pressbot.glossary import GLOSSARY_FILE, default_glossary, glossed, is_spanish, load_glossary
from pressbot.types import Passage
from tests.support import build_engine, release


def test_a_spanish_question_gets_the_english_terms_names_and_numbers_kept() -> None:
    r = default_glossary().render("¿Qué aranceles fijó Trump a la potasa de Canadá que quede fuera del T-MEC?")
    assert r is not None
    words = r.dense.rstrip("?").split()
    assert {"tariff", "potash", "Canada", "USMCA", "Trump", "what"} <= set(words)
    assert "la" not in words and "de" not in words  # function words are not rendered
    # the lexical side reads the rendering, the glossary's other search words, and the question as asked
    assert r.english.startswith(r.dense) and "duties" in r.english
    assert r.lexical == f"{r.english} ¿Qué aranceles fijó Trump a la potasa de Canadá que quede fuera del T-MEC?"


def test_numbers_amounts_and_inflections_render() -> None:
    r = default_glossary().render("¿Cuántos migrantes cruzaron la frontera y cuánto costó el muro de 25% en 2024?")
    assert r is not None
    assert r.dense.startswith("how many migrants") and "how much" in r.dense
    assert {"border", "wall", "25%", "2024"} <= set(r.dense.rstrip("?").split())


def test_the_longest_phrase_wins() -> None:
    r = default_glossary().render("¿Hasta cuándo dura el Estatus de Protección Temporal de Venezuela?")
    assert r is not None
    assert r.dense.startswith("until when") and "Temporary Protected Status" in r.dense
    assert "protection" not in r.dense  # the phrase, not its words one by one


def test_countries_come_from_the_iso_names() -> None:
    r = default_glossary().render("¿Qué acordaron Alemania, Brasil y el Reino Unido con Estados Unidos?")
    assert r is not None
    assert all(name in r.dense for name in ("Germany", "Brazil", "United Kingdom", "United States"))


def test_a_hyphenated_pair_of_names_is_rendered_in_parts() -> None:
    r = default_glossary().render("¿Cuándo nació el diálogo México-Estados Unidos?")
    assert r is not None and "Mexico United States" in r.dense


def test_an_english_question_is_untouched() -> None:
    q = "How much did the Tren de Aragua gang receive according to the fact sheet?"
    assert not is_spanish(q)
    assert default_glossary().render(q) is None
    g = glossed(q)
    assert g.dense == g.lexical == q


@pytest.mark.parametrize(
    ("text", "spanish"),
    [
        ("¿Cuánto dinero anunció Harris?", True),
        ("cuántos migrantes cruzaron la frontera en marzo", True),
        ("What did Los Angeles host?", False),
        ("Which countries receive the $180 million program?", False),
    ],
)
def test_language_detection(text: str, spanish: bool) -> None:
    assert is_spanish(text) is spanish


def test_switched_off_the_question_is_searched_as_asked() -> None:
    q = "¿Qué arancel fijó Trump a la potasa?"
    off = glossed(q, enabled=False)
    assert off.dense == off.lexical == q
    assert glossed(q).dense != q


def test_the_data_file_loads_and_is_large() -> None:
    g = load_glossary(GLOSSARY_FILE)
    assert len(g.terms) > 500 and len(g.exact) > 30 and len(g.countries) > 200
    assert g.terms[("arancel",)][0] == "tariff"


def test_a_duplicate_key_is_an_error(tmp_path: Path) -> None:
    bad = tmp_path / "g.toml"
    bad.write_text('[exact]\n"qué" = "what"\n[terms]\n"arancel" = "tariff"\n"arancel" = "duty"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match="cannot read the glossary"):
        load_glossary(bad)


def test_two_keys_of_one_stem_with_different_english_are_an_error(tmp_path: Path) -> None:
    bad = tmp_path / "g.toml"
    bad.write_text('[exact]\n"qué" = "what"\n[terms]\n"arancel" = "tariff"\n"aranceles" = "duties"\n')
    with pytest.raises(ConfigError, match="'arancel' and 'aranceles' have the same Spanish stem"):
        load_glossary(bad)


def test_a_value_that_is_not_english_text_is_an_error(tmp_path: Path) -> None:
    bad = tmp_path / "g.toml"
    bad.write_text('[exact]\n"qué" = "what"\n[terms]\n"arancel" = 3\n')
    with pytest.raises(ConfigError, match="give an English term"):
        load_glossary(bad)


RELEASES = [
    release("potash", "Adjustments to duties on imports", "A lower 10% tariff applies to any potash imported from "
            "Canada that falls outside the USMCA preference.", "2025-03-06"),
    release("fisheries", "Fisheries cooperation", "Canada and the United States renewed their fisheries "
            "cooperation on the Atlantic coast.", "2025-03-10"),
    release("haiti", "Statement on Haiti", "The United States will provide $15 million in humanitarian "
            "assistance to Haiti after the earthquake.", "2021-08-20"),
]  # fmt: skip
QUESTION = "¿Qué gravamen se cobra a la potasa que llega de Canadá?"


THRESHOLD = 0.1  # the evidence the hash vectors give: 0.17 with the glossary, 0.03 without


def test_a_spanish_question_finds_and_quotes_the_english_release(tmp_path: Path) -> None:
    engine = build_engine(tmp_path, RELEASES, abstain_threshold=THRESHOLD)
    assert engine.search(QUESTION, k=1).passages[0].release_id == "potash"
    ans = engine.answer(QUESTION, as_of="2026-01-01")
    assert ans.outcome == "answered"
    assert [c.release_id for c in ans.citations] == ["potash"]
    assert "10% tariff" in ans.answer  # the English release, quoted


def test_without_the_glossary_the_spanish_words_are_not_evidence_enough(tmp_path: Path) -> None:
    engine = build_engine(tmp_path, RELEASES, abstain_threshold=THRESHOLD, glossary=False)
    ans = engine.answer(QUESTION, as_of="2026-01-01")
    assert ans.outcome != "answered"


def test_a_spanish_question_about_a_spanish_release_is_answered_in_its_words(tmp_path: Path) -> None:
    releases = [
        *RELEASES,
        release("mananera", "Conferencia de prensa", "La canciller informó que México y Estados Unidos acordaron "
                "doce acciones concretas sobre migración en la reunión del domingo.", "2024-01-22", language="es"),
    ]  # fmt: skip
    engine = build_engine(tmp_path, releases, abstain_threshold=0.0)
    ans = engine.answer("¿Cuántas acciones concretas acordaron México y Estados Unidos?", as_of="2026-01-01")
    assert [c.release_id for c in ans.citations] == ["mananera"]
    assert "doce acciones concretas" in ans.answer


@pytest.mark.parametrize(("language", "reads_rendering"), [("en", True), ("es", False)])
def test_the_answerer_reads_the_language_of_the_best_release(language: str, reads_rendering: bool) -> None:
    embedder = HashEmbeddings(dimension=64)
    g = glossed("¿Qué arancel fijó Trump a la potasa?")
    found = [Passage(chunk_id="r:0", release_id="r", text="...", title="t", language=language)]
    text, vector = g.for_answer(found, embedder, g.search_vector(embedder))
    assert text == (g.dense if reads_rendering else g.asked)
    want = embedder.encode_query(g.dense if reads_rendering else g.asked)
    assert float(vector @ want) > 0.999
