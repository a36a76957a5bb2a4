"""Single-garment shopper photos become detector training data with GrabCut pseudo-boxes,
the floors they lie on become photos of no garment, and single accessories are laid on those."""

import cv2
import numpy as np
import pytest
from PIL import Image, ImageDraw

from detection import config, detector_data
from detection.detector_data import (
    PLAIN_SIZES,
    backgrounds_export,
    floor_photo,
    garment_pseudo_box,
    plain_photo,
    single_accessories_generate,
    street_export,
)
from detection.detector_training import detector_evaluate_single_garments
from detection.embedder_training import is_street_test
from tests.detection.conftest import GARMENT, garment_photo


def modification_times(folder) -> dict:
    return {path: path.stat().st_mtime_ns for path in folder.iterdir()}


def test_the_pseudo_box_is_the_garment_not_the_floor():
    bgr = cv2.cvtColor(np.asarray(garment_photo(0)), cv2.COLOR_RGB2BGR)

    box = garment_pseudo_box(bgr)

    assert box is not None
    assert np.allclose(box, GARMENT, atol=6)


def test_a_photo_gets_the_same_box_whatever_ran_before():
    photos = [cv2.imdecode(cv2.imencode(".jpg", np.asarray(garment_photo(seed)))[1],
                           cv2.IMREAD_COLOR) for seed in range(20)]
    first = [garment_pseudo_box(photo) for photo in photos]
    cv2.randu(np.zeros((8, 8), np.uint8), 0, 255)  # anything else drawing on OpenCV's RNG

    assert [garment_pseudo_box(photo) for photo in photos] == first
    assert [garment_pseudo_box(photo) for photo in reversed(photos)] == first[::-1]


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
    stamps = modification_times(out / "labels" / "train")

    assert street_export(street_dir, out) == first
    assert modification_times(out / "labels" / "train") == stamps


def test_single_garment_scores_cover_every_test_label(street_dir):
    scores = detector_evaluate_single_garments(config.WEIGHTS_PT, street_dir)

    assert set(scores) == {"found", "top_class", "top_class/hat", "top_class/pants"}
    assert all(0.0 <= value <= 1.0 for value in scores.values())
    assert scores["top_class"] <= scores["found"]


def test_the_floor_photo_is_the_floor_without_the_garment():
    photo = np.asarray(garment_photo(0))

    floor = floor_photo(photo, GARMENT)

    assert floor is not None
    assert floor.shape == photo.shape
    garment_colour = np.asarray(photo[GARMENT[1] + 5, GARMENT[0] + 5], dtype=int)
    assert np.abs(floor.astype(int) - garment_colour).sum(axis=2).min() > 100
    # The floor keeps its place: the strip left of the garment is unchanged.
    assert np.array_equal(floor[:, :40], photo[:, :40])


def test_a_garment_filling_the_frame_leaves_no_floor_photo():
    assert floor_photo(np.asarray(garment_photo(0)), (10, 10, 230, 290)) is None


def test_plain_photos_are_seeded_and_sized_like_shoppers_photos():
    photos = [plain_photo(np.random.default_rng(seed)) for seed in range(12)]

    assert all(photo.dtype == np.uint8 and photo.shape[2] == 3 for photo in photos)
    assert all((photo.shape[1], photo.shape[0]) in PLAIN_SIZES for photo in photos)
    assert np.array_equal(photos[0], plain_photo(np.random.default_rng(0)))
    assert len({photo.tobytes() for photo in photos}) == 12


def exported_street_photo(out, name: str, box: tuple[int, int, int, int]) -> None:
    """Write a street training photo and its box label as `street_export` leaves them."""
    for folder in ("images", "labels"):
        (out / folder / "train").mkdir(parents=True, exist_ok=True)
    photo = garment_photo(len(name), box)
    photo.save(out / "images" / "train" / f"{name}.jpg")
    label = detector_data.yolo_label_text([detector_data.Box(0, *box)], *photo.size)
    (out / "labels" / "train" / f"{name}.txt").write_text(label)


def test_backgrounds_have_empty_labels_and_resume(tmp_path, monkeypatch):
    monkeypatch.setattr(detector_data, "PLAIN_BACKGROUNDS", 3)
    out = tmp_path / "data"
    exported_street_photo(out, "street_floor", (120, 50, 230, 230))  # floor on the left
    exported_street_photo(out, "street_filled", (10, 10, 230, 290))  # garment fills it

    count = backgrounds_export(out)

    labels = sorted((out / "labels" / "train").glob("background_*.txt"))
    assert [label.stem for label in labels] == [
        "background_plain_0_0000", "background_plain_0_0001", "background_plain_0_0002",
        "background_street_floor"]
    assert count == 4
    assert all(label.read_text() == "" for label in labels)
    for label in labels:
        image_path = out / "images" / "train" / f"{label.stem}.jpg"
        assert cv2.imread(str(image_path)) is not None
        assert not image_path.is_symlink()  # a written photo, never a link to a street photo
    stamps = modification_times(out / "images" / "train")
    assert backgrounds_export(out) == count
    assert modification_times(out / "images" / "train") == stamps


def write_myntra_accessories(folder) -> None:
    """A myntra folder of caps, watches and one shirt, each shot alone on white."""
    (folder / "images").mkdir(parents=True)
    rows = []
    for number, category in enumerate(["Caps", "Caps", "Hat", "Watches", "Tshirts"]):
        image = Image.new("RGB", (120, 120), "white")
        ImageDraw.Draw(image).ellipse((20, 35, 100, 85), fill=(40 * number, 60, 150))
        image.save(folder / "images" / f"{number}.jpg")
        rows.append(f"MY-{number},t,{category},Accessories,Blue,images/{number}.jpg")
    (folder / "catalog.csv").write_text(
        "sku,title,category,group,colour,image\n" + "\n".join(rows) + "\n")


def test_single_accessories_lie_large_on_the_backgrounds_with_exact_boxes(tmp_path,
                                                                         monkeypatch):
    monkeypatch.setattr(detector_data, "PLAIN_BACKGROUNDS", 2)
    myntra, out = tmp_path / "myntra", tmp_path / "data"
    write_myntra_accessories(myntra)
    with pytest.raises(ValueError, match="backgrounds"):
        single_accessories_generate(myntra, out, 4)
    backgrounds_export(out)

    assert single_accessories_generate(myntra, out, 6) == 6

    labels = sorted((out / "labels" / "train").glob("single_*.txt"))
    assert len(labels) == 6
    accessory = detector_data.GARMENT_CLASSES.index("accessory")
    for label in labels:
        class_id, cx, cy, width, height = map(float, label.read_text().split())
        assert class_id == accessory
        assert cx - width / 2 >= 0
        assert cx + width / 2 <= 1 + 1e-6
        assert cy - height / 2 >= 0
        assert cy + height / 2 <= 1 + 1e-6
        assert max(width, height) >= 0.3  # one product filling much of the photo
        photo = Image.open(out / "images" / "train" / f"{label.stem}.jpg")
        assert photo.size in PLAIN_SIZES
    first = [label.read_text() for label in labels]
    single_accessories_generate(myntra, out, 6)
    assert [label.read_text() for label in labels] == first  # seeded
