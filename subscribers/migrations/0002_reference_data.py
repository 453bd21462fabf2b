import csv
from pathlib import Path

from django.db import migrations

DATA_DIR = Path(__file__).resolve().parent.parent / "data"


def load_reference_data(apps, schema_editor):
    Region = apps.get_model("subscribers", "Region")
    Municipality = apps.get_model("subscribers", "Municipality")
    with open(DATA_DIR / "regions-sweden.csv", encoding="utf-8") as source:
        for row in csv.DictReader(source):
            Region.objects.update_or_create(
                code=row["code"], defaults={"name": row["name"], "seat": row["seat"]}
            )
    with open(DATA_DIR / "municipalities-stockholm-county.csv", encoding="utf-8") as source:
        for row in csv.DictReader(source):
            Municipality.objects.update_or_create(code=row["code"], defaults={"name": row["name"]})


def unload_reference_data(apps, schema_editor):
    apps.get_model("subscribers", "Municipality").objects.all().delete()
    apps.get_model("subscribers", "Region").objects.all().delete()


class Migration(migrations.Migration):
    dependencies = [("subscribers", "0001_initial")]

    operations = [migrations.RunPython(load_reference_data, unload_reference_data)]
