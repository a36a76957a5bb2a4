"""Print the garments found in photos, one JSON object per line."""

import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from detection.api import detect
from shop.images import ImageRejected, shopper_photo_decode


class Command(BaseCommand):
    help = ('Detect garments. Prints one JSON line per image: {"image", "width", "height", '
            '"regions": [{"class", "box": [x1, y1, x2, y2], "score"}]} in pixels of the photo '
            'as it is viewed (EXIF orientation applied).')

    def add_arguments(self, parser):
        parser.add_argument("images", nargs="+", type=Path)
        parser.add_argument("--json", action="store_true",
                            help="JSON lines output (the only format; accepted for clarity)")

    def handle(self, *args, images, **options):
        failed = 0
        for path in images:
            try:
                image = shopper_photo_decode(path.read_bytes())
            except (OSError, ImageRejected) as exc:
                self.stderr.write(f"{path}: {getattr(exc, 'strerror', None) or exc}")
                failed += 1
                continue
            regions = detect(image)
            self.stdout.write(json.dumps({
                "image": str(path),
                "width": image.width,
                "height": image.height,
                "regions": [{"class": r.garment_class, "box": list(r.box), "score": r.score}
                            for r in regions],
            }))
        if failed:
            raise CommandError(f"{failed} of {len(images)} images could not be read")
