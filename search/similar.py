"""Similar items: the products that look most like a given product."""

import random
from dataclasses import replace

from detection.api import model_version
from search.filters import ProductFilters
from search.models import ProductRegion
from search.rankers import DEFAULT_RANKER, RankingContext, reads_text, verifies
from search.ranking import DUPLICATE_DISTANCE, candidates_from_matches, ranked_list, text_embeddings
from search.results import SurfaceResult, hits_from_scores, products_listed
from search.retrieval import ProductPhoto, VectorIndex, vector_index
from search.verification import verified_similarities
from shop.models import Product

# Candidates fetched per result, for ranking and diversification to choose from.
CANDIDATES_PER_RESULT = 3


class ProductNotIndexed(LookupError):
    """The product exists but its photo has not been indexed by the current models yet."""


def similar_products(
    *,
    product: Product,
    k: int = 10,
    filters: ProductFilters = ProductFilters(),
    rankers: tuple[str, ...] = (DEFAULT_RANKER,),
    rng: random.Random | None = None,
    index: VectorIndex | None = None,
) -> SurfaceResult:
    """Return up to k products that look like `product`, its own class first, diversified.

    The nearest photos by vector are re-ranked by matching local descriptors (unless the
    ranker is a control without it, `search.rankers.verifies`). Never the product itself,
    nor another sku showing the very same photo.
    """
    version = model_version()
    # The search reads the product's photo vector itself, saving a round trip; only an
    # empty answer needs asking whether the photo is indexed at all.
    photo = ProductPhoto(product.pk)
    index = index or vector_index()
    text = text_embeddings([product.pk]).get(product.pk) if reads_text(rankers) else None
    context = RankingContext(category=product.category, colour=product.colour, text_embedding=text)
    same_class = filters.garment_class or product.garment_class or None
    groups = [filters.with_class(same_class)]
    if same_class and not filters.garment_class:
        groups.append(filters)  # then any class, to fill up
    product_ids, teams, similarity, excluded, products = [], [], {}, [product.pk], {}
    for group_filters in groups:
        matches = index.nearest(
            photo,
            k=k * CANDIDATES_PER_RESULT,
            model_version=version,
            filters=group_filters,
            whole_photos_only=True,
            exclude_products=excluded,
        )
        if (
            not matches
            and group_filters is groups[0]
            and not photo_indexed(product=product, version=version)
        ):
            raise ProductNotIndexed(f"{product.sku} is not indexed yet")
        matches = [match for match in matches if match.distance > DUPLICATE_DISTANCE]
        products.update(products_listed([match.product_id for match in matches]))
        plain = candidates_from_matches(matches, products, rankers=rankers)
        rescored = (verified_similarities(product.pk, matches, version)
                    if any(map(verifies, rankers)) else {})
        verified = [replace(candidate, relevance=rescored.get(candidate.product_id,
                                                              candidate.relevance))
                    for candidate in plain]
        # Best first, as the index returns matches: diversification breaks exact ties by
        # position (measured: the same 1,000 served lists as ordering the matches themselves).
        verified.sort(key=lambda candidate: (-candidate.relevance, candidate.product_id))
        # The score shown is the best similarity known: re-ranked where it was computed.
        similarity.update((candidate.product_id, candidate.relevance) for candidate in verified)
        candidates = {name: verified if verifies(name) else plain for name in rankers}
        ranked = ranked_list(
            candidates,
            rankers=rankers,
            k=k - len(product_ids),
            context=context,
            diversified=True,
            rng=rng,
        )
        product_ids += ranked.product_ids
        teams += ranked.teams
        excluded += [match.product_id for match in matches]
        if len(product_ids) >= k:
            break
    hits = hits_from_scores([(pk, similarity[pk]) for pk in product_ids], products)
    return SurfaceResult(hits=hits, teams=teams)


def photo_indexed(*, product: Product, version: str) -> bool:
    """Return True when the product's whole photo is indexed by model `version`."""
    return ProductRegion.objects.filter(product=product, model_version=version, position=0).exists()
