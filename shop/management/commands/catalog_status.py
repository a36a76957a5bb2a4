"""Print how many products the shop holds."""

from django.core.management.base import BaseCommand

from shop.selectors import catalog_counts


class Command(BaseCommand):
    help = "Print the number of products, and per garment class."

    def handle(self, *args, **options):
        counts = catalog_counts()
        total = sum(counts.values())
        by_class = ", ".join(f"{name or 'no class'} {count}" for name, count in counts.items())
        self.stdout.write(f"Catalog: {total} products" + (f" ({by_class})" if total else ""))
