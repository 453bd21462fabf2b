# Joins the branches of issue 12: import jobs, privacy requests and keyed address hashes.

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("subscribers", "0006_import_jobs"),
        ("subscribers", "0006_privacy_requests"),
        ("subscribers", "0007_subscriber_export_personal_data_permission"),
    ]

    operations = []
