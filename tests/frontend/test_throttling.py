"""Rate limits: one upsert per request, a sliding window, exact under concurrency."""

from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connections
from rest_framework.throttling import ScopedRateThrottle

from frontend.models import RequestCount
from frontend.throttling import SharedRateThrottle, request_counts


@pytest.fixture
def clock(monkeypatch):
    now = [600.0]  # the start of a one-minute window
    monkeypatch.setattr(SharedRateThrottle, "timer", staticmethod(lambda: now[0]))
    monkeypatch.setattr(ScopedRateThrottle, "THROTTLE_RATES", {"search": "10/min"})
    return now


def statuses(client, count: int) -> list[int]:
    return [client.get("/api/products/NOPE/similar").status_code for _ in range(count)]


@pytest.mark.django_db
def test_limit_per_window_with_retry_after(client, clock):
    assert statuses(client, 10) == [404] * 10
    refused = client.get("/api/products/NOPE/similar")
    assert refused.status_code == 429
    assert refused.json()["error"]["code"] == "throttled"
    assert refused["Retry-After"] == "60"


@pytest.mark.django_db
def test_no_double_rate_across_a_window_boundary(client, clock):
    """A fixed window would allow 10 requests at 0:59 and 10 more at 1:01."""
    clock[0] += 59
    assert statuses(client, 10) == [404] * 10
    clock[0] += 2
    assert statuses(client, 1) == [429]
    clock[0] += 30  # half the previous window has slid out: about 5 requests fit again
    assert statuses(client, 5) == [404, 404, 404, 404, 429]


@pytest.mark.django_db
def test_each_client_address_has_its_own_count(client, clock):
    assert statuses(client, 11)[-1] == 429
    other = client.get("/api/products/NOPE/similar", REMOTE_ADDR="10.0.0.2")
    assert other.status_code == 404


@pytest.mark.django_db
def test_counters_of_ended_windows_are_forgotten():
    request_counts("throttle_search_10.0.0.1", window=1, duration=60)
    request_counts("throttle_search_10.0.0.2", window=2, duration=60)
    assert RequestCount.objects.count() == 2  # still needed by windows 2 and 3

    request_counts("throttle_search_10.0.0.1", window=10_000_000_000 // 60, duration=60)

    assert list(RequestCount.objects.values_list("key", flat=True)) == [
        "throttle_search_10.0.0.1"]


@pytest.mark.django_db(transaction=True)
def test_concurrent_requests_are_each_counted_once():
    def count(_):
        try:
            return request_counts("throttle_look_10.0.0.9", window=42, duration=60)[0]
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=8) as pool:
        counts = list(pool.map(count, range(40)))

    assert sorted(counts) == list(range(1, 41))
