"""What the detector returns, as plain data (importing this loads no model code)."""

from dataclasses import dataclass


@dataclass(frozen=True)
class Region:
    """One detected garment: its class, box (x1, y1, x2, y2 in pixels of the photo), score."""

    garment_class: str
    box: tuple[float, float, float, float]
    score: float


def whole_photo(width: int, height: int) -> Region:
    """Return a whole photo as a region of no particular class."""
    return Region(garment_class="", box=(0.0, 0.0, float(width), float(height)), score=1.0)
