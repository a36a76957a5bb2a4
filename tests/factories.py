"""Small generated test data: images and catalog files."""

import csv
import io
from pathlib import Path

from PIL import Image

CATALOG_HEADER = ["sku", "title", "description", "category", "group", "colour", "image"]


def image_bytes(colour=(200, 30, 30), size=(64, 96), format="JPEG") -> bytes:
    """Return an encoded solid-colour image."""
    out = io.BytesIO()
    Image.new("RGB", size, colour).save(out, format=format)
    return out.getvalue()


def catalog_row(index: int, **overrides) -> dict:
    """Return one valid catalog row whose image is `images/<index>.jpg`."""
    row = {
        "sku": f"SKU-{index:05d}",
        "title": f"Cotton shirt {index}",
        "description": "",
        "category": "Shirts",
        "group": "Apparel / Topwear",
        "colour": "Red",
        "image": f"images/{index}.jpg",
    }
    row.update(overrides)
    return row


def catalog_write(folder: Path, rows: list[dict], header: list[str] | None = None,
                  images: bool = True, image_column: str = "image") -> Path:
    """Write `catalog.csv` and, unless told not to, a distinct image for each row's path."""
    header = header or (list(rows[0]) if rows else CATALOG_HEADER)
    (folder / "images").mkdir(parents=True, exist_ok=True)
    path = folder / "catalog.csv"
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=header)
        writer.writeheader()
        writer.writerows(rows)
    if images:
        for number, row in enumerate(rows):
            image_path = folder / row[image_column]
            if row[image_column] and not image_path.exists():
                # Distinct sizes make distinct files, whatever JPEG does to the colours.
                size = (32 + number % 64, 48 + number // 64)
                image_path.write_bytes(image_bytes(colour=(number % 256, 120, 90), size=size))
    return path
