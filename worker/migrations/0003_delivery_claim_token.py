from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("worker", "0002_delivery_bounced_at"),
    ]

    operations = [
        migrations.AddField(
            model_name="delivery",
            name="claim_token",
            field=models.UUIDField(blank=True, null=True, verbose_name="reservation"),
        ),
    ]
