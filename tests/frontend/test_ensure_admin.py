"""The demo's admin account: created once, password kept, sign-in link at the served port."""

import io
import stat

import pytest
from django.contrib.auth import authenticate, get_user_model
from django.core.management import call_command

pytestmark = pytest.mark.django_db


def ensure_admin(*arguments: str) -> str:
    out = io.StringIO()
    call_command("ensure_admin", *arguments, stdout=out)
    return out.getvalue()


def test_admin_is_created_once_with_a_kept_private_password(settings, tmp_path, monkeypatch):
    monkeypatch.delenv("ADMIN_USERNAME", raising=False)
    monkeypatch.delenv("ADMIN_PASSWORD", raising=False)
    settings.DATA_DIR = tmp_path

    first = ensure_admin("--site-url", "http://127.0.0.1:8013")
    second = ensure_admin()

    password_file = tmp_path / "admin-password.txt"
    password = password_file.read_text().strip()
    assert stat.S_IMODE(password_file.stat().st_mode) == 0o600
    assert "http://127.0.0.1:8013/admin/" in first
    assert "http://127.0.0.1:8000/admin/" in second
    assert repr(password) in first
    assert repr(password) in second
    assert get_user_model().objects.filter(username="admin").count() == 1
    user = authenticate(username="admin", password=password)
    assert user is not None
    assert user.is_staff
    assert user.is_superuser


def test_environment_sets_the_account(settings, tmp_path, monkeypatch):
    monkeypatch.setenv("ADMIN_USERNAME", "curator")
    monkeypatch.setenv("ADMIN_PASSWORD", "s3cret-from-env")
    settings.DATA_DIR = tmp_path

    ensure_admin()

    assert authenticate(username="curator", password="s3cret-from-env") is not None
    assert not (tmp_path / "admin-password.txt").exists()
