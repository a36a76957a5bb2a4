"""`train_embedder --catalog` refits the instance part to a catalog, from its families if any."""

import csv
from pathlib import Path

import numpy as np
import pytest
from django.core.management import CommandError, call_command

from detection import embedder_catalog
from detection.embedder import VECTOR_SIZE, Embedder
from detection.embedder_catalog import fit_learned_whitening, is_held_out_family
from detection.embedder_training import (
    ImageItem,
    fit_whitening,
    nearest_neighbours,
    with_category_first,
)
from tests.detection.test_embedder_training import garment

SHAPES = ("box", "legs", "dress")
COLOURS = [(200, 30, 40), (30, 50, 190), (40, 150, 60)]


def family_recall_at_1(vectors: np.ndarray, family: np.ndarray) -> float:
    neighbours = nearest_neighbours(vectors, vectors, k=1, exclude_self=True)[:, 0]
    return float((family[neighbours] == family).mean())


def test_learned_whitening_ignores_what_varies_within_families():
    rng = np.random.default_rng(0)
    families, members, dims = 60, 3, 40
    centres = rng.normal(size=(families, dims))
    # Ten directions along which siblings differ as much as families do (e.g. colour).
    nuisance = np.linalg.qr(rng.normal(size=(dims, 10)))[0].T * 2
    features = np.repeat(centres, members, axis=0)
    features += 1.5 * rng.normal(size=(len(features), 10)) @ nuisance
    features += 0.3 * rng.normal(size=features.shape)
    family = np.repeat(np.arange(families), members)
    groups = [np.flatnonzero(family == index) for index in range(families)]

    mean, matrix = fit_learned_whitening(features, groups, size=20)
    pca_mean, pca_matrix = fit_whitening(features, size=20)

    learned = family_recall_at_1((features - mean) @ matrix, family)
    assert learned > 0.95
    assert learned > family_recall_at_1((features - pca_mean) @ pca_matrix, family) + 0.15


def write_catalog(folder, families: int = 10) -> tuple:
    """A catalog whose families are one shape in three colours (colour variants)."""
    (folder / "images").mkdir(parents=True)
    catalog = folder / "catalog.csv"
    with catalog.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["sku", "title", "category", "colour", "family", "image"])
        for index in range(families):
            for variant, colour in enumerate(COLOURS):
                name = f"images/{index}-{variant}.jpg"
                garment(SHAPES[index % 3], colour, index).save(folder / name)
                family = f"F{index}"
                writer.writerow([f"SKU-{index}-{variant}", "t", SHAPES[index % 3], variant,
                                 family, name])
    return catalog


def test_train_embedder_catalog_writes_a_checkpoint_fitted_to_the_families(
    tmp_path, monkeypatch, capsys
):
    catalog = write_catalog(tmp_path / "shop")
    out = tmp_path / "fitted.pt"
    monkeypatch.setattr(embedder_catalog, "MIN_FAMILIES", 3)  # a real catalog needs 50

    call_command("train_embedder", "--catalog", str(catalog), "--out", str(out),
                 "--hold-out-families")

    printed = capsys.readouterr().out
    assert "learned whitening" in printed
    held_out = sum(is_held_out_family(f"F{index}") for index in range(10))
    assert f"photos: {3 * (10 - held_out)}" in printed
    fitted, shipped = Embedder.load(out), Embedder.load()
    assert not np.allclose(fitted.head.instance_matrix, shipped.head.instance_matrix)
    photo = garment("box", COLOURS[0], 99)
    vectors = fitted.embed([photo])
    assert vectors.shape == (1, VECTOR_SIZE)
    assert np.isclose(np.linalg.norm(vectors), 1, atol=1e-4)

    call_command("evaluate_embedder", "--catalog", str(catalog), "--weights", str(out),
                 "--held-out-families")
    assert "family_r@1" in capsys.readouterr().out
    # The fitted checkpoint keeps the base's local projection: similar items re-ranks too.
    call_command("evaluate_embedder", "--catalog", str(catalog), "--weights", str(out),
                 "--held-out-families", "--rerank")
    assert "family_r@1" in capsys.readouterr().out


