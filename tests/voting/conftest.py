from dataclasses import replace

import pytest
from litestar.testing import AsyncTestClient

from app.web import create_app

# The HTTP tests of casting run twice: with the fast path (app/fastpath.py, voting/casting.py) in
# front of the controller, as in production, and with it switched off (TORI_FAST_PATH=0), so
# that the controller's own branches are tested too.
BOTH_PATHS = ("test_pb_voting",)


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
