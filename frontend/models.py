"""The project's own tables: request counters for rate limiting."""

from django.db import models


class RequestCount(models.Model):
    """How many requests one client made to one rate-limited scope in one time window."""

    key = models.CharField(max_length=255, help_text="scope and client, e.g. throttle_look_1.2.3.4")
    window_index = models.BigIntegerField(help_text="Unix time // window length")
    count = models.PositiveIntegerField(default=0)
    expires_at = models.DateTimeField(db_index=True,
                                      help_text="after this the count no longer matters")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["key", "window_index"],
                                               name="one_count_per_key_and_window")]

    def __str__(self) -> str:
        return f"{self.key} #{self.window_index}: {self.count}"
