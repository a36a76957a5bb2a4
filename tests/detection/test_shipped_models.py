"""The shipped checkpoints load and give sane output on generated images."""

import threading

import numpy as np
import pytest
from PIL import Image, ImageDraw

from detection import config
from detection.api import colour_boosted, detect, embed, embed_with_local, model_version
from detection.detector import detector_load
from detection.embedder import WEIGHTS_PATH
from detection.local_matching import chamfer_similarity, dequantised
from search.models import EMBEDDING_DIMENSIONS


def outfit(seed: int = 0) -> Image.Image:
    rng = np.random.default_rng(seed)
    image = Image.new("RGB", (320, 480), tuple(int(v) for v in rng.integers(150, 230, 3)))
    draw = ImageDraw.Draw(image)
    draw.rectangle((90, 60, 230, 220), fill=(180, 30, 40))  # a top
    draw.rectangle((100, 220, 220, 400), fill=(30, 40, 120))  # trousers
    draw.ellipse((90, 400, 230, 460), fill=(20, 20, 20))  # shoes
    return image


def test_detect_returns_regions_inside_the_photo():
    photo = outfit()
    regions = detect(photo)

    assert isinstance(regions, list)
    scores = [region.score for region in regions]
    assert scores == sorted(scores, reverse=True)
    for region in regions:
        assert region.garment_class in config.GARMENT_CLASSES
        x1, y1, x2, y2 = region.box
        assert 0 <= x1 < x2 <= photo.width
        assert 0 <= y1 < y2 <= photo.height
        assert config.CONFIDENCE <= region.score <= 1


def test_detect_accepts_any_mode_and_size():
    for image in (outfit().convert("L"), outfit().convert("RGBA"), outfit().resize((31, 47)),
                  outfit().convert("P")):
        assert isinstance(detect(image), list)


def test_concurrent_calls_agree_with_sequential_ones():
    photos = [outfit(seed) for seed in range(4)]
    expected = [detect(photo) for photo in photos]
    got: dict[int, list] = {}

    def run(index: int):
        got[index] = detect(photos[index])

    threads = [threading.Thread(target=run, args=(i,)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert [got[i] for i in range(4)] == expected


def test_embed_returns_unit_float32_vectors_of_the_index_size():
    vectors = embed([outfit(0), outfit(1), outfit(0).convert("L")])

    assert vectors.dtype == np.float32
    assert vectors.shape == (3, EMBEDDING_DIMENSIONS)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1, atol=1e-4)


def test_local_descriptors_come_with_the_same_vectors_and_tell_a_resized_copy_apart():
    smaller = outfit(0).resize((256, 384))
    photos = [outfit(0), smaller, outfit(1), outfit(3)]
    vectors, local = embed_with_local(photos)

    assert np.allclose(vectors, embed(photos), atol=1e-5)
    for descriptors in local:
        assert descriptors.dtype == np.int8
        assert descriptors.shape[1] == 64
        assert np.allclose(np.linalg.norm(dequantised(descriptors), axis=1), 1, atol=2e-2)
    original, resized, *others = local
    assert chamfer_similarity(original, original) == pytest.approx(1.0, abs=1e-3)
    assert all(chamfer_similarity(original, resized) > chamfer_similarity(original, other)
               for other in others)


def test_local_descriptors_only_for_the_images_asked():
    photos = [outfit(0), outfit(1), outfit(3)]
    vectors, every = embed_with_local(photos)

    same_vectors, asked = embed_with_local(photos, local_for=[2, 0])

    assert np.array_equal(same_vectors, vectors)
    assert asked[1] is None
    assert np.array_equal(asked[0], every[0])
    assert np.array_equal(asked[2], every[2])


def test_embed_is_deterministic_and_near_means_alike():
    red = Image.new("RGB", (200, 260), (250, 250, 250))
    ImageDraw.Draw(red).rectangle((50, 40, 150, 220), fill=(200, 20, 20))
    red_again = red.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
    striped = red.copy()
    draw = ImageDraw.Draw(striped)
    for y in range(0, 260, 12):
        draw.rectangle((0, y, 200, y + 5), fill=(20, 120, 20))

    first, mirrored, other = embed([red, red_again, striped])

    assert np.allclose(embed([red])[0], first, atol=1e-5)
    assert first @ mirrored > first @ other


def test_a_colour_boosted_query_weighs_colour_more_and_knows_its_self_similarity():
    vectors = embed([outfit(0), outfit(1)])
    colour = slice(EMBEDDING_DIMENSIONS - 64, EMBEDDING_DIMENSIONS)  # the last part

    same, one = colour_boosted(vectors, 1.0)
    boosted, identical = colour_boosted(vectors, 6.0)

    assert np.allclose(same, vectors, atol=1e-6)
    assert one == pytest.approx(1.0)
    assert np.allclose(np.linalg.norm(boosted, axis=1), 1, atol=1e-5)
    assert (np.linalg.norm(boosted[:, colour], axis=1)
            > 2 * np.linalg.norm(vectors[:, colour], axis=1)).all()
    # What an identical indexed photo scores against the boosted query, for any photo.
    assert np.allclose((boosted * vectors).sum(axis=1), identical, atol=1e-5)
    assert 0.5 < identical < 1.0


def test_empty_batch():
    assert embed([]).shape == (0, EMBEDDING_DIMENSIONS)


def test_model_version_names_both_checkpoints():
    version = model_version()
    assert len(version) == 16
    assert int(version, 16) >= 0


@pytest.mark.parametrize("path", [config.WEIGHTS_PT, WEIGHTS_PATH])
def test_checkpoints_are_small_and_have_model_cards(path):
    assert path.stat().st_size < 30 * 2**20
    assert (path.parent / "DETECTOR.md").exists()
    assert (path.parent / "EMBEDDER.md").exists()


def test_non_images_are_still_rejected_cleanly_once_ultralytics_is_loaded():
    from PIL import Image as PillowImage

    from shop.images import ImageRejected, image_decode

    detector_load(runtime="torch")  # loads Ultralytics, which patches PIL.Image.open on import
    assert PillowImage.open.__module__.startswith("PIL")
    with pytest.raises(ImageRejected, match="not a recognised image"):
        image_decode(b"%PDF-1.7 this is no photo")
