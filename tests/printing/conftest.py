import pytest

from tests.printing.previous_schema import PREVIOUS_SCHEMA, latest_schema, migrate_to


@pytest.fixture
def previous_schema():
    """The historical apps of the schema before the move; latest again afterwards."""
    try:
        yield migrate_to(PREVIOUS_SCHEMA)
    finally:
        migrate_to(latest_schema())
