"""The print models' content types move from subscribers to printing with the models.

Renamed, not created anew: a content type's id is what its Permission rows (the custom
export_print among them), the groups and users holding those permissions and the admin log
point at, so renaming the row carries all of them over without touching one of them.

A printing content type can already exist when post_migrate ran while printing's models
were known but this migration was not yet applied (for example after
`migrate printing 0001`). Such a stale row is merged into the one being moved instead of
making the rename fail on the unique (app_label, model): whoever held its permissions holds
the moved ones, its log entries point at the moved row, and then it is deleted. Reversing
does the same in the other direction.
"""

from django.conf import settings
from django.db import migrations

MODELS = ("printrun", "printrunline", "printextraline")


def _content_type_merge(apps, *, stale, kept) -> None:
    """Fold the stale content type's permissions and log entries into the kept one."""
    Permission = apps.get_model("auth", "Permission")
    LogEntry = apps.get_model("admin", "LogEntry")
    for permission in Permission.objects.filter(content_type=stale):
        twin = Permission.objects.filter(content_type=kept, codename=permission.codename).first()
        if twin is None:
            permission.content_type = kept
            permission.save(update_fields=["content_type"])
            continue
        twin.group_set.add(*permission.group_set.all())
        twin.user_set.add(*permission.user_set.all())
        permission.delete()
    LogEntry.objects.filter(content_type=stale).update(content_type=kept)
    stale.delete()


def _content_types_move(apps, *, from_label: str, to_label: str) -> None:
    ContentType = apps.get_model("contenttypes", "ContentType")
    for model in MODELS:
        moving = ContentType.objects.filter(app_label=from_label, model=model).first()
        if moving is None:
            # Nothing to carry over (a fresh database): post_migrate makes the content type
            # and its permissions under the new label.
            continue
        stale = ContentType.objects.filter(app_label=to_label, model=model).first()
        if stale is not None:
            _content_type_merge(apps, stale=stale, kept=moving)
        moving.app_label = to_label
        moving.save(update_fields=["app_label"])
    ContentType.objects.clear_cache()


def content_types_to_printing(apps, schema_editor) -> None:
    _content_types_move(apps, from_label="subscribers", to_label="printing")


def content_types_to_subscribers(apps, schema_editor) -> None:
    _content_types_move(apps, from_label="printing", to_label="subscribers")


class Migration(migrations.Migration):
    dependencies = [
        ("printing", "0001_initial"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("admin", "0003_logentry_add_action_flag_choices"),
        # The user model holds the user_permissions a stale permission may be merged from.
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [migrations.RunPython(content_types_to_printing, content_types_to_subscribers)]
