"""Shop-the-look query photos kept for a limited time, when the shop is configured to."""

from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.utils import timezone


class QueryPhoto(models.Model):
    """A shopper's uploaded photo, stored as a metadata-free JPEG for staff to audit.

    Only written when QUERY_PHOTO_RETENTION_DAYS is above 0; `purge_query_photos` deletes
    rows and files older than the retention.
    """

    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    request_id = models.UUIDField(unique=True, help_text="identifies this upload in the logs")
    impression_ids = ArrayField(models.UUIDField(), default=list, blank=True,
                                help_text="request ids of the result lists it was shown")
    path = models.CharField(max_length=255, help_text="relative to QUERY_PHOTO_ROOT")
    width = models.PositiveIntegerField()
    height = models.PositiveIntegerField()
    size_bytes = models.PositiveIntegerField(help_text="size of the stored JPEG")

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"query photo {self.request_id} ({self.created_at:%Y-%m-%d %H:%M})"
