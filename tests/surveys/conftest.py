from dataclasses import replace

import pytest
from litestar.testing import AsyncTestClient

from app.web import create_app
from surveys import services

# The HTTP tests of answering and voting run twice: with the fast path (app/fastpath.py) in front
# of the controllers, as in production, and with it switched off (TORI_FAST_PATH=0), so that the
# controllers' own success and refusal branches are tested too.
BOTH_PATHS = ("test_answering", "test_polls", "test_form_tokens", "test_kit")


def pytest_generate_tests(metafunc):
    if "client" in metafunc.fixturenames and metafunc.module.__name__.endswith(BOTH_PATHS):
        metafunc.parametrize(
            "fast_path", [True, False], ids=["fast-path", "controller"], indirect=True
        )


@pytest.fixture
def fast_path(request) -> bool:
    return getattr(request, "param", True)


@pytest.fixture(scope="session")
def app_without_fast_path(settings):
    return create_app(replace(settings, fast_path=False))


@pytest.fixture
async def client(app, app_without_fast_path, db, fast_path):
    chosen = app if fast_path else app_without_fast_path
    async with AsyncTestClient(app=chosen, base_url="http://testserver.local") as test_client:
        # Like a test of a browser's view: see each 303 rather than where it leads.
        test_client.follow_redirects = False
        yield test_client


@pytest.fixture(autouse=True)
def fresh_area_options():
    """Each test makes its own areas; the per-process cache of them must not outlive a test."""
    services.forget_cached_areas()
    yield
    services.forget_cached_areas()


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
