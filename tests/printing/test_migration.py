"""Moving the print models from subscribers to printing keeps every row, content type and log
entry, also over a stale content type and on the way back.

The database is left fully migrated whatever happens (the previous_schema fixture, or a
finally), so the tests after these are unaffected.
"""

import pytest
from django.apps import apps as global_apps
from django.contrib.admin.models import LogEntry
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.contrib.contenttypes.models import ContentType

from newsletter.models import Issue
from printing.models import PrintExtraLine, PrintRun, PrintRunLine
from printing.runs import print_list_for_export, print_run_finalise
from tests.print_scenario import print_scenario_make
from tests.printing.previous_schema import (
    PREVIOUS_SCHEMA,
    PRINT_MODELS,
    latest_schema,
    migrate_to,
    previous_print_data_make,
    rights,
)

pytestmark = pytest.mark.django_db(transaction=True)


def test_it_keeps_print_runs_when_migrating_from_the_previous_schema(previous_schema):
    before = previous_print_data_make(previous_schema)

    migrate_to(latest_schema())

    assert list(PrintRun.objects.order_by("id").values()) == before["runs"]
    assert list(PrintRunLine.objects.order_by("id").values()) == before["lines"]
    assert list(PrintExtraLine.objects.order_by("id").values()) == before["extra_lines"]
    in_force = print_list_for_export(issue=Issue.objects.get(slug="2018-1"))
    assert (in_force.run.pk, in_force.total_copies) == (before["run"], 15)
    assert [line.recipient_key for line in in_force.to_fix] == ["sub:13"]
    assert in_force.run.finalised_by.username == "distribution"
    # New rows go on in the same tables, after the old ones.
    issue = Issue.objects.get(slug="2018-1")
    added = PrintExtraLine.objects.create(issue=issue, label="Biblioteksdagarna", copies=20)
    assert added.pk > max(row["id"] for row in before["extra_lines"])


def test_it_moves_the_content_types_so_the_admin_log_keeps_working(previous_schema):
    before = previous_print_data_make(previous_schema)

    migrate_to(latest_schema())

    assert (
        set(
            ContentType.objects.filter(app_label="printing", model__in=PRINT_MODELS).values_list(
                "pk", "model"
            )
        )
        == before["content_types"]
    )
    assert not ContentType.objects.filter(app_label="subscribers", model__in=PRINT_MODELS).exists()
    entry = LogEntry.objects.get(pk=before["log_entry"])
    assert entry.get_edited_object() == PrintExtraLine.objects.get(pk=before["fair"])
    assert entry.get_admin_url() == f"/admin/printing/printextraline/{before['fair']}/change/"


def test_it_merges_a_stale_printing_content_type_instead_of_failing_on_it(previous_schema):
    OldContentType = previous_schema.get_model("contenttypes", "ContentType")
    OldPermission = previous_schema.get_model("auth", "Permission")
    OldUser = previous_schema.get_model("accounts", "User")
    OldLogEntry = previous_schema.get_model("admin", "LogEntry")
    moving = OldContentType.objects.get(app_label="subscribers", model="printrun")
    export = OldPermission.objects.get(content_type=moving, codename="export_print")
    # What post_migrate leaves behind when it ran between printing 0001 and 0002: printing's
    # own content type and permissions next to the old ones, already handed out.
    stale = OldContentType.objects.create(app_label="printing", model="printrun")
    stale_export = OldPermission.objects.create(
        content_type=stale, codename="export_print", name="Kan se och exportera tryckfördelning"
    )
    stale_only = OldPermission.objects.create(
        content_type=stale, codename="archive_printrun", name="Kan arkivera tryckupplaga"
    )
    printers = previous_schema.get_model("auth", "Group").objects.create(name="Tryckeriet")
    printers.permissions.add(stale_export)
    printer = OldUser.objects.create(username="tryckare", password="!", is_staff=True)
    printer.user_permissions.add(stale_export, stale_only)
    entry = OldLogEntry.objects.create(
        user=printer,
        content_type=stale,
        object_id="1",
        object_repr="Länsnytt 2018:1 – 2018-02-01 10:30",
        action_flag=2,
        change_message="[]",
    )

    migrate_to(latest_schema())

    assert list(ContentType.objects.filter(model="printrun").values_list("pk", "app_label")) == [
        (moving.pk, "printing")
    ]
    assert Group.objects.get(name="Tryckeriet").permissions.get().pk == export.pk
    assert Permission.objects.get(codename="archive_printrun").content_type_id == moving.pk
    assert not Permission.objects.filter(pk=stale_export.pk).exists()
    printer = get_user_model().objects.get(username="tryckare")
    assert printer.has_perm("printing.export_print")
    assert printer.has_perm("printing.archive_printrun")
    assert LogEntry.objects.get(pk=entry.pk).content_type_id == moving.pk


def test_it_gives_the_content_types_back_to_subscribers_when_migrating_backwards():
    scenario = print_scenario_make()
    run = print_run_finalise(issue=scenario["issue"], allow_incomplete=True)
    content_types = set(
        ContentType.objects.filter(app_label="printing", model__in=PRINT_MODELS).values_list(
            "pk", "model"
        )
    )
    rights_before = rights(global_apps)
    lines = list(PrintRunLine.objects.filter(run=run).order_by("id").values())
    try:
        apps = migrate_to(PREVIOUS_SCHEMA)

        old_content_types = apps.get_model("contenttypes", "ContentType").objects
        assert (
            set(
                old_content_types.filter(
                    app_label="subscribers", model__in=PRINT_MODELS
                ).values_list("pk", "model")
            )
            == content_types
        )
        assert not old_content_types.filter(app_label="printing").exists()
        assert rights(apps) == rights_before
        old_lines = apps.get_model("subscribers", "PrintRunLine").objects
        assert list(old_lines.filter(run_id=run.pk).order_by("id").values()) == lines
    finally:
        migrate_to(latest_schema())

    assert (
        set(
            ContentType.objects.filter(app_label="printing", model__in=PRINT_MODELS).values_list(
                "pk", "model"
            )
        )
        == content_types
    )
    assert rights(global_apps) == rights_before
    assert list(PrintRunLine.objects.filter(run=run).order_by("id").values()) == lines
