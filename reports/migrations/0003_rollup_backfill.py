"""Fill the roll-up from the bookings already in the database (the triggers keep it from here on)."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("reports", "0002_rollup_triggers")]

    operations = [
        migrations.RunSQL(
            "SELECT reports_rollup_rebuild(NULL, NULL)",
            reverse_sql=(
                "DELETE FROM reports_usageday; DELETE FROM reports_usagemonth; DELETE FROM reports_usagehour;"
                " DELETE FROM reports_serveddays; DELETE FROM reports_labserveddays"
            ),
        ),
    ]
