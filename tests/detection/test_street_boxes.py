"""Single-garment shopper photos become detector training data with GrabCut pseudo-boxes."""

import cv2
import numpy as np

from detection import config
from detection.detector_data import garment_pseudo_box, street_export
from detection.detector_training import detector_evaluate_single_garments
from detection.embedder_training import is_street_test
from tests.detection.conftest import GARMENT, garment_photo


def test_the_pseudo_box_is_the_garment_not_the_floor():
    bgr = cv2.cvtColor(np.asarray(garment_photo(0)), cv2.COLOR_RGB2BGR)

    box = garment_pseudo_box(bgr)

    assert box is not None
    assert np.allclose(box, GARMENT, atol=6)


def test_a_photo_with_no_subject_gives_no_box():
    assert garment_pseudo_box(np.zeros((4, 4, 3), np.uint8)) is None


def test_only_the_training_split_is_exported_with_its_garment_class(street_dir, tmp_path):
    out = tmp_path / "data"
    training = [f"{n:04d}.jpg" for n in range(40) if not is_street_test(f"{n:04d}.jpg")]
    assert 0 < len(training) < 40, "the generated set needs both splits"

    exported = street_export(street_dir, out)

    labels = sorted((out / "labels" / "train").glob("street_*.txt"))
    assert exported == len(labels) == len(training)
    assert [path.stem for path in labels] == [f"street_{name[:-4]}" for name in training]
    for path in labels:
        class_id, *_ = path.read_text().split()
        number = int(path.stem.removeprefix("street_"))
        expected = "bottom" if number % 2 else "accessory"  # pants / hat
        assert config.GARMENT_CLASSES[int(class_id)] == expected
        assert (out / "images" / "train" / f"{path.stem}.jpg").is_symlink()


def test_an_interrupted_export_resumes_without_redoing_photos(street_dir, tmp_path):
    out = tmp_path / "data"
    first = street_export(street_dir, out)
    stamps = {path: path.stat().st_mtime_ns for path in (out / "labels" / "train").iterdir()}

    assert street_export(street_dir, out) == first
    assert {path: path.stat().st_mtime_ns
            for path in (out / "labels" / "train").iterdir()} == stamps


def test_single_garment_scores_cover_every_test_label(street_dir):
    scores = detector_evaluate_single_garments(config.WEIGHTS_PT, street_dir)

    assert set(scores) == {"found", "top_class", "top_class/hat", "top_class/pants"}
    assert all(0.0 <= value <= 1.0 for value in scores.values())
    assert scores["top_class"] <= scores["found"]
