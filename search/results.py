"""Search results as plain data, the same for the API, the commands and the pages."""

from dataclasses import dataclass

from shop.models import Product


@dataclass(frozen=True)
class ProductHit:
    """A product in a result list with its similarity to the query (1 = identical)."""

    sku: str
    title: str
    score: float
    image_url: str
    garment_class: str

    def as_dict(self) -> dict:
        return {"sku": self.sku, "title": self.title, "score": self.score,
                "image_url": self.image_url}


@dataclass(frozen=True)
class SurfaceResult:
    """A ranked list of products; `teams` names each position's ranker when interleaved."""

    hits: list[ProductHit]
    teams: list[str]


# What result lists and rankers read of a product: the long description is left behind.
LISTED_FIELDS = ("sku", "title", "image", "thumbnail", "garment_class", "category", "colour")


def products_listed(ids: list[int]) -> dict[int, Product]:
    """Load, in one query, the products a response may list, by id."""
    return Product.objects.only(*LISTED_FIELDS).in_bulk(ids)


def hits_from_scores(scored: list[tuple[int, float]],
                     products: dict[int, Product]) -> list[ProductHit]:
    """Return products given as (id, score) pairs as hits, keeping their order.

    `products` are those already loaded by `products_listed`; missing ones are skipped.
    """
    return [
        ProductHit(sku=product.sku, title=product.title, score=round(score, 4),
                   image_url=product.thumbnail_url, garment_class=product.garment_class)
        for pk, score in scored
        if (product := products.get(pk)) is not None
    ]
