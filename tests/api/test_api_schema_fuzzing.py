"""schemathesis against the API's own OpenAPI description, over real HTTP: no 5xx and no
answer that breaks the schema, for the public endpoints and, with a token, the staff ones."""

import pytest
import schemathesis
from django.core.cache import cache
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from accounts.api_tokens import api_token_create
from accounts.roles import ADMINISTRATORS
from tests.factories import (
    article_make,
    issue_make,
    segment_make,
    staff_user_make,
    subscriber_make,
)

pytestmark = pytest.mark.django_db(transaction=True)

# What the API promises: never a server error, and every answer as its description says
# (status code, content type, body). Not "every schema-valid request is accepted": a record
# with a well-formed but impossible address is valid JSON and still refused, by the import's
# rules, with the 422 the description documents.
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
EXAMPLES = 25  # per operation: enough to find crashes, bounded to keep make test quick


@pytest.fixture
def api_schema(live_server, settings):
    settings.API_TOKEN_RATE = settings.API_ANONYMOUS_RATE = "100000/m"
    cache.clear()
    issue = issue_make(year=2018, number=1, status="published", publication_date="2018-03-15")
    article_make(issue=issue, heading="Bokstart når fler familjer")
    segment = segment_make(slug="folkbibliotek")
    subscriber_make(email="anna@bibliotek.example").segments.add(segment)
    return schemathesis.openapi.from_url(f"{live_server.url}/api/v1/openapi.json")


@pytest.fixture
def staff_token():
    user = staff_user_make(username="integration", groups=[ADMINISTRATORS])
    _, plain = api_token_create(
        user=user,
        name="fuzz",
        scopes=["subscribers:read", "subscribers:write", "dispatches:read"],
        actor=user,
    )
    return plain


def test_the_api_keeps_its_schema_under_fuzzing(api_schema, staff_token):
    # Each operation gets its own bounded Hypothesis run; the Django test database is live
    # for the whole test, so the examples can hit data that exists as well as data that
    # does not.
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert len(operations) >= 9
    headers = {"Authorization": f"Bearer {staff_token}"}
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def exercise(case):
            case.call_and_validate(headers=headers, checks=CHECKS)

        exercise()
