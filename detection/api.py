"""The calls the rest of the project makes: `detect` garments and `embed` images.

Models load once per process, on first use, and are shared by every thread. Importing
this module loads neither torch nor ultralytics, so commands that never detect stay fast.
"""

import hashlib
import threading
from collections.abc import Collection, Sequence
from functools import cache

import numpy as np
from PIL import Image

from detection.local_matching import verified_scores
from detection.regions import Region

__all__ = ["Region", "colour_boosted", "detect", "detect_many", "embed", "embed_with_local",
           "local_scores", "model_version", "models_warm_up"]

_loading = threading.Lock()
# Bumped when detection changes in a way the settings don't show (2: photos smaller than
# the input size are no longer enlarged).
DETECTION_REVISION = 2


@cache
def _detector():
    from detection.detector import detector_load

    return detector_load()


@cache
def _embedder():
    from detection.embedder import get_embedder

    return get_embedder()


def detect(image: Image.Image) -> list[Region]:
    """Return the garments in a photo (class, box in pixels, score), most confident first."""
    with _loading:
        detector = _detector()
    return detector.detect(image)


def detect_many(images: Sequence[Image.Image]) -> list[list[Region]]:
    """Return the garments in each photo, as `detect` would, in fewer network runs."""
    with _loading:
        detector = _detector()
    return detector.detect_many(images)


def embed(images: Sequence[Image.Image]) -> np.ndarray:
    """Return one L2-normalised float32 vector per image, in order."""
    with _loading:
        embedder = _embedder()
    return embedder.embed(list(images))


def embed_with_local(
    images: Sequence[Image.Image], local_for: Collection[int] | None = None
) -> tuple[np.ndarray, list[np.ndarray | None] | None]:
    """Return `embed`'s vectors and each image's local descriptors (int8, locations x
    size), which `local_scores` compares; None when the embedder has none. With
    `local_for`, only the images at those positions get descriptors, the others None."""
    with _loading:
        embedder = _embedder()
    return embedder.embed_with_local(list(images), local_for=local_for)


def local_scores(query: np.ndarray, candidates: Sequence[np.ndarray | None],
                 similarities: Sequence[float]) -> list[float]:
    """Return each candidate's similarity to the query re-scored with its local descriptors
    (1 for an identical photo); one without descriptors gets an estimate on the same scale
    (`detection.local_matching.verified_scores`)."""
    return verified_scores(query, candidates, similarities)


def colour_boosted(vectors: np.ndarray, boost: float) -> tuple[np.ndarray, float]:
    """Return query vectors (from `embed`) whose colour counts `boost` times as much when
    compared with indexed vectors (which need no change), and the similarity an identical
    photo then has, by which to divide similarities so that it still scores 1."""
    with _loading:
        embedder = _embedder()
    boosts = (1.0, 1.0, boost)
    return embedder.parts_boosted(vectors, boosts), embedder.boosted_self_similarity(boosts)


@cache
def model_version() -> str:
    """Return a short fingerprint of the models and detection settings in use."""
    from detection import config
    from detection.detector import shipped_weights
    from detection.embedder import WEIGHTS_PATH

    digest = hashlib.sha256()
    for path in (shipped_weights(), WEIGHTS_PATH):
        digest.update(path.read_bytes())
    # What decides which regions are found: changing it must re-index like new weights do.
    digest.update(f"{DETECTION_REVISION}:{config.IMGSZ}:{config.CONFIDENCE}:{config.IOU}:"
                  f"{config.NESTED_OVERLAP}:{config.MAX_DETECTIONS}".encode())
    return digest.hexdigest()[:16]


def models_warm_up() -> None:
    """Load every model and run each once, so that the first shopper doesn't wait for it.

    Loading (and, on a new machine, exporting to ONNX) takes seconds; a web process calls
    this in the background when it starts.
    """
    from detection.text_embedder import embed_texts

    blank = Image.new("RGB", (64, 64), "white")
    detect(blank)
    embed([blank])
    embed_texts(["warm up"])
    model_version()
