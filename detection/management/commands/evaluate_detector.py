"""Print the garment detector's mAP50 per class and overall on the held-out CCP split, and
the precision and recall of the regions it serves there."""

from pathlib import Path

from django.core.management.base import BaseCommand

from detection import config
from detection.detector_training import (
    detector_evaluate,
    detector_evaluate_served,
    detector_evaluate_single_garments,
)
from detection.management.commands.train_detector import add_dataset_arguments


class Command(BaseCommand):
    help = "Evaluate detector weights (.pt or .onnx) on the held-out 20% of CCP photos."

    def add_arguments(self, parser):
        add_dataset_arguments(parser)
        parser.add_argument("--weights", type=Path, default=config.WEIGHTS_PT)
        parser.add_argument("--street", type=Path,
                            help="also score single-garment shopper photos: the test split "
                                 "of this folder's labels.csv (e.g. $FASHION_DATA/street)")

    def handle(self, *args, **options):
        scores = detector_evaluate(options["weights"], options["boxes"], options["data_dir"],
                                   options["imgsz"])
        self._table("mAP50", scores)
        self._table("served", detector_evaluate_served(options["weights"], options["boxes"]))
        if options["street"]:
            self._table("single garments", detector_evaluate_single_garments(
                options["weights"], options["street"]))

    def _table(self, metric: str, scores: dict[str, float]) -> None:
        width = max(map(len, scores))
        for name, score in scores.items():
            self.stdout.write(f"{name:<{width}}  {metric} {score:.3f}")
