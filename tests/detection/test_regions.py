"""Regions as plain data: overlaps, and one garment found twice kept once."""

import pytest

from detection import config
from detection.api import model_version
from detection.detector import regions_from_boxes
from detection.regions import Region, box_iou, nested_dropped, overlap_of_smaller

TOP = Region("top", (100.0, 100.0, 300.0, 400.0), 0.9)


@pytest.mark.parametrize(("box", "other", "expected"), [
    ((0, 0, 10, 10), (0, 0, 10, 10), 1.0),      # the same box
    ((0, 0, 10, 10), (2, 2, 4, 4), 1.0),        # nested, either order
    ((2, 2, 4, 4), (0, 0, 10, 10), 1.0),
    ((0, 0, 10, 10), (5, 0, 25, 10), 0.5),      # half of the smaller box
    ((0, 0, 10, 10), (10, 0, 20, 10), 0.0),     # touching
    ((0, 0, 0, 10), (0, 0, 10, 10), 0.0),       # empty
])
def test_overlap_of_smaller(box, other, expected):
    assert overlap_of_smaller(box, other) == pytest.approx(expected)


def test_box_iou():
    assert box_iou((0, 0, 10, 10), (0, 0, 10, 10)) == 1.0
    assert box_iou((0, 0, 10, 10), (5, 0, 15, 10)) == pytest.approx(50 / 150)
    assert box_iou((0, 0, 10, 10), (20, 20, 30, 30)) == 0.0
    assert box_iou((0, 0, 0, 0), (0, 0, 0, 0)) == 0.0


def test_a_box_inside_a_more_confident_box_of_its_class_is_dropped():
    half = Region("top", (100.0, 100.0, 300.0, 250.0), 0.5)
    around = Region("top", (80.0, 80.0, 320.0, 420.0), 0.4)

    assert nested_dropped([TOP, half, around], overlap=0.7) == [TOP]


def test_other_classes_and_neighbours_are_kept():
    bag_on_the_top = Region("bag", (150.0, 200.0, 250.0, 300.0), 0.8)
    second_top = Region("top", (280.0, 100.0, 480.0, 400.0), 0.7)  # 10% overlap: a second person

    regions = [TOP, bag_on_the_top, second_top]

    assert nested_dropped(regions, overlap=0.7) == regions


def test_the_detector_returns_each_garment_once():
    classes = list(config.GARMENT_CLASSES)
    boxes = [[100, 100, 300, 400], [110, 120, 290, 300], [150, 200, 250, 300]]

    regions = regions_from_boxes(
        boxes, [classes.index("top"), classes.index("top"), classes.index("bag")],
        [0.6, 0.9, 0.5], width=500, height=500)

    # The best first: the half box is kept, the box around it is the repeat.
    assert [(r.garment_class, r.score) for r in regions] == [("top", 0.9), ("bag", 0.5)]


def test_the_model_version_follows_the_repeat_overlap(monkeypatch):
    before = model_version()
    model_version.cache_clear()
    monkeypatch.setattr(config, "NESTED_OVERLAP", 0.9)
    try:
        assert model_version() != before
    finally:
        model_version.cache_clear()
