"""Moving the print models to printing leaves every group and user with the rights they had,
on a database from before the move and on a fresh one."""

import json
import subprocess
from pathlib import Path

import pytest
from django.apps import apps as global_apps
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission

from accounts.roles import ADMINISTRATORS, DISTRIBUTION_STAFF, EDITORS, role_groups_sync
from tests.commands import embedded_default_env, manage_run
from tests.printing.previous_schema import (
    PRINT_MODELS,
    ROLE_GROUPS,
    holds,
    latest_schema,
    migrate_to,
    previous_print_data_make,
    previous_rights_give,
    rights,
    user_rights,
)

pytestmark = pytest.mark.django_db(transaction=True)

ROOT = Path(__file__).resolve().parent.parent.parent


def test_it_keeps_every_groups_and_users_rights_when_migrating_from_the_previous_schema(
    previous_schema,
):
    previous_rights_give(previous_schema)
    previous_print_data_make(previous_schema)
    rights_before = rights(previous_schema)
    user_rights_before = user_rights(previous_schema)

    migrate_to(latest_schema())

    assert rights(global_apps) == rights_before
    assert user_rights(global_apps) == user_rights_before
    for dotted in (
        "printing.export_print",
        "printing.add_printrun",
        "printing.view_printrun",
        "printing.view_printrunline",
        "printing.add_printextraline",
        "printing.change_printextraline",
    ):
        assert holds(DISTRIBUTION_STAFF, dotted), dotted
        assert holds(ADMINISTRATORS, dotted), dotted
    assert holds("Tryckeriet", "printing.export_print")
    assert not holds(EDITORS, "printing.export_print")
    assert not Permission.objects.filter(
        content_type__app_label="subscribers", content_type__model__in=PRINT_MODELS
    ).exists()
    User = get_user_model()
    assert User.objects.get(username="distribution").has_perm("printing.export_print")
    assert User.objects.get(username="distribution").has_perm("printing.add_printrun")
    assert User.objects.get(username="tryckare").has_perm("printing.export_print")
    assert not User.objects.get(username="tryckare").has_perm("subscribers.export_print")
    # What post_migrate runs after every migrate finds nothing to add or take away.
    role_groups_sync()
    assert rights(global_apps) == rights_before


def test_it_gives_the_role_groups_the_same_rights_on_a_fresh_migrate(previous_schema, tmp_path):
    previous_rights_give(previous_schema)
    rights_before = rights(previous_schema)
    environment = embedded_default_env(tmp_path)

    def manage(*args: str) -> subprocess.CompletedProcess:
        result = manage_run(*args, env=environment, timeout=300)
        assert result.returncode == 0, result.stderr
        return result

    manage("migrate", "--noinput")
    dumped = manage(
        "shell",
        "-c",
        "import json; from django.contrib.auth.models import Group; print(json.dumps({"
        "group.name: sorted(group.permissions.values_list("
        "'content_type__app_label', 'content_type__model', 'codename'))"
        " for group in Group.objects.all()}))",
    )
    fresh = json.loads(dumped.stdout.strip().splitlines()[-1])

    assert sorted(fresh) == sorted(ROLE_GROUPS)
    for name in ROLE_GROUPS:
        assert {(model, codename) for _label, model, codename in fresh[name]} == rights_before[
            name
        ], name
        assert {label for label, model, _codename in fresh[name] if model in PRINT_MODELS} <= {
            "printing"
        }
    assert ["printing", "printrun", "export_print"] in fresh[DISTRIBUTION_STAFF]
    assert ["printing", "printrun", "export_print"] in fresh[ADMINISTRATORS]
