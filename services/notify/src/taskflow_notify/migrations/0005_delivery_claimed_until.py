# A lease on each delivery: attempts are claimed (and counted) before the send, which runs
# outside any transaction (docs/adr/0305).

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("notify", "0004_task_versions"),
    ]

    operations = [
        migrations.AddField(
            model_name="delivery",
            name="claimed_until",
            field=models.DateTimeField(blank=True, null=True),
        ),
    ]
