"""Find garments in a photo with the shipped YOLO detector.

Two runtimes give the same regions: ultralytics on torch (training, evaluation, GPUs) and
ONNX Runtime on the CPU, which runs the same network several times faster here. The ONNX
path reproduces ultralytics' letterbox and non-maximum suppression, so a test can hold the
two to the same answer.
"""

import logging
import threading
from collections import defaultdict
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

from detection import config
from detection.detector_training import ultralytics_offline_setup
from detection.model_cache import cached_export, file_digest
from detection.onnx_session import cpu_inference_session
from detection.regions import Region, nested_dropped

# Ultralytics pads letterboxed inputs with this grey, and sizes them in multiples of the
# network's largest stride.
LETTERBOX_FILL = 114
STRIDE = 32
# Photos per network run in detect_many: enough to amortise a run, little memory at 416 px.
MAX_BATCH = 16


class GarmentDetector:
    """A detector run by ultralytics on torch; `detect` is safe to call from many threads."""

    def __init__(self, weights: Path, *, device: str | None = None) -> None:
        ultralytics_offline_setup()
        from ultralytics import YOLO

        self.weights = weights
        self.device = device or config.device()
        self._model = YOLO(str(weights), task="detect")
        names = [self._model.names[index] for index in sorted(self._model.names)]
        if tuple(names) != config.GARMENT_CLASSES:
            raise ValueError(f"{weights} predicts {names}, expected {config.GARMENT_CLASSES}")
        # Ultralytics predictors keep per-call state, so calls are serialised.
        self._lock = threading.Lock()

    def detect(self, image: Image.Image) -> list[Region]:
        """Return the garments in `image`, most confident first."""
        rgb = image.convert("RGB")
        with self._lock:
            (result,) = self._model.predict(
                rgb,
                imgsz=detection_size(rgb.width, rgb.height),
                conf=config.CONFIDENCE,
                iou=config.IOU,
                max_det=config.MAX_DETECTIONS,
                device=self.device,
                verbose=False,
            )
        boxes = result.boxes
        return regions_from_boxes(boxes.xyxy.tolist(), boxes.cls.tolist(), boxes.conf.tolist(),
                                  width=rgb.width, height=rgb.height)

    def detect_many(self, images: Sequence[Image.Image]) -> list[list[Region]]:
        """Return the garments in each photo."""
        return [self.detect(image) for image in images]


class OnnxGarmentDetector:
    """The same network exported to ONNX and run by ONNX Runtime; thread-safe."""

    def __init__(self, onnx_path: Path, *, threads: int = config.TORCH_THREADS) -> None:
        self.weights = onnx_path
        self._session = cpu_inference_session(onnx_path, threads)
        self._input = self._session.get_inputs()[0].name

    def detect(self, image: Image.Image) -> list[Region]:
        """Return the garments in `image`, most confident first."""
        return self.detect_many([image])[0]

    def detect_many(self, images: Sequence[Image.Image]) -> list[list[Region]]:
        """Return the garments in each photo; photos of one input shape share a network run.

        A catalog's shots mostly share one size, and one run over a batch costs less per
        photo than a run per photo.
        """
        inputs = [_Letterboxed.of(image) for image in images]
        by_shape: dict[tuple, list[int]] = defaultdict(list)
        for index, letterboxed in enumerate(inputs):
            by_shape[letterboxed.pixels.shape].append(index)
        found: list[list[Region]] = [[] for _ in inputs]
        for indices in by_shape.values():
            for start in range(0, len(indices), MAX_BATCH):
                chunk = indices[start : start + MAX_BATCH]
                batch = np.concatenate([inputs[index].pixels for index in chunk])
                (output,) = self._session.run(None, {self._input: batch})
                for index, predictions in zip(chunk, output, strict=True):
                    found[index] = inputs[index].regions(predictions)
        return found


@dataclass(frozen=True)
class _Letterboxed:
    """A photo as network input, and what maps the network's boxes back onto it."""

    pixels: np.ndarray
    scale: float
    offset: tuple[int, int]
    width: int
    height: int

    @classmethod
    def of(cls, image: Image.Image) -> "_Letterboxed":
        rgb = np.asarray(image.convert("RGB"))
        height, width = rgb.shape[:2]
        pixels, scale, offset = letterbox(rgb, detection_size(width, height))
        return cls(pixels, scale, offset, width, height)

    def regions(self, predictions: np.ndarray) -> list[Region]:
        boxes, classes, scores = non_max_suppression(predictions, confidence=config.CONFIDENCE,
                                                     iou=config.IOU,
                                                     max_detections=config.MAX_DETECTIONS)
        left, top = self.offset
        boxes = (boxes - [left, top, left, top]) / self.scale
        return regions_from_boxes(boxes.tolist(), classes.tolist(), scores.tolist(),
                                  width=self.width, height=self.height)


