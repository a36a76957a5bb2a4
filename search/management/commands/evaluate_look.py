"""Print how often shop the look searches a garment in the right class (offline replay)."""

from pathlib import Path

from django.core.management.base import BaseCommand

from search.look_evaluation import look_evaluate


class Command(BaseCommand):
    help = (
        "Class Precision@10 of shop the look's class decision (embedding alone, detector, "
        "detector checked by the catalog's vote) on the held-out street photos and, with "
        "--boxes, the garments of the held-out CCP photos; exact search over the catalogs."
    )

    def add_arguments(self, parser):
        parser.add_argument("--street", type=Path, required=True,
                            help="street data set folder (labels.csv)")
        parser.add_argument("--catalog", type=Path, action="append", required=True,
                            help="catalog CSV searched; repeat for several")
        parser.add_argument("--boxes", type=Path, help="CCP boxes.json (held-out photos only)")
        parser.add_argument("--colours", type=Path,
                            help="CSV (image, colour) naming the garment's colour family in "
                                 "some street test photos, e.g. docs/street_colours.csv: also "
                                 "score the results' colour, plain and boosted")
        parser.add_argument("--batch-size", type=int, default=32)

    def handle(self, *args, street, catalog, boxes, colours, batch_size, **options):
        scores = look_evaluate(street, catalog, boxes, batch_size, colours)
        width = max(map(len, scores))
        for name, score in scores.items():
            shown = f"{score:.3f}" if isinstance(score, float) else str(score)
            self.stdout.write(f"{name:<{width}}  {shown}")
