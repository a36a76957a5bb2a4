"""Catalog reads that views and commands share."""

from django.db.models import Count

from shop.models import Product


def catalog_counts() -> dict[str, int]:
    """Return the number of products per garment class ("" for products without one)."""
    rows = Product.objects.order_by().values_list("garment_class").annotate(total=Count("pk"))
    return dict(sorted(rows))
