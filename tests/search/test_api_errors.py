"""Bad requests get a 400 (or 404) with one JSON error shape, never a 500."""

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from tests.factories import image_bytes

pytestmark = pytest.mark.django_db


def upload(data: bytes, name: str = "photo.jpg") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data, content_type="image/jpeg")


def post_image(client, data: bytes, **fields):
    return client.post("/api/search/image", {"image": upload(data), **fields})


def assert_error(response, status: int, field: str | None = None) -> dict:
    assert response.status_code == status, response.content
    error = response.json()["error"]
    assert error["message"]
    if field:
        assert field in error["fields"]
    return error


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "empty"),
        (b"GIF89a this is not really a gif", "not a recognised image"),
        (b"%PDF-1.7 a document", "not a recognised image"),
        (b"\x00\x01\x02" * 1000, "not a recognised image"),
        (image_bytes(size=(400, 400))[:300], "damaged or truncated"),
    ],
)
def test_non_images_are_rejected(client, data, message):
    error = assert_error(post_image(client, data), 400, "image")
    assert message in error["fields"]["image"][0]


def test_missing_image_field(client):
    assert_error(client.post("/api/search/image", {}), 400, "image")


def test_decompression_bomb_is_rejected(client, settings):
    settings.MAX_IMAGE_PIXELS = 1_000_000
    out = io.BytesIO()
    Image.new("1", (4000, 4000)).save(out, format="PNG")  # tiny file, 16 megapixels

    error = assert_error(post_image(client, out.getvalue()), 400, "image")
    assert "more than the limit" in error["fields"]["image"][0]


def test_file_over_the_size_limit(client, settings):
    settings.UPLOAD_MAX_BYTES = 1000
    assert_error(post_image(client, image_bytes(size=(300, 300))), 400, "image")


@pytest.mark.parametrize("k", ["0", "51", "ten", "-3"])
def test_k_out_of_range(client, k):
    assert_error(post_image(client, image_bytes(), k=k), 400, "k")
    assert_error(client.get("/api/products/ANY/similar", {"k": k}), 400, "k")


@pytest.mark.parametrize("box", ["1,2,3", "a,b,c,d", "10,10,5,5", "nan,0,10,10", "0,0,1e9,10"])
def test_bad_box(client, box):
    assert_error(post_image(client, image_bytes(), box=box), 400, "box")


def test_bad_filters(client):
    assert_error(post_image(client, image_bytes(), **{"class": "hat"}), 400, "class")
    response = client.get("/api/search", {"q": "shirt", "price_min": "9", "price_max": "1"})
    assert_error(response, 400, "price_max")


def test_unknown_sku_is_404(client):
    error = assert_error(client.get("/api/products/NOPE/similar"), 404)
    assert error["code"] == "not_found"


def test_text_search_needs_a_query(client):
    assert_error(client.get("/api/search"), 400, "q")
    assert_error(client.get("/api/search", {"q": "x" * 201}), 400, "q")


def test_openapi_schema_lists_every_endpoint(client):
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/json").json()
    assert {"/api/search", "/api/search/image", "/api/products/{sku}/similar"} <= set(
        schema["paths"])


@pytest.mark.parametrize("format", ["PNG", "WEBP"])
def test_photo_with_damaged_exif_is_searched_not_a_500(client, format, monkeypatch):
    # Found by tests/shop/test_image_properties.py: Pillow raised SyntaxError while reading
    # the orientation of an EXIF block whose TIFF header is broken.
    from search import look

    monkeypatch.setattr(look, "detect", lambda image: [])
    out = io.BytesIO()
    Image.new("RGB", (30, 20), (10, 200, 10)).save(out, format=format,
                                                   exif=b"\x00MM\x00*\x00\x00\x00\x08")

    response = post_image(client, out.getvalue())

    assert response.status_code == 200, response.content
    assert response.json()["regions"][0]["box"] == [0, 0, 30, 20]


@pytest.mark.parametrize("path", ["/api/experiments/not%20a%20slug/results",
                                  "/api/experiments/new%0Aline/results",
                                  "/api/products/A%2FB/similar", "/api/nothing-here"])
def test_unknown_api_paths_get_the_json_error_shape(client, path):
    # Found by tests/search/test_api_fuzz.py: these were Django's HTML 404 page.
    response = client.get(path)

    assert response["Content-Type"] == "application/json"
    assert_error(response, 404)
