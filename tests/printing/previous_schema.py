"""The schema before print runs moved to printing, and how to get there and back.

Shared by the migration tests: they migrate the test database back to the schema before the
move (subscribers 0004, nothing of printing), fill it the way that schema held print data, with
the historical models of the executor's state, and migrate forward to the latest schema again.
"""

import datetime

from django.contrib.auth.models import Permission
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from accounts.roles import ADMINISTRATORS, DISTRIBUTION_STAFF, EDITORS

PREVIOUS_SCHEMA = [
    ("subscribers", "0004_merge_0003_print_runs_0003_self_service"),
    ("printing", None),
]
PRINT_MODELS = ("printrun", "printrunline", "printextraline")
ROLE_GROUPS = (EDITORS, DISTRIBUTION_STAFF, ADMINISTRATORS)
# The role groups' print rights before the move (accounts/roles.py of then), written out here
# instead of read from the code under test. Administrators held every permission ("*").
PREVIOUS_PRINT_RIGHTS = {
    EDITORS: [],
    DISTRIBUTION_STAFF: [
        "subscribers.add_printrun",
        "subscribers.change_printrun",
        "subscribers.delete_printrun",
        "subscribers.view_printrun",
        "subscribers.view_printrunline",
        "subscribers.add_printextraline",
        "subscribers.change_printextraline",
        "subscribers.delete_printextraline",
        "subscribers.view_printextraline",
        "subscribers.export_print",
    ],
}
FINALISED_AT = datetime.datetime(2018, 2, 1, 9, 30, tzinfo=datetime.UTC)


def migrate_to(targets):
    """Migrate the test database to targets and return the historical apps it is then at."""
    MigrationExecutor(connection).migrate(targets)
    # The rename happened behind the back of this process's content type cache.
    ContentType.objects.clear_cache()
    loader = MigrationExecutor(connection).loader
    applied = [key for key in loader.applied_migrations if key in loader.graph.nodes]
    return loader.project_state(applied, at_end=True).apps


def latest_schema() -> list[tuple[str, str]]:
    return MigrationExecutor(connection).loader.graph.leaf_nodes()


def rights(apps) -> dict[str, set[tuple[str, str]]]:
    """Every group's permissions as (model, codename), whichever app the model is in."""
    return {
        group.name: set(group.permissions.values_list("content_type__model", "codename"))
        for group in apps.get_model("auth", "Group").objects.all()
    }


def user_rights(apps) -> dict[str, set[tuple[str, str]]]:
    """The permissions given to each user directly, as (model, codename)."""
    return {
        user.username: set(user.user_permissions.values_list("content_type__model", "codename"))
        for user in apps.get_model("accounts", "User").objects.all()
    }


def holds(group_name: str, dotted: str) -> bool:
    app_label, codename = dotted.split(".")
    return Permission.objects.filter(
        group__name=group_name, content_type__app_label=app_label, codename=codename
    ).exists()


def previous_rights_give(apps) -> None:
    """Hand out the print permissions as the schema before the move did."""
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    print_permissions = list(
        Permission.objects.filter(
            content_type__app_label="subscribers", content_type__model__in=PRINT_MODELS
        )
    )
    assert len(print_permissions) == 13
    for name in ROLE_GROUPS:
        Group.objects.get(name=name).permissions.remove(*print_permissions)
    for name, wanted in PREVIOUS_PRINT_RIGHTS.items():
        group = Group.objects.get(name=name)
        for dotted in wanted:
            app_label, codename = dotted.split(".")
            group.permissions.add(
                Permission.objects.get(content_type__app_label=app_label, codename=codename)
            )
    Group.objects.get(name=ADMINISTRATORS).permissions.add(*print_permissions)


