"""Fit the fashion embedder (head, then the backbone's top) or refit it to a catalog; write it."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from detection.embedder import WEIGHTS_PATH
from detection.embedder_catalog import embedder_fit_catalog
from detection.embedder_training import embedder_fit_local, embedder_train
from detection.semantic_training import TUNE_EPOCHS


class Command(BaseCommand):
    help = (
        "Fit the embedder (whitening, semantic head, colour projection, then the backbone's "
        "top with the semantic part) on myntra, the street training split "
        "and CCP crops, and save detection/weights/embedder.pt; with --catalog, "
        "refit only the instance part to your own catalog (learned from its product families "
        "when it has them) and save a new checkpoint to --out; with --local-only, fit only "
        "the projection of the local descriptors that similar items re-ranks with."
    )

    def add_arguments(self, parser):
        parser.add_argument("--data-dir", type=Path, help="the fashion data sets folder")
        parser.add_argument("--catalog", type=Path, help="fit to this catalog CSV instead")
        parser.add_argument(
            "--weights", type=Path, default=WEIGHTS_PATH,
            help="base checkpoint for --catalog and --local-only"
        )
        parser.add_argument(
            "--hold-out-families",
            action="store_true",
            help="with --catalog: leave out half of the families (for evaluate_embedder "
            "--held-out-families)",
        )
        parser.add_argument("--out", type=Path, default=WEIGHTS_PATH)
        parser.add_argument(
            "--cache-dir", type=Path, default=None, help="reuse/save backbone features here"
        )
        parser.add_argument("--epochs", type=int, default=20, help="semantic MLP epochs")
        parser.add_argument(
            "--tune-epochs",
            type=int,
            default=TUNE_EPOCHS,
            help="then fine-tune the backbone's top (stages 5-6) with the semantic part for "
            "this many epochs (0: keep the whole backbone frozen)",
        )
        parser.add_argument(
            "--local-only",
            action="store_true",
            help="with --data-dir: keep --weights as they are and fit only their local "
            "descriptors' projection (the vectors do not change)",
        )
        parser.add_argument("--seed", type=int, default=0)

    def handle(self, *args, data_dir, catalog, out, cache_dir, epochs, seed, **options):
        if (data_dir is None) == (catalog is None):
            raise CommandError("give --data-dir (the shipped model) or --catalog (your own)")
        if catalog is not None:
            if out == WEIGHTS_PATH:
                raise CommandError("--catalog needs --out: the shipped checkpoint stays as it is")
            try:
                summary = embedder_fit_catalog(
                    catalog, out, options["weights"], options["hold_out_families"]
                )
            except (OSError, ValueError, KeyError) as error:
                raise CommandError(str(error)) from error
            self.stdout.write(", ".join(f"{key}: {value}" for key, value in summary.items()))
            return
        if options["local_only"]:
            path = embedder_fit_local(data_dir, options["weights"], out, seed=seed)
            self.stdout.write(f"wrote {path}")
            return
        path = embedder_train(
            data_dir,
            out,
            cache_dir=cache_dir,
            epochs=epochs,
            seed=seed,
            tune_epochs=options["tune_epochs"],
        )
        self.stdout.write(f"wrote {path}")
