"""The direct answer line (pressbot/direct.py): the spans of a quoted sentence that answer what
was asked, and none when the sentence does not single one out."""

from __future__ import annotations

import pytest

from pressbot.asked import Asked
from pressbot.citations import holds_spans
from pressbot.direct import direct_spans, line_of

SEED = ("In particular, the development program in which $180 million dollars will be invested to support "
        "Guatemala, Honduras, El Salvador, Colombia, Ecuador, Venezuela, Cuba and Haiti.")


def spans(question: str, sentence: str) -> tuple[str, ...]:
    return direct_spans(Asked.of(question, None, None), sentence)


def test_which_countries_gets_the_countries_as_the_sentence_names_them_in_its_order() -> None:
    found = spans("Which countries receive the $180 million program?", SEED)
    assert line_of(found) == "Guatemala, Honduras, El Salvador, Colombia, Ecuador, Venezuela, Cuba and Haiti"
    # a country the question names itself is not its answer
    assert spans("Which countries besides Cuba receive the program?", SEED)[-1] == "Haiti"
    assert "Cuba" not in spans("Which countries besides Cuba receive the program?", SEED)


@pytest.mark.parametrize(
    ("question", "sentence", "expected"),
    [
        # the count of what is asked, not the other number: the counted words around it decide
        ("How many additional asylum officers would the bill add?",
         "Today, there are approximately 1,000 Asylum Officers; the bill would add an additional 4,300 Asylum "
         "Officers.", "additional 4,300 Asylum Officers"),
        ("How many U.S. convictions did the task forces produce?",
         "These efforts resulted in 74 U.S. convictions of members and over 7,800 arrests.", "74 U.S. convictions"),
        # a sum of money, with its scale, not the question's own figure
        ("How much of the $310 million went to humanitarian relief?",
         "Of the $310 million, Humanitarian Relief ($255M) went to food.", "$255M"),
        ("What share of fentanyl seizures occur at the border?", "About 97% of seizures occur at the border.", "97%"),
        ("By what percentage did homicides fall?", "Homicides fell 17 percent in Washington.", "17 percent"),
        ("By how much will the beehive increase honey production?",
         "It will increase production by an estimated 30 pounds, allowing more gifts.", "30 pounds"),
        ("On what date did the offices start accepting applications?",
         "The offices started accepting applications on June 12, 2023.", "June 12, 2023"),
    ],
)
def test_the_span_that_answers(question: str, sentence: str, expected: str) -> None:
    assert spans(question, sentence) == (expected,)


@pytest.mark.parametrize(
    ("question", "sentence"),
    [
        # two dates, and nothing here says which one is the visit's
        ("When did Vice President Harris visit Guatemala?",
         "She spoke with the President, following up on their May 26 call and the May 31 visit of her advisor."),
        # the only number is the question's own, or a year
        ("How many of the 20 participants signed?", "All 20 participants attended in 2023."),
        # an open question has no short answer
        ("What did the leaders discuss?", "The leaders discussed 3 topics."),
    ],
)
def test_no_line_when_the_sentence_does_not_single_out_an_answer(question: str, sentence: str) -> None:
    assert spans(question, sentence) == ()


def test_a_line_is_supported_only_when_its_quote_holds_every_span() -> None:
    assert holds_spans("support  el salvador and HAITI.", ("El Salvador", "Haiti"))
    assert not holds_spans(SEED, ("El Salvador", "Panama"))
    assert not holds_spans(SEED, ())
