import os

import pytest


@pytest.fixture(scope="session")
def artefacts_dir():
    """Where tests keep what a person should be able to look at afterwards (screenshots)."""
    from django.conf import settings

    path = settings.VAR_DIR / "test-artefacts"
    path.mkdir(parents=True, exist_ok=True)
    return path


@pytest.fixture(autouse=True)
def _reference_data(request):
    """Every database test starts with the data the migrations load (regions, municipalities,
    role groups), even after a transactional test's flush has removed it."""
    names = request.fixturenames
    marker = request.node.get_closest_marker("django_db")
    if "transactional_db" in names or (marker and marker.kwargs.get("transaction")):
        request.getfixturevalue("transactional_db")
    elif "db" in names or marker is not None:
        request.getfixturevalue("db")
    else:
        return
    from tests.factories import reference_data_ensure

    reference_data_ensure()


def pytest_report_header(config):
    return f"DATABASE_URL={os.environ.get('DATABASE_URL', '(sqlite default)')}"


# Fixtures available to every test: the loopback SMTP server and the browser.
from tests.browsing import browser, page  # noqa: E402, F401
from tests.smtp import smtp_server  # noqa: E402, F401
from tests.webservers import http_servers, localhost_certificate  # noqa: E402, F401
