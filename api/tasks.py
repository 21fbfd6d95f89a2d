"""Periodic housekeeping of the API's own records, run by the procrastinate worker."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone
from procrastinate.contrib.django import app

from api.services import api_tokens_purge_expired, idempotency_purge
from bookings.jobs import QUEUE_BOOKINGS

#: Clients retry within minutes; a day keeps every realistic retry answerable.
IDEMPOTENCY_KEEP = timedelta(days=1)


@app.periodic(cron="17 3 * * *", periodic_id="idempotency-purge")
@app.task(name="api.idempotency_purge", queue=QUEUE_BOOKINGS, queueing_lock="api.idempotency_purge")
def purge_idempotency_keys(timestamp: int) -> int:
    """Nightly: forget Idempotency-Key records older than a day (the table would grow forever)."""
    return idempotency_purge(older_than=timezone.now() - IDEMPOTENCY_KEEP)


@app.periodic(cron="23 3 * * *", periodic_id="api-token-purge")
@app.task(name="api.token_purge", queue=QUEUE_BOOKINGS, queueing_lock="api.token_purge")
def purge_expired_tokens(timestamp: int) -> int:
    """Nightly: delete expired API tokens (refused already; the rows only take room)."""
    return api_tokens_purge_expired(now=timezone.now())
