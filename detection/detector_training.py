"""Train, evaluate and ship the garment detector (Ultralytics YOLO, seven classes).

Training starts from the model's YAML, not from pretrained weights: the machines this runs on
are offline, and a `.pt` model name would make Ultralytics try to download it. A trained
checkpoint of our own (`start_from`, a local file) can be fine-tuned on new data instead.
"""

import os
import shutil
import time
from collections import defaultdict
from pathlib import Path

from PIL import Image
from tqdm import tqdm

from detection import config
from detection.detector_data import ccp_records, dataset_build, is_holdout
from detection.regions import Region, box_iou
from shop.images import image_upright

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
    boxes_file: Path,
    data_dir: Path,
    myntra_dir: Path | None,
    synthetic: int,
    seed: int,
    street_dir: Path | None = None,
    single_accessories: int = 0,
) -> Path:
    """Return the data set's YAML, building the data set first if it is missing."""
    yaml_path = data_dir / "dataset.yaml"
    if yaml_path.exists():
        labels = data_dir / "labels"
        if street_dir is not None and not (any(labels.glob("*/street_*.txt"))
                                           and any(labels.glob("*/background_*.txt"))):
            raise ValueError(f"the data set in {data_dir} was built without street photos "
                             "and backgrounds; give a new data folder to build one with them")
        if single_accessories and not any(labels.glob("*/single_*.txt")):
            raise ValueError(f"the data set in {data_dir} was built without single "
                             "accessories; give a new data folder to build one with them")
        return yaml_path
    return dataset_build(boxes_file, data_dir, myntra_dir, synthetic, seed, street_dir,
                         single_accessories)


# From scratch: one optimizer step per batch (a CPU budget affords only a few thousand),
# a short warm-up, mosaic on for all but the last few epochs, Ultralytics' automatic
# optimizer. Fine-tuning a trained checkpoint: a lower, slowly decaying rate and no warm-up,
# so the first batches of new data do not wreck what it has learned.
FROM_SCRATCH = {"warmup_epochs": 1, "close_mosaic": 3}
FINE_TUNE = {"optimizer": "AdamW", "lr0": 5e-4, "lrf": 0.1, "warmup_epochs": 0,
             "close_mosaic": 1}


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
    street_dir: Path | None = None,
    start_from: Path | None = None,
    single_accessories: int = 0,
) -> dict[str, float]:
    """Train the detector, ship its weights to `detection/weights/` and return held-out mAP50.

    With `hours`, Ultralytics re-plans the epoch count after each epoch to fit that time.
    With `start_from` (a trained checkpoint), it is fine-tuned instead of `model` trained
    from scratch.
    """
    ultralytics_offline_setup()
    from ultralytics import YOLO

    yaml_path = dataset_ensure(boxes_file, data_dir, myntra_dir, synthetic, seed, street_dir,
                               single_accessories)
    run_dir = data_dir / "runs" / run_name
    last = run_dir / "weights" / "last.pt"
    started = time.monotonic()
    if resume and last.exists():
        YOLO(str(last)).train(resume=True)
    else:
        YOLO(str(start_from) if start_from else model).train(
            data=str(yaml_path),
            epochs=epochs,
            time=hours,
            imgsz=imgsz,
            batch=batch,
            nbs=batch,
            **(FINE_TUNE if start_from else FROM_SCRATCH),
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
            pretrained=start_from is not None,
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


def detector_evaluate_single_garments(weights: Path, street_dir: Path) -> dict[str, float]:
    """Score the detector on shoppers' photos of one garment (the street test split).

    These photos carry a label, not boxes, so this measures what shop the look depends on:
    `found`, the share of photos with any detection, and `top_class`, the share whose most
    confident detection has the garment's class; both averaged over the labels (as the
    embedder's street metric is), plus `top_class/LABEL` for each label.
    """
    # Imported here: the detector module imports this one.
    from detection.detector import detector_load
    from detection.embedder_training import read_street

    detector = detector_load(weights)
    found, right = defaultdict(list), defaultdict(list)
    for item in tqdm(read_street(street_dir, test=True), desc="single garments", unit="img"):
        with Image.open(item.path) as image:
            regions = detector.detect(image_upright(image).convert("RGB"))
        found[item.category].append(bool(regions))
        right[item.category].append(bool(regions) and regions[0].garment_class
                                    == item.garment_class)
    found_share, right_share = _share_per_label(found), _share_per_label(right)
    return {
        "found": sum(found_share.values()) / len(found_share),
        "top_class": sum(right_share.values()) / len(right_share),
        **{f"top_class/{label}": value for label, value in sorted(right_share.items())},
    }


def detector_evaluate_served(weights: Path, boxes_file: Path) -> dict[str, float]:
    """Score the regions `detect` returns, at the serving settings, on the held-out CCP photos.

    mAP50 scores the network over every confidence; a shopper sees only the regions above
    the serving threshold, each garment once. Returns `precision` (the share of regions that
    are a labelled garment: its class, IoU >= 0.5), `recall` (the share of labelled garments
    so found) and `regions_per_photo`.
    """
    from detection.detector import detector_load

    detector = detector_load(weights)
    records = [record for record in ccp_records(boxes_file) if is_holdout(record["image"])]
    right = shown = labelled = 0
    for record in tqdm(records, desc="served detections", unit="img"):
        with Image.open(boxes_file.parent / record["image"]) as image:
            regions = detector.detect(image_upright(image).convert("RGB"))
        right += garments_matched(regions, record["boxes"])
        shown += len(regions)
        labelled += len(record["boxes"])
    return {
        "precision": right / max(shown, 1),
        "recall": right / max(labelled, 1),
        "regions_per_photo": shown / max(len(records), 1),
    }


def garments_matched(regions: list[Region], labelled: list[dict], min_iou: float = 0.5) -> int:
    """Return how many labelled garments (boxes.json's boxes) the regions find, each garment
    once: the regions, most confident first, take the unmatched garment of their class that
    they overlap most, by IoU >= `min_iou`."""
    unmatched = list(labelled)
    for region in regions:
        overlaps = [(box_iou(region.box, garment["box"]), number)
                    for number, garment in enumerate(unmatched)
                    if garment["class"] == region.garment_class]
        best = max(overlaps, default=(0.0, -1))
        if best[0] >= min_iou:
            unmatched.pop(best[1])
    return len(labelled) - len(unmatched)


def _share_per_label(outcomes: dict[str, list[bool]]) -> dict[str, float]:
    return {label: sum(values) / len(values) for label, values in outcomes.items()}
