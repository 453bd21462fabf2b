"""The demo's last step: the demo issue's print list in var/print/ and its totals."""

import io

import pytest

from newsletter.models import Issue
from tests.print_scenario import print_scenario_make
from worker.management.commands.demo import Command as DemoCommand

pytestmark = pytest.mark.django_db


def test_it_exports_the_demo_issue_in_every_format_and_prints_the_totals(settings, tmp_path):
    settings.VAR_DIR = tmp_path
    print_scenario_make()
    output = io.StringIO()

    DemoCommand(stdout=output, stderr=io.StringIO())._print_list_export(
        Issue.objects.get(slug="2018-1")
    )

    assert sorted(path.name for path in (tmp_path / "print").iterdir()) == [
        "lansnytt-2018-1-tryck.csv",
        "lansnytt-2018-1-tryck.pdf",
        "lansnytt-2018-1-tryck.xlsx",
    ]
    assert "Totalt 23 ex. = 8 ex. till 4 mottagare + 15 ex. på 2 extrarader" in output.getvalue()
