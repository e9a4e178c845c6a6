import pytest

from surveys import services


@pytest.fixture(autouse=True)
def fresh_area_options():
    """Each test makes its own areas; the per-process cache of them must not outlive a test."""
    services.forget_cached_areas()
    yield
    services.forget_cached_areas()
