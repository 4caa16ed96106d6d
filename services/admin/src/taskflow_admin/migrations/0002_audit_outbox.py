"""Before/after state on each audit entry, and the columns that make the table the outbox of
admin.audit.recorded.v1 (ADR 0014). Existing entries count as published: nothing was ever
promised for them."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("taskflow_admin", "0001_initial")]

    operations = [
        migrations.AddField(
            model_name="auditentry", name="before", field=models.JSONField(blank=True, null=True)
        ),
        migrations.AddField(
            model_name="auditentry", name="after", field=models.JSONField(blank=True, null=True)
        ),
        migrations.AddField(
            model_name="auditentry",
            name="published_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.RunSQL(
            "UPDATE taskflow_admin_auditentry SET published_at = occurred_at",
            migrations.RunSQL.noop,
        ),
        migrations.AddField(
            model_name="auditentry",
            name="claimed_until",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="auditentry",
            name="publish_attempts",
            field=models.PositiveIntegerField(default=0),
        ),
        migrations.AddField(
            model_name="auditentry",
            name="last_publish_error",
            field=models.TextField(blank=True, default=""),
        ),
        migrations.AlterModelOptions(
            name="auditentry",
            options={"ordering": ["-occurred_at", "-id"], "verbose_name_plural": "audit entries"},
        ),
        migrations.AddIndex(
            model_name="auditentry",
            index=models.Index(fields=["-occurred_at", "-id"], name="audit_keyset"),
        ),
        migrations.AddIndex(
            model_name="auditentry",
            index=models.Index(
                condition=models.Q(published_at__isnull=True),
                fields=["occurred_at"],
                name="audit_unpublished",
            ),
        ),
    ]
