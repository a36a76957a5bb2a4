"""Production settings pass Django's deployment checks; the API is rate limited."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.cache import cache
from rest_framework.throttling import ScopedRateThrottle

ROOT = Path(__file__).resolve().parents[2]


def test_check_deploy_is_clean_in_production_mode():
    env = dict(os.environ, DEBUG="false", ALLOWED_HOSTS="shop.example.com",
               SECRET_KEY="k3y-" + "x7Qz9!pL2@vR5#" * 5,
               # Settings only; the check never connects to this server.
               DATABASE_URL="postgres://shop:secret@db.invalid:5432/shop")
    result = subprocess.run([sys.executable, "manage.py", "check", "--deploy",
                             "--fail-level", "WARNING"], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_production_refuses_to_start_without_a_secret_key():
    env = {k: v for k, v in os.environ.items() if k != "SECRET_KEY"}
    env.update(DEBUG="false", DATABASE_URL="postgres://shop:secret@db.invalid:5432/shop")
    result = subprocess.run([sys.executable, "manage.py", "check"], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode != 0
    assert "SECRET_KEY must be set" in result.stderr


@pytest.mark.django_db
def test_search_endpoints_are_rate_limited(client, monkeypatch):
    cache.clear()
    monkeypatch.setattr(ScopedRateThrottle, "THROTTLE_RATES",
                        {"search": "2/min", "look": "1/min", "events": "2/min"})

    statuses = [client.get("/api/products/NOPE/similar").status_code for _ in range(3)]

    assert statuses == [404, 404, 429]
    error = client.get("/api/products/NOPE/similar").json()["error"]
    assert error["code"] == "throttled"
