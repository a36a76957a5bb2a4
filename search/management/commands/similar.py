"""Similar items from the command line."""

import json

from django.core.management.base import BaseCommand, CommandError

from search.similar import ProductNotIndexed, similar_products
from shop.models import Product


class Command(BaseCommand):
    help = 'Print the products most like SKU; --json prints [{"sku", "score"}].'

    def add_arguments(self, parser):
        parser.add_argument("sku")
        parser.add_argument("--k", type=int, default=10)
        parser.add_argument("--json", action="store_true", dest="as_json", help="print JSON")

    def handle(self, *args, sku, k, as_json, **options):
        if not 1 <= k <= 50:
            raise CommandError("--k must be between 1 and 50")
        product = Product.objects.filter(sku=sku).first()
        if product is None:
            raise CommandError(f"no product with sku {sku!r}")
        try:
            hits = similar_products(product=product, k=k).hits
        except ProductNotIndexed as exc:
            raise CommandError(f"{exc}; run `manage.py index` first") from None
        if as_json:
            self.stdout.write(json.dumps([{"sku": hit.sku, "score": hit.score} for hit in hits]))
            return
        for hit in hits:
            self.stdout.write(f"{hit.score:.3f}  {hit.sku}  {hit.title}")
