import pytest

from shop.colour_families import COLOUR_FAMILIES, colour_family


@pytest.mark.parametrize(("name", "family"), [
    ("Navy Blue", "blue"), ("Dark Blue", "blue"), ("  light   BEIGE ", "brown"),
    ("Greenish Khaki", "green"), ("Off White", "white"), ("Maroon", "red"),
    ("Multi", None), ("Turquoise", None), ("", None),
])
def test_catalog_colour_names_fall_into_families(name, family):
    assert colour_family(name) == family


def test_a_name_belongs_to_one_family():
    names = [name for members in COLOUR_FAMILIES.values() for name in members]
    assert len(names) == len(set(names))
