"""Find garments in a photo with the shipped YOLO detector."""

import threading
from pathlib import Path

from PIL import Image

from detection import config
from detection.detector_training import ultralytics_offline_setup
from detection.regions import Region


class GarmentDetector:
    """A loaded detector; `detect` is safe to call from many threads."""

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
                imgsz=config.IMGSZ,
                conf=config.CONFIDENCE,
                iou=config.IOU,
                max_det=config.MAX_DETECTIONS,
                device=self.device,
                verbose=False,
            )
        return regions_from_boxes(result.boxes, width=rgb.width, height=rgb.height)


def regions_from_boxes(boxes, *, width: int, height: int) -> list[Region]:
    """Convert Ultralytics boxes to regions clipped to the photo, most confident first."""
    regions = []
    for (x1, y1, x2, y2), class_id, score in zip(
        boxes.xyxy.tolist(), boxes.cls.tolist(), boxes.conf.tolist(), strict=True
    ):
        box = (max(0.0, x1), max(0.0, y1), min(float(width), x2), min(float(height), y2))
        if box[2] - box[0] >= 1 and box[3] - box[1] >= 1:
            regions.append(Region(config.GARMENT_CLASSES[int(class_id)],
                                  tuple(round(v, 1) for v in box), round(float(score), 4)))
    return sorted(regions, key=lambda region: -region.score)


def shipped_weights() -> Path:
    """Return the shipped detector weights, preferring ONNX where it was measured faster."""
    return config.WEIGHTS_ONNX if config.WEIGHTS_ONNX.exists() else config.WEIGHTS_PT
