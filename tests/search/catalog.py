"""A small indexed catalog of generated product photos."""

import io

from PIL import Image, ImageDraw

from shop.catalog_import import catalog_import
from tests.factories import catalog_row, catalog_write

# (category, colour name, RGB, shape) per generated product.
PRODUCTS = [
    ("Tshirts", "Red", (200, 30, 40), "tee"),
    ("Tshirts", "Blue", (30, 60, 200), "tee"),
    ("Jeans", "Blue", (40, 60, 120), "trousers"),
    ("Casual Shoes", "White", (235, 235, 235), "shoe"),
    ("Handbags", "Brown", (120, 70, 30), "bag"),
    ("Dresses", "Green", (40, 150, 60), "dress"),
]


def product_photo(rgb: tuple[int, int, int], shape: str, size=(200, 260)) -> Image.Image:
    """Draw a flat garment-like shape on a white studio background."""
    image = Image.new("RGB", size, (250, 250, 250))
    draw = ImageDraw.Draw(image)
    if shape == "tee":
        draw.polygon([(40, 60), (80, 40), (120, 40), (160, 60), (150, 100), (135, 95),
                      (135, 220), (65, 220), (65, 95), (50, 100)], fill=rgb)
    elif shape == "trousers":
        draw.polygon([(60, 30), (140, 30), (150, 240), (110, 240), (100, 110), (90, 240),
                      (50, 240)], fill=rgb)
    elif shape == "shoe":
        draw.ellipse((30, 140, 180, 200), fill=rgb, outline=(60, 60, 60), width=4)
    elif shape == "bag":
        draw.rectangle((50, 100, 150, 200), fill=rgb)
        draw.arc((70, 50, 130, 130), 180, 360, fill=rgb, width=8)
    else:
        draw.polygon([(80, 30), (120, 30), (170, 240), (30, 240)], fill=rgb)
    return image


def outfit_photo() -> Image.Image:
    """Compose a person-sized photo wearing the tee, the jeans and the shoes."""
    photo = Image.new("RGB", (300, 600), (180, 190, 200))
    photo.paste(product_photo(PRODUCTS[0][2], "tee"), (50, 20))
    photo.paste(product_photo(PRODUCTS[2][2], "trousers"), (50, 260))
    photo.paste(product_photo(PRODUCTS[3][2], "shoe"), (50, 400))
    return photo


def jpeg(image: Image.Image) -> bytes:
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=92)
    return out.getvalue()


def heic(image: Image.Image) -> bytes:
    """Encode like an iPhone does by default (HEIF with HEVC; shop.images registers it)."""
    out = io.BytesIO()
    image.save(out, format="HEIF", quality=90)
    return out.getvalue()


def generated_catalog_import(folder) -> None:
    """Write and import the generated catalog (images under `folder`)."""
    rows = []
    (folder / "images").mkdir(parents=True, exist_ok=True)
    for index, (category, colour, rgb, shape) in enumerate(PRODUCTS):
        (folder / f"images/{index}.jpg").write_bytes(jpeg(product_photo(rgb, shape)))
        rows.append(catalog_row(index, title=f"{colour} {category}", category=category,
                                colour=colour))
    catalog_import(path=catalog_write(folder, rows))
