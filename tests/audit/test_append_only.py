"""Nobody can change or delete an audit entry: not through the model, the queryset, raw SQL or
the admin; administrators read, filter and export it, and the export is safe to open."""

import csv
import io

import pytest
from django.contrib.admin import helpers
from django.db import connection, transaction
from django.db.utils import DatabaseError
from django.urls import reverse

from accounts.roles import ADMINISTRATORS, DISTRIBUTION_STAFF, EDITORS, role_groups_sync
from audit.models import AppendOnlyError, AuditAction, AuditEntry
from audit.services import audit_record
from tests.audit.trail import the_entry
from tests.factories import staff_user_make

pytestmark = pytest.mark.django_db

CHANGELIST = "admin:audit_auditentry_changelist"


@pytest.fixture
def entry() -> AuditEntry:
    return audit_record(
        action=AuditAction.SUPPRESSION_ADD,
        object_type="subscribers.suppression",
        object_id=7,
        label='=HYPERLINK("http://angripare.example/","klicka")',
        detail={"reason": "@SUM(1+1)"},
    )


@pytest.fixture
def administrator(client):
    role_groups_sync()
    user = staff_user_make(username="admin.anna", groups=[ADMINISTRATORS])
    client.force_login(user)
    return user


def test_it_refuses_to_save_a_changed_entry(entry):
    entry.object_label = "något annat"
    with pytest.raises(AppendOnlyError):
        entry.save()
    assert AuditEntry.objects.get(pk=entry.pk).object_label.startswith("=HYPERLINK")


def test_it_refuses_to_delete_an_entry(entry):
    with pytest.raises(AppendOnlyError):
        entry.delete()
    assert AuditEntry.objects.filter(pk=entry.pk).exists()


def test_it_refuses_queryset_updates_and_deletes(entry):
    with pytest.raises(AppendOnlyError):
        AuditEntry.objects.filter(pk=entry.pk).update(actor_label="någon annan")
    with pytest.raises(AppendOnlyError):
        AuditEntry.objects.all().delete()
    entry.object_label = "x"
    # bulk_update runs without a savepoint of its own: give it one, as a caller would.
    with pytest.raises(AppendOnlyError), transaction.atomic():
        AuditEntry.objects.bulk_update([entry], ["object_label"])
    assert AuditEntry.objects.get(pk=entry.pk).actor_label == "systemet"


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE audit_auditentry SET actor_label = 'någon annan' WHERE id = %s",
        "DELETE FROM audit_auditentry WHERE id = %s",
    ],
)
def test_it_refuses_raw_sql_that_goes_around_the_model(entry, statement):
    with pytest.raises(DatabaseError, match="append-only"):
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(statement, [entry.pk])
    entry_now = AuditEntry.objects.get(pk=entry.pk)
    assert entry_now.actor_label == "systemet"


def test_it_shows_administrators_the_trail_with_filters(client, administrator, entry):
    response = client.get(reverse(CHANGELIST), {"action__exact": AuditAction.SUPPRESSION_ADD})

    assert response.status_code == 200
    assert list(response.context["cl"].result_list) == [entry]
    filters = {spec.title for spec in response.context["cl"].filter_specs}
    assert {"händelse", "aktör", "objekttyp", "tidpunkt"} <= {str(title) for title in filters}


def test_it_offers_no_way_to_add_change_or_delete_in_the_admin(client, administrator, entry):
    change_url = reverse("admin:audit_auditentry_change", args=[entry.pk])
    assert client.get(reverse("admin:audit_auditentry_add")).status_code == 403
    assert client.get(reverse("admin:audit_auditentry_delete", args=[entry.pk])).status_code == 403
    # The change page shows the entry read-only, and a forged POST changes nothing.
    assert client.get(change_url).status_code == 200
    forged = client.post(change_url, {"actor_label": "någon annan", "action": "login"})
    assert forged.status_code == 403
    bulk_delete = client.post(
        reverse(CHANGELIST),
        {"action": "delete_selected", helpers.ACTION_CHECKBOX_NAME: [entry.pk], "post": "yes"},
    )
    assert bulk_delete.status_code in (200, 302)
    assert AuditEntry.objects.get(pk=entry.pk).actor_label == "systemet"


@pytest.mark.parametrize("group", [EDITORS, DISTRIBUTION_STAFF])
def test_it_hides_the_trail_from_other_staff(client, group, entry):
    role_groups_sync()
    client.force_login(staff_user_make(username="personal", groups=[group]))

    assert client.get(reverse(CHANGELIST)).status_code == 403
    assert client.get(reverse("admin:audit_auditentry_change", args=[entry.pk])).status_code == 403


def test_it_exports_the_trail_as_csv_with_formulas_made_harmless(client, administrator, entry):
    response = client.post(
        reverse(CHANGELIST),
        {"action": "audit_entries_export_csv", helpers.ACTION_CHECKBOX_NAME: [entry.pk]},
    )

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    text = response.content.decode("utf-8")
    assert text.startswith("\ufeff")
    header, row = csv.reader(io.StringIO(text.lstrip("\ufeff")), delimiter=";")
    assert header[0] == "tidpunkt"
    assert row[7].startswith("'=HYPERLINK")
    assert not [cell for cell in row if cell[:1] in ("=", "+", "-", "@")]
    export = the_entry(AuditAction.AUDIT_EXPORT)
    assert export.actor_id == administrator.pk
    assert export.detail == {"rows": 1}
