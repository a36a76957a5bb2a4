"""Fixtures shared by every test: isolated media storage and generated images."""

import os
from pathlib import Path

import hypothesis
import pytest
from hypothesis import HealthCheck

# Property tests: a quick "ci" run by default, thousands of cases with HYPOTHESIS_PROFILE=fuzz.
# Shared CPUs make timings noisy, so no per-example deadline; function-scoped fixtures (the
# database, media folders) are shared by a test's examples and each test resets what it uses.
hypothesis.settings.register_profile(
    "ci",
    max_examples=100,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
hypothesis.settings.register_profile(
    "fuzz", parent=hypothesis.settings.get_profile("ci"), max_examples=2000
)
hypothesis.settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


@pytest.fixture(autouse=True)
def media_root(tmp_path, settings) -> Path:
    """Store uploaded and imported files in a fresh folder per test."""
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


@pytest.fixture(autouse=True)
def experiments_cache():
    """Start every test without running experiments cached by an earlier one, whose rows
    its rollback removed without a signal."""
    from search.experiments import experiments_cache_clear

    experiments_cache_clear()
    yield
    experiments_cache_clear()


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
