"""The class a shop-the-look region is searched in: detector, checked by the catalog."""

import random

import numpy as np
import pytest

from detection.regions import Region, whole_photo
from search.filters import ProductFilters
from search.garment_vote import class_shares, region_class
from search.look import searched_classes
from search.retrieval import PgvectorIndex
from tests.search.vectors import VERSION, indexed_product, near, random_unit


def test_shares_weigh_close_neighbours_far_more_than_distant_ones():
    # One near-copy against five middling products of another class: in a small catalog
    # the class sizes must not decide.
    shares = class_shares([("bag", 0.98)] + [("top", 0.5)] * 5)

    assert shares["bag"] > 0.7
    assert shares["bag"] + shares["top"] == pytest.approx(1.0)


def test_neighbours_without_a_class_dilute_every_share():
    shares = class_shares([("dress", 0.9), ("", 0.9), ("", 0.9)])

    assert shares == {"dress": pytest.approx(1 / 3)}


def test_dissimilar_neighbours_have_no_vote():
    assert class_shares([("top", -0.2), ("bag", 0.0)]) == {}
    assert class_shares([]) == {}


def test_the_detector_s_class_stands_unless_the_neighbours_clearly_disagree():
    # A lead below DETECTOR_LEAD for another class keeps the detector's class...
    mixed = [("outerwear", 0.9)] * 6 + [("top", 0.9)] * 4
    assert region_class("top", mixed) == "top"
    # ... a clear majority overrules it.
    clear = [("outerwear", 0.9)] * 9 + [("top", 0.9)] * 1
    assert region_class("top", clear) == "outerwear"


def test_the_lead_is_what_decides_a_close_call():
    neighbours = [("outerwear", 0.9)] * 7 + [("top", 0.9)] * 3  # shares 0.7 and 0.3

    assert region_class("top", neighbours, detector_lead=0.5) == "top"
    assert region_class("top", neighbours, detector_lead=0.3) == "outerwear"


def test_with_nothing_detected_the_neighbours_decide():
    assert region_class("", [("footwear", 0.8), ("footwear", 0.7), ("bag", 0.75)]) == "footwear"
    assert region_class(None, [("accessory", 0.9)]) == "accessory"


def test_no_detection_and_no_classed_neighbours_searches_every_class():
    assert region_class("", [("", 0.9)]) is None
    assert region_class("", []) is None


def test_with_no_classed_neighbours_the_detector_decides():
    assert region_class("dress", []) == "dress"


def test_the_answer_does_not_depend_on_the_neighbours_order():
    neighbours = [("top", 0.8)] * 3 + [("bottom", 0.8)] * 3 + [("dress", 0.7)] * 2
    answers = set()
    for seed in range(20):
        random.Random(seed).shuffle(neighbours)
        answers.add(region_class("", neighbours))
    assert len(answers) == 1


def test_a_tie_goes_to_the_detector_s_class():
    assert region_class("top", [("outerwear", 1.0)], detector_lead=1.0) == "top"


# Through the real index: hand-made vectors, real PostgreSQL + pgvector.

@pytest.fixture
def coat_catalog():
    """Ten coats around one look, ten tops around another, far apart."""
    rng = np.random.default_rng(11)
    coat_look, top_look = random_unit(rng), random_unit(rng)
    for i in range(10):
        indexed_product(f"COAT-{i}", near(coat_look, rng, 0.4), garment_class="outerwear")
        indexed_product(f"TOP-{i}", near(top_look, rng, 0.4), garment_class="top")
    return coat_look, top_look, rng


def classes_of(regions, vectors, filters=ProductFilters()):
    return searched_classes(regions, np.stack(vectors), filters=filters, index=PgvectorIndex(),
                            version=VERSION)


@pytest.mark.django_db
def test_a_coat_the_detector_calls_a_top_is_searched_among_coats(coat_catalog):
    coat_look, top_look, rng = coat_catalog
    box = (0.0, 0.0, 100.0, 100.0)

    classes = classes_of([Region("top", box, 0.5), Region("top", box, 0.5)],
                         [near(coat_look, rng, 0.4), near(top_look, rng, 0.4)])

    assert classes == ["outerwear", "top"]


@pytest.mark.django_db
def test_an_undetected_photo_is_searched_in_its_neighbours_class(coat_catalog):
    coat_look, _, rng = coat_catalog

    assert classes_of([whole_photo(100, 100)], [near(coat_look, rng, 0.4)]) == ["outerwear"]


@pytest.mark.django_db
def test_the_shoppers_class_filter_is_never_overruled(coat_catalog):
    coat_look, _, rng = coat_catalog

    classes = classes_of([whole_photo(100, 100)], [near(coat_look, rng, 0.4)],
                         filters=ProductFilters(garment_class="top"))

    assert classes == ["top"]


@pytest.mark.django_db
def test_an_empty_index_leaves_the_detector_s_class(coat_catalog):
    coat_look, _, _ = coat_catalog
    regions = [Region("dress", (0.0, 0.0, 10.0, 10.0), 0.9), whole_photo(10, 10)]

    classes = searched_classes(regions, np.stack([coat_look, coat_look]),
                               filters=ProductFilters(), index=PgvectorIndex(),
                               version="another-model")

    assert classes == ["dress", None]

