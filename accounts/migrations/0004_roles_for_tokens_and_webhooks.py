from django.db import migrations


def roles_sync(apps, schema_editor):
    # Administrators hold every application right: API tokens and webhook endpoints too.
    from accounts.roles import role_groups_sync

    role_groups_sync(apps)


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0003_api_tokens"),
        ("webhooks", "0001_initial"),
    ]

    operations = [migrations.RunPython(roles_sync, migrations.RunPython.noop)]
