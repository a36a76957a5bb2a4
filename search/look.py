"""Shop the look: the closest products for every garment in an outfit photo."""

import os
import random
from dataclasses import dataclass, field, replace

import numpy as np
from PIL import Image

from detection.api import Region, colour_boosted, detect, embed, model_version
from detection.regions import box_area, repeats_dropped, whole_photo
from search.filters import ProductFilters
from search.garment_vote import VOTE_NEIGHBOURS, region_class
from search.indexing import region_crops
from search.rankers import DEFAULT_RANKER, boosts_colour, votes_on_class
from search.ranking import candidates_from_matches, duplicates_collapse, ranked_list
from search.results import ProductHit, hits_from_scores, products_listed
from search.retrieval import Match, VectorIndex, vector_index

# A shopper's box smaller than this on either side is a slip of the finger, not a garment.
MIN_BOX_SIDE = 8
# A detection inside the shopper's box names its class when it covers this much of the box.
BOX_CLASS_COVERAGE = 0.5
# A shopper who photographs a pink top wants pink tops: the photo's colour part counts this
# many times what it does in the indexed vectors (docs/shop-the-look.md: on street photos,
# the results' colour precision 0.279 -> 0.440 with their garment type unchanged).
COLOUR_BOOST = float(os.environ.get("LOOK_COLOUR_BOOST", "6"))
# Two garments searched in one class, one with this share of its box inside the other's, are
# one garment the detector named twice (say top and outerwear): the shopper sees it once.
REPEAT_OVERLAP = 0.7


class BoxInvalid(ValueError):
    """The shopper's box does not select a usable part of the photo."""


@dataclass(frozen=True)
class LookRegion:
    """One garment of the outfit (or the whole photo) and the products that match it."""

    garment_class: str | None
    box: tuple[float, float, float, float]
    score: float
    results: list[ProductHit]
    teams: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {"class": self.garment_class, "box": list(self.box), "score": self.score,
                "results": [hit.as_dict() for hit in self.results]}


def look_search(
    image: Image.Image,
    *,
    k: int = 10,
    filters: ProductFilters = ProductFilters(),
    box: tuple[float, float, float, float] | None = None,
    rankers: tuple[str, ...] = (DEFAULT_RANKER,),
    rng: random.Random | None = None,
    index: VectorIndex | None = None,
) -> list[LookRegion]:
    """Return, for each garment in the photo, the k closest products of its class.

    With `box`, only that part of the photo is searched. When nothing is detected the
    whole photo is searched as one region. A region's class is the detector's unless the
    catalog's nearest products clearly say otherwise (`searched_classes`).
    """
    image = image.convert("RGB")
    if box is not None:
        regions = [box_region(image, box)]
    else:
        regions = detect(image)
        if filters.garment_class:
            regions = [r for r in regions if r.garment_class == filters.garment_class]
        regions = regions or [whole_photo(*image.size)]
    index = index or vector_index()
    version = model_version()
    vectors = embed(region_crops(image, regions))
    classes = ranker_classes(regions, vectors, rankers=rankers, filters=filters, index=index,
                             version=version)
    # Each ranker searches a class with the colour-boosted or the plain query. Boosted
    # similarities are scaled so that an identical photo still scores 1.
    boosted, identical = colour_boosted(vectors, COLOUR_BOOST)
    queries = {True: (boosted, 1.0 / identical), False: (vectors, 1.0)}
    searched = []
    for position in garments_shown(regions, classes):
        wanted = {name: (classes[name][position], boosts_colour(name)) for name in rankers}
        matches = {}
        for garment_class, boost in set(wanted.values()):
            query, scale = queries[boost]
            # Extra candidates so that collapsing duplicates still leaves k.
            nearest = index.nearest(query[position], k=k * 2, model_version=version,
                                    filters=filters.with_class(garment_class),
                                    region_class=garment_class)
            matches[garment_class, boost] = similarity_scaled(duplicates_collapse(nearest),
                                                              scale)
        searched.append((regions[position], wanted, matches))
    products = products_listed([match.product_id for _, _, by_search in searched
                                for matches in by_search.values() for match in matches])
    found = []
    for region, wanted, by_search in searched:
        # One candidate list per search, shared by the rankers that asked for it.
        search_candidates = {
            search: candidates_from_matches(
                matches, products,
                rankers=tuple(name for name in rankers if wanted[name] == search))
            for search, matches in by_search.items()
        }
        candidates = {name: search_candidates[wanted[name]] for name in rankers}
        ranked = ranked_list(candidates, rankers=rankers, k=k, rng=rng)
        # A product found by several searches shows the first ranker's similarity.
        similarity = {match.product_id: 1.0 - match.distance
                      for search in sorted(by_search, key=lambda s: s == wanted[rankers[0]])
                      for match in by_search[search]}
        hits = hits_from_scores([(pk, similarity[pk]) for pk in ranked.product_ids], products)
        found.append(LookRegion(wanted[rankers[0]][0], region.box, region.score, hits,
                                ranked.teams))
    return found


