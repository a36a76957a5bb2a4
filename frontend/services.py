"""Site set-up shared by commands: the demo admin account."""

import secrets
from pathlib import Path

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractUser


def admin_password_load(*, path: Path) -> str:
    """Return the demo admin password kept in `path`, creating a random one the first time."""
    if path.exists():
        return path.read_text().strip()
    password = secrets.token_urlsafe(12)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch(mode=0o600)
    path.write_text(password + "\n")
    return password


def admin_user_ensure(*, username: str, password: str) -> AbstractUser:
    """Create or update a superuser with exactly this username and password."""
    user, _ = get_user_model().objects.get_or_create(username=username)
    user.is_staff = user.is_superuser = user.is_active = True
    user.set_password(password)
    user.save()
    return user
