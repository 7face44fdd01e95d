"""pressbot.places: the countries a text names, demonyms included."""

from __future__ import annotations

import pytest

from pressbot.places import countries


@pytest.mark.parametrize(
    ("text", "codes"),
    [
        ("Guatemalan migrants were killed in northern Mexico.", {"GT", "MX"}),
        ("Support for Venezuelans and cubanos in Colombia", {"VE", "CU", "CO"}),
        ("El Salvador, Honduras and the Dominican Republic", {"SV", "HN", "DO", "DM"}),
        ("Estados Unidos y México acordaron", {"MX"}),  # the United States is every release's own
        ("Chinese and Russian officials met in Burma", {"CN", "RU", "MM"}),
        ("South Korea and North Korea", {"KR", "KP"}),
        ("Panamanian, Peruvian, Haitian and Salvadoran delegates", {"PA", "PE", "HT", "SV"}),
    ],
)
def test_countries_by_name_and_demonym(text: str, codes: set[str]) -> None:
    assert countries(text) == codes


@pytest.mark.parametrize(
    "text",
    [
        "Children and families in New Mexico after the wildfire",  # not Chile, not Mexico
        "The Gulf of Mexico lease sale",
        "Wildfires in Georgia, Indiana and Texas",  # U.S. states
        "The President met the Chairman in the Oval Office.",
    ],
)
def test_no_country(text: str) -> None:
    assert countries(text) == frozenset()
