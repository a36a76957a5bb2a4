"""Query photos: never stored by default; when configured, stored bare and purged on time."""

import io
import os
from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.utils import timezone
from PIL import Image, ImageCms

from search import look
from search.models import QueryPhoto
from search.query_photos import query_photo_keep, query_photos_purge

pytestmark = pytest.mark.django_db

RED, BLUE = (220, 20, 20), (20, 20, 220)
ORIENTATION, GPS_IFD = 0x0112, 0x8825


@pytest.fixture(autouse=True)
def query_photo_root(tmp_path, settings, monkeypatch):
    settings.QUERY_PHOTO_ROOT = tmp_path / "query-photos"
    # The detector is not under test here; the whole photo is searched.
    monkeypatch.setattr(look, "detect", lambda image: [])
    return settings.QUERY_PHOTO_ROOT


def camera_jpeg() -> bytes:
    """A 60x40 sideways JPEG (EXIF orientation 6) with GPS, an ICC profile and a comment.

    Stored as is, its left half is red and its right half blue; viewed upright (turned 90
    degrees clockwise) it is 40x60 with red on top.
    """
    image = Image.new("RGB", (60, 40), BLUE)
    image.paste(RED, (0, 0, 30, 40))
    exif = Image.Exif()
    exif[ORIENTATION] = 6
    exif[0x010F] = "PhoneMaker"  # camera make
    exif[GPS_IFD] = {1: "N", 2: (48.0, 51.0, 30.0), 3: "E", 4: (2.0, 17.0, 40.0)}
    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=95, exif=exif.tobytes(), icc_profile=icc,
               comment=b"secret comment")
    data = out.getvalue()
    assert Image.open(io.BytesIO(data)).getexif().get_ifd(GPS_IFD)  # the fixture is real
    return data


def post_look(client, data: bytes):
    upload = SimpleUploadedFile("me.jpg", data, content_type="image/jpeg")
    return client.post("/api/search/image", {"image": upload})


def stored_files(root) -> list:
    return [path for path in root.rglob("*") if path.is_file()] if root.exists() else []


def test_by_default_nothing_is_stored(client, query_photo_root):
    response = post_look(client, camera_jpeg())

    assert response.status_code == 200, response.content
    assert not QueryPhoto.objects.exists()
    assert stored_files(query_photo_root) == []


def test_kept_photo_is_upright_pixels_without_any_metadata(client, settings,
                                                            query_photo_root):
    settings.QUERY_PHOTO_RETENTION_DAYS = 7

    response = post_look(client, camera_jpeg())

    assert response.status_code == 200, response.content
    photo = QueryPhoto.objects.get()
    (path,) = stored_files(query_photo_root)
    assert path == query_photo_root / photo.path
    data = path.read_bytes()
    assert (photo.width, photo.height, photo.size_bytes) == (40, 60, len(data))
    for marker in (b"Exif", b"ICC_PROFILE", b"PhoneMaker", b"secret comment", b"XMP"):
        assert marker not in data
    stored = Image.open(io.BytesIO(data))
    assert stored.format == "JPEG"
    assert len(stored.getexif()) == 0
    assert not {"exif", "icc_profile", "comment", "xmp"} & set(stored.info)
    assert stored.size == (40, 60)
    top, bottom = stored.getpixel((20, 10)), stored.getpixel((20, 50))
    assert all(abs(a - b) < 40 for a, b in zip(top, RED, strict=True))
    assert all(abs(a - b) < 40 for a, b in zip(bottom, BLUE, strict=True))
    # The record ties the photo to the result list the shopper was shown.
    region_ids = {region["request_id"] for region in response.json()["regions"]} - {None}
    assert {str(i) for i in photo.impression_ids} == region_ids


def test_a_rejected_upload_is_not_stored(client, settings, query_photo_root):
    settings.QUERY_PHOTO_RETENTION_DAYS = 7

    response = post_look(client, b"not an image at all")

    assert response.status_code == 400
    assert not QueryPhoto.objects.exists()
    assert stored_files(query_photo_root) == []


def test_search_still_answers_when_the_photo_cannot_be_stored(client, settings, tmp_path):
    settings.QUERY_PHOTO_RETENTION_DAYS = 7
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    settings.QUERY_PHOTO_ROOT = blocker  # any write under it fails

    response = post_look(client, camera_jpeg())

    assert response.status_code == 200, response.content
    assert not QueryPhoto.objects.exists()


def keep(age: timedelta) -> QueryPhoto:
    """Store a photo as if it had been uploaded `age` ago."""
    photo = query_photo_keep(image=Image.new("RGB", (8, 8)), impression_ids=[])
    when = timezone.now() - age
    QueryPhoto.objects.filter(pk=photo.pk).update(created_at=when)
    return photo


def age_file(path, age: timedelta) -> None:
    stamp = (timezone.now() - age).timestamp()
    os.utime(path, (stamp, stamp))


def test_purge_deletes_only_expired_photos_and_their_files(settings, query_photo_root):
    settings.QUERY_PHOTO_RETENTION_DAYS = 30
    old, fresh = keep(timedelta(days=31)), keep(timedelta(days=29))
    age_file(query_photo_root / old.path, timedelta(days=31))
    age_file(query_photo_root / fresh.path, timedelta(days=29))
    stray_old = query_photo_root / "2020/01/02/crashed-before-its-row.jpg"
    stray_old.parent.mkdir(parents=True)
    stray_old.write_bytes(b"x")
    age_file(stray_old, timedelta(days=40))
    stray_new = query_photo_root / "being-written.jpg"
    stray_new.write_bytes(b"x")
    out = io.StringIO()

    call_command("purge_query_photos", stdout=out)

    assert "deleted 1 query photos" in out.getvalue()
    assert list(QueryPhoto.objects.values_list("pk", flat=True)) == [fresh.pk]
    assert sorted(stored_files(query_photo_root)) == sorted(
        [query_photo_root / fresh.path, stray_new])
    assert not (query_photo_root / "2020/01/02").exists()  # its emptied day folder too


def test_purge_is_idempotent_and_finishes_an_interrupted_run(settings, query_photo_root):
    settings.QUERY_PHOTO_RETENTION_DAYS = 1
    half_done, whole = keep(timedelta(days=2)), keep(timedelta(days=3))
    # An earlier run deleted this file, then stopped before deleting its row.
    (query_photo_root / half_done.path).unlink()

    first = query_photos_purge()
    second = query_photos_purge()

    assert first.photos == 2
    assert (second.photos, second.stray_files) == (0, 0)
    assert not QueryPhoto.objects.exists()
    assert not (query_photo_root / whole.path).exists()


def test_retention_zero_purges_everything_kept_before(settings, query_photo_root):
    settings.QUERY_PHOTO_RETENTION_DAYS = 5
    photo = keep(timedelta(minutes=1))
    settings.QUERY_PHOTO_RETENTION_DAYS = 0

    assert query_photos_purge().photos == 1
    assert not (query_photo_root / photo.path).exists()


def test_staff_can_view_a_kept_photo_and_others_cannot(client, admin_client, settings):
    settings.QUERY_PHOTO_RETENTION_DAYS = 1
    photo = keep(timedelta(0))
    url = f"/admin/search/queryphoto/{photo.pk}/photo/"

    response = admin_client.get(url)
    assert response.status_code == 200
    assert response["Content-Type"] == "image/jpeg"
    assert Image.open(io.BytesIO(b"".join(response.streaming_content))).size == (8, 8)
    assert client.get(url).status_code == 302  # to the admin login
    assert admin_client.get("/admin/search/queryphoto/").status_code == 200