def previous_print_data_make(apps) -> dict:
    """An issue with a final run, its lines, two extra lines, staff and an admin log entry."""
    ContentType = apps.get_model("contenttypes", "ContentType")
    Permission = apps.get_model("auth", "Permission")
    Group = apps.get_model("auth", "Group")
    User = apps.get_model("accounts", "User")
    LogEntry = apps.get_model("admin", "LogEntry")
    Issue = apps.get_model("newsletter", "Issue")
    PrintRun = apps.get_model("subscribers", "PrintRun")
    PrintRunLine = apps.get_model("subscribers", "PrintRunLine")
    PrintExtraLine = apps.get_model("subscribers", "PrintExtraLine")

    distribution = User.objects.create(username="distribution", password="!", is_staff=True)
    distribution.groups.add(Group.objects.get(name=DISTRIBUTION_STAFF))
    # Rights given by hand, outside the role groups, must come along too.
    printer = User.objects.create(username="tryckare", password="!", is_staff=True)
    printer.user_permissions.add(
        Permission.objects.get(content_type__app_label="subscribers", codename="export_print")
    )
    printers = Group.objects.create(name="Tryckeriet")
    printers.permissions.add(
        *Permission.objects.filter(
            content_type__app_label="subscribers", codename__in=["view_printrun", "export_print"]
        )
    )

    issue = Issue.objects.create(title="Länsnytt 2018:1", year=2018, number=1, slug="2018-1")
    run = PrintRun.objects.create(
        issue=issue,
        segment_slugs=["folkbibliotek"],
        finalised_at=FINALISED_AT,
        finalised_by=distribution,
        total_copies=15,
    )
    archive = PrintExtraLine.objects.create(issue=issue, label="Arkivexemplar", copies=5)
    fair = PrintExtraLine.objects.create(
        issue=issue,
        label="Bokmässan i Göteborg",
        organisation_name="Regionbibliotek Stockholm, monter B03",
        care_of="Svenska Mässan",
        street="Mässans gata 20",
        postal_code="412 94",
        city="Göteborg",
        copies=5,
    )
    PrintRunLine.objects.create(
        run=run,
        recipient_key="org:7",
        kind="organisation",
        organisation="Sundbybergs bibliotek",
        street="Esplanaden 11",
        postal_code="172 41",
        city="Sundbyberg",
        country="Sverige",
        copies=4,
        organisation_kind="public_library",
        municipality="Sundbyberg",
        region="Stockholms län",
        segment_slugs=["folkbibliotek"],
    )
    PrintRunLine.objects.create(
        run=run,
        recipient_key="sub:12",
        kind="subscriber",
        name="Karin Politiker",
        organisation="Region Stockholm",
        street="Box 123",
        postal_code="118 20",
        city="Stockholm",
        copies=1,
        segment_slugs=["folkbibliotek"],
    )
    PrintRunLine.objects.create(
        run=run, recipient_key=f"extra:{archive.pk}", kind="extra", name="Arkivexemplar", copies=5
    )
    PrintRunLine.objects.create(
        run=run,
        recipient_key=f"extra:{fair.pk}",
        kind="extra",
        name="Bokmässan i Göteborg",
        organisation="Regionbibliotek Stockholm, monter B03",
        care_of="Svenska Mässan",
        street="Mässans gata 20",
        postal_code="412 94",
        city="Göteborg",
        copies=5,
    )
    PrintRunLine.objects.create(
        run=run,
        recipient_key="sub:13",
        kind="subscriber",
        name="Utan Adress",
        copies=1,
        problem="ingen egen adress och ingen organisation",
    )
    entry = LogEntry.objects.create(
        user=distribution,
        content_type=ContentType.objects.get(app_label="subscribers", model="printextraline"),
        object_id=str(fair.pk),
        object_repr="Bokmässan i Göteborg (5 ex.)",
        action_flag=1,
        change_message="[]",
    )
    return {
        "runs": list(PrintRun.objects.order_by("id").values()),
        "lines": list(PrintRunLine.objects.order_by("id").values()),
        "extra_lines": list(PrintExtraLine.objects.order_by("id").values()),
        "run": run.pk,
        "fair": fair.pk,
        "log_entry": entry.pk,
        "content_types": set(
            ContentType.objects.filter(app_label="subscribers", model__in=PRINT_MODELS).values_list(
                "pk", "model"
            )
        ),
    }
