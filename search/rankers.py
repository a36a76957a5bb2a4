"""Ranking variants: named functions that order a surface's candidates.

Every surface (shop the look, similar items, text search) retrieves candidates with a
base relevance score, then asks the ranker that the running experiment assigned to the
visitor to score them; the surface orders (and, for similar items, diversifies) by that
score. Adding a variant is one function and the `@ranker` line above it.
"""

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Candidate:
    """A product that could be shown, with the signals rankers may use."""

    product_id: int
    relevance: float  # the surface's base score: visual similarity, or fused text score
    embedding: np.ndarray | None = None  # its matched visual vector, for diversification
    category: str = ""
    colour: str = ""
    text_embedding: np.ndarray | None = None


@dataclass(frozen=True)
class RankingContext:
    """What is known about the query: its product's category, colour and text, if any."""

    category: str = ""
    colour: str = ""
    text_embedding: np.ndarray | None = None


Ranker = Callable[[list[Candidate], RankingContext], list[float]]
RANKERS: dict[str, Ranker] = {}
# Rankers that read `Candidate.text_embedding`; the others are spared loading it.
TEXT_RANKERS: set[str] = set()
# Rankers under which shop the look searches the detector's class as it is, without the
# catalog's class vote (search.garment_vote): the control for testing the vote online.
DETECTOR_CLASS_RANKERS: set[str] = set()
# Rankers under which shop the look searches with the photo's colour weighed as in the
# index, not boosted (search.look.COLOUR_BOOST): the control for testing the boost online.
PLAIN_COLOUR_RANKERS: set[str] = set()
# Rankers under which similar items orders by the vectors alone, without re-ranking by local
# descriptors (search.verification): the control for testing that step online.
UNVERIFIED_RANKERS: set[str] = set()
DEFAULT_RANKER = "visual"

# Boosts of visual_attributes, in units of cosine similarity: enough to reorder close
# candidates, never enough to lift a poor visual match over a good one.
CATEGORY_BOOST = 0.05
COLOUR_BOOST = 0.03
# Share of hybrid's score that comes from the descriptions' text similarity.
TEXT_WEIGHT = 0.3


def ranker(
    name: str, *, reads_text: bool = False, class_vote: bool = True, colour_boost: bool = True,
    verified: bool = True,
) -> Callable[[Ranker], Ranker]:
    """Register a ranking function under `name`; `reads_text` if it uses text embeddings;
    `class_vote=False` if shop the look should search the detector's classes unchecked;
    `colour_boost=False` if it should search without boosting the photo's colour;
    `verified=False` if similar items should order by the vectors alone."""

    def register(function: Ranker) -> Ranker:
        if name in RANKERS:
            raise ValueError(f"ranker {name!r} is already registered")
        RANKERS[name] = function
        if reads_text:
            TEXT_RANKERS.add(name)
        if not class_vote:
            DETECTOR_CLASS_RANKERS.add(name)
        if not colour_boost:
            PLAIN_COLOUR_RANKERS.add(name)
        if not verified:
            UNVERIFIED_RANKERS.add(name)
        return function

    return register


def reads_text(rankers: tuple[str, ...]) -> bool:
    """Return True when one of the rankers uses the products' text embeddings."""
    return any(name in TEXT_RANKERS for name in rankers)


def votes_on_class(name: str) -> bool:
    """Return True when shop the look checks the detector's class under ranker `name`."""
    return name not in DETECTOR_CLASS_RANKERS


def boosts_colour(name: str) -> bool:
    """Return True when shop the look boosts the photo's colour under ranker `name`."""
    return name not in PLAIN_COLOUR_RANKERS


def verifies(name: str) -> bool:
    """Return True when similar items re-ranks by local descriptors under ranker `name`."""
    return name not in UNVERIFIED_RANKERS


def rank(name: str, candidates: list[Candidate], context: RankingContext) -> list[Candidate]:
    """Return candidates ordered by the scores of the ranker called `name`, best first."""
    scores = RANKERS[name](candidates, context)
    order = sorted(range(len(candidates)),
                   key=lambda index: (-scores[index], candidates[index].product_id))
    return [candidates[index] for index in order]


