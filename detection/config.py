"""Machine-learning defaults for the garment detector, in one place.

Every value can be overridden from an environment variable of the same name prefixed with
`DETECTOR_` (e.g. `DETECTOR_IMGSZ=512`), so that a deployment tunes the detector without a
code change. Nothing here imports torch: reading the configuration must stay cheap.
"""

import os
from pathlib import Path

REPO_DIR = Path(__file__).resolve().parent.parent
WEIGHTS_DIR = REPO_DIR / "detection" / "weights"
# The project's data folder (the same DATA_DIR as the Django settings).
DATA_DIR = Path(os.environ.get("DATA_DIR", REPO_DIR / "var"))

# The detector's output order; it must match `shop.garment_classes.GarmentClass`, because
# a class id from the model is looked up in this tuple.
GARMENT_CLASSES: tuple[str, ...] = (
    "top", "outerwear", "bottom", "dress", "footwear", "bag", "accessory",
)


def _env_str(name: str, default: str) -> str:
    """Read a string override, ignoring an empty value."""
    return os.environ.get(f"DETECTOR_{name}") or default


def _env_int(name: str, default: int) -> int:
    """Read an integer override."""
    return int(_env_str(name, str(default)))


def _env_float(name: str, default: float) -> float:
    """Read a float override."""
    return float(_env_str(name, str(default)))


def _default_device() -> str:
    """Return "0" when a CUDA device is usable, else "cpu"."""
    try:
        import torch
    except ImportError:  # the web process may run without torch installed
        return "cpu"
    return "0" if torch.cuda.is_available() else "cpu"


# The shipped weights were trained at this size; CCP photos are 400 px wide, so a larger
# size adds latency without adding detail.
IMGSZ: int = _env_int("IMGSZ", 416)
CONFIDENCE: float = _env_float("CONFIDENCE", 0.25)
IOU: float = _env_float("IOU", 0.6)
MAX_DETECTIONS: int = _env_int("MAX_DETECTIONS", 20)
# A detection with this share of its box inside (or around) a more confident one of its class
# is the same garment again (see detection.regions.nested_dropped).
NESTED_OVERLAP: float = _env_float("NESTED_OVERLAP", 0.7)
WEIGHTS_PT: Path = Path(_env_str("WEIGHTS_PT", str(WEIGHTS_DIR / "detector.pt")))
# "onnx" runs the detector with ONNX Runtime on the CPU (several times faster than torch
# here, see docs/benchmarks.md); "torch" runs it through ultralytics, as on a GPU.
RUNTIME: str = _env_str("RUNTIME", "onnx")
# Training and evaluation write generated data sets and runs here, never into the repo.
WORK_DIR: Path = Path(_env_str("WORK_DIR", str(DATA_DIR / "detector")))
# ONNX exports of the shipped checkpoints, made on first use (detection/model_cache.py).
MODEL_CACHE_DIR: Path = Path(os.environ.get("MODEL_CACHE_DIR") or DATA_DIR / "models")
# Ultralytics keeps its settings (and the font it would otherwise download) here.
ULTRALYTICS_DIR: Path = Path(_env_str("ULTRALYTICS_DIR", str(DATA_DIR / "ultralytics")))
# Shared machines: keep torch from taking every core.
TORCH_THREADS: int = _env_int("TORCH_THREADS", 2)


def device() -> str:
    """Return the torch device to run the detector on."""
    return _env_str("DEVICE", "") or _default_device()