def detection_size(width: int, height: int) -> int:
    """Return the network input size for a photo: IMGSZ, but never more than the photo.

    Enlarging a small catalog shot makes its garment bigger than any the detector was
    trained on: on 150 myntra shots (224 px) the product's own class was found in 6.7% of
    them at 416 px and in 30% at their own size, 3.4 times faster (hm, 200x300: 4.7% and
    18.7%). Photos larger than IMGSZ, such as shoppers' photos, are unaffected.
    """
    return min(config.IMGSZ, -(-max(width, height) // STRIDE) * STRIDE)


def letterbox(rgb: np.ndarray, size: int) -> tuple[np.ndarray, float, tuple[int, int]]:
    """Scale a photo to fit `size` and pad it to a stride multiple, as ultralytics predicts.

    Returns the network input (1x3xHxW float32 in [0, 1]), the scale, and the left and top
    padding, which map boxes back to the photo.
    """
    height, width = rgb.shape[:2]
    scale = min(size / height, size / width)
    new_width, new_height = round(width * scale), round(height * scale)
    if (new_width, new_height) != (width, height):
        rgb = cv2.resize(rgb, (new_width, new_height), interpolation=cv2.INTER_LINEAR)
    pad_x, pad_y = (size - new_width) % STRIDE / 2, (size - new_height) % STRIDE / 2
    top, bottom = round(pad_y - 0.1), round(pad_y + 0.1)
    left, right = round(pad_x - 0.1), round(pad_x + 0.1)
    padded = cv2.copyMakeBorder(rgb, top, bottom, left, right, cv2.BORDER_CONSTANT,
                                value=(LETTERBOX_FILL,) * 3)
    pixels = np.ascontiguousarray(padded.transpose(2, 0, 1)[None], dtype=np.float32) / 255.0
    return pixels, scale, (left, top)


def non_max_suppression(
    predictions: np.ndarray, *, confidence: float, iou: float, max_detections: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Decode YOLOv8 output (4 + classes rows, one column per anchor) into kept detections.

    Each anchor votes for its best class; boxes of one class that overlap more than `iou`
    keep the most confident. Returns xyxy boxes, class ids and scores, best first.
    """
    class_scores = predictions[4:]
    classes = class_scores.argmax(axis=0)
    scores = class_scores[classes, np.arange(class_scores.shape[1])]
    keep = scores > confidence
    if not keep.any():
        return np.zeros((0, 4), np.float32), np.zeros(0, np.int64), np.zeros(0, np.float32)
    centre_x, centre_y, box_width, box_height = predictions[:4, keep]
    classes, scores = classes[keep], scores[keep]
    corners = np.stack([centre_x - box_width / 2, centre_y - box_height / 2,
                        box_width, box_height], axis=1)
    kept = cv2.dnn.NMSBoxesBatched(corners.tolist(), scores.tolist(), classes.tolist(),
                                   confidence, iou)
    kept = np.asarray(kept, dtype=np.int64).reshape(-1)
    kept = kept[np.argsort(-scores[kept], kind="stable")][:max_detections]
    boxes = corners[kept].copy()
    boxes[:, 2:] += boxes[:, :2]
    return boxes, classes[kept], scores[kept]


def regions_from_boxes(boxes: list, classes: list, scores: list, *, width: int,
                       height: int) -> list[Region]:
    """Return detections as regions clipped to the photo, most confident first, without
    repeats of one garment (`nested_dropped`)."""
    regions = []
    for (x1, y1, x2, y2), class_id, score in zip(boxes, classes, scores, strict=True):
        box = (max(0.0, x1), max(0.0, y1), min(float(width), x2), min(float(height), y2))
        if box[2] - box[0] >= 1 and box[3] - box[1] >= 1:
            regions.append(Region(config.GARMENT_CLASSES[int(class_id)],
                                  tuple(round(float(v), 1) for v in box),
                                  round(float(score), 4)))
    regions.sort(key=lambda region: -region.score)
    return nested_dropped(regions, config.NESTED_OVERLAP)


def onnx_export(weights: Path, target: Path) -> None:
    """Write the ONNX export of a detector checkpoint, any input size (rectangular letterbox)."""
    import shutil
    import tempfile

    ultralytics_offline_setup()
    from ultralytics import YOLO
    from ultralytics.utils import LOGGER

    # Ultralytics writes the export beside the checkpoint, so export from a private copy;
    # its progress report would land in the middle of a command's output.
    with tempfile.TemporaryDirectory() as scratch, _quiet(LOGGER):
        copy = Path(scratch) / "detector.pt"
        shutil.copyfile(weights, copy)
        exported = YOLO(str(copy), task="detect").export(
            format="onnx", imgsz=config.IMGSZ, dynamic=True, simplify=False, device="cpu")
        shutil.move(exported, target)


Detector = GarmentDetector | OnnxGarmentDetector


@contextmanager
def _quiet(logger: logging.Logger) -> Iterator[None]:
    level = logger.level
    logger.setLevel(logging.WARNING)
    try:
        yield
    finally:
        logger.setLevel(level)


def shipped_weights() -> Path:
    """Return the shipped detector checkpoint."""
    return config.WEIGHTS_PT


def detector_load(weights: Path | None = None, *, runtime: str | None = None) -> Detector:
    """Return a detector for `weights` (default: shipped) on the configured runtime."""
    weights = weights or shipped_weights()
    runtime = runtime or config.RUNTIME
    if runtime == "onnx" and config.device() == "cpu":
        return OnnxGarmentDetector(
            cached_export("detector", file_digest(weights), partial(onnx_export, weights)))
    return GarmentDetector(weights)