def scores(name: str, candidates: list[Candidate], context: RankingContext) -> list[float]:
    """Return the ranker's score of each candidate (higher is better)."""
    return RANKERS[name](candidates, context)


@ranker("visual")
def visual(candidates: list[Candidate], context: RankingContext) -> list[float]:
    """Pure similarity: the surface's own relevance score."""
    return [candidate.relevance for candidate in candidates]


@ranker("visual_detector_class", class_vote=False)
def visual_detector_class(candidates: list[Candidate], context: RankingContext) -> list[float]:
    """Pure similarity; shop the look searches each garment in the detector's class, as it
    did before the class vote (docs/shop-the-look.md). Elsewhere the same as `visual`."""
    return visual(candidates, context)


@ranker("visual_plain_colour", colour_boost=False)
def visual_plain_colour(candidates: list[Candidate], context: RankingContext) -> list[float]:
    """Pure similarity; shop the look weighs the photo's colour as the index does, as it did
    before the colour boost (docs/shop-the-look.md). Elsewhere the same as `visual`."""
    return visual(candidates, context)


@ranker("visual_unverified", verified=False)
def visual_unverified(candidates: list[Candidate], context: RankingContext) -> list[float]:
    """Pure similarity; similar items orders by the vectors alone, as it did before local
    re-ranking (search.verification). Elsewhere the same as `visual`."""
    return visual(candidates, context)


@ranker("visual_attributes")
def visual_attributes(candidates: list[Candidate], context: RankingContext) -> list[float]:
    """Similarity, nudged up for products that agree with the query's category and colour."""
    return _attributes_boosted(candidates, context, CATEGORY_BOOST, COLOUR_BOOST)


@ranker("visual_category")
def visual_category(candidates: list[Candidate], context: RankingContext) -> list[float]:
    """Similarity, nudged up for products of the query's category alone.

    A product's colour variants share its category but not its colour, so this keeps them
    near the top where `visual_attributes` pushes same-coloured look-alikes over them. In
    similar items on the bench catalogs (`manage.py evaluate_similar`, docs/benchmarks.md)
    it raised hm category precision@10 from 0.76 to 0.89 and family Recall@1 from 0.43 to
    0.45, where `visual_attributes` lowered family recall to 0.36.
    """
    return _attributes_boosted(candidates, context, CATEGORY_BOOST, 0.0)


@ranker("hybrid", reads_text=True)
def hybrid(candidates: list[Candidate], context: RankingContext) -> list[float]:
    """Similarity blended with the text similarity of the products' descriptions."""
    anchor = context.text_embedding
    if anchor is None:
        # No query text (a shopper's photo): the best visual match's text stands in.
        best = max(candidates, key=lambda candidate: candidate.relevance, default=None)
        anchor = best.text_embedding if best is not None else None
    if anchor is None:
        return visual(candidates, context)
    return [
        (1 - TEXT_WEIGHT) * candidate.relevance
        + TEXT_WEIGHT * (0.0 if candidate.text_embedding is None
                         else float(candidate.text_embedding @ anchor))
        for candidate in candidates
    ]


def _attributes_boosted(candidates: list[Candidate], context: RankingContext,
                        category_boost: float, colour_boost: float) -> list[float]:
    """Return each candidate's relevance plus the boosts for agreeing with the query's
    category and colour."""
    category, colour = _query_attributes(candidates, context)
    return [
        candidate.relevance
        + category_boost * (bool(category) and candidate.category == category)
        + colour_boost * (bool(colour) and candidate.colour.lower() == colour)
        for candidate in candidates
    ]


def _query_attributes(candidates: list[Candidate], context: RankingContext) -> tuple[str, str]:
    """Return the query's category and colour, or the consensus of the closest candidates."""
    if context.category or context.colour:
        return context.category, context.colour.lower()
    closest = sorted(candidates, key=lambda candidate: -candidate.relevance)[:5]
    categories = [candidate.category for candidate in closest if candidate.category]
    colours = [candidate.colour.lower() for candidate in closest if candidate.colour]
    return (max(set(categories), key=categories.count) if categories else "",
            max(set(colours), key=colours.count) if colours else "")
