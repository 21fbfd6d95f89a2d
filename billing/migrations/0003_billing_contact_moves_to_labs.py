"""BillingContact moves to labs (who acts for an organisation is a fact about the organisation).

State only: the table stays; labs' 0007 takes the model over and renames the table. No row is lost.
"""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("billing", "0002_vat_seed_and_closed_statements"),
        ("labs", "0006_member_consents_and_billing_contact"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.DeleteModel(name="BillingContact")], database_operations=[]
        )
    ]
