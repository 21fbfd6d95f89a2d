"""API tokens hashed at rest, with an expiry and one per device; DRF's plain-text tokens moved over.

A token that worked before keeps working: its secret is not known to us afterwards, only its
SHA-512 digest (knox's hashing), and it expires LABSHARE_API_TOKEN_TTL_DAYS after this migration.
The plain-text rows are deleted (the table itself belongs to DRF's authtoken app, no longer installed).
"""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models
from django.utils import timezone


def move_plain_tokens(apps, schema_editor):
    from knox.crypto import hash_token
    from knox.settings import CONSTANTS, knox_settings

    connection = schema_editor.connection
    with connection.cursor() as cursor:
        cursor.execute("SELECT to_regclass('authtoken_token') IS NOT NULL")
        if not cursor.fetchone()[0]:
            return  # a database that never had DRF's tokens
        cursor.execute("SELECT key, user_id, created FROM authtoken_token")
        rows = cursor.fetchall()
    ApiToken = apps.get_model("api", "ApiToken")
    expiry = timezone.now() + knox_settings.TOKEN_TTL
    ApiToken.objects.bulk_create(
        ApiToken(
            digest=hash_token(key),
            token_key=key[: CONSTANTS.TOKEN_KEY_LENGTH],
            user_id=user_id,
            created=created,
            expiry=expiry,
            device="migrated",
        )
        for key, user_id, created in rows
    )
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM authtoken_token")


class Migration(migrations.Migration):
    dependencies = [
        ("api", "0002_feedtoken_moved"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="ApiToken",
            fields=[
                ("digest", models.CharField(max_length=128, primary_key=True, serialize=False)),
                ("token_key", models.CharField(db_index=True, max_length=25)),
                ("created", models.DateTimeField(auto_now_add=True)),
                ("expiry", models.DateTimeField(blank=True, null=True)),
                (
                    "device",
                    models.CharField(
                        blank=True,
                        help_text="What the holder called it at sign-in",
                        max_length=100,
                        verbose_name="device",
                    ),
                ),
                (
                    "user",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="auth_token_set",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
            ],
            options={
                "verbose_name": "API token",
                "verbose_name_plural": "API tokens",
                "indexes": [models.Index(fields=["expiry"], name="apitoken_expiry")],
            },
        ),
        migrations.RunPython(move_plain_tokens, migrations.RunPython.noop),
    ]
