"""Member.service_consent (the consent gate), and one notion of billing contact.

``BillingContact`` comes over from billing with its table (``SeparateDatabaseAndState``: the rows
stay, the table is renamed ``labs_billingcontact``); every ``Member.billing_contact=True`` with an
organisation becomes a row (unless it is one already), then the boolean goes. Backwards, the
boolean comes back set for every person with a row for their own organisation, and the rows stay
(the table moves back to billing): nothing is lost either way.
"""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


def flags_to_rows(apps, schema_editor):
    Member = apps.get_model("labs", "Member")
    BillingContact = apps.get_model("labs", "BillingContact")
    flagged = Member.objects.filter(billing_contact=True, organization__isnull=False)
    BillingContact.objects.bulk_create(
        [BillingContact(organization_id=m.organization_id, user_id=m.user_id) for m in flagged],
        ignore_conflicts=True,  # a person who was both flagged and a row keeps the one row
    )


def rows_to_flags(apps, schema_editor):
    Member = apps.get_model("labs", "Member")
    BillingContact = apps.get_model("labs", "BillingContact")
    for organization_id, user_id in BillingContact.objects.values_list("organization_id", "user_id"):
        Member.objects.filter(user_id=user_id, organization_id=organization_id).update(billing_contact=True)


class Migration(migrations.Migration):
    dependencies = [
        ("labs", "0006_member_consents_and_billing_contact"),
        ("billing", "0003_billing_contact_moves_to_labs"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
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
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="BillingContact",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                            ),
                        ),
                        (
                            "organization",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.CASCADE,
                                related_name="billing_contacts",
                                to="labs.organization",
                                verbose_name="organisation",
                            ),
                        ),
                        (
                            "user",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.CASCADE,
                                related_name="billing_contacts",
                                to=settings.AUTH_USER_MODEL,
                                verbose_name="user",
                            ),
                        ),
                    ],
                    options={
                        "verbose_name": "billing contact",
                        "verbose_name_plural": "billing contacts",
                        "db_table": "billing_billingcontact",
                        "constraints": [
                            models.UniqueConstraint(fields=("organization", "user"), name="billing_contact_unique")
                        ],
                    },
                )
            ],
            database_operations=[],
        ),
        # The table takes labs' name (Django renames it; rows, constraint and indexes go with it).
        migrations.AlterModelTable(name="billingcontact", table=None),
        migrations.RunPython(flags_to_rows, rows_to_flags),
        migrations.RemoveField(model_name="member", name="billing_contact"),
    ]
