"""Train the garment detector and ship its weights to detection/weights/."""

import argparse
import os
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from detection import config
from detection.detector_training import detector_train


def _data_default(relative: str) -> Path | None:
    """Return a path inside $FASHION_DATA, or None when the variable is unset."""
    root = os.environ.get("FASHION_DATA")
    return Path(root) / relative if root else None


def add_dataset_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the options that training and evaluation share."""
    boxes = _data_default("ccp/boxes.json")
    parser.add_argument("--boxes", type=Path, default=boxes, required=boxes is None,
                        help="CCP boxes.json (default: $FASHION_DATA/ccp/boxes.json)")
    parser.add_argument("--data-dir", type=Path, default=config.WORK_DIR / "data",
                        help="where the generated YOLO data set and runs live")
    parser.add_argument("--imgsz", type=int, default=config.IMGSZ, help="image size in pixels")


class Command(BaseCommand):
    help = (
        "Train the seven-class garment detector from scratch on CCP photos (held-out split "
        "excluded) plus myntra products pasted onto them, then write detection/weights/."
    )

    def add_arguments(self, parser):
        add_dataset_arguments(parser)
        parser.add_argument("--myntra", type=Path, default=_data_default("myntra"),
                            help="myntra folder with catalog.csv (default: $FASHION_DATA/myntra)")
        parser.add_argument("--street", type=Path,
                            help="also train on the training split of these single-garment "
                                 "photos (labels.csv), each boxed by GrabCut, e.g. "
                                 "$FASHION_DATA/street")
        parser.add_argument("--single-accessories", type=int, default=0,
                            help="with --street: also lay this many large myntra caps, hats "
                                 "and other accessories on photos of no garment, the way "
                                 "shoppers photograph one (the shipped stage 3 used 300)")
        parser.add_argument("--start-from", type=Path,
                            help="fine-tune this trained checkpoint (e.g. the shipped "
                                 "detection/weights/detector.pt) instead of training --model "
                                 "from scratch")
        parser.add_argument("--synthetic", type=int, default=300,
                            help="number of composite training photos to generate")
        parser.add_argument("--epochs", type=int, default=40)
        parser.add_argument("--hours", type=float,
                            help="train for this long instead, re-planning the epoch count")
        parser.add_argument("--batch", type=int, default=16)
        parser.add_argument("--model", default="yolov8n.yaml",
                            help="Ultralytics model YAML (a .pt name would be downloaded)")
        parser.add_argument("--workers", type=int, default=1, help="data loader processes")
        parser.add_argument("--seed", type=int, default=0)
        parser.add_argument("--name", default="detector", help="run name under DATA_DIR/runs")
        parser.add_argument("--resume", action="store_true",
                            help="continue an interrupted run from its last.pt")

    def handle(self, *args, **options):
        try:
            scores = self._train(options)
        except ValueError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(f"Held-out mAP50: {scores['all']:.3f}")

    def _train(self, options) -> dict[str, float]:
        return detector_train(
            boxes_file=options["boxes"], myntra_dir=options["myntra"], data_dir=options["data_dir"],
            epochs=options["epochs"], hours=options["hours"], imgsz=options["imgsz"],
            synthetic=options["synthetic"], model=options["model"], batch=options["batch"],
            workers=options["workers"], seed=options["seed"], run_name=options["name"],
            resume=options["resume"], street_dir=options["street"],
            start_from=options["start_from"], single_accessories=options["single_accessories"],
        )
