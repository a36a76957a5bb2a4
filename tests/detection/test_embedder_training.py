"""`train_embedder` fits a head on a tiny generated data set and writes a checkpoint that embeds."""

import csv
import json

import numpy as np
import pytest
import torch
from django.core.management import call_command
from PIL import Image, ImageDraw

from detection.embedder import TUNED_FROM_STAGE, VECTOR_SIZE, WEIGHTS_PATH, Embedder
from detection.embedder_training import read_street, reference_backbone
from detection.local_matching import dequantised

# (myntra category, group, shape drawn); garment_class_default maps each to a class.
MYNTRA_KINDS = [
    ("Tshirts", "Apparel / Topwear", "box"),
    ("Jeans", "Apparel / Bottomwear", "legs"),
    ("Dresses", "Apparel / Dress", "dress"),
]
COLOURS = {"Red": (200, 30, 40), "Blue": (30, 50, 190)}
STREET_LABELS = {"t-shirt": "box", "pants": "legs", "dress": "dress"}


def garment(shape: str, colour: tuple[int, int, int], seed: int, size=(72, 96)) -> Image.Image:
    rng = np.random.default_rng(seed)
    image = Image.new("RGB", size, tuple(int(v) for v in rng.integers(200, 256, 3)))
    draw = ImageDraw.Draw(image)
    jitter = int(rng.integers(0, 6))
    if shape == "box":
        draw.rectangle((12 + jitter, 18, 60 - jitter, 70), fill=colour)
    elif shape == "legs":
        draw.rectangle((20, 10 + jitter, 34, 90), fill=colour)
        draw.rectangle((38, 10 + jitter, 52, 90), fill=colour)
    else:
        draw.polygon([(36, 8 + jitter), (10, 90), (62, 90)], fill=colour)
    return image


def write_data_set(root):
    """Write myntra, street and ccp folders in the shared data sets' layout (44 images)."""
    (root / "myntra" / "images").mkdir(parents=True)
    with (root / "myntra" / "catalog.csv").open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["sku", "title", "category", "group", "colour", "image"])
        for index in range(24):
            category, group, shape = MYNTRA_KINDS[index % 3]
            colour = list(COLOURS)[index % 2]
            name = f"images/{index}.jpg"
            garment(shape, COLOURS[colour], index).save(root / "myntra" / name)
            writer.writerow([f"MY-{index}", category, category, group, colour, name])
    (root / "street" / "images").mkdir(parents=True)
    with (root / "street" / "labels.csv").open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["image", "label"])
        for index in range(15):
            label = list(STREET_LABELS)[index % 3]
            name = f"images/street-{index}.jpg"
            garment(STREET_LABELS[label], (90, 90, 90), 100 + index).save(root / "street" / name)
            writer.writerow([name, label])
    (root / "ccp" / "photos").mkdir(parents=True)
    images = []
    for index in range(3):
        photo = Image.new("RGB", (120, 200), (230, 230, 230))
        photo.paste(garment("box", (200, 30, 40), 200 + index), (24, 0))
        photo.paste(garment("legs", (30, 50, 190), 300 + index), (24, 96))
        name = f"photos/{index}.jpg"
        photo.save(root / "ccp" / name)
        boxes = [
            {"label": "shirt", "class": "top", "box": [24, 0, 96, 96]},
            {"label": "pants", "class": "bottom", "box": [24, 96, 96, 192]},
        ]
        images.append({"image": name, "width": 120, "height": 200, "boxes": boxes})
    (root / "ccp" / "boxes.json").write_text(json.dumps({"images": images}))


@pytest.mark.parametrize("tune_epochs", [0, 1])
def test_train_embedder_writes_a_checkpoint_that_embeds(tmp_path, tune_epochs):
    data = tmp_path / "data"
    write_data_set(data)
    assert 0 < len(read_street(data / "street", test=False)) < 15  # some photos held out
    out, cache = tmp_path / "embedder.pt", tmp_path / "cache"

    call_command(
        "train_embedder", "--data-dir", str(data), "--out", str(out), "--cache-dir", str(cache),
        "--epochs", "1", "--tune-epochs", str(tune_epochs),
    )  # fmt: skip

    # Cached activations name the stage they feed, so a change of split never reads them back.
    branch_caches = sorted(path.name for path in cache.glob("*_branch.npy"))
    expected = [
        f"{name}_grey_stage{TUNED_FROM_STAGE}_branch.npy" for name in ("ccp", "myntra", "street")
    ]
    assert branch_caches == (expected if tune_epochs else [])

    embedder = Embedder.load(out)
    assert embedder.head.has_local  # fitted last, on the final backbone
    net, imagenet = embedder.extractor.backbone.net, reference_backbone().net
    # The top is fine-tuned in place, below it the backbone stays ImageNet's.
    moved = not torch.allclose(net.conv_head.weight, imagenet.conv_head.weight.half().float())
    assert moved == (tune_epochs > 0)
    below = slice(0, TUNED_FROM_STAGE)
    assert all(
        torch.equal(p, q.half().float())
        for p, q in zip(net.blocks[below].parameters(), imagenet.blocks[below].parameters(),
                        strict=True)
    )
    red_top = garment("box", COLOURS["Red"], 7)
    photos = [red_top, red_top.convert("L"), garment("legs", COLOURS["Blue"], 8)]
    vectors = embedder.embed(photos)
    assert vectors.shape == (3, VECTOR_SIZE)
    assert vectors.dtype == np.float32
    assert np.isfinite(vectors).all()
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1, atol=1e-4)
    assert vectors[0] @ vectors[2] < 0.999  # different photos, different vectors
    # The default runtime (ONNX Runtime where installed) exports what torch computes.
    reference = Embedder.load(out, runtime="torch").embed(photos)
    assert (vectors * reference).sum(axis=1).min() > 0.9999


def test_local_only_fits_the_local_projection_and_keeps_the_vectors(tmp_path):
    data = tmp_path / "data"
    write_data_set(data)
    base, out = tmp_path / "base.pt", tmp_path / "local.pt"
    checkpoint = torch.load(WEIGHTS_PATH, map_location="cpu", weights_only=True)
    for key in ("local_mean", "local_matrix"):  # as a checkpoint from before local matching
        checkpoint["head_state"].pop(key)
    checkpoint["head_config"] = {key: value for key, value in checkpoint["head_config"].items()
                                 if not key.startswith("local_")}
    torch.save(checkpoint, base)
    assert Embedder.load(base).embed_with_local([garment("box", COLOURS["Red"], 1)])[1] is None

    call_command("train_embedder", "--data-dir", str(data), "--weights", str(base),
                 "--out", str(out), "--local-only")

    photos = [garment("box", COLOURS["Red"], 7), garment("legs", COLOURS["Blue"], 8)]
    vectors, local = Embedder.load(out).embed_with_local(photos)
    assert np.array_equal(vectors, Embedder.load(base).embed(photos))
    assert [descriptors.shape[1] for descriptors in local] == [64, 64]
    assert np.allclose(np.linalg.norm(dequantised(local[0]), axis=1), 1, atol=2e-2)
