"""Print runs: which lines exist, how many copies, frozen final runs and their diff."""

import pytest
from django.db.models import Sum

from printing.lists import print_list_diff
from printing.models import PrintExtraLine, PrintRun, PrintRunLine
from printing.runs import (
    PrintListIncomplete,
    print_list_draft,
    print_list_for_export,
    print_list_from_run,
    print_run_finalise,
)
from subscribers.models import Subscriber
from subscribers.selectors import UnknownSegment
from tests.factories import staff_user_make, subscriber_make
from tests.print_scenario import EVIL_NAME, TOTAL_COPIES, print_scenario_make

pytestmark = pytest.mark.django_db


@pytest.fixture
def scenario():
    return print_scenario_make()


def test_it_gives_organisations_one_line_and_personal_addresses_their_own(scenario):
    draft = print_list_draft(issue=scenario["issue"])

    assert [(line.recipient_key, line.copies) for line in draft.lines] == [
        (f"org:{scenario['evil'].pk}", 2),
        (f"sub:{scenario['politician'].pk}", 1),
        (f"org:{scenario['sundbyberg'].pk}", 4),
        (f"extra:{scenario['fair'].pk}", 10),
        (f"sub:{scenario['norwegian'].pk}", 1),
        (f"extra:{scenario['archive'].pk}", 5),
    ]
    assert [line.postal_code for line in draft.lines[:4]] == [
        "111 22",
        "118 20",
        "172 41",
        "412 94",
    ]


def test_it_lists_every_recipient_without_a_valid_address_to_fix(scenario):
    draft = print_list_draft(issue=scenario["issue"])

    problems = {line.recipient_key: line.problem for line in draft.to_fix}
    assert problems == {
        f"org:{scenario['broken'].pk}": "adress saknar postnummer",
        f"sub:{scenario['homeless'].pk}": "ingen egen adress och ingen organisation",
        f"sub:{scenario['wrong_code'].pk}": "ogiltigt postnummer: 012 34",
    }


def test_it_never_includes_protected_identities_or_inactive_people(scenario):
    draft = print_list_draft(issue=scenario["issue"])

    names = {line.name for line in [*draft.lines, *draft.to_fix]}
    assert "Skyddad Person" not in names
    assert not {name for name in names if name.startswith("Inaktiv")}
    assert draft.protected_excluded == 1


def test_it_makes_the_total_the_sum_of_recipient_and_extra_lines(scenario):
    draft = print_list_draft(issue=scenario["issue"])

    extra_copies = PrintExtraLine.objects.aggregate(total=Sum("copies"))["total"]
    assert draft.extra_copies == extra_copies == 15
    assert draft.recipient_copies == 8
    assert draft.total_copies == TOTAL_COPIES
    for dimension in ("kind", "municipality", "region"):
        assert sum(total.copies for total in draft.totals_by(dimension)) == TOTAL_COPIES


def test_it_totals_by_segment_kind_and_municipality(scenario):
    draft = print_list_draft(issue=scenario["issue"])

    by_segment = {total.label: total.copies for total in draft.totals_by("segment")}
    by_kind = {total.label: total.copies for total in draft.totals_by("kind")}
    by_municipality = {total.label: total.copies for total in draft.totals_by("municipality")}
    assert by_segment == {"(extra)": 15, "folkbibliotek": 4, "partner": 3, "politik": 1}
    assert by_kind == {
        "Extra": 15,
        "Folkbibliotek i länet": 4,
        "Regional politik": 1,
        "Samarbetspartner": 2,
        "Utan organisation": 1,
    }
    assert by_municipality == {"(okänd)": 16, "Stockholm": 3, "Sundbyberg": 4}


def test_it_limits_recipients_to_the_chosen_segments_but_keeps_extra_lines(scenario):
    draft = print_list_draft(issue=scenario["issue"], segment_slugs=["folkbibliotek"])

    assert {line.recipient_key for line in draft.recipient_lines} == {
        f"org:{scenario['sundbyberg'].pk}"
    }
    assert {line.recipient_key for line in draft.to_fix} == {f"org:{scenario['broken'].pk}"}
    assert draft.total_copies == 4 + 15


def test_it_refuses_an_unknown_segment(scenario):
    with pytest.raises(UnknownSegment, match="finns-inte"):
        print_list_draft(issue=scenario["issue"], segment_slugs=["finns-inte"])


def test_it_refuses_to_finalise_an_incomplete_list_unless_told_to(scenario):
    with pytest.raises(PrintListIncomplete):
        print_run_finalise(issue=scenario["issue"])
    assert not PrintRun.objects.exists()

    run = print_run_finalise(issue=scenario["issue"], allow_incomplete=True)
    assert run.total_copies == TOTAL_COPIES
    assert run.lines.filter(problem="").count() == 6
    assert run.lines.exclude(problem="").count() == 3


def test_a_frozen_run_does_not_change_when_a_subscriber_changes(scenario):
    user = staff_user_make(username="distribution")
    run = print_run_finalise(issue=scenario["issue"], user=user, allow_incomplete=True)
    frozen_before = list(PrintRunLine.objects.filter(run=run).values().order_by("id"))

    politician = scenario["politician"]
    politician.print_copies = 3
    politician.save()
    scenario["sundbyberg"].street = "Ny gata 2"
    scenario["sundbyberg"].save()
    Subscriber.objects.filter(pk=scenario["norwegian"].pk).update(status="unsubscribed")

    assert list(PrintRunLine.objects.filter(run=run).values().order_by("id")) == frozen_before
    final = print_list_for_export(issue=scenario["issue"])
    assert final.is_final and final.run == run and final.total_copies == TOTAL_COPIES
    assert final.run.finalised_by == user


def test_the_diff_against_a_new_draft_shows_exactly_the_change(scenario):
    run = print_run_finalise(issue=scenario["issue"], allow_incomplete=True)
    final = print_list_from_run(run)
    assert print_list_diff(before=final, after=print_list_draft(issue=scenario["issue"])).is_empty

    politician = scenario["politician"]
    politician.print_copies = 3
    politician.save()
    diff = print_list_diff(before=final, after=print_list_draft(issue=scenario["issue"]))

    assert diff.added == [] and diff.removed == []
    assert [(c.after.recipient_key, c.changed_fields) for c in diff.changed] == [
        (f"sub:{politician.pk}", ["copies"])
    ]
    assert diff.copies_delta == 2


def test_the_diff_shows_added_and_removed_recipients(scenario):
    final = print_list_from_run(print_run_finalise(issue=scenario["issue"], allow_incomplete=True))
    newcomer = subscriber_make(
        name="Ny Läsare",
        channel="print",
        street="Vägen 3",
        postal_code="191 40",
        city="Sollentuna",
    )
    Subscriber.objects.filter(pk=scenario["norwegian"].pk).update(status="unsubscribed")

    diff = print_list_diff(before=final, after=print_list_draft(issue=scenario["issue"]))

    assert [line.recipient_key for line in diff.added] == [f"sub:{newcomer.pk}"]
    assert [line.recipient_key for line in diff.removed] == [f"sub:{scenario['norwegian'].pk}"]
    assert diff.changed == []


def test_the_newest_final_run_is_the_one_in_force(scenario):
    print_run_finalise(issue=scenario["issue"], allow_incomplete=True)
    scenario["evil"].print_copies = 9
    scenario["evil"].save()
    newer = print_run_finalise(issue=scenario["issue"], allow_incomplete=True)

    in_force = print_list_for_export(issue=scenario["issue"])
    assert in_force.run == newer
    assert next(line for line in in_force.lines if line.organisation == EVIL_NAME).copies == 9
