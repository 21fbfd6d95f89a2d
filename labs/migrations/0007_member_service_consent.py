"""Member.service_consent: the consent gate's flag (accounts' 0002 fills it from the consent log)."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("labs", "0006_member_consents_and_billing_contact"),
    ]

    operations = [
        migrations.AddField(
            model_name="member",
            name="service_consent",
            field=models.BooleanField(
                default=False,
                help_text="Consent to the processing needed to use labshare (asked before anything else)",
                verbose_name="consented to the service",
            ),
        ),
    ]
