"""FeedToken moves to the booking engine (bookings 0005): state only, the table api_feedtoken stays."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("api", "0001_initial"),
        ("bookings", "0005_feedtoken_moved"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[],
            state_operations=[migrations.DeleteModel(name="FeedToken")],
        ),
    ]
