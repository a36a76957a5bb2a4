"""Rate limits counted in PostgreSQL with one statement per request.

DRF's throttles keep each client's request times in the cache. With the default database
cache that is six round trips a request (a read, a count for culling, then a transaction
of a read and a write), about 5 ms of a 20 ms similar-items budget, and the cache culls
counters at random once it holds 300 keys, which forgives busy clients. Here one upsert
counts the request and returns the counts of this window and the one before; the limit
is checked against a sliding-window estimate (the previous window's count weighted by how
much of it still overlaps the last `duration` seconds), so a client cannot double its
rate across a window boundary. The counters work the same with any number of web
processes, since they live in the shared database.

Unlike DRF's throttles, refused requests count too: a client that keeps hammering stays
limited instead of getting every other request through.
"""

from datetime import UTC, datetime

from django.db import connections, router
from rest_framework.throttling import ScopedRateThrottle

from frontend.models import RequestCount

# Windows kept after they end, so the next window can still read the previous one.
KEPT_WINDOWS = 2

COUNT_SQL = """
WITH hit AS (
    INSERT INTO {table} (key, window_index, count, expires_at) VALUES (%s, %s, 1, %s)
    ON CONFLICT (key, window_index) DO UPDATE SET count = {table}.count + 1
    RETURNING count
)
SELECT hit.count,
       COALESCE((SELECT count FROM {table} WHERE key = %s AND window_index = %s), 0)
FROM hit
"""


def request_counts(key: str, *, window: int, duration: int) -> tuple[int, int]:
    """Count a request in `window`; return this window's count and the previous one's."""
    expires = moment(window + 1 + KEPT_WINDOWS, duration)
    using = router.db_for_write(RequestCount)
    with connections[using].cursor() as cursor:
        cursor.execute(COUNT_SQL.format(table=RequestCount._meta.db_table),
                       [key, window, expires, key, window - 1])
        current, previous = cursor.fetchone()
        if current == 1:
            # A client's first request in a window: a cheap moment to forget old windows.
            RequestCount.objects.using(using).filter(
                expires_at__lt=moment(window, duration)).delete()
    return current, previous


def moment(window: int, duration: int) -> datetime:
    """Return the start of a window, in the throttle's clock (Unix time)."""
    return datetime.fromtimestamp(window * duration, tz=UTC)


class SharedRateThrottle(ScopedRateThrottle):
    """`ScopedRateThrottle` (rates per view scope, per client address or user), counted in
    the database by `request_counts` instead of the cache."""

    def allow_request(self, request, view) -> bool:
        self.scope = getattr(view, self.scope_attr, None)
        if not self.scope:
            return True
        self.rate = self.get_rate()
        self.num_requests, self.duration = self.parse_rate(self.rate)
        self.key = self.get_cache_key(request, view)
        if self.key is None:
            return True
        self.now = self.timer()
        window, elapsed = divmod(self.now, self.duration)
        current, previous = request_counts(self.key, window=int(window),
                                           duration=self.duration)
        self.overlap = 1.0 - elapsed / self.duration  # share of the previous window still in
        self.current, self.previous = current, previous
        return previous * self.overlap + current <= self.num_requests

    def wait(self) -> float:
        """Seconds until the estimate falls back under the limit, if no more requests come."""
        excess = self.previous * self.overlap + self.current - self.num_requests
        if excess <= 0:
            return 0.0
        if self.current > self.num_requests or self.previous == 0:
            return self.duration * self.overlap  # this window alone is over: until it ends
        # Otherwise the previous window's share fades by `previous` per window length.
        return excess / self.previous * self.duration
