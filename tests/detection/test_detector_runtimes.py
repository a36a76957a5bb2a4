"""The ONNX Runtime detector gives the regions ultralytics gives, on the same checkpoint."""

import pytest
from PIL import Image

from detection import config
from detection.detector import OnnxGarmentDetector, detector_load, non_max_suppression
from detection.model_cache import cached_export, file_digest
from tests.detection.test_shipped_models import outfit


@pytest.fixture(scope="module")
def runtimes():
    return detector_load(runtime="torch"), detector_load(runtime="onnx")


@pytest.fixture
def faint_detections_kept(monkeypatch):
    """Keep detections far below the serving threshold.

    The generated outfits are flat shapes, not photos, and the detector scores most of them
    below 0.25; the comparisons need detections, and low-scored ones only make them stricter.
    """
    monkeypatch.setattr(config, "CONFIDENCE", 0.02)


def assert_same_regions(expected, got):
    assert [region.garment_class for region in got] == [r.garment_class for r in expected]
    for want, have in zip(expected, got, strict=True):
        assert max(abs(a - b) for a, b in zip(want.box, have.box, strict=True)) <= 2.0
        assert have.score == pytest.approx(want.score, abs=0.01)


def test_onnx_is_the_cpu_default(runtimes):
    assert isinstance(detector_load(), OnnxGarmentDetector)


@pytest.mark.parametrize("size", [(320, 480), (480, 320), (97, 301), (1200, 900)])
def test_generated_outfits_agree(runtimes, size, faint_detections_kept):
    torch_detector, onnx_detector = runtimes
    photos = [outfit(seed).resize(size) for seed in range(3)]
    found = 0
    for photo in photos:
        expected = torch_detector.detect(photo)
        assert_same_regions(expected, onnx_detector.detect(photo))
        found += len(expected)
    assert found, "the comparison needs photos with detections"


def test_street_photos_agree(runtimes, fashion_data):
    torch_detector, onnx_detector = runtimes
    found = 0
    for path in sorted((fashion_data / "ccp" / "photos").glob("*.jpg"))[:20]:
        photo = Image.open(path)
        expected = torch_detector.detect(photo)
        assert_same_regions(expected, onnx_detector.detect(photo))
        found += len(expected)
    assert found >= 20


@pytest.mark.parametrize("size", [(64, 64), (320, 480), (480, 320), (1200, 900)])
@pytest.mark.parametrize("colour", ["white", (128, 128, 128), (220, 200, 170)])
def test_a_blank_photo_has_no_regions(runtimes, size, colour):
    assert runtimes[1].detect(Image.new("RGB", size, colour)) == []


def test_nothing_above_the_confidence_threshold_gives_empty_arrays():
    import numpy as np

    predictions = np.zeros((4 + len(config.GARMENT_CLASSES), 10), dtype=np.float32)
    boxes, classes, scores = non_max_suppression(predictions, confidence=0.25, iou=0.6,
                                                 max_detections=5)
    assert boxes.shape == (0, 4)
    assert len(classes) == len(scores) == 0


def test_the_export_is_cached_by_checkpoint_hash(tmp_path, monkeypatch):
    monkeypatch.setattr(config, "MODEL_CACHE_DIR", tmp_path)
    source = tmp_path / "weights.bin"
    source.write_bytes(b"one")
    calls = []

    def export(target):
        calls.append(target)
        target.write_bytes(source.read_bytes()[::-1])

    def cached():
        return cached_export("model", file_digest(source), export)

    first = cached()
    assert cached() == first
    source.write_bytes(b"two")
    second = cached()

    assert len(calls) == 2
    assert first != second
    assert first.read_bytes() == b"eno"
    assert second.read_bytes() == b"owt"
    assert sorted(path.name for path in tmp_path.iterdir()) == sorted(
        ["weights.bin", first.name, second.name])


def test_an_unwritable_cache_exports_for_this_process_only(tmp_path):
    blocked = tmp_path / "file"
    blocked.write_text("not a folder")

    exported = cached_export("model", "abc", lambda target: target.write_bytes(b"onnx"),
                             cache_dir=blocked / "cache")

    assert exported.read_bytes() == b"onnx"
    assert exported.name == "model-abc.onnx"
    assert not exported.is_relative_to(tmp_path)


@pytest.mark.parametrize(("size", "expected"), [
    ((224, 224), 224), ((200, 300), 320), ((400, 600), 416), ((4000, 3000), 416), ((31, 47), 64),
])
def test_photos_are_never_enlarged_for_detection(size, expected):
    from detection.detector import detection_size

    assert detection_size(*size) == expected


def test_the_model_version_follows_the_detection_settings(monkeypatch):
    from detection.api import model_version

    before = model_version()
    model_version.cache_clear()
    monkeypatch.setattr(config, "IMGSZ", config.IMGSZ + 32)
    try:
        assert model_version() != before
    finally:
        model_version.cache_clear()


def test_batched_detection_gives_each_photo_its_own_regions(runtimes, faint_detections_kept):
    _, onnx_detector = runtimes
    photos = [outfit(seed).resize(size) for seed, size in
              enumerate([(320, 480), (320, 480), (224, 224), (320, 480), (480, 320)])]
    photos.insert(2, Image.new("RGB", (320, 480), "white"))

    batched = onnx_detector.detect_many(photos)

    assert batched == [onnx_detector.detect(photo) for photo in photos]
    assert batched[2] == []
    assert sum(map(len, batched)) >= 5
