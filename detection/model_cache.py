"""Derived model files (ONNX exports of the shipped checkpoints), built once per machine.

An export is a pure function of its checkpoint, so it is named after the checkpoint's hash
and rebuilt only when the checkpoint changes. Shipping it would double the weights in the
repository for no information.
"""

import hashlib
import os
import tempfile
from collections.abc import Callable
from pathlib import Path

from detection import config


def file_digest(path: Path) -> str:
    """Return the first 16 hex digits of a file's SHA-256."""
    return hashlib.sha256(path.read_bytes()).hexdigest()[:16]


def cached_export(source: Path, name: str, export: Callable[[Path, Path], None], *,
                  suffix: str = ".onnx") -> Path:
    """Return the cached file derived from `source`, calling `export(source, target)` if absent.

    Processes that start together may both export; each writes a private temporary file and
    renames it into place atomically, so no process ever loads a half-written model.
    """
    config.MODEL_CACHE_DIR.mkdir(parents=True, exist_ok=True)
    cached = config.MODEL_CACHE_DIR / f"{name}-{file_digest(source)}{suffix}"
    if cached.exists():
        return cached
    with tempfile.TemporaryDirectory(dir=config.MODEL_CACHE_DIR) as scratch:
        target = Path(scratch) / cached.name
        export(source, target)
        os.replace(target, cached)
    return cached
