"""Detector training runs end to end on a tiny generated set (one short epoch)."""

import json

import pytest
from PIL import Image, ImageDraw

from detection import config, detector_data
from detection.detector import GarmentDetector
from detection.detector_data import is_holdout
from detection.detector_training import (
    dataset_ensure,
    detector_evaluate_served,
    detector_train,
    garments_matched,
)
from detection.regions import Region

PHOTOS = [f"photos/{number:04d}.jpg" for number in range(1, 13)]


@pytest.fixture
def tiny_ccp(tmp_path):
    """Write twelve generated 'street photos' with a top and a bottom box each."""
    (tmp_path / "photos").mkdir()
    records = []
    for number, name in enumerate(PHOTOS):
        image = Image.new("RGB", (96, 144), (120 + number * 5, 140, 160))
        draw = ImageDraw.Draw(image)
        draw.rectangle((24, 20, 72, 70), fill=(200, 30, 30))
        draw.rectangle((28, 70, 68, 130), fill=(30, 30, 120))
        image.save(tmp_path / name)
        records.append({"image": name, "width": 96, "height": 144, "boxes": [
            {"label": "t-shirt", "class": "top", "box": [24, 20, 72, 70]},
            {"label": "jeans", "class": "bottom", "box": [28, 70, 68, 130]},
        ]})
    boxes = tmp_path / "boxes.json"
    boxes.write_text(json.dumps({"classes": list(config.GARMENT_CLASSES), "images": records}))
    return boxes


def test_a_short_training_run_ships_loadable_weights(tiny_ccp, tmp_path, monkeypatch):
    assert any(map(is_holdout, PHOTOS)), "the generated set needs held-out photos"
    shipped = tmp_path / "shipped"
    monkeypatch.setattr(config, "WEIGHTS_PT", shipped / "detector.pt")

    scores = detector_train(boxes_file=tiny_ccp, data_dir=tmp_path / "data", epochs=1,
                            imgsz=64, synthetic=0, batch=4, workers=0, run_name="smoke")

    assert 0.0 <= scores["all"] <= 1.0
    detector = GarmentDetector(shipped / "detector.pt")
    assert isinstance(detector.detect(Image.new("RGB", (96, 144), "white")), list)


def test_fine_tuning_the_shipped_weights_on_street_photos_ships_new_weights(
        tiny_ccp, street_dir, tmp_path, monkeypatch):
    original = config.WEIGHTS_PT
    shipped = tmp_path / "shipped" / "detector.pt"
    monkeypatch.setattr(config, "WEIGHTS_PT", shipped)
    monkeypatch.setattr(detector_data, "PLAIN_BACKGROUNDS", 4)

    scores = detector_train(boxes_file=tiny_ccp, data_dir=tmp_path / "data", epochs=1,
                            imgsz=64, synthetic=0, batch=4, workers=0, run_name="tuned",
                            street_dir=street_dir, start_from=original)

    assert 0.0 <= scores["all"] <= 1.0
    labels = tmp_path / "data" / "labels" / "train"
    assert list(labels.glob("street_*.txt"))
    assert len(list(labels.glob("background_plain_*.txt"))) == 4
    assert shipped.read_bytes() != original.read_bytes()
    assert isinstance(GarmentDetector(shipped).detect(Image.new("RGB", (96, 144))), list)


def test_street_photos_are_refused_for_a_data_set_built_without_them(tiny_ccp, street_dir,
                                                                      tmp_path):
    dataset_ensure(tiny_ccp, tmp_path / "data", None, 0, 0)

    with pytest.raises(ValueError, match="without street photos"):
        dataset_ensure(tiny_ccp, tmp_path / "data", None, 0, 0, street_dir)


def test_single_accessories_are_refused_for_a_data_set_built_without_them(
        tiny_ccp, street_dir, tmp_path, monkeypatch):
    monkeypatch.setattr(detector_data, "PLAIN_BACKGROUNDS", 2)
    dataset_ensure(tiny_ccp, tmp_path / "data", None, 0, 0, street_dir)

    with pytest.raises(ValueError, match="without single accessories"):
        dataset_ensure(tiny_ccp, tmp_path / "data", None, 0, 0, street_dir, 300)


def test_each_labelled_garment_is_found_once_by_a_region_of_its_class():
    tee = {"label": "t-shirt", "class": "top", "box": [0, 0, 100, 100]}
    jeans = {"label": "jeans", "class": "bottom", "box": [0, 100, 100, 200]}
    regions = [
        Region("top", (0.0, 0.0, 100.0, 90.0), 0.9),      # the tee
        Region("top", (5.0, 5.0, 95.0, 100.0), 0.8),      # the tee again: no second find
        Region("dress", (0.0, 100.0, 100.0, 200.0), 0.7),  # the jeans, in the wrong class
        Region("bottom", (0.0, 150.0, 100.0, 260.0), 0.6),  # IoU 0.31 with the jeans
    ]

    assert garments_matched(regions, [tee, jeans]) == 1
    assert garments_matched(regions[2:], [tee, jeans]) == 0
    assert garments_matched([Region("bottom", (0.0, 100.0, 100.0, 190.0), 0.5)], [jeans]) == 1


def test_served_detections_are_scored_on_the_held_out_photos(tiny_ccp):
    scores = detector_evaluate_served(config.WEIGHTS_PT, tiny_ccp)

    assert set(scores) == {"precision", "recall", "regions_per_photo"}
    assert 0.0 <= scores["precision"] <= 1.0
    assert 0.0 <= scores["recall"] <= 1.0
    assert scores["regions_per_photo"] >= 0.0
