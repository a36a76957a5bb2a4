"""Shop the look from the command line."""

import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from search.look import BoxInvalid, look_search
from shop.images import ImageRejected, shopper_photo_decode


class Command(BaseCommand):
    help = ('Find the products in an outfit photo. --json prints {"regions": [{"class", "box", '
            '"score", "results": [{"sku", "title", "score", "image_url"}]}]}.')

    def add_arguments(self, parser):
        parser.add_argument("image", type=Path)
        parser.add_argument("--k", type=int, default=10)
        parser.add_argument("--box", help="x1,y1,x2,y2: search only this part of the photo")
        parser.add_argument("--json", action="store_true", dest="as_json", help="print JSON")

    def handle(self, *args, image, k, box, as_json, **options):
        if not 1 <= k <= 50:
            raise CommandError("--k must be between 1 and 50")
        try:
            photo = shopper_photo_decode(image.read_bytes())
            box_values = tuple(float(v) for v in box.split(",")) if box else None
            if box_values is not None and len(box_values) != 4:
                raise CommandError("--box needs four numbers: x1,y1,x2,y2")
            regions = look_search(photo, k=k, box=box_values)
        except (OSError, ImageRejected, BoxInvalid, ValueError) as exc:
            raise CommandError(f"{image}: {getattr(exc, 'strerror', None) or exc}") from None
        if as_json:
            self.stdout.write(json.dumps({"regions": [r.as_dict() for r in regions]}))
            return
        for region in regions:
            box_text = ", ".join(f"{value:.0f}" for value in region.box)
            self.stdout.write(f"{region.garment_class or 'photo'} [{box_text}] {region.score:.2f}")
            for hit in region.results:
                self.stdout.write(f"  {hit.score:.3f}  {hit.sku}  {hit.title}")
