"""Fixtures shared by every test: isolated media storage and generated images."""

import os
from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def media_root(tmp_path, settings) -> Path:
    """Store uploaded and imported files in a fresh folder per test."""
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


@pytest.fixture
def fashion_data() -> Path:
    """Return the shared datasets folder, skipping the test when FASHION_DATA is unset."""
    value = os.environ.get("FASHION_DATA")
    if not value:
        pytest.skip("FASHION_DATA is not set")
    path = Path(value)
    if not path.is_dir():
        pytest.fail(f"FASHION_DATA={value} is not a folder")
    return path
