"""Similar items: the products that look most like a given product."""

from detection.api import model_version
from search.filters import ProductFilters
from search.models import ProductRegion
from search.ranking import DUPLICATE_DISTANCE, diversify
from search.results import ProductHit, hits_from_matches
from search.retrieval import VectorIndex, vector_index
from shop.models import Product

# Candidates fetched per result, for diversification to choose from.
CANDIDATES_PER_RESULT = 3


class ProductNotIndexed(LookupError):
    """The product exists but its photo has not been indexed by the current models yet."""


def similar_products(
    *,
    product: Product,
    k: int = 10,
    filters: ProductFilters = ProductFilters(),
    index: VectorIndex | None = None,
) -> list[ProductHit]:
    """Return up to k products that look like `product`, its own class first, diversified.

    Never the product itself, nor another sku showing the very same photo.
    """
    version = model_version()
    photo = ProductRegion.objects.filter(product=product, model_version=version,
                                         position=0).values_list("embedding", flat=True).first()
    if photo is None:
        raise ProductNotIndexed(f"{product.sku} is not indexed yet")
    index = index or vector_index()
    same_class = filters.garment_class or product.garment_class or None
    searches = [filters.with_class(same_class)]
    if same_class and not filters.garment_class:
        searches.append(filters)  # then any class, to fill up
    chosen = []
    for search_filters in searches:
        matches = index.nearest(
            photo, k=k * CANDIDATES_PER_RESULT, model_version=version, filters=search_filters,
            whole_photos_only=True,
            exclude_products=[product.pk, *(match.product_id for match in chosen)],
        )
        matches = [match for match in matches if match.distance > DUPLICATE_DISTANCE]
        chosen += diversify(matches, k - len(chosen))
        if len(chosen) >= k:
            break
    return hits_from_matches(chosen)
