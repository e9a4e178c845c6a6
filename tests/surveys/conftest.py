import pytest

from surveys import services


@pytest.fixture(autouse=True)
def fresh_area_options():
    """Each test makes its own areas; the per-process cache of them must not outlive a test."""
    services.forget_cached_areas()
    yield
    services.forget_cached_areas()


@pytest.fixture(autouse=True)
def fresh_parsed_versions():
    """Each test's database numbers its questionnaire versions from 1 again, and a test may
    publish a version of its own: the per-process cache of parsed versions must not outlive it."""
    services.forget_parsed_definitions()
    yield
    services.forget_parsed_definitions()


@pytest.fixture(autouse=True)
def fresh_poll_cache():
    """Polls are cached per process by slug; a test's polls must not be seen by the next."""
    from surveys.polls import services as poll_services

    poll_services.forget_cached_polls()
    yield
    poll_services.forget_cached_polls()


@pytest.fixture(autouse=True)
def no_folding_by_chance(monkeypatch):
    """Answering folds the pending counts now and then, by chance; tests that read the pending
    rows must not depend on the dice (the folding has tests of its own)."""
    monkeypatch.setattr(services, "FOLD_CHANCE", 0.0)
