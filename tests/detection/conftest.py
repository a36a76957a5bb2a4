"""Generated single-garment shopper photos, shared by the detector's data and training tests."""

import numpy as np
import pytest
from PIL import Image, ImageDraw

GARMENT = (60, 50, 190, 230)  # x1, y1, x2, y2 of the generated garment in a 240 x 300 photo


def garment_photo(seed: int, box: tuple[int, int, int, int] = GARMENT) -> Image.Image:
    """A shirt-coloured shape (at `box`) on a noisy floor, as a shopper would photograph it."""
    rng = np.random.default_rng(seed)
    floor = rng.normal((150, 120, 90), 12, size=(300, 240, 3)).clip(0, 255).astype(np.uint8)
    image = Image.fromarray(floor)
    ImageDraw.Draw(image).rectangle(box, fill=(30, 60, 200))
    return image


@pytest.fixture
def street_dir(tmp_path):
    """Write a labels.csv of 40 photos (pants and hats) on both sides of the street split."""
    folder = tmp_path / "street"
    (folder / "images").mkdir(parents=True)
    rows = []
    for number in range(40):
        name = f"images/{number:04d}.jpg"
        garment_photo(number).save(folder / name)
        rows.append(f"{name},{'pants' if number % 2 else 'hat'}")
    (folder / "labels.csv").write_text("image,label\n" + "\n".join(rows) + "\n")
    return folder
