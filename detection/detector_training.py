"""Train, evaluate and ship the garment detector (Ultralytics YOLO, seven classes).

Training starts from the model's YAML, not from pretrained weights: the machines this runs on
are offline, and a `.pt` model name would make Ultralytics try to download it.
"""

import os
import shutil
import time
from pathlib import Path

from detection import config
from detection.detector_data import dataset_build

_FONT_SOURCE = Path("matplotlib/mpl-data/fonts/ttf/DejaVuSans.ttf")


def ultralytics_offline_setup(config_dir: Path = config.ULTRALYTICS_DIR) -> None:
    """Configure Ultralytics so that it never reaches for the network; call before importing it."""
    os.environ.setdefault("YOLO_OFFLINE", "1")
    os.environ.setdefault("YOLO_CONFIG_DIR", str(config_dir))
    # Without a local Arial.ttf Ultralytics downloads one to draw labels; any TTF will do.
    font = Path(os.environ["YOLO_CONFIG_DIR"]) / "Ultralytics" / "Arial.ttf"
    if not font.exists():
        import matplotlib

        font.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(Path(matplotlib.__file__).parent.parent / _FONT_SOURCE, font)
    import torch
    from ultralytics.utils import torch_utils

    # Ultralytics resets torch to (cores - 1) threads whenever it selects a device, which is
    # one thread on a two-core machine; make it use the configured number instead.
    torch_utils.NUM_THREADS = config.TORCH_THREADS
    torch.set_num_threads(config.TORCH_THREADS)
    _pillow_open_restore()


def _pillow_open_restore() -> None:
    """Undo Ultralytics' process-wide patch of `PIL.Image.open`.

    The patch answers any file Pillow cannot identify by pip-installing a HEIF plugin: a
    download at run time, and an error other than UnidentifiedImageError for every
    non-image upload once the detector has loaded.
    """
    from PIL import Image
    from ultralytics.utils import patches

    Image.open = patches._image_open


def dataset_ensure(
    boxes_file: Path, data_dir: Path, myntra_dir: Path | None, synthetic: int, seed: int
) -> Path:
    """Return the data set's YAML, building the data set first if it is missing."""
    yaml_path = data_dir / "dataset.yaml"
    if yaml_path.exists():
        return yaml_path
    return dataset_build(boxes_file, data_dir, myntra_dir, synthetic, seed)


def detector_train(
    boxes_file: Path,
    myntra_dir: Path | None = None,
    data_dir: Path = config.WORK_DIR / "data",
    epochs: int = 40,
    hours: float | None = None,
    imgsz: int = config.IMGSZ,
    synthetic: int = 300,
    model: str = "yolov8n.yaml",
    batch: int = 16,
    workers: int = 1,
    seed: int = 0,
    run_name: str = "detector",
    resume: bool = False,
) -> dict[str, float]:
    """Train the detector, ship its weights to `detection/weights/` and return held-out mAP50.

    With `hours`, Ultralytics re-plans the epoch count after each epoch to fit that time.
    """
    ultralytics_offline_setup()
    from ultralytics import YOLO

    yaml_path = dataset_ensure(boxes_file, data_dir, myntra_dir, synthetic, seed)
    run_dir = data_dir / "runs" / run_name
    last = run_dir / "weights" / "last.pt"
    started = time.monotonic()
    if resume and last.exists():
        YOLO(str(last)).train(resume=True)
    else:
        YOLO(model).train(
            data=str(yaml_path),
            epochs=epochs,
            time=hours,
            imgsz=imgsz,
            batch=batch,
            # A CPU budget affords only a few thousand batches: step the optimizer on every one
            # instead of accumulating to 64 images, warm up briefly, and keep mosaic on for all
            # but the last few epochs.
            nbs=batch,
            warmup_epochs=1,
            close_mosaic=3,
            workers=workers,
            device=config.device(),
            seed=seed,
            deterministic=False,  # deterministic kernels cost CPU time; the data set is seeded
            project=str(run_dir.parent),
            name=run_name,
            exist_ok=True,
            cache="ram",  # the photos are small; decoding JPEGs every epoch would dominate
            amp=False,  # the AMP check downloads a model
            plots=False,  # plotting fetches a font
            # The validation split is the held-out test split: validating only after the last
            # epoch keeps it from choosing the checkpoint, so its mAP stays an honest estimate.
            val=False,
            pretrained=False,
        )
    print(f"Training took {(time.monotonic() - started) / 60:.1f} min")
    weights_ship(last)
    return detector_evaluate(config.WEIGHTS_PT, boxes_file, data_dir, imgsz)


def weights_ship(checkpoint: Path) -> None:
    """Copy a finished checkpoint to the shipped weights, without its optimizer state."""
    ultralytics_offline_setup()
    from ultralytics.utils.torch_utils import strip_optimizer

    config.WEIGHTS_PT.parent.mkdir(parents=True, exist_ok=True)
    # Ultralytics strips a finished run's checkpoints, but an interrupted one still carries
    # the optimizer state, which triples the file.
    strip_optimizer(checkpoint, str(config.WEIGHTS_PT))


def detector_evaluate(
    weights: Path,
    boxes_file: Path,
    data_dir: Path = config.WORK_DIR / "data",
    imgsz: int = config.IMGSZ,
) -> dict[str, float]:
    """Return mAP50 per class and overall ("all") on the held-out CCP split."""
    ultralytics_offline_setup()
    from ultralytics import YOLO

    # Composites are training-only, so evaluation never needs to generate them.
    yaml_path = dataset_ensure(boxes_file, data_dir, None, 0, 0)
    metrics = YOLO(str(weights), task="detect").val(
        data=str(yaml_path),
        split="val",
        imgsz=imgsz,
        batch=16,
        device="cpu",
        plots=False,
        project=str(data_dir / "runs"),
        name="evaluate",
        exist_ok=True,
    )
    per_class = {
        metrics.names[int(index)]: float(ap)
        for index, ap in zip(metrics.box.ap_class_index, metrics.box.ap50, strict=True)
    }
    return per_class | {"all": float(metrics.box.map50)}
