"""Fit the embedder's instance part to a retailer's own catalog (``train_embedder --catalog``).

Only the instance projection is refitted; backbone, semantic and colour parts stay as in
the base checkpoint, so the vector keeps its size and meaning. With product families
(the catalog's ``family`` column: colour variants of one product), the projection is
"learned whitening": whiten the within-family scatter, so what differs between siblings
(colour, shot) counts less, then keep the main directions of what is left. Without
families it falls back to label-free PCA whitening of the catalog. On half of H&M's families,
held out from fitting, learned whitening raised the shipped checkpoint's family Recall@1
from 0.432 to 0.518; see detection/weights/EMBEDDER.md.

Queries must be embedded with the refitted checkpoint too (``EMBEDDER_WEIGHTS``).
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch

from detection.embedder import BATCH_SIZE, WEIGHTS_PATH, Embedder, EmbedderHead
from detection.embedder_training import (
    ImageItem,
    catalog_metrics,
    checkpoint_save,
    extract_for_metrics,
    extract_items,
    fit_whitening,
    head_vectors,
    read_catalog,
)

# Learned whitening needs enough families to estimate a 1280 x 1280 within-family scatter.
MIN_FAMILIES = 50
# Ridge on the within-family scatter, as a share of its mean eigenvalue (0.1-0.3 measured best).
REGULARISATION = 0.3


def is_held_out_family(family: str) -> bool:
    """Tell whether a family is in the evaluation half of a catalog (stable hash of its id)."""
    return bool(family) and int(hashlib.md5(family.encode("utf-8")).hexdigest()[:8], 16) % 2 == 0


def family_groups(families: Sequence[str]) -> list[np.ndarray]:
    """Return the row indices of each family with at least two rows."""
    rows: dict[str, list[int]] = defaultdict(list)
    for index, family in enumerate(families):
        if family:
            rows[family].append(index)
    return [np.array(indices) for indices in rows.values() if len(indices) >= 2]


def fit_learned_whitening(
    features: np.ndarray,
    groups: Sequence[np.ndarray],
    size: int,
    regularisation: float = REGULARISATION,
) -> tuple[np.ndarray, np.ndarray]:
    """Fit (mean, feature x size matrix): whiten within-group scatter, then PCA to ``size``."""
    mean = features.mean(axis=0)
    deviations = np.concatenate([features[rows] - features[rows].mean(axis=0) for rows in groups])
    scatter = deviations.T @ deviations / len(deviations)
    ridge = regularisation * np.trace(scatter) / len(scatter)
    eigenvalues, eigenvectors = np.linalg.eigh(scatter + ridge * np.eye(len(scatter)))
    within = (eigenvectors / np.sqrt(eigenvalues)) @ eigenvectors.T
    whitened = (features - mean) @ within
    _, _, components = np.linalg.svd(whitened - whitened.mean(axis=0), full_matrices=False)
    matrix = np.zeros((features.shape[1], size), dtype=np.float32)
    kept = min(size, len(components))
    matrix[:, :kept] = within @ components[:kept].T
    return mean.astype(np.float32), matrix


def instance_projection(
    head: EmbedderHead,
    features: torch.Tensor,
    families: Sequence[str],
    min_families: int | None = None,
) -> tuple[np.ndarray, np.ndarray, str]:
    """Return the instance (mean, matrix) of ``head`` refitted to a catalog, and the method."""
    size = head.instance_matrix.shape[1]
    normalised = head.instance_input(features).numpy()
    groups = family_groups(families)
    if len(groups) >= (MIN_FAMILIES if min_families is None else min_families):
        return (*fit_learned_whitening(normalised, groups, size), "learned whitening")
    return (*fit_whitening(normalised, size), "PCA whitening")


def catalog_items(catalog_csv: Path, hold_out: bool) -> list[ImageItem]:
    """Read a catalog's items, leaving out the evaluation half of its families if asked."""
    items = read_catalog(catalog_csv)
    return [item for item in items if not (hold_out and is_held_out_family(item.family))]


def embedder_fit_catalog(
    catalog_csv: Path,
    out_path: Path,
    weights: Path = WEIGHTS_PATH,
    hold_out: bool = False,
    batch_size: int = BATCH_SIZE,
) -> dict[str, object]:
    """Refit the instance projection on a catalog's photos and save a new checkpoint."""
    embedder = Embedder.load(weights)
    items = catalog_items(catalog_csv, hold_out)
    if len(items) < 2:
        raise ValueError(f"fitting to a catalog needs at least 2 photos, got {len(items)}")
    features, _ = extract_items(embedder, items, batch_size)
    families = [item.family for item in items]
    mean, matrix, method = instance_projection(embedder.head, features, families)
    checkpoint = torch.load(weights, map_location="cpu", weights_only=True)
    checkpoint["head_state"]["instance_mean"] = torch.from_numpy(mean).half()
    checkpoint["head_state"]["instance_matrix"] = torch.from_numpy(matrix).half()
    checkpoint["fitted_to_catalog"] = {
        "catalog": Path(catalog_csv).name,
        "method": method,
        "photos": len(items),
        "held_out_families": hold_out,
    }
    return {"out": str(checkpoint_save(checkpoint, out_path)), **checkpoint["fitted_to_catalog"]}


def embedder_evaluate_held_out(
    catalog_csv: Path, weights: Path = WEIGHTS_PATH, batch_size: int = BATCH_SIZE,
    rerank: bool = False,
) -> dict[str, float]:
    """Leave-one-out metrics over the held-out half of a catalog's families only; with
    ``rerank``, of the neighbours re-ranked by local matching."""
    embedder = Embedder.load(weights)
    items = [item for item in read_catalog(catalog_csv) if is_held_out_family(item.family)]
    features, histograms, local = extract_for_metrics(embedder, items, batch_size, rerank)
    return catalog_metrics(head_vectors(embedder.head, features, histograms), items, local)
