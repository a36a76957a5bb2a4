"""`evaluate_look`: shop the look's class decision replayed on generated photos."""

import json

import numpy as np
import pytest
from django.core.management import call_command
from PIL import Image

from detection.detector_data import is_holdout
from detection.embedder import get_embedder
from detection.embedder_training import ImageItem, embed_items, is_street_test, read_catalog
from detection.regions import Region
from search.look_evaluation import (
    Gallery,
    Outfit,
    colour_score,
    look_evaluate,
    sections_score,
    street_queries,
)
from tests.factories import catalog_row, catalog_write
from tests.search.catalog import outfit_photo, product_photo

# Generated shapes and the street label / catalog category that name them.
SHAPES = {"tee": ("t-shirt", "Tshirts"), "trousers": ("pants", "Jeans"),
          "shoe": ("shoes", "Casual Shoes")}
COLOURS = [(200, 30, 40), (30, 60, 200), (40, 150, 60), (230, 200, 40)]


@pytest.fixture(scope="module")
def look_data(tmp_path_factory):
    """A catalog of four colours of each shape, street photos of the same shapes on a
    floor (test split only) and CCP-style outfit photos (held-out split only)."""
    root = tmp_path_factory.mktemp("look")
    (root / "catalog/images").mkdir(parents=True)
    rows = []
    for number, (shape, colour) in enumerate((s, c) for s in SHAPES for c in COLOURS):
        product_photo(colour, shape).save(root / f"catalog/images/{number}.jpg")
        rows.append(catalog_row(number, category=SHAPES[shape][1]))
    catalog = catalog_write(root / "catalog", rows, images=False)

    (root / "street/images").mkdir(parents=True)
    rng = np.random.default_rng(0)
    names = (f"images/{number:04d}.jpg" for number in range(10_000))
    test_names = (name for name in names if is_street_test(name))
    labels = []
    for shape in SHAPES:
        for colour in ((90, 90, 90), (240, 120, 200)):
            name = next(test_names)
            floor = rng.normal((150, 120, 90), 12, size=(300, 240, 3)).clip(0, 255)
            photo = Image.fromarray(floor.astype(np.uint8))
            photo.paste(product_photo(colour, shape), (20, 20))
            photo.save(root / "street" / name)
            labels.append(f"{name},{SHAPES[shape][0]}")
    (root / "street/labels.csv").write_text("image,label\n" + "\n".join(labels) + "\n")

    (root / "ccp/photos").mkdir(parents=True)
    held_out = (f"photos/{n:04d}.jpg" for n in range(10_000) if is_holdout(f"photos/{n:04d}.jpg"))
    records = []
    for _ in range(2):
        name = next(held_out)
        outfit_photo().save(root / "ccp" / name)
        records.append({"image": name, "width": 300, "height": 600, "boxes": [
            {"label": "t-shirt", "class": "top", "box": [90, 60, 210, 240]},
            {"label": "jeans", "class": "bottom", "box": [100, 290, 195, 400]},
            {"label": "shoes", "class": "footwear", "box": [80, 540, 230, 600]},
        ]})
    (root / "ccp/boxes.json").write_text(json.dumps({"classes": [], "images": records}))
    return root, catalog


@pytest.fixture(scope="module")
def scores(look_data, tmp_path_factory):
    root, catalog = look_data
    return look_evaluate(root / "street", [catalog], root / "ccp/boxes.json", batch_size=8,
                         colours_csv=colours_write(root, tmp_path_factory.mktemp("colours")))


def colours_write(root, folder):
    """Label the first four street photos red (every generated product is named Red)."""
    labelled = [line.split(",")[0] for line in
                (root / "street/labels.csv").read_text().splitlines()[1:5]]
    colours = folder / "colours.csv"
    colours.write_text("image,colour\n" + "".join(f"{name},red\n" for name in labelled))
    return colours


def test_every_policy_is_scored_on_every_street_label(scores):
    assert scores["street/queries"] == 6
    for policy in ("embedding", "detector", "vote"):
        assert 0.0 <= scores[f"street/{policy}"] <= 1.0
        labels = [scores[f"street/{policy}/{label}"] for label in ("pants", "shoes", "t-shirt")]
        assert scores[f"street/{policy}"] == pytest.approx(np.mean(labels))


def test_class_consistent_results_beat_the_embedding_s_mixed_ones(scores):
    # Four products per class: the embedding's top 10 over all twelve always holds six or
    # more of the wrong classes (precision <= 0.4), a search in the right class none.
    assert scores["street/embedding"] <= 0.4 + 1e-9
    assert scores["street/vote"] > scores["street/embedding"]


def test_outfit_garments_are_scored_with_their_labelled_box_s_class(scores):
    assert scores["ccp/queries"] >= 1
    assert "ccp/embedding" not in scores
    for policy in ("detector", "vote"):
        assert 0.0 <= scores[f"ccp/{policy}"] <= 1.0


def test_outfit_sections_and_the_garments_they_find_are_counted(scores):
    for policy in ("detector", "vote"):
        assert scores[f"ccp/{policy}/sections_per_photo"] >= 1  # nothing found: whole photo
        assert 0.0 <= scores[f"ccp/{policy}/garments_found"] <= 1.0


def test_a_garment_detected_twice_is_one_section(look_data):
    root, catalog = look_data
    items = read_catalog(catalog)
    gallery = Gallery(items, embed_items(get_embedder(), items, 8))
    photo = ImageItem(path=next((root / "ccp/photos").glob("*.jpg")))
    tee = {"label": "t-shirt", "class": "top", "box": [90, 60, 210, 240]}
    regions = [Region("top", (90.0, 60.0, 210.0, 240.0), 0.9),
               Region("top", (100.0, 70.0, 200.0, 200.0), 0.5),  # inside the first
               Region("bottom", (100.0, 290.0, 195.0, 400.0), 0.4)]

    counted = sections_score(gallery, [Outfit(photo, [tee], regions)], batch_size=8)

    assert counted["detector/sections_per_photo"] == 2
    assert counted["detector/garments_found"] == 1.0
    assert 1 <= counted["vote/sections_per_photo"] <= 3


def test_results_colours_are_scored_plain_and_boosted(look_data, tmp_path):
    root, catalog = look_data
    items = read_catalog(catalog)
    gallery = Gallery(items, embed_items(get_embedder(), items, 8))
    colours = colours_write(root, tmp_path)
    street = street_queries(root / "street", batch_size=8)

    scores = colour_score(gallery, street, colours, batch_size=8)

    assert scores["queries"] == 4
    for variant in ("plain", "boosted"):
        # Every generated product is named Red: all results have the labelled colour.
        assert scores[f"{variant}/colour"] == 1.0
        assert scores[f"{variant}/colour_macro"] == 1.0
        assert 0.0 <= scores[f"{variant}/label"] <= 1.0


def test_colours_are_scored_on_the_street_photos_beside_the_outfits(scores):
    # The colour labels name street photos, whatever other queries the run has.
    assert scores["colour/queries"] == 4
    assert scores["colour/boosted/colour"] == 1.0


def test_the_command_prints_one_line_per_score(look_data, scores, capsys):
    root, catalog = look_data

    call_command("evaluate_look", "--street", str(root / "street"), "--catalog", str(catalog),
                 "--batch-size", "8")

    printed = dict(line.split() for line in capsys.readouterr().out.splitlines())
    assert printed["street/queries"] == "6"
    assert float(printed["street/vote"]) == pytest.approx(scores["street/vote"], abs=5e-4)
    assert not any(name.startswith("ccp/") for name in printed)

