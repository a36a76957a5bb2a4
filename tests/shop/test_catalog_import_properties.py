"""Property tests of the catalog import: generated bad files never crash it or half-write."""

import csv
import io
import string

import pytest
from django.core.files.storage import default_storage
from django.db import transaction
from hypothesis import given
from hypothesis import strategies as st
from PIL import Image

from shop.catalog_import import catalog_import
from shop.images import content_sha256
from shop.models import Product
from tests.factories import image_bytes
from tests.properties import examples

pytestmark = pytest.mark.django_db

HEADER = ["sku", "title", "image", "price", "stock", "category", "colour"]
ANCHOR = ["ANCHOR-1", "Always valid", "images/good.jpg", "19.99", "3", "Shirts", "Red"]
# Characters that stress CSV quoting, PostgreSQL text and decoding, besides any other text.
AWKWARD = "\x00\r\n\",;'\t\\ \u00a0\u00e9\u00df\u2028\ufeff\U0001f457²٣"


def image_files(folder) -> None:
    """Write the photos rows may point at: good ones of several kinds, and bad ones."""
    images = folder / "images"
    images.mkdir(parents=True)
    (images / "good.jpg").write_bytes(image_bytes())
    (images / "good.png").write_bytes(image_bytes(size=(40, 30), format="PNG"))
    # Larger than the thumbnail size, in modes that need converting for a JPEG thumbnail.
    for mode, name in (("I;16", "wide.png"), ("CMYK", "print.tif"), ("LA", "grey.png"),
                       ("P", "palette.gif")):
        out = io.BytesIO()
        Image.new("L", (500, 340), 120).convert(mode).save(out, format=name.split(".")[1]
                                                          .replace("tif", "TIFF")
                                                          .replace("png", "PNG")
                                                          .replace("gif", "GIF"))
        (images / name).write_bytes(out.getvalue())
    (images / "garbage.jpg").write_bytes(b"\xff\xd8\xff not really a JPEG")
    (images / "empty.jpg").write_bytes(b"")
    (images / "truncated.jpg").write_bytes(image_bytes(size=(300, 300))[:500])


IMAGE_NAMES = ["images/good.jpg", "images/good.png", "images/wide.png", "images/print.tif",
               "images/grey.png", "images/palette.gif", "images/garbage.jpg",
               "images/empty.jpg", "images/truncated.jpg", "images/missing.jpg", "images",
               "", "/", "x" * 300]

texts = st.text(st.one_of(st.sampled_from(AWKWARD),
                          st.characters(exclude_categories=["Cs"])), max_size=12)
skus = st.one_of(st.sampled_from(["A", "B", "C", "", " ", "a"]), texts,
                 st.text(string.ascii_letters, min_size=65, max_size=70))
prices = st.one_of(
    st.sampled_from(["", "12.50", "0", "-1", "0.001", "1e30", "1E+2", "NaN", "sNaN", "Infinity",
                     "1,50", "9999999999.99", "10000000000", " 3 ", "٣"]),
    st.decimals(allow_nan=True, allow_infinity=True).map(str),
    texts,
)
stocks = st.one_of(
    st.sampled_from(["", "0", "7", "-1", "1.0", "²", "٣", "2147483647", "2147483648", "99" * 20]),
    st.integers(-10, 2**40).map(str),
    texts,
)
# Each column's valid values, and the awkward ones a row may carry instead.
COLUMNS = {
    "sku": (st.text(string.ascii_uppercase + string.digits + "-", min_size=1, max_size=8),
            skus),
    "title": (st.sampled_from(["Linen shirt", "Jeans", "Robe d'été"]), texts),
    "image": (st.sampled_from(IMAGE_NAMES[:6]), st.sampled_from(IMAGE_NAMES[6:])),
    "price": (st.sampled_from(["", "12.50", "0", "9999999999.99"]), prices),
    "stock": (st.sampled_from(["", "0", "7", "2147483647"]), stocks),
    "category": (st.sampled_from(["Shirts", "Jeans", "Casual Shoes", ""]), texts),
    "colour": (st.sampled_from(["Red", "Blue", ""]), texts),
}


@st.composite
def rows(draw, extra_columns: int) -> list[str]:
    """A valid row with up to two awkward values, a wrong field count, or over-long text."""
    awkward = draw(st.sets(st.sampled_from(HEADER), max_size=2))
    cells = [draw(COLUMNS[name][name in awkward]) for name in HEADER]
    cells += draw(st.lists(texts, min_size=extra_columns, max_size=extra_columns))
    shape = draw(st.sampled_from(["as is", "as is", "as is", "short", "long", "long text"]))
    if shape == "short":
        cells = cells[: draw(st.integers(1, len(cells) - 1))]
    elif shape == "long":
        cells += draw(st.lists(texts, min_size=1, max_size=3))
    elif shape == "long text":
        cells[draw(st.integers(0, len(cells) - 1))] = "é" * draw(st.integers(60, 300))
    return cells


def line_encode(cells: list[str], encoding: str) -> bytes:
    out = io.StringIO()
    csv.writer(out).writerow(cells)
    # "latin-1" lines are not UTF-8: their non-ASCII bytes cannot be decoded as the file says.
    return out.getvalue().encode(encoding, errors="replace")


@st.composite
def catalogs(draw) -> tuple[bytes, int]:
    """A CSV file (bytes) with a header, the anchor row and generated rows; and its row count."""
    # (A NUL in the header makes the whole file unimportable: tested in test_catalog_import.)
    extra_columns = draw(st.lists(texts.filter(lambda name: name.strip().casefold()
                                               not in HEADER and "\x00" not in name),
                                  max_size=2))
    header = HEADER + extra_columns
    body = draw(st.lists(rows(len(extra_columns)), min_size=0, max_size=8))
    anchor = ANCHOR + [""] * len(extra_columns)
    body.insert(draw(st.integers(0, len(body))), anchor)
    lines = [line_encode(header, "utf-8")]
    for cells in body:
        encoding = "utf-8" if cells is anchor else draw(st.sampled_from(["utf-8", "latin-1"]))
        lines.append(line_encode(cells, encoding))
    return b"".join(lines), len(body)


def import_checked(folder, data: bytes):
    """Import the file inside a rolled-back transaction, checking the invariants on the way."""
    path = folder / "catalog.csv"
    path.write_bytes(data)
    with transaction.atomic():
        report = catalog_import(path=path)
        products = list(Product.objects.all())
        assert report.created + report.updated + report.unchanged + report.failed == report.rows
        assert len({error.line for error in report.errors}) == report.failed
        # A fresh database: every landed row is a new product, whole with its files.
        assert len(products) == report.created
        for product in products:
            with default_storage.open(product.image.name) as handle:
                assert content_sha256(handle.read()) == product.image_sha256
            assert product.image_width * product.image_height > 0
            if product.thumbnail:
                assert default_storage.exists(product.thumbnail.name)
        transaction.set_rollback(True)
    return report, {product.sku for product in products}


@pytest.fixture
def folder(tmp_path):
    image_files(tmp_path)
    return tmp_path


@examples(fraction=0.5)
@given(catalogs())
def test_generated_rows_are_counted_once_and_good_rows_land(folder, catalog):
    data, row_count = catalog

    report, skus = import_checked(folder, data)

    assert report.rows == row_count
    assert "ANCHOR-1" in skus


@examples(fraction=0.5)
@given(st.binary(max_size=600))
def test_arbitrary_bytes_after_the_header_never_raise(folder, tail):
    report, _ = import_checked(folder, line_encode(HEADER, "utf-8") + tail)

    assert report.rows <= tail.count(b"\n") + tail.count(b"\r") + 1
