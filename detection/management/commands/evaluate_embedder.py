"""Print the embedder's leave-one-out catalog metrics and its street-photo class precision."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from detection.embedder import WEIGHTS_PATH
from detection.embedder_catalog import embedder_evaluate_held_out
from detection.embedder_training import embedder_evaluate, embedder_evaluate_street


class Command(BaseCommand):
    help = (
        "Leave-one-out metrics of a catalog (family Recall@1/@10, category and category+colour "
        "Precision@10); with --street, class Precision@10 of the held-out street photos over "
        "the given catalogs."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--catalog",
            type=Path,
            action="append",
            required=True,
            help="catalog CSV; repeat to search several catalogs with --street",
        )
        parser.add_argument("--street", type=Path, help="street data set folder (labels.csv)")
        parser.add_argument("--weights", type=Path, default=WEIGHTS_PATH)
        parser.add_argument(
            "--catalog-whitening",
            action="store_true",
            help="refit the instance whitening on the catalog(s) being searched",
        )
        parser.add_argument(
            "--held-out-families",
            action="store_true",
            help="only the half of the catalog's families that train_embedder "
            "--catalog --hold-out-families left out",
        )
        parser.add_argument(
            "--rerank",
            action="store_true",
            help="catalog metrics of the neighbours re-ranked by local matching, the order "
            "similar items shows",
        )
        parser.add_argument(
            "--colour-weight",
            type=float,
            action="append",
            default=[],
            help="score the catalog with the colour part at this weight instead of the "
            "checkpoint's; repeat to compare several (one backbone pass)",
        )
        parser.add_argument(
            "--category-oracle",
            action="store_true",
            help="rank each article's own category first (perfect category precision), to "
            "see what the rest of the vector allows",
        )
        parser.add_argument("--batch-size", type=int, default=32)

    def handle(self, *args, catalog, street, weights, catalog_whitening, batch_size, **options):
        catalog_options = options["colour_weight"] or options["category_oracle"]
        if catalog_options and (street is not None or options["held_out_families"]):
            raise CommandError("--colour-weight and --category-oracle score one --catalog")
        if options["category_oracle"] and options["rerank"]:
            raise CommandError("--category-oracle orders the vector's neighbours: not with "
                               "--rerank")
        if options["held_out_families"]:
            if street is not None or catalog_whitening or len(catalog) != 1:
                raise CommandError("--held-out-families takes one --catalog (and --rerank)")
            scores = embedder_evaluate_held_out(catalog[0], weights, batch_size,
                                                options["rerank"])
        elif street is not None:
            if options["rerank"]:
                raise CommandError("--rerank re-ranks one catalog's own articles, not --street")
            scores = embedder_evaluate_street(
                street, catalog, weights, catalog_whitening, batch_size
            )
        elif len(catalog) == 1:
            scores = embedder_evaluate(
                catalog[0], weights, catalog_whitening, batch_size, options["rerank"],
                options["colour_weight"], options["category_oracle"],
            )
        else:
            raise CommandError("give one --catalog, or --street with one or more catalogs")
        width = max(map(len, scores))
        for name, score in scores.items():
            self.stdout.write(
                f"{name:<{width}}  {score:.3f}"
                if isinstance(score, float)
                else f"{name:<{width}}  {score}"
            )
