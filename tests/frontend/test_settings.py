"""Database settings come from DATABASE_URL when it is set."""

import pytest
from django.core.exceptions import ImproperlyConfigured

from frontend.settings import database_settings


def test_database_url_is_used(monkeypatch):
    monkeypatch.setenv("DATABASE_URL", "postgres://shop:secret@db.internal:6543/catalog")

    config = database_settings()

    assert (config["HOST"], config["PORT"], config["NAME"], config["USER"]) == (
        "db.internal", 6543, "catalog", "shop")
    assert config["CONN_HEALTH_CHECKS"] is True


def test_database_url_must_be_postgres(monkeypatch):
    monkeypatch.setenv("DATABASE_URL", "sqlite:///shop.db")

    with pytest.raises(ImproperlyConfigured, match="PostgreSQL"):
        database_settings()
