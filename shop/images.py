"""Decode untrusted image bytes safely and derive the stored files from them."""

import hashlib
import io
import struct
import warnings
from dataclasses import dataclass

import pillow_heif
from django.conf import settings
from PIL import Image, ImageOps, UnidentifiedImageError

# Decoders Pillow may try. Sniffing is by content, never by file name, and the list keeps
# rarely used, historically fragile decoders out of reach of uploaded bytes. (Multi-picture
# JPEGs open through the JPEG decoder and report themselves as MPO.) Catalog photos are
# served to browsers, so they stay in the formats every browser shows.
ALLOWED_FORMATS = ("JPEG", "PNG", "WEBP", "GIF", "BMP", "TIFF")
# A shopper's own photo is only decoded, never served, and iPhones save HEIC by default.
PHOTO_FORMATS = (*ALLOWED_FORMATS, "HEIF")
EXTENSIONS = {"JPEG": ".jpg", "MPO": ".jpg", "PNG": ".png", "WEBP": ".webp", "GIF": ".gif",
              "BMP": ".bmp", "TIFF": ".tif", "HEIF": ".heic"}

# Makes "HEIF" a format Pillow can open; only calls that name it in `formats` use it.
pillow_heif.register_heif_opener()


class ImageRejected(ValueError):
    """The bytes are not an image this shop accepts; the message says why."""


@dataclass(frozen=True)
class DecodedImage:
    """A fully decoded image with the facts the catalog stores about it."""

    image: Image.Image
    format: str
    sha256: str

    @property
    def extension(self) -> str:
        return EXTENSIONS[self.format]


def image_decode(data: bytes, *, max_pixels: int | None = None,
                 formats: tuple[str, ...] = ALLOWED_FORMATS) -> DecodedImage:
    """Decode image bytes completely, refusing empty, unknown, truncated or oversized images.

    `formats` are the decoders allowed: the catalog's by default, `PHOTO_FORMATS` for a
    shopper's photo.
    """
    max_pixels = max_pixels or settings.MAX_IMAGE_PIXELS
    if not data:
        raise ImageRejected("the file is empty")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data), formats=formats)
            # Checked from the header, before any pixel is decoded.
            if image.width * image.height > max_pixels:
                raise ImageRejected(
                    f"the image is {image.width}x{image.height} pixels, "
                    f"more than the limit of {max_pixels:,}"
                )
            image.load()
    except ImageRejected:
        raise
    except UnidentifiedImageError:
        raise ImageRejected(
            f"not a recognised image (accepted: {', '.join(formats)})"
        ) from None
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise ImageRejected(f"the image is too large to decode safely ({exc})") from None
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        raise ImageRejected(f"the image is damaged or truncated ({exc})") from None
    return DecodedImage(image=image, format=image.format, sha256=content_sha256(data))


def content_sha256(data: bytes) -> str:
    """Return the hex SHA-256 of file bytes, the identity of a stored image."""
    return hashlib.sha256(data).hexdigest()


def image_upright(image: Image.Image) -> Image.Image:
    """Return the image turned the way its camera's EXIF orientation says it is viewed."""
    try:
        return ImageOps.exif_transpose(image)
    except (SyntaxError, ValueError, OSError, EOFError, struct.error):
        # A damaged EXIF block says nothing reliable about orientation, but the pixels
        # decoded fine: show them as stored rather than refuse the photo.
        return image.copy()


def shopper_photo_decode(data: bytes) -> Image.Image:
    """Decode a shopper's own photo (any of `PHOTO_FORMATS`, HEIC included) and turn it upright.

    Raises `ImageRejected` like `image_decode`.
    """
    return image_upright(image_decode(data, formats=PHOTO_FORMATS).image)


def thumbnail_jpeg(image: Image.Image, *, size: int) -> bytes | None:
    """Return a JPEG no larger than `size` on its longest side, or None if the image is smaller."""
    if max(image.size) <= size:
        return None
    thumb = image_upright(image).convert("RGB")
    thumb.thumbnail((size, size), Image.Resampling.LANCZOS)
    out = io.BytesIO()
    thumb.save(out, format="JPEG", quality=85, optimize=True, progressive=True)
    return out.getvalue()