def similarity_scaled(matches: list[Match], scale: float) -> list[Match]:
    """Return matches with their similarity (1 - cosine distance) multiplied by `scale`."""
    if scale == 1.0:
        return matches
    return [replace(match, distance=1.0 - (1.0 - match.distance) * scale) for match in matches]


def ranker_classes(
    regions: list[Region],
    vectors: np.ndarray,
    *,
    rankers: tuple[str, ...],
    filters: ProductFilters,
    index: VectorIndex,
    version: str,
) -> dict[str, list[str | None]]:
    """Return, for each ranker, the class each region is searched in under it: voted
    (`searched_classes`), or the detector's as it is for the rankers of the vote's control."""
    detected = [filters.garment_class or region.garment_class or None for region in regions]
    voting = [name for name in rankers if votes_on_class(name)]
    voted = (searched_classes(regions, vectors, filters=filters, index=index, version=version)
             if voting else detected)
    return {name: voted if name in voting else detected for name in rankers}


def garments_shown(regions: list[Region], classes: dict[str, list[str | None]]) -> list[int]:
    """Return the positions of the regions (best first) that shop the look shows, given the
    class each is searched in under each ranker: a region mostly inside or around a more
    confident one, searched in the same class under every ranker, is that garment again."""
    return repeats_dropped(regions, REPEAT_OVERLAP, lambda a, b: all(
        by_region[a] == by_region[b] for by_region in classes.values()))


def searched_classes(
    regions: list[Region],
    vectors: np.ndarray,
    *,
    filters: ProductFilters,
    index: VectorIndex,
    version: str,
) -> list[str | None]:
    """Return the class each region is searched in: the shopper's class filter if any,
    else the detector's class checked against the region's nearest catalog products
    (search.garment_vote); None searches every class."""
    if filters.garment_class:
        return [filters.garment_class] * len(regions)
    return [
        region_class(region.garment_class, index.nearest_classes(
            vector, k=VOTE_NEIGHBOURS, model_version=version, filters=filters))
        for region, vector in zip(regions, vectors, strict=True)
    ]


def box_region(image: Image.Image, box: tuple[float, float, float, float]) -> Region:
    """Return the shopper's box as a region, classed by the detection that fills it, if any."""
    x1, y1, x2, y2 = (float(value) for value in box)
    x1, y1 = max(0.0, x1), max(0.0, y1)
    x2, y2 = min(float(image.width), x2), min(float(image.height), y2)
    if x2 - x1 < MIN_BOX_SIDE or y2 - y1 < MIN_BOX_SIDE:
        raise BoxInvalid(
            f"the box must cover at least {MIN_BOX_SIDE}x{MIN_BOX_SIDE} pixels inside the "
            f"{image.width}x{image.height} photo"
        )
    area = (x2 - x1) * (y2 - y1)
    inside = detect(image.crop((round(x1), round(y1), round(x2), round(y2))))
    best = next((r for r in inside if box_area(r.box) >= BOX_CLASS_COVERAGE * area), None)
    return Region(garment_class=best.garment_class if best else "", box=(x1, y1, x2, y2),
                  score=best.score if best else 1.0)

