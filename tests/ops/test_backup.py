"""make backup / make restore: a dump restored into a fresh database holds the same bookings, and the media files."""

from __future__ import annotations

import pytest
from django.db import connection

from tests.api.conftest import next_weekday
from tests.api.live import database_url
from tests.factories import make_user
from tools import backup as tool

pytestmark = pytest.mark.django_db(transaction=True)

FRESH = "labshare_restore_test"


def _admin(sql: str) -> None:
    import psycopg

    with psycopg.connect(database_url({**connection.settings_dict, "NAME": "postgres"}), autocommit=True) as admin:
        admin.execute(sql)


def _bookings(url: str) -> list[tuple]:
    import psycopg

    with psycopg.connect(url) as conn:
        return conn.execute(
            'SELECT id, resource_id, user_id, start, "end", status FROM bookings_booking ORDER BY id'
        ).fetchall()


def test_a_backup_restored_into_a_fresh_database_has_the_same_bookings_and_media(resource, tmp_path):
    from datetime import timedelta

    from bookings.services import booking_request

    student = make_user("backup-student")
    start = next_weekday(hour=9)
    for hours in (0, 2, 4):
        booking_request(
            resource=resource,
            user=student,
            start=start + timedelta(hours=hours),
            end=start + timedelta(hours=hours + 1),
        )
    media = tmp_path / "media"
    (media / "labs").mkdir(parents=True)
    (media / "labs" / "photo.jpg").write_bytes(b"\xff\xd8 a lab photo")
    source = database_url(connection.settings_dict)
    expected = _bookings(source)
    assert len(expected) == 3

    folder = tool.backup(tmp_path / "backup", database_url=source, media_root=media)
    assert (folder / "db.dump").read_bytes()[:5] == b"PGDMP"  # pg_dump's custom format

    _admin(f"DROP DATABASE IF EXISTS {FRESH} WITH (FORCE)")
    _admin(f"CREATE DATABASE {FRESH}")
    restored_media = tmp_path / "restored-media"
    try:
        fresh = database_url({**connection.settings_dict, "NAME": FRESH})
        tool.restore(folder, database_url=fresh, media_root=restored_media)
        assert _bookings(fresh) == expected
        # The exclusion constraint came back with the data: the restored database still refuses a double booking.
        import psycopg

        with psycopg.connect(fresh) as conn:
            names = {row[0] for row in conn.execute("SELECT conname FROM pg_constraint WHERE contype = 'x'")}
        assert names
        assert (restored_media / "labs" / "photo.jpg").read_bytes() == b"\xff\xd8 a lab photo"
        # Restoring again over the restored database replaces it, and still matches.
        tool.restore(folder, database_url=fresh, media_root=restored_media)
        assert _bookings(fresh) == expected
    finally:
        _admin(f"DROP DATABASE IF EXISTS {FRESH} WITH (FORCE)")


def test_restoring_a_folder_without_a_dump_says_so(tmp_path):
    with pytest.raises(tool.BackupError, match=r"db\.dump"):
        tool.restore(tmp_path)
