import os

import pytest


@pytest.fixture(scope="session")
def artefacts_dir():
    """Where tests keep what a person should be able to look at afterwards (screenshots)."""
    from django.conf import settings

    path = settings.VAR_DIR / "test-artefacts"
    path.mkdir(parents=True, exist_ok=True)
    return path


def pytest_report_header(config):
    return f"DATABASE_URL={os.environ.get('DATABASE_URL', '(sqlite default)')}"


# The loopback SMTP server fixture, available to every test.
from tests.smtp import smtp_server  # noqa: E402, F401