def test_catalog_without_families_falls_back_to_pca_whitening(tmp_path, capsys):
    catalog = write_catalog(tmp_path / "shop", families=2)
    call_command("train_embedder", "--catalog", str(catalog), "--out", str(tmp_path / "o.pt"))
    assert "PCA whitening" in capsys.readouterr().out


def test_catalog_fit_refuses_to_overwrite_the_shipped_checkpoint(tmp_path):
    with pytest.raises(CommandError, match="--out"):
        call_command("train_embedder", "--catalog", str(tmp_path / "missing.csv"))
    with pytest.raises(CommandError, match="--data-dir"):
        call_command("train_embedder")


def test_evaluate_embedder_rerank_scores_the_order_similar_items_shows(tmp_path, capsys):
    catalog = write_catalog(tmp_path / "shop")

    call_command("evaluate_embedder", "--catalog", str(catalog), "--rerank")

    scores = dict(line.split() for line in capsys.readouterr().out.splitlines())
    assert {"family_r@1", "family_r@10", "category_p@10"} <= set(scores)
    assert all(0 <= float(value) <= 1 for name, value in scores.items() if "@" in name)
    with pytest.raises(CommandError, match="--rerank"):
        call_command("evaluate_embedder", "--catalog", str(catalog), "--street",
                     str(tmp_path), "--rerank")


def test_category_first_ranks_the_own_category_first_in_the_vectors_order():
    rng = np.random.default_rng(0)
    vectors = rng.normal(size=(40, 8)).astype(np.float32)
    categories = ["coat", "skirt", "", "coat"] * 10  # "" (no category) is one more category
    items = [ImageItem(path=Path(f"{index}.jpg"), category=category)
             for index, category in enumerate(categories)]

    augmented = with_category_first(vectors, items)
    oracle = nearest_neighbours(augmented, augmented, k=39, exclude_self=True)
    plain = nearest_neighbours(vectors, vectors, k=39, exclude_self=True)

    category = np.array(categories)
    for index, row in enumerate(oracle):
        own = int((category == category[index]).sum()) - 1
        assert (category[row[:own]] == category[index]).all()
        assert (category[row[own:]] != category[index]).all()
        in_plain_order = [n for n in plain[index] if category[n] == category[index]]
        assert list(row[:own]) == in_plain_order


def test_evaluate_embedder_scores_colour_weights_under_the_category_oracle(tmp_path, capsys):
    catalog = write_catalog(tmp_path / "shop")

    call_command("evaluate_embedder", "--catalog", str(catalog), "--category-oracle",
                 "--colour-weight", "0", "--colour-weight", "2")

    scores = {name: float(value) for name, value in
              (line.split() for line in capsys.readouterr().out.splitlines())}
    # 12 boxes, 9 legs, 9 dresses: the oracle fills each top 10 with its own shape first,
    # 11 of 11 boxes and 8 of 9 legs or dresses.
    for weight in ("0", "2"):
        assert scores[f"colour_weight={weight}/category_p@10"] == pytest.approx(
            (12 * 1.0 + 18 * 0.8) / 30)
    # Siblings are one drawing in three colours: a heavy colour part puts the same colour
    # of another family before them.
    assert scores["colour_weight=2/family_r@1"] < scores["colour_weight=0/family_r@1"]
    with pytest.raises(CommandError, match="--rerank"):
        call_command("evaluate_embedder", "--catalog", str(catalog), "--category-oracle",
                     "--rerank")
    with pytest.raises(CommandError, match="one --catalog"):
        call_command("evaluate_embedder", "--catalog", str(catalog), "--colour-weight", "1",
                     "--street", str(tmp_path))
