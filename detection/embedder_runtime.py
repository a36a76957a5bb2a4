"""Run the embedder's backbone (pixels -> pooled features and local map) with ONNX Runtime or torch.

ONNX Runtime measured 3-4x faster than torch on the 2-core CPU machine, and ~5x at batch 1
(docs/benchmarks.md), so it is the default wherever ``onnxruntime`` imports; torch stays
the fallback (``EMBEDDER_RUNTIME=torch``, no onnxruntime, or a CUDA device).

The ONNX file is derived deterministically from the checkpoint's backbone weights, so it is
not shipped (it would add 13 MB to the repository for a 4 s export): the first load exports
it into ``MODEL_CACHE_DIR`` (default ``$DATA_DIR/models``) under a name keyed by a hash of
the weights (``detection/model_cache.py``, shared with the detector's export).
"""

from __future__ import annotations

import hashlib
import io
import os
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
from torch import nn

from detection.config import MODEL_CACHE_DIR
from detection.model_cache import cached_export
from detection.onnx_session import cpu_inference_session

RUNTIME = os.environ.get("EMBEDDER_RUNTIME", "auto")  # auto | onnx | torch
# The same folder as the detector's ONNX export, read once in detection/config.py.
CACHE_DIR = MODEL_CACHE_DIR
# Bump when the exported graph changes for the same weights (inputs, outputs, opset).
EXPORT_FORMAT = "pooled-local-v2"
OPSET = 17

# (N, 3, H, W) float32 pixels -> (N, C) float32 pooled features, (N, C', H', W') local map
BackboneRunner = Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]]


class PooledBackbone(nn.Module):
    """The backbone with one pooling and its local map selected, as a module to export."""

    def __init__(self, backbone: nn.Module, feature_name: str) -> None:
        super().__init__()
        self.backbone = backbone
        self.feature_name = feature_name

    def forward(self, pixels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        outputs = self.backbone(pixels)
        return outputs[self.feature_name], outputs["local"]


def backbone_fingerprint(backbone: nn.Module, feature_name: str) -> str:
    """Return a short hash of the backbone's weights, its pooling and the export format."""
    digest = hashlib.sha256(f"{EXPORT_FORMAT}:{OPSET}:{feature_name}".encode())
    for key, value in backbone.state_dict().items():
        digest.update(key.encode())
        digest.update(value.detach().cpu().float().contiguous().numpy().tobytes())
    return digest.hexdigest()[:16]


def onnx_export(backbone: nn.Module, feature_name: str) -> bytes:
    """Export pixels -> (pooled features, local map) to ONNX with dynamic batch size, height
    and width."""
    module = PooledBackbone(backbone, feature_name).eval()
    sample = torch.zeros(2, 3, 224, 224)
    buffer = io.BytesIO()
    with warnings.catch_warnings(), torch.inference_mode(False), torch.no_grad():
        # The TorchScript exporter needs no extra package and handles this plain CNN exactly.
        warnings.simplefilter("ignore")
        torch.onnx.export(
            module,
            (sample,),
            buffer,
            input_names=["pixels"],
            output_names=["features", "local"],
            dynamic_axes={
                "pixels": {0: "batch", 2: "height", 3: "width"},
                "features": {0: "batch"},
                "local": {0: "batch", 2: "local_height", 3: "local_width"},
            },
            opset_version=OPSET,
            dynamo=False,
        )
    return buffer.getvalue()


def cached_onnx_model(backbone: nn.Module, feature_name: str, cache_dir: Path = CACHE_DIR) -> Path:
    """Return the backbone's ONNX file, exporting it into the cache folder on first use."""
    return cached_export(
        "backbone",
        backbone_fingerprint(backbone, feature_name),
        lambda target: target.write_bytes(onnx_export(backbone, feature_name)),
        cache_dir=cache_dir,
    )


def onnxruntime_available() -> bool:
    """Return True when the onnxruntime package imports."""
    try:
        import onnxruntime  # noqa: F401
    except ImportError:
        return False
    return True


def runtime_choice(requested: str = RUNTIME) -> str:
    """Resolve ``auto`` to ``onnx`` on CPU when onnxruntime is installed, else ``torch``."""
    if requested not in ("auto", "onnx", "torch"):
        raise ValueError(f"EMBEDDER_RUNTIME must be auto, onnx or torch, not {requested!r}")
    if requested == "auto":
        return "onnx" if onnxruntime_available() and not torch.cuda.is_available() else "torch"
    return requested


def threads() -> int:
    """Return the intra-op thread count for the runtime: EMBEDDER_NUM_THREADS, else torch's."""
    configured = int(os.environ.get("EMBEDDER_NUM_THREADS", "0"))
    return configured if configured > 0 else torch.get_num_threads()


def onnx_runner(model: bytes | Path, num_threads: int | None = None) -> BackboneRunner:
    """Return a function running the exported backbone with ONNX Runtime on the CPU."""
    session = cpu_inference_session(model, num_threads or threads())

    def run(pixels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        features, local = session.run(
            None, {"pixels": np.ascontiguousarray(pixels, dtype=np.float32)}
        )
        return features, local

    return run


def torch_runner(backbone: nn.Module, feature_name: str, device: str) -> BackboneRunner:
    """Return a function running the backbone with torch on ``device``."""
    backbone = backbone.to(device).eval()

    def run(pixels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        with torch.inference_mode():
            outputs = backbone(torch.from_numpy(pixels).to(device))
        return outputs[feature_name].float().cpu().numpy(), outputs["local"].float().cpu().numpy()

    return run


def backbone_runner(
    backbone: nn.Module, feature_name: str, runtime: str = RUNTIME, cache_dir: Path = CACHE_DIR
) -> BackboneRunner:
    """Return the fastest available way to compute pooled features and local maps."""
    if runtime_choice(runtime) == "onnx":
        return onnx_runner(cached_onnx_model(backbone, feature_name, cache_dir))
    return torch_runner(backbone, feature_name, "cuda" if torch.cuda.is_available() else "cpu")
