"""Serve a surface to a visitor: pick their ranking variant, rank, log the impression.

These are the functions views call; each returns what to render plus the request id
that the browser quotes when it reports clicks on the list.
"""

import uuid
from dataclasses import dataclass

from PIL import Image

from search.experiments import Assignment, assignment_for, impression_log, interleaving_rng
from search.filters import ProductFilters
from search.look import LookRegion, look_search
from search.models.experiments import Surface
from search.results import SurfaceResult
from search.similar import similar_products
from search.text_search import text_search_ranked
from shop.models import Product


@dataclass(frozen=True)
class Visitor:
    """Who is asking, as far as experiments care."""

    id: str
    is_staff: bool = False
    user_agent: str = ""


def _assign(surface: str, visitor: Visitor) -> Assignment:
    return assignment_for(surface=surface, visitor_id=visitor.id, is_staff=visitor.is_staff,
                          user_agent=visitor.user_agent)


def similar_serve(*, product: Product, k: int, filters: ProductFilters,
                  visitor: Visitor) -> tuple[SurfaceResult, uuid.UUID | None]:
    """Rank similar items for a visitor and log what they are shown."""
    assignment = _assign(Surface.SIMILAR, visitor)
    request_id = uuid.uuid4()
    result = similar_products(product=product, k=k, filters=filters,
                              rankers=assignment.rankers, rng=interleaving_rng(request_id))
    logged = impression_log(assignment=assignment, surface=Surface.SIMILAR,
                            visitor_id=visitor.id, skus=[hit.sku for hit in result.hits],
                            teams=result.teams, request_id=request_id)
    return result, logged


def look_serve(*, image: Image.Image, k: int, filters: ProductFilters,
               box: tuple[float, float, float, float] | None,
               visitor: Visitor) -> list[tuple[LookRegion, uuid.UUID | None]]:
    """Shop the look for a visitor; each region's list is logged as its own impression."""
    assignment = _assign(Surface.LOOK, visitor)
    seed = uuid.uuid4()
    regions = look_search(image, k=k, filters=filters, box=box, rankers=assignment.rankers,
                          rng=interleaving_rng(seed))
    return [
        (region, impression_log(assignment=assignment, surface=Surface.LOOK,
                                visitor_id=visitor.id, skus=[hit.sku for hit in region.results],
                                teams=region.teams))
        for region in regions
    ]


@dataclass(frozen=True)
class TextPage:
    """One page of text search results."""

    hits: list
    total: int
    request_id: uuid.UUID | None


def text_serve(*, query: str, filters: ProductFilters, visitor: Visitor, page: int,
               page_size: int) -> TextPage:
    """Rank text search results for a visitor and log the page they are shown."""
    assignment = _assign(Surface.TEXT, visitor)
    request_id = uuid.uuid4()
    result = text_search_ranked(query=query, filters=filters, rankers=assignment.rankers,
                                rng=interleaving_rng(request_id))
    start = (page - 1) * page_size
    hits = result.hits[start : start + page_size]
    logged = impression_log(assignment=assignment, surface=Surface.TEXT, visitor_id=visitor.id,
                            skus=[hit.sku for hit in hits],
                            teams=result.teams[start : start + page_size],
                            request_id=request_id) if hits else None
    return TextPage(hits=hits, total=len(result.hits), request_id=logged)
