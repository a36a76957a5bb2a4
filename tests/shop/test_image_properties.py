"""Property tests of the upload decoder: any bytes give an image or a clear ImageRejected."""

import io

import pytest
from hypothesis import given
from hypothesis import strategies as st
from PIL import Image

from search.query_photos import query_photo_jpeg
from shop.images import DecodedImage, ImageRejected, image_decode, image_upright
from tests.properties import examples

MAX_PIXELS = 1_000_000  # keeps each example fast; the limit itself is tested in tests/search
ORIENTATION = 0x0112
# Format -> modes Pillow can write in it; the formats that carry EXIF orientation come first.
WRITABLE_MODES = {
    "JPEG": ["L", "RGB", "CMYK"],
    "PNG": ["1", "L", "LA", "P", "RGB", "RGBA", "I;16"],
    "WEBP": ["RGB", "RGBA"],
    "TIFF": ["1", "L", "LA", "P", "RGB", "RGBA", "CMYK", "I;16", "I", "F"],
    "GIF": ["P", "L"],
    "BMP": ["1", "L", "P", "RGB"],
}
CARRIES_EXIF = {"JPEG", "PNG", "WEBP", "TIFF"}
# The transpose that stores an upright picture so that EXIF orientation N shows it upright
# again (the inverse of what ImageOps.exif_transpose applies for N).
STORED_AS = {
    1: None,
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_90,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_270,
}


def stored_for(upright: Image.Image, orientation: int) -> Image.Image:
    """Return the pixels a camera stores for an upright picture with this EXIF orientation."""
    method = STORED_AS[orientation]
    return upright if method is None else upright.transpose(method)


def encode(image: Image.Image, format: str, orientation: int = 1) -> bytes:
    out = io.BytesIO()
    options = {}
    if format in CARRIES_EXIF and orientation != 1:
        exif = Image.Exif()
        exif[ORIENTATION] = orientation
        options["exif"] = exif.tobytes()
    image.save(out, format=format, **options)
    return out.getvalue()


def upright_pattern(width: int, height: int) -> Image.Image:
    """A dark picture with a bright top-left quadrant: any turn or flip moves the bright part."""
    image = Image.new("L", (width, height), 20)
    image.paste(235, (0, 0, width // 2, height // 2))
    return image


def assert_accepted_or_rejected_clearly(data: bytes) -> None:
    """The decoder's contract: a usable image, or ImageRejected with a reason; nothing else."""
    try:
        decoded = image_decode(data, max_pixels=MAX_PIXELS)
    except ImageRejected as exc:
        reason = str(exc)
        assert reason, "rejected without a reason"
        return
    assert isinstance(decoded, DecodedImage)
    assert 0 < decoded.image.width * decoded.image.height <= MAX_PIXELS
    # What shop the look does next with the pixels must work too.
    upright = image_upright(decoded.image)
    upright.convert("RGB")
    query_photo_jpeg(upright)


SEEDS = [encode(upright_pattern(24, 16).convert(mode), format, orientation)
         for format, modes in WRITABLE_MODES.items() for mode in modes[:2]
         for orientation in (1, 6)]
MAGIC = [b"\xff\xd8\xff\xe0", b"\xff\xd8\xff\xe1", b"\x89PNG\r\n\x1a\n",
         b"RIFF\x00\x00\x00\x00WEBP", b"GIF89a", b"GIF87a", b"BM", b"II*\x00", b"MM\x00*"]


@st.composite
def mutated_images(draw) -> bytes:
    """Real image files with bytes overwritten, inserted or cut off (parsers' edge cases)."""
    data = bytearray(draw(st.sampled_from(SEEDS)))
    for _ in range(draw(st.integers(1, 8))):
        position = draw(st.integers(0, len(data) - 1))
        action = draw(st.sampled_from(["overwrite", "insert", "delete", "truncate"]))
        if action == "overwrite":
            data[position] = draw(st.integers(0, 255))
        elif action == "insert":
            data[position:position] = draw(st.binary(min_size=1, max_size=16))
        elif action == "delete":
            del data[position:position + draw(st.integers(1, 16))]
        else:
            del data[max(position, 1):]
        if not data:
            break
    return bytes(data)


@examples(fraction=2)
@given(st.binary(max_size=4096))
def test_any_bytes_decode_or_are_rejected_clearly(data):
    assert_accepted_or_rejected_clearly(data)


@examples(fraction=2)
@given(st.builds(lambda magic, tail: magic + tail, st.sampled_from(MAGIC),
                 st.binary(max_size=2048)))
def test_bytes_behind_a_real_magic_number_decode_or_are_rejected_clearly(data):
    assert_accepted_or_rejected_clearly(data)


@examples(fraction=3)
@given(mutated_images())
def test_damaged_images_decode_or_are_rejected_clearly(data):
    assert_accepted_or_rejected_clearly(data)


@st.composite
def images_on_disk(draw) -> tuple[bytes, str, int, int, int]:
    format = draw(st.sampled_from(sorted(WRITABLE_MODES)))
    mode = draw(st.sampled_from(WRITABLE_MODES[format]))
    orientation = draw(st.integers(1, 8)) if format in CARRIES_EXIF else 1
    width, height = draw(st.integers(8, 64)), draw(st.integers(8, 64))
    stored = stored_for(upright_pattern(width, height), orientation)
    return encode(stored.convert(mode), format, orientation), format, orientation, width, height


@examples(fraction=1)
@given(images_on_disk())
def test_valid_images_decode_upright_at_their_size(case):
    data, format, orientation, width, height = case

    decoded = image_decode(data, max_pixels=MAX_PIXELS)
    upright = image_upright(decoded.image)

    assert decoded.format in (format, "MPO")
    # (Pillow turns TIFFs upright while loading them, JPEGs and the rest are turned here.)
    assert upright.size == (width, height)
    grey = upright.convert("L")
    # Quadrant means, away from the edges lossy formats blur.
    corners = {name: mean_of(grey, box) for name, box in quadrants(width, height).items()}
    assert corners["top_left"] > 128, (format, orientation, corners)
    for name in ("top_right", "bottom_left", "bottom_right"):
        assert corners[name] < 128, (format, orientation, corners)


def quadrants(width: int, height: int) -> dict[str, tuple[int, int, int, int]]:
    w, h = width // 2, height // 2
    return {"top_left": (1, 1, w - 1, h - 1), "top_right": (w + 1, 1, width - 1, h - 1),
            "bottom_left": (1, h + 1, w - 1, height - 1),
            "bottom_right": (w + 1, h + 1, width - 1, height - 1)}


def mean_of(image: Image.Image, box: tuple[int, int, int, int]) -> float:
    region = image.crop(box)
    histogram = region.histogram()
    return sum(value * count for value, count in enumerate(histogram)) / sum(histogram)


@pytest.mark.parametrize("orientation", range(1, 9))
def test_every_exif_orientation_turns_upright(orientation):
    # The property above draws these at random; this pins each one down for every run.
    stored = stored_for(upright_pattern(40, 20), orientation)
    upright = image_upright(image_decode(encode(stored, "PNG", orientation)).image)
    assert upright.size == (40, 20)
    assert upright.getpixel((5, 5)) == 235
    assert upright.getpixel((35, 15)) == 20
