"""The print models, taken over from subscribers with their tables (state only).

The tables were made by subscribers/migrations/0003_print_runs.py and keep their names
(db_table), so nothing in the database changes: this only tells Django the models are here
now. Fields, the index and the constraints are exactly those 0003 created, so that a later
migration finds every index and constraint under the name it expects. 0002 moves the content
types.
"""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        # After subscribers has let go of the models, so the state never holds two models
        # on one table; the tables themselves exist since subscribers 0003.
        ("subscribers", "0005_print_runs_to_printing"),
        ("newsletter", "0001_initial"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="PrintRun",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True,
                                primary_key=True,
                                serialize=False,
                                verbose_name="ID",
                            ),
                        ),
                        (
                            "segment_slugs",
                            models.JSONField(
                                blank=True,
                                default=list,
                                help_text="Segmenten listan begränsades till; tomt betyder alla.",
                                verbose_name="segment",
                            ),
                        ),
                        (
                            "finalised_at",
                            models.DateTimeField(verbose_name="skickad till tryckeriet"),
                        ),
                        (
                            "total_copies",
                            models.PositiveIntegerField(verbose_name="totalt antal exemplar"),
                        ),
                        (
                            "finalised_by",
                            models.ForeignKey(
                                blank=True,
                                null=True,
                                on_delete=django.db.models.deletion.SET_NULL,
                                related_name="+",
                                to=settings.AUTH_USER_MODEL,
                                verbose_name="markerad av",
                            ),
                        ),
                        (
                            "issue",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.PROTECT,
                                related_name="print_runs",
                                to="newsletter.issue",
                                verbose_name="nummer",
                            ),
                        ),
                    ],
                    options={
                        "db_table": "subscribers_printrun",
                        "verbose_name": "tryckupplaga",
                        "verbose_name_plural": "tryckupplagor",
                        "ordering": ["-finalised_at", "-id"],
                        "permissions": [("export_print", "Kan se och exportera tryckfördelning")],
                        "indexes": [
                            models.Index(
                                fields=["issue", "-finalised_at"], name="printrun_issue_latest"
                            )
                        ],
                    },
                ),
                migrations.CreateModel(
                    name="PrintRunLine",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True,
                                primary_key=True,
                                serialize=False,
                                verbose_name="ID",
                            ),
                        ),
                        (
                            "recipient_key",
                            models.CharField(
                                help_text="org:<id>, sub:<id> eller extra:<id>",
                                max_length=32,
                                verbose_name="mottagarnyckel",
                            ),
                        ),
                        (
                            "kind",
                            models.CharField(
                                choices=[
                                    ("organisation", "Organisation"),
                                    ("subscriber", "Prenumerant"),
                                    ("extra", "Extra"),
                                ],
                                max_length=16,
                                verbose_name="typ",
                            ),
                        ),
                        ("name", models.CharField(blank=True, max_length=200, verbose_name="namn")),
                        (
                            "organisation",
                            models.CharField(
                                blank=True, max_length=200, verbose_name="organisation"
                            ),
                        ),
                        (
                            "care_of",
                            models.CharField(blank=True, max_length=200, verbose_name="c/o"),
                        ),
                        (
                            "street",
                            models.CharField(
                                blank=True, max_length=200, verbose_name="gatuadress eller box"
                            ),
                        ),
                        (
                            "postal_code",
                            models.CharField(blank=True, max_length=16, verbose_name="postnummer"),
                        ),
                        (
                            "city",
                            models.CharField(blank=True, max_length=100, verbose_name="postort"),
                        ),
                        (
                            "country",
                            models.CharField(blank=True, max_length=100, verbose_name="land"),
                        ),
                        ("copies", models.PositiveIntegerField(verbose_name="antal exemplar")),
                        (
                            "organisation_kind",
                            models.CharField(
                                blank=True, max_length=32, verbose_name="organisationstyp"
                            ),
                        ),
                        (
                            "municipality",
                            models.CharField(blank=True, max_length=100, verbose_name="kommun"),
                        ),
                        (
                            "region",
                            models.CharField(blank=True, max_length=100, verbose_name="region"),
                        ),
                        (
                            "segment_slugs",
                            models.JSONField(blank=True, default=list, verbose_name="segment"),
                        ),
                        (
                            "problem",
                            models.CharField(
                                blank=True,
                                help_text="Tomt för en giltig rad; annars varför raden inte kan skickas.",
                                max_length=200,
                                verbose_name="att åtgärda",
                            ),
                        ),
                        (
                            "run",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.CASCADE,
                                related_name="lines",
                                to="printing.printrun",
                                verbose_name="upplaga",
                            ),
                        ),
                    ],
                    options={
                        "db_table": "subscribers_printrunline",
                        "verbose_name": "tryckrad",
                        "verbose_name_plural": "tryckrader",
                        "ordering": ["run", "id"],
                        "constraints": [
                            models.UniqueConstraint(
                                fields=("run", "recipient_key"),
                                name="printrunline_recipient_unique_per_run",
                            )
                        ],
                    },
                ),
                migrations.CreateModel(
                    name="PrintExtraLine",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True,
                                primary_key=True,
                                serialize=False,
                                verbose_name="ID",
                            ),
                        ),
                        (
                            "care_of",
                            models.CharField(blank=True, max_length=200, verbose_name="c/o"),
                        ),
                        (
                            "street",
                            models.CharField(
                                blank=True,
                                help_text="T.ex. Box 123",
                                max_length=200,
                                verbose_name="gatuadress eller box",
                            ),
                        ),
                        (
                            "postal_code",
                            models.CharField(
                                blank=True,
                                help_text="Fem siffror, t.ex. 111 22",
                                max_length=6,
                                verbose_name="postnummer",
                            ),
                        ),
                        (
                            "city",
                            models.CharField(blank=True, max_length=100, verbose_name="postort"),
                        ),
                        (
                            "country",
                            models.CharField(
                                blank=True, default="Sverige", max_length=100, verbose_name="land"
                            ),
                        ),
                        (
                            "label",
                            models.CharField(
                                help_text="T.ex. Arkivexemplar eller Bokmässan",
                                max_length=200,
                                verbose_name="benämning",
                            ),
                        ),
                        (
                            "organisation_name",
                            models.CharField(
                                blank=True, max_length=200, verbose_name="organisation"
                            ),
                        ),
                        (
                            "copies",
                            models.PositiveIntegerField(default=1, verbose_name="antal exemplar"),
                        ),
                        (
                            "created_at",
                            models.DateTimeField(auto_now_add=True, verbose_name="skapad"),
                        ),
                        (
                            "issue",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.CASCADE,
                                related_name="print_extra_lines",
                                to="newsletter.issue",
                                verbose_name="nummer",
                            ),
                        ),
                    ],
                    options={
                        "db_table": "subscribers_printextraline",
                        "verbose_name": "extra tryckrad",
                        "verbose_name_plural": "extra tryckrader",
                        "ordering": ["issue", "id"],
                        "constraints": [
                            models.CheckConstraint(
                                condition=models.Q(("copies__gte", 1)),
                                name="printextraline_copies_positive",
                            )
                        ],
                    },
                ),
            ],
            database_operations=[],
        ),
    ]
