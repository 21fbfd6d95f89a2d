"""The consent gate's flag filled from the log, and when an account was warned before retention.

``Member.service_consent`` (labs 0007) is set for every person whose latest choice about the
service is a yes. People whose accounts predate consent have no row in the log: their flag stays
off and the consent gate asks them on their next visit. Backwards, the flag goes with its column.
"""

from django.db import migrations, models


def flags_from_log(apps, schema_editor):
    Consent = apps.get_model("accounts", "Consent")
    Member = apps.get_model("labs", "Member")
    latest = (
        Consent.objects.filter(purpose="service")
        .order_by("user_id", "-recorded_at", "-id")
        .distinct("user_id")
        .values_list("user_id", "granted")
    )
    consented = [user_id for user_id, granted in latest if granted]
    Member.objects.filter(user_id__in=consented).update(service_consent=True)


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0001_initial"),
        ("labs", "0007_service_consent_and_billing_contacts"),
    ]

    operations = [
        migrations.AddField(
            model_name="account",
            name="retention_warned_at",
            field=models.DateTimeField(blank=True, null=True, verbose_name="warned of anonymisation at"),
        ),
        migrations.RunPython(flags_from_log, migrations.RunPython.noop, elidable=True),
    ]
