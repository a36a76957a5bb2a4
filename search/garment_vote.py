"""Which garment class a searched region shows: the detector's, checked against the catalog.

Shop the look searches each region within one class, so a wrong class means ten wrong
results. The detector learned mostly from people wearing outfits; on a single garment
photographed on a bed or a floor it names the wrong class in about 30% of photos (a coat
called a top, a hat never found as a hat). The catalog's products nearest to the region
are a second opinion: their classes, weighted by similarity, vote. The detector's class
starts with a lead, so it is overruled only when the neighbours clearly agree on another
class; with nothing detected the neighbours alone decide, so the results of a whole-photo
search are of one class too. Measured in docs/shop-the-look.md (`manage.py evaluate_look`).
"""

from collections import defaultdict
from collections.abc import Iterable

# Catalog products asked, nearest first, compared by their whole photos.
VOTE_NEIGHBOURS = 50
# A neighbour's vote is its cosine similarity to this power: the closest products count
# far more than the fiftieth, so a small catalog's class sizes don't decide.
SIMILARITY_POWER = 4
# Added to the detector's class share (shares sum to at most 1): another class wins only
# with a lead of more than this over the detector's class.
DETECTOR_LEAD = 0.4


def class_shares(
    neighbours: Iterable[tuple[str, float]], *, power: int = SIMILARITY_POWER
) -> dict[str, float]:
    """Return each class's share of the neighbours' votes, from (class, similarity) pairs.

    Neighbours without a class (socks, perfume) still weigh in the total and so dilute
    every class; dissimilar ones (similarity <= 0) have no vote.
    """
    votes: dict[str, float] = defaultdict(float)
    total = 0.0
    for garment_class, similarity in neighbours:
        weight = max(similarity, 0.0) ** power
        total += weight
        if garment_class:
            votes[garment_class] += weight
    if total == 0.0:
        return {}
    return {garment_class: vote / total for garment_class, vote in votes.items()}


def region_class(
    detected: str | None,
    neighbours: Iterable[tuple[str, float]],
    *,
    detector_lead: float = DETECTOR_LEAD,
) -> str | None:
    """Return the class to search a region in: the detector's (`detected`, "" or None when
    nothing was detected), unless its nearest catalog products clearly say otherwise.

    None when neither says anything (nothing detected, no classed neighbours).
    """
    scores = class_shares(neighbours)
    if detected:
        scores[detected] = scores.get(detected, 0.0) + detector_lead
    if not scores:
        return None
    # Ties go to the detector's class, then alphabetically, so the answer never depends on
    # the neighbours' order.
    return max(sorted(scores), key=lambda name: (scores[name], name == detected))
