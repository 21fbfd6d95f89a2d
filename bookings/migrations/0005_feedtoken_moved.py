"""FeedToken moves from the API app to the booking engine (feeds are the engine's): state only, the table stays."""

import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("bookings", "0004_policy"),
        ("api", "0001_initial"),
        ("labs", "0001_initial"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[],
            state_operations=[
                migrations.CreateModel(
                    name="FeedToken",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                            ),
                        ),
                        ("token", models.CharField(max_length=64, unique=True, verbose_name="token")),
                        (
                            "created_at",
                            models.DateTimeField(default=django.utils.timezone.now, verbose_name="created at"),
                        ),
                        ("rotated_at", models.DateTimeField(blank=True, null=True, verbose_name="rotated at")),
                        (
                            "resource",
                            models.ForeignKey(
                                blank=True,
                                null=True,
                                on_delete=django.db.models.deletion.CASCADE,
                                related_name="+",
                                to="labs.resource",
                                verbose_name="resource",
                            ),
                        ),
                        (
                            "user",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.CASCADE,
                                related_name="feed_tokens",
                                to=settings.AUTH_USER_MODEL,
                                verbose_name="owner",
                            ),
                        ),
                    ],
                    options={
                        "db_table": "api_feedtoken",
                        "verbose_name": "feed token",
                        "verbose_name_plural": "feed tokens",
                        "constraints": [
                            models.UniqueConstraint(
                                condition=models.Q(("resource__isnull", True)),
                                fields=("user",),
                                name="feedtoken_one_per_user",
                            ),
                            models.UniqueConstraint(
                                condition=models.Q(("resource__isnull", False)),
                                fields=("user", "resource"),
                                name="feedtoken_one_per_user_resource",
                            ),
                        ],
                    },
                ),
            ],
        ),
    ]
