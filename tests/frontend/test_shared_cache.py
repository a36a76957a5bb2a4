"""The cache every web process shares: a database table by default, Redis with CACHE_URL."""

import pytest
from django.core.cache import caches
from django.core.cache.backends.redis import RedisCache
from django.core.exceptions import ImproperlyConfigured

from frontend.settings import cache_settings
from search.worker_processes import redis_start


def test_default_cache_is_the_database_table(monkeypatch):
    monkeypatch.delenv("CACHE_URL", raising=False)

    assert cache_settings()["LOCATION"] == "django_cache"


def test_cache_url_must_be_redis(monkeypatch):
    monkeypatch.setenv("CACHE_URL", "memcached://cache:11211")

    with pytest.raises(ImproperlyConfigured, match="redis"):
        cache_settings()


def test_redis_cache_is_shared_between_cache_clients(monkeypatch, settings):
    try:
        server, url = redis_start()
    except FileNotFoundError as exc:
        pytest.skip(str(exc))
    try:
        monkeypatch.setenv("CACHE_URL", url)
        settings.CACHES = {"default": cache_settings(), "other": cache_settings()}
        assert isinstance(caches["default"], RedisCache)

        caches["default"].set("throttle_search_10.0.0.1", [1.0, 2.0], 60)

        # A second client stands for another web process: it sees the same counters.
        assert caches["other"].get("throttle_search_10.0.0.1") == [1.0, 2.0]
    finally:
        server.terminate()
        server.wait(10)

