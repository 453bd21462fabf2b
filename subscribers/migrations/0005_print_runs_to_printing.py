"""The print models leave this app for printing (printing/migrations/0001_initial.py).

Only Django's idea of the models changes: the tables, their rows, indexes and constraints stay
where 0003_print_runs put them, and printing takes them over under the same names.
"""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("subscribers", "0004_merge_0003_print_runs_0003_self_service"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                # The lines first: they point at the run.
                migrations.DeleteModel(name="PrintRunLine"),
                migrations.DeleteModel(name="PrintExtraLine"),
                migrations.DeleteModel(name="PrintRun"),
            ],
            database_operations=[],
        ),
    ]
