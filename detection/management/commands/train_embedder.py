"""Fit the fashion embedder's head on frozen backbone features and write the checkpoint."""

from pathlib import Path

from django.core.management.base import BaseCommand

from detection.embedder import WEIGHTS_PATH
from detection.embedder_training import embedder_train


class Command(BaseCommand):
    help = (
        "Fit the embedder (whitening, semantic head, colour projection) on myntra, the street "
        "training split and CCP crops, and save detection/weights/embedder.pt."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--data-dir", type=Path, required=True, help="the fashion data sets folder"
        )
        parser.add_argument("--out", type=Path, default=WEIGHTS_PATH)
        parser.add_argument(
            "--cache-dir", type=Path, default=None, help="reuse/save backbone features here"
        )
        parser.add_argument("--epochs", type=int, default=20)
        parser.add_argument("--seed", type=int, default=0)

    def handle(self, *args, data_dir, out, cache_dir, epochs, seed, **options):
        path = embedder_train(data_dir, out, cache_dir=cache_dir, epochs=epochs, seed=seed)
        self.stdout.write(f"wrote {path}")
