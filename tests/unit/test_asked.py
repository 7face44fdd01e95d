"""pressbot.asked: what a question asks for, and whether a sentence states it."""

from __future__ import annotations

import pytest

from pressbot.asked import (
    answer_kind,
    counted_terms,
    named_numbers,
    question_parts,
    states_kind,
)


@pytest.mark.parametrize(
    ("question", "kind"),
    [
        ("How many migrants crossed in June?", "count"),
        ("¿Cuántos acuerdos logró México?", "count"),
        ("How much assistance did Blinken announce?", "amount"),
        ("What is the estimated construction cost of the road?", "amount"),
        ("What is the number of the executive order?", "number"),
        ("How much did encounters fall?", "number"),
        ("When did the talks resume?", "date"),
        ("Since when has he been on the list?", "date"),
        ("On what date will the crossing open?", "date"),
        ("Which countries receive the program?", "place"),
        ("What was Venezuela's inflation rate in 2021?", "share"),
        ("What share of transits carry U.S. goods?", "share"),
        ("By how many percentage points were tariffs cut?", "count"),
        ("Who headed the U.S. delegation to the inauguration?", "leader"),
        ("¿Quién encabezó la delegación presidencial?", "leader"),
        ("Who was on the delegation?", None),
    ],
)
def test_the_kind_of_answer_a_question_asks_for(question: str, kind: str | None) -> None:
    assert answer_kind(question) == kind


def test_who_led_is_answered_by_whoever_the_sentence_says_leads() -> None:
    assert states_kind("leader", "The Honorable Samantha Power, Administrator of USAID, will lead the delegation.")
    assert states_kind("leader", "First Lady Jill Biden traveled as the Head of the U.S. Presidential Delegation.")
    assert not states_kind("leader", "President Biden announced the designation of a Presidential Delegation.")


def test_a_year_is_not_a_count_and_a_bare_number_is_not_money() -> None:
    assert not states_kind("number", "The agreement was signed in 2022.")
    assert states_kind("number", "Some 6,070 people crossed in June 2022.")
    assert states_kind("number", "Eight lines of action were set out.")
    assert not states_kind("number", "It is one of the events of the 21st century.")  # a pronoun, an ordinal
    assert not states_kind("amount", "The program covers 21 countries.")
    assert not states_kind("amount", "Over 15 million visitors and 4 million tons of steel are expected.")
    assert states_kind("amount", "The fund holds billions of dollars.") and states_kind("amount", "USD 5 million")
    assert states_kind("amount", "Blinken announced $578 million in assistance.")
    assert states_kind("amount", "Se invertirán 180 millones de dólares.")
    assert states_kind("date", "Talks resumed on January 19.") and not states_kind("date", "Talks resumed today.")


def test_a_date_or_a_link_is_not_a_count() -> None:
    assert states_kind("number", "The President mourned the thirteen migrants killed.")
    assert not states_kind("number", "The Strategy, launched on July 29, 2021, sets priorities.")
    assert not states_kind("number", "El plan se presentó el 19 de enero.")
    assert not states_kind("number", "Full report: https://example.org/2021/07/strategy-8.pdf")
    assert not states_kind("date", "Full report: https://example.org/2021/07/strategy.pdf")


def test_money_is_not_a_count_and_a_share_is_a_percentage_or_a_fraction() -> None:
    assert not states_kind("count", "The Department is purchasing $2.6 million in boat engines.")
    assert not states_kind("count", "Se invertirán 180 millones de dólares.")
    assert states_kind("count", "Some 6,070 migrants received $4 million.")
    assert states_kind("number", "The United States appropriated $3.3 billion.")  # "how much" may be money
    assert states_kind("share", "72 percent of transits carry U.S. goods.")
    assert states_kind("share", "One in three people is food-insecure; 50% of children are malnourished.")
    assert not states_kind("share", "The program reached more than 50,000 at-risk youth.")


def test_a_number_the_question_states_does_not_answer_it() -> None:
    asked = {"180000000"}  # "How much did the U.S. add to the $180M program?"
    assert not states_kind("amount", "The program, in which $180 million dollars will be invested, is new.", asked)
    assert not states_kind("amount", "Se invertirán 180 millones de dólares.", asked)
    assert states_kind("amount", "The U.S. added $20 million to the $180 million program.", asked)
    assert not states_kind("count", "Section 353 of the Act names officials.", {"353"})
    assert states_kind("count", "The Section 353 list identifies 60 individuals.", {"353"})


def test_a_count_counts_what_was_asked() -> None:
    assert counted_terms("How many officers of the Haitian National Police did the U.S. train?") == {"offic"}
    assert counted_terms("¿Cuántos migrantes presionaban la frontera?") >= {"migrant"}
    assert counted_terms("What did the ministers agree?") == frozenset()
    assert "particip" in counted_terms("How many of the 20 participants come from India?")
    assert counted_terms("How many of them were deported?") == frozenset()
    guatemalans = counted_terms("How many Guatemalans were deported by air?")
    assert not states_kind("count", "Guatemalan businesses created more than 26,000 jobs.", counted=guatemalans)
    assert states_kind("count", "More than 13,000 Guatemalans were deported.", counted=guatemalans)
    assert states_kind("count", "Flights returned 5,000 Guatemala nationals.", counted=guatemalans)  # one stem
    people = counted_terms("How many people from Honduras will the program protect?")
    assert states_kind("count", "It will protect as many as 100,000 individuals.", counted=people)
    assert states_kind("count", "Visa restrictions on over 250 members of the government.", counted=people)
    migrantes = counted_terms("¿Cuántos migrantes?")
    assert states_kind("count", "hubo una presión de 12 mil 498 migrantes", counted=migrantes)


def test_which_country_asks_for_a_country_the_question_does_not_name() -> None:
    assert answer_kind("In which European country will the facility be built?") == "place"
    assert states_kind("place", "The facility will be built in Poland.")
    assert not states_kind("place", "The facility will be built in Europe.")
    assert not states_kind("place", "Cuba hosts the facility.", places=frozenset({"CU"}))


@pytest.mark.parametrize(
    ("question", "named"),
    [
        ("What was agreed under the 1944 Water Treaty?", {"1944"}),
        ("How many were named on the Section 353 list?", {"353"}),
        ("How many COVID-19 doses were sent?", {"19"}),
        ("Who is exempt from Title 42 expulsions?", {"42"}),
        ("What changed after the March 2025 adjustment?", set()),  # a date
        ("Which countries receive Mexico's $180 million program?", set()),  # money
        ("What happened in the first 12 months?", set()),
    ],
)
def test_numbers_that_are_part_of_a_name(question: str, named: set[str]) -> None:
    assert named_numbers(question) == named


def test_a_two_part_question_is_two_questions() -> None:

    assert question_parts("How much will the program invest, and how many agreements were reached?") == [
        "How much will the program invest",
        "how many agreements were reached",
    ]
    assert question_parts("¿Cuántos migrantes llegaron y cuántos fueron deportados?") == [
        "Cuántos migrantes llegaron",
        "cuántos fueron deportados",
    ]
    both = "Which countries and which companies joined?"
    assert question_parts(both) == [both]
    assert question_parts("Which body authorized the mission and how large will it grow?") == [
        "Which body authorized the mission",
        "how large will it grow",
    ]
