"""Derived model files (ONNX exports of the shipped checkpoints), built once per machine.

An export is a pure function of its weights, so it is named after a fingerprint of them and
rebuilt only when they change. Shipping it would double the weights in the repository for
no information. Both models (detector and embedder backbone) cache their exports here.
"""

import hashlib
import logging
import os
import tempfile
from collections.abc import Callable
from pathlib import Path

from detection import config

logger = logging.getLogger(__name__)


def file_digest(path: Path) -> str:
    """Return the first 16 hex digits of a file's SHA-256."""
    return hashlib.sha256(path.read_bytes()).hexdigest()[:16]


def cached_export(name: str, fingerprint: str, export: Callable[[Path], None], *,
                  cache_dir: Path | None = None, suffix: str = ".onnx") -> Path:
    """Return the cached file `name-fingerprint`, calling `export(target)` to write it if absent.

    Processes that start together may both export; each writes a private temporary file and
    renames it into place atomically, so no process ever loads a half-written model. When the
    cache folder (default `MODEL_CACHE_DIR`) cannot be written, as in a read-only deployment,
    the export goes to a temporary folder of this process instead, so the model still loads.
    """
    folder = Path(cache_dir or config.MODEL_CACHE_DIR)
    cached = folder / f"{name}-{fingerprint}{suffix}"
    if cached.exists():
        return cached
    if not _writable(folder):
        logger.warning("cannot write the model cache %s; exporting %s for this process only",
                       folder, cached.name)
        cached = Path(tempfile.mkdtemp(prefix="model-cache-")) / cached.name
    with tempfile.TemporaryDirectory(dir=cached.parent) as scratch:
        target = Path(scratch) / cached.name
        export(target)
        target.chmod(0o644)  # temporary folders are private; the cache is shared
        os.replace(target, cached)
    return cached


def _writable(folder: Path) -> bool:
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError:
        return False
    return os.access(folder, os.W_OK)
