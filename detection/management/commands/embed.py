"""Embed every product photo of a catalog CSV, one row per catalog row, into a .npy file."""

from pathlib import Path

import numpy as np
from django.core.management.base import BaseCommand

from detection.embedder import WEIGHTS_PATH, Embedder
from detection.embedder_training import embed_items, read_catalog


class Command(BaseCommand):
    help = "Write an N x VECTOR_SIZE float32 array of the catalog's image vectors, in file order."

    def add_arguments(self, parser):
        parser.add_argument("--catalog", type=Path, required=True)
        parser.add_argument("--out", type=Path, required=True)
        parser.add_argument("--weights", type=Path, default=WEIGHTS_PATH)
        parser.add_argument("--batch-size", type=int, default=32)

    def handle(self, *args, catalog, out, weights, batch_size, **options):
        vectors = embed_items(Embedder.load(weights), read_catalog(catalog), batch_size)
        np.save(out, vectors)
        self.stdout.write(f"wrote {vectors.shape[0]} x {vectors.shape[1]} vectors to {out}")
