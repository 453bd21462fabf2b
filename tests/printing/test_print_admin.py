"""Admin for print runs and extra lines: extra lines are editable, final runs are read-only."""

import pytest
from django.urls import reverse

from printing.models import PrintExtraLine
from printing.runs import print_run_finalise
from tests.factories import staff_user_make
from tests.print_scenario import print_scenario_make

pytestmark = pytest.mark.django_db


def test_it_lets_staff_add_an_extra_line_and_only_view_a_final_run(client):
    scenario = print_scenario_make()
    run = print_run_finalise(issue=scenario["issue"], allow_incomplete=True)
    client.force_login(staff_user_make(username="admin", is_superuser=True))

    response = client.post(
        reverse("admin:printing_printextraline_add"),
        {
            "issue": scenario["issue"].pk,
            "label": "Biblioteksdagarna",
            "copies": 20,
            "country": "Sverige",
            "street": "Mässvägen 1",
            "postal_code": "125 80",
            "city": "Stockholm",
        },
    )
    assert response.status_code == 302
    assert PrintExtraLine.objects.get(label="Biblioteksdagarna").copies == 20

    change_page = client.get(reverse("admin:printing_printrun_change", args=[run.pk]))
    assert change_page.status_code == 200
    assert b'name="_save"' not in change_page.content
    assert client.get(reverse("admin:printing_printrun_add")).status_code == 403
