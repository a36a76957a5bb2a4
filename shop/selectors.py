"""Catalog reads that views and commands share."""

from django.db.models import Count, Q, QuerySet

from shop.models import Product


def catalog_counts() -> dict[str, int]:
    """Return the number of products per garment class ("" for products without one)."""
    rows = Product.objects.order_by().values_list("garment_class").annotate(total=Count("pk"))
    return dict(sorted(rows))


def product_list(*, conditions: Q | None = None) -> QuerySet[Product]:
    """Return products matching `conditions` (all by default), newest first."""
    return Product.objects.filter(conditions or Q()).order_by("-created_at", "sku")


def facet_values(field: str, *, limit: int = 200) -> list[str]:
    """Return the distinct non-empty values of a product field, most common first."""
    return list(Product.objects.exclude(**{field: ""}).values_list(field, flat=True)
                .annotate(n=Count("pk")).order_by("-n", field)[:limit])
