"""Personal-data exports get a permission of their own, held by the administrators.

Until now anyone who could view subscribers (the editors among them) could download every
subscriber as CSV and any one person's register extract with their IP addresses. Both now need
`subscribers.export_personal_data`. The role group *Administratörer* gets it here, on existing
databases too; the editors and distribution staff do not (print lists stay under
`printing.export_print`). The role sync after every migrate (accounts/roles.py) keeps it that
way on fresh databases.

Backwards, like Django itself, the permission row and whoever holds it stay: the previous code
never asks for it, so keeping it takes nobody's rights away and gives nobody new ones.
"""

from django.db import migrations

ADMINISTRATORS = "Administratörer"


def administrators_grant(apps, schema_editor) -> None:
    ContentType = apps.get_model("contenttypes", "ContentType")
    Permission = apps.get_model("auth", "Permission")
    Group = apps.get_model("auth", "Group")
    content_type, _ = ContentType.objects.get_or_create(app_label="subscribers", model="subscriber")
    permission, _ = Permission.objects.get_or_create(
        content_type=content_type,
        codename="export_personal_data",
        defaults={"name": "Kan exportera personuppgifter (listor och registerutdrag)"},
    )
    group = Group.objects.filter(name=ADMINISTRATORS).first()
    if group is not None:
        group.permissions.add(permission)


class Migration(migrations.Migration):
    dependencies = [
        ("subscribers", "0006_suppression_keyed_email_hashes"),
        ("accounts", "0002_role_groups"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [
        migrations.AlterModelOptions(
            name="subscriber",
            options={
                "ordering": ["email"],
                "permissions": [
                    (
                        "export_personal_data",
                        "Kan exportera personuppgifter (listor och registerutdrag)",
                    )
                ],
                "verbose_name": "prenumerant",
                "verbose_name_plural": "prenumeranter",
            },
        ),
        migrations.RunPython(administrators_grant, migrations.RunPython.noop),
    ]
