"""Keep shop-the-look query photos for the configured number of days, then delete them.

Nothing is stored while QUERY_PHOTO_RETENTION_DAYS is 0 (the default). When it is above 0,
each photo is kept as a JPEG re-encoded from its decoded, upright pixels only, so no EXIF
(GPS, camera, orientation), ICC profile or comment from the shopper's file survives.
"""

import contextlib
import io
import logging
import os
import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import FileSystemStorage
from django.db import transaction
from django.utils import timezone
from PIL import Image

from search.models import QueryPhoto

logger = logging.getLogger(__name__)

JPEG_QUALITY = 85


def query_photo_storage() -> FileSystemStorage:
    """Return the staff-only storage of query photos (never served as media)."""
    return FileSystemStorage(location=settings.QUERY_PHOTO_ROOT, base_url=None)


def query_photo_jpeg(image: Image.Image) -> bytes:
    """Encode the pixels of an image as a JPEG that carries nothing but those pixels."""
    rgb = image.convert("RGB")
    # A new image from raw pixels has no info dict, so nothing can ride along into the file.
    bare = Image.frombytes("RGB", rgb.size, rgb.tobytes())
    out = io.BytesIO()
    bare.save(out, format="JPEG", quality=JPEG_QUALITY)
    return out.getvalue()


def query_photo_keep(*, image: Image.Image,
                     impression_ids: list[uuid.UUID | None]) -> QueryPhoto | None:
    """Store an upright query photo when retention is on; return its record, else None.

    `image` must be the decoded pixels already turned upright (see shop.images).
    """
    if settings.QUERY_PHOTO_RETENTION_DAYS <= 0:
        return None
    data = query_photo_jpeg(image)
    request_id = uuid.uuid4()
    created_at = timezone.now()
    storage = query_photo_storage()
    try:
        path = storage.save(f"{created_at:%Y/%m/%d}/{request_id.hex}.jpg", ContentFile(data))
    except OSError:
        # The shopper's search matters more than the audit copy (a full disk, say).
        logger.exception("could not store query photo %s", request_id)
        return None
    try:
        return QueryPhoto.objects.create(
            created_at=created_at, request_id=request_id, path=path,
            impression_ids=[i for i in impression_ids if i is not None],
            width=image.width, height=image.height, size_bytes=len(data))
    except BaseException:
        storage.delete(path)
        raise


@dataclass(frozen=True)
class PurgeReport:
    """What a purge deleted: expired records (with their files) and stray files."""

    photos: int
    stray_files: int


def query_photos_purge(*, now: datetime | None = None, batch_size: int = 500) -> PurgeReport:
    """Delete query photos older than the retention (all of them when it is 0).

    Safe to run concurrently: each run locks the rows it deletes and skips rows another run
    holds. Idempotent: a file already gone is not an error, so a run interrupted between
    deleting a file and its row is finished by the next run.
    """
    cutoff = (now or timezone.now()) - timedelta(days=settings.QUERY_PHOTO_RETENTION_DAYS)
    storage = query_photo_storage()
    photos = 0
    while True:
        with transaction.atomic():
            batch = list(QueryPhoto.objects.filter(created_at__lt=cutoff).order_by("pk")
                         .select_for_update(skip_locked=True).only("pk", "path")[:batch_size])
            if not batch:
                break
            for photo in batch:
                storage.delete(photo.path)
            QueryPhoto.objects.filter(pk__in=[photo.pk for photo in batch]).delete()
            photos += len(batch)
    return PurgeReport(photos=photos, stray_files=_stray_files_purge(cutoff))


def _stray_files_purge(cutoff: datetime) -> int:
    """Delete files older than the cutoff that no record covers (a crash between writes)."""
    root = Path(settings.QUERY_PHOTO_ROOT)
    if not root.is_dir():
        return 0
    deleted = 0
    for folder, _, names in os.walk(root, topdown=False):
        for name in names:
            path = Path(folder, name)
            try:
                if path.stat().st_mtime < cutoff.timestamp():
                    path.unlink()
                    deleted += 1
            except FileNotFoundError:
                pass  # another purge got there first
        _empty_day_folder_remove(root, Path(folder), cutoff.date())
    return deleted


def _empty_day_folder_remove(root: Path, folder: Path, cutoff: date) -> None:
    """Remove an empty YYYY/MM/DD folder from before the cutoff day (never today's)."""
    parts = folder.relative_to(root).parts
    try:
        day = date(*(int(part) for part in parts)) if len(parts) == 3 else None
    except ValueError:
        return
    if day is not None and day < cutoff:
        with contextlib.suppress(OSError):  # not empty, or already removed
            folder.rmdir()
