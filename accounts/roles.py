"""The staff roles and the permissions each one holds.

Permissions are named "app_label.codename". A codename whose model does not exist yet is
skipped, so the same table serves every stage of the schema.
"""

from django.apps import apps as global_apps
from django.contrib.auth.management import create_permissions

EDITORS = "Redaktörer"
DISTRIBUTION_STAFF = "Distribution"
ADMINISTRATORS = "Administratörer"


def _crud(app_label: str, model: str, actions=("add", "change", "delete", "view")) -> list[str]:
    return [f"{app_label}.{action}_{model}" for action in actions]


# Personal data leaves the system only with a right made for it: lists of subscribers and a
# person's register extract need `subscribers.export_personal_data` (administrators only),
# print lists need `printing.export_print` (distribution staff and administrators). Viewing
# a subscriber is not exporting them: the editors view, and hold neither.
ROLE_PERMISSIONS: dict[str, list[str]] = {
    # Compose and send.
    EDITORS: [
        *_crud("newsletter", "issue"),
        *_crud("newsletter", "article"),
        # The second pair of eyes: any editor may approve, never the last editor.
        "newsletter.approve_issue",
        *_crud("worker", "dispatch"),
        "worker.view_delivery",
        "worker.send_dispatch",
        # Aggregate numbers, no personal data; still an export, so a right of its own.
        "worker.export_report",
        *_crud("subscribers", "segment", ("view",)),
        *_crud("subscribers", "subscriber", ("view",)),
        *_crud("subscribers", "organisation", ("view",)),
    ],
    # Print lists and exports.
    DISTRIBUTION_STAFF: [
        *_crud("subscribers", "organisation"),
        *_crud("subscribers", "subscriber", ("view", "change")),
        *_crud("subscribers", "segment", ("view",)),
        *_crud("printing", "printrun"),
        *_crud("printing", "printrunline", ("view",)),
        *_crud("printing", "printextraline"),
        "printing.export_print",
        *_crud("newsletter", "issue", ("view",)),
    ],
    # Everything the application models offer, subscribers.export_personal_data included.
    # Not the auth app's rights (groups, permissions): those stay with superusers, and the
    # user admin lets an administrator hand out only rights they hold (accounts/admin.py).
    ADMINISTRATORS: ["*"],
}

APP_LABELS = ("accounts", "audit", "subscribers", "newsletter", "printing", "worker", "webhooks")


def role_groups_sync(apps=global_apps) -> None:
    """Create the role groups and give them their permissions (idempotent)."""
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for app_config in apps.get_app_configs():
        # Permissions are normally made after migrate; make them now so a data migration
        # can hand them out. Migration state app configs have no models_module, which
        # create_permissions uses only as an "app has models" flag.
        stub = not hasattr(app_config, "models_module")
        if stub:
            app_config.models_module = True
        create_permissions(app_config, verbosity=0, apps=apps)
        if stub:
            del app_config.models_module
    for group_name, wanted in ROLE_PERMISSIONS.items():
        group, _ = Group.objects.get_or_create(name=group_name)
        if wanted == ["*"]:
            permissions = Permission.objects.filter(content_type__app_label__in=APP_LABELS)
        else:
            permissions = []
            for dotted in wanted:
                app_label, codename = dotted.split(".")
                permissions.extend(
                    Permission.objects.filter(content_type__app_label=app_label, codename=codename)
                )
        group.permissions.add(*permissions)


def role_groups_sync_after_migrate(sender, apps=global_apps, **kwargs) -> None:
    # post_migrate is sent once per app, but only after the whole plan has run, and `apps` is
    # the final state, so the printing models are in it whichever sender comes first; the sync
    # makes every app's content types and permissions itself instead of waiting for each app's
    # own post_migrate. The print permissions it hands out are the rows that printing's 0002
    # renamed from subscribers, not new ones.
    if sender.name == "worker" or sender.name == "accounts":
        role_groups_sync(apps)
