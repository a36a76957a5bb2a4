"""What the detector returns, as plain data (importing this loads no model code)."""

from collections.abc import Callable, Sequence
from dataclasses import dataclass

Box = tuple[float, float, float, float]


@dataclass(frozen=True)
class Region:
    """One detected garment: its class, box (x1, y1, x2, y2 in pixels of the photo), score."""

    garment_class: str
    box: Box
    score: float


def whole_photo(width: int, height: int) -> Region:
    """Return a whole photo as a region of no particular class."""
    return Region(garment_class="", box=(0.0, 0.0, float(width), float(height)), score=1.0)


def box_area(box: Box) -> float:
    """Return the area of an (x1, y1, x2, y2) box; an empty box has none."""
    return max(0.0, box[2] - box[0]) * max(0.0, box[3] - box[1])


def intersection_area(box: Box, other: Box) -> float:
    """Return the area two boxes share."""
    return box_area((max(box[0], other[0]), max(box[1], other[1]),
                     min(box[2], other[2]), min(box[3], other[3])))


def box_iou(box: Box, other: Box) -> float:
    """Return the intersection over union of two boxes."""
    inside = intersection_area(box, other)
    union = box_area(box) + box_area(other) - inside
    return inside / union if union > 0 else 0.0


def overlap_of_smaller(box: Box, other: Box) -> float:
    """Return the share of the smaller box that lies inside the other (1 when nested)."""
    smaller = min(box_area(box), box_area(other))
    return intersection_area(box, other) / smaller if smaller > 0 else 0.0


def repeats_dropped(
    regions: Sequence[Region], overlap: float, same: Callable[[int, int], bool]
) -> list[int]:
    """Return the positions of the regions to keep, given best first: a region is dropped
    when `overlap` or more of it, or of a kept region, lies in the other and `same(kept,
    position)` says the two are one garment (e.g. of one class)."""
    kept: list[int] = []
    for position, region in enumerate(regions):
        if not any(same(earlier, position)
                   and overlap_of_smaller(regions[earlier].box, region.box) >= overlap
                   for earlier in kept):
            kept.append(position)
    return kept


def nested_dropped(regions: Sequence[Region], overlap: float) -> list[Region]:
    """Drop, from regions given best first, each one that mostly lies in (or holds) a more
    confident region of its class.

    Non-maximum suppression compares boxes by intersection over union, so a garment's box
    and a box of half of it both survive it: the shopper would see the same garment twice.
    """
    kept = repeats_dropped(
        regions, overlap, lambda a, b: regions[a].garment_class == regions[b].garment_class)
    return [regions[position] for position in kept]
