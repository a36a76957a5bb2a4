"""Measure the models' CPU speed: detector latency per photo, embedder throughput."""

import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from PIL import Image

from detection.detector import Detector
from detection.embedder import Embedder


@dataclass(frozen=True)
class Timing:
    """Latency percentiles in milliseconds over `count` calls."""

    count: int
    p50_ms: float
    p95_ms: float

    @classmethod
    def of(cls, seconds: Sequence[float]) -> "Timing":
        millis = np.asarray(seconds) * 1000
        return cls(len(millis), float(np.percentile(millis, 50)), float(np.percentile(millis, 95)))

    def __str__(self) -> str:
        return f"p50 {self.p50_ms:.1f} ms, p95 {self.p95_ms:.1f} ms (n={self.count})"


def detector_benchmark(detector: Detector, photos: Sequence[Image.Image]) -> Timing:
    """Time `detect` on each photo once, after one warm-up call."""
    detector.detect(photos[0])
    durations = []
    for photo in photos:
        started = time.perf_counter()
        detector.detect(photo)
        durations.append(time.perf_counter() - started)
    return Timing.of(durations)


def embedder_benchmark(
    embedder: Embedder, images: Sequence[Image.Image], batch_size: int
) -> float:
    """Return images embedded per second in batches of `batch_size`, after one warm-up batch."""
    embedder.embed(list(images[:batch_size]))
    started = time.perf_counter()
    for start in range(0, len(images), batch_size):
        embedder.embed(list(images[start : start + batch_size]), batch_size)
    return len(images) / (time.perf_counter() - started)


def machine_description() -> str:
    """Describe the CPU threads torch uses, for benchmark reports."""
    import os
    import platform

    return (f"{platform.machine()}, {os.cpu_count()} cores, torch {torch.__version__} "
            f"with {torch.get_num_threads()} threads")
