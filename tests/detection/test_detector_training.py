"""Detector training runs end to end on a tiny generated set (one short epoch)."""

import json

import pytest
from PIL import Image, ImageDraw

from detection import config, detector_data
from detection.detector import GarmentDetector
from detection.detector_data import is_holdout
from detection.detector_training import dataset_ensure, detector_train

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
