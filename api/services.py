"""Writes the API owns: idempotency records for retried POSTs, and API tokens."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from django.db import IntegrityError, transaction

from api.authentication import recent_tokens
from api.models import ApiToken, IdempotencyKey
from core.errors import DomainError


def request_fingerprint(data: Any) -> str:
    """A stable hash of a request body: the same JSON in any key order gives the same hash."""
    canonical = json.dumps(data, sort_keys=True, separators=(",", ":"), default=str, ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


@dataclass
class IdempotentCall:
    """What the view needs inside ``idempotent``: a replay to return, or a place to store its answer."""

    record: IdempotencyKey | None
    replay_status: int | None = None
    replay_body: Any = None
    stored: bool = field(default=False)

    @property
    def is_replay(self) -> bool:
        return self.replay_status is not None

    def store(self, *, status_code: int, body: Any) -> None:
        """Remember the answer (inside the same transaction as the write it describes)."""
        if self.record is None:
            return
        self.record.status_code = status_code
        self.record.response_body = body
        self.record.save(update_fields=["status_code", "response_body"])
        self.stored = True


def _replay_or_refuse(record: IdempotencyKey, fingerprint: str) -> IdempotentCall:
    if record.fingerprint != fingerprint:
        raise DomainError("idempotency_key_reused", key=record.key)
    if record.status_code is None:
        raise DomainError("idempotency_key_in_progress", key=record.key, retry_after=1)
    return IdempotentCall(record=None, replay_status=record.status_code, replay_body=record.response_body)


@contextmanager
def idempotent(*, user, key: str | None, endpoint: str, fingerprint: str) -> Iterator[IdempotentCall]:
    """Run a write at most once per (user, endpoint, key).

    Race prevented: two retries of the same POST arriving together. The key row is inserted in
    the same transaction as the booking; the second insert waits on the unique index until the
    first transaction ends, then either sees the stored answer (and replays it) or, if the first
    failed and rolled back, runs the write itself. Failed writes are not remembered, so a retry
    after an error is a fresh attempt. Without a key there is nothing to record: the write's
    own service owns its transaction.
    """
    if not key:
        yield IdempotentCall(record=None)
        return
    existing = IdempotencyKey.objects.filter(user=user, endpoint=endpoint, key=key).first()
    if existing is not None:
        yield _replay_or_refuse(existing, fingerprint)
        return
    with transaction.atomic():
        try:
            with transaction.atomic():
                record = IdempotencyKey.objects.create(user=user, endpoint=endpoint, key=key, fingerprint=fingerprint)
        except IntegrityError:
            record = None
        if record is None:
            existing = IdempotencyKey.objects.get(user=user, endpoint=endpoint, key=key)
            yield _replay_or_refuse(existing, fingerprint)
            return
        call = IdempotentCall(record=record)
        yield call
        if not call.stored:
            # The view answered without storing (it should not): forget the key rather than
            # replay nothing.
            record.delete()


def idempotency_purge(*, older_than) -> int:
    """Delete idempotency records created before ``older_than`` (retries come within minutes)."""
    deleted, _ = IdempotencyKey.objects.filter(created_at__lt=older_than).delete()
    return deleted


def api_token_create(*, user, device: str = "") -> tuple[ApiToken, str]:
    """A new API token for one device or script; returns it and its secret (shown once, never stored)."""
    with transaction.atomic():
        return ApiToken.objects.create(user=user, device=device[:100])


def api_token_revoke(*, token: ApiToken) -> None:
    """Revoke one token: the device that holds it must sign in again."""
    with transaction.atomic():
        ApiToken.objects.filter(pk=token.pk).delete()
    recent_tokens.forget(token.digest)


def api_tokens_revoke_all(*, user) -> int:
    """Revoke every token of ``user`` (every device and script); returns how many."""
    with transaction.atomic():
        digests = list(ApiToken.objects.filter(user=user).values_list("digest", flat=True))
        ApiToken.objects.filter(user=user).delete()
    for digest in digests:
        recent_tokens.forget(digest)
    return len(digests)


def api_tokens_purge_expired(*, now) -> int:
    """Delete tokens past their expiry (they already open nothing); returns how many."""
    deleted, _ = ApiToken.objects.filter(expiry__lte=now).delete()
    return deleted
