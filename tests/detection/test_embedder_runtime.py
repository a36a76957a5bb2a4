"""The ONNX Runtime backbone matches torch, and its export is cached once per weights."""

import numpy as np
import pytest
import torch
from PIL import Image, ImageDraw

from detection import embedder_runtime
from detection.embedder import WEIGHTS_PATH, Embedder, colour_histogram
from detection.local_matching import dequantised

pytest.importorskip("onnxruntime")


@pytest.fixture(scope="module")
def checkpoint() -> dict:
    return torch.load(WEIGHTS_PATH, map_location="cpu", weights_only=True)


def garment_photo(seed: int, size: tuple[int, int]) -> Image.Image:
    rng = np.random.default_rng(seed)
    image = Image.new("RGB", size, tuple(int(v) for v in rng.integers(180, 250, 3)))
    draw = ImageDraw.Draw(image)
    colour = tuple(int(v) for v in rng.integers(0, 255, 3))
    width, height = size
    draw.rectangle((width // 4, height // 6, 3 * width // 4, 5 * height // 6), fill=colour)
    return image


def embedder_with(checkpoint: dict, runtime: str, cache_dir) -> Embedder:
    return Embedder(checkpoint, runtime, cache_dir)


def test_onnx_vectors_match_torch_at_batch_1_and_batch_32(checkpoint, tmp_path):
    batch = [garment_photo(seed, (224, 224)) for seed in range(32)]
    # Portrait and landscape photos keep their aspect: other input shapes, one at a time.
    singles = [garment_photo(40, (200, 300)), garment_photo(41, (330, 250))]
    onnx = embedder_with(checkpoint, "onnx", tmp_path)
    reference = embedder_with(checkpoint, "torch", tmp_path)

    batched = onnx.embed(batch, batch_size=32)
    one_by_one = np.concatenate([onnx.embed([photo], batch_size=1) for photo in singles])
    expected = reference.embed(batch + singles, batch_size=32)

    assert (batched * expected[:32]).sum(axis=1).min() >= 0.9999
    assert (one_by_one * expected[32:]).sum(axis=1).min() >= 0.9999
    # Distinct photos give distinct vectors (a constant output would also "match").
    assert (expected[0] @ expected[1:].T).max() < 0.9999


def test_onnx_local_descriptors_match_torch(checkpoint, tmp_path):
    """Similar items re-ranks with descriptors from whichever runtime indexed the photos."""
    photos = [garment_photo(50, (200, 300)), garment_photo(51, (224, 224)),
              garment_photo(52, (330, 250))]
    _, onnx = embedder_with(checkpoint, "onnx", tmp_path).embed_with_local(photos)
    _, expected = embedder_with(checkpoint, "torch", tmp_path).embed_with_local(photos)

    # 224 x 336 input: a 14 x 21 stage-4 map in 2 x 2 cells (7 x 11, the last row partial);
    # 296 x 224: 19 x 14 in 10 x 7.
    assert [found.shape for found in expected] == [(77, 64), (49, 64), (70, 64)]
    for got, wanted in zip(onnx, expected, strict=True):
        assert got.shape == wanted.shape
        got, wanted = dequantised(got), dequantised(wanted)
        cosine = (got * wanted).sum(axis=1) / np.linalg.norm(got, axis=1) / np.linalg.norm(
            wanted, axis=1)
        assert cosine.min() > 0.995  # int8 rounding included


def test_export_is_cached_by_weights_and_reused(checkpoint, tmp_path):
    embedder_with(checkpoint, "onnx", tmp_path)
    (cached,) = tmp_path.glob("backbone-*.onnx")
    first_write = cached.stat().st_mtime_ns

    embedder_with(checkpoint, "onnx", tmp_path)

    assert list(tmp_path.glob("*")) == [cached]  # no second file, no temporary left behind
    assert cached.stat().st_mtime_ns == first_write

    changed = dict(checkpoint, backbone_state=dict(checkpoint["backbone_state"]))
    key = "conv_stem.weight"
    changed["backbone_state"][key] = checkpoint["backbone_state"][key] * 0.5
    embedder_with(changed, "onnx", tmp_path)
    assert len(list(tmp_path.glob("backbone-*.onnx"))) == 2


def test_unwritable_cache_still_runs(checkpoint, tmp_path):
    blocked = tmp_path / "file"
    blocked.write_text("not a folder")
    embedder = embedder_with(checkpoint, "onnx", blocked / "cache")

    vectors = embedder.embed([garment_photo(0, (200, 300))])

    assert np.isclose(np.linalg.norm(vectors), 1, atol=1e-4)


def test_unknown_runtime_is_refused():
    with pytest.raises(ValueError, match="EMBEDDER_RUNTIME"):
        embedder_runtime.runtime_choice("tensorrt")


def test_colour_histogram_counts_weighted_pixels_per_image():
    thumbnails = np.zeros((2, 4, 4, 3), dtype=np.uint8)
    thumbnails[0] = 255  # all white: one bin
    thumbnails[1, :, :2] = (255, 0, 0)  # half red, half black
    histograms = colour_histogram(thumbnails, bins=2, background_weight=1.0)

    squared = histograms**2  # the histograms are square-rooted
    assert squared.shape == (2, 8)
    assert np.allclose(squared.sum(axis=1), 1, atol=1e-5)
    assert np.isclose(squared[0, 7], 1, atol=1e-5)  # (1, 1, 1)
    assert np.isclose(squared[1, 4] + squared[1, 0], 1, atol=1e-5)  # red (1,0,0) + black
    assert np.isclose(squared[1, 4], squared[1, 0], atol=1e-5)  # symmetric centre weights


@pytest.mark.parametrize("grey_input", [True, False])
def test_backbone_sees_only_luma_when_grey_and_colour_still_reaches_the_vector(
    checkpoint, tmp_path, grey_input
):
    embedder = embedder_with(dict(checkpoint, grey_input=grey_input), "torch", tmp_path)
    # Already at the input size: no resampling, whose clipping differs between RGB and luma.
    photo = garment_photo(3, (224, 224))
    # The same luma in every pixel, no hue: what a colour variant of the photo shares with it.
    photo_in_grey = photo.convert("L").convert("RGB")

    features, histograms = embedder.extractor.extract([photo, photo_in_grey])
    vectors = embedder.postprocess(features, histograms)

    assert torch.allclose(features[0], features[1], atol=1e-5) == grey_input
    assert not np.allclose(histograms[0], histograms[1])
    assert vectors[0] @ vectors[1] < 0.999  # colour is still part of the vector
