"""The nightly purge of idempotency records."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from procrastinate.contrib.django import app

from api.models import IdempotencyKey
from api.tasks import purge_idempotency_keys
from tests.factories import make_user

pytestmark = pytest.mark.django_db


def _key(user, value, age):
    record = IdempotencyKey.objects.create(
        user=user, key=value, endpoint="bookings-create", fingerprint="0" * 64, status_code=201, response_body={}
    )
    IdempotencyKey.objects.filter(pk=record.pk).update(created_at=timezone.now() - age)


def test_purge_forgets_keys_older_than_a_day_and_keeps_recent_ones():
    user = make_user()
    _key(user, "old", timedelta(days=2))
    _key(user, "fresh", timedelta(minutes=5))
    assert purge_idempotency_keys(timestamp=int(timezone.now().timestamp())) == 1
    assert list(IdempotencyKey.objects.values_list("key", flat=True)) == ["fresh"]


def test_the_purge_is_declared_as_a_periodic_job():
    periodic_ids = {p.periodic_id for p in app.periodic_registry.periodic_tasks.values()}
    assert "idempotency-purge" in periodic_ids
