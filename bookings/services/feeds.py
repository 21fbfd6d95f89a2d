"""Writes for iCal feed tokens: the secret in a feed URL, made on first use, rotated, withdrawn."""

from __future__ import annotations

import secrets

from django.db import IntegrityError, transaction
from django.utils import timezone

from bookings.models import FeedToken
from core.errors import DomainError


def _new_token() -> str:
    return secrets.token_urlsafe(32)


def feed_token_get_or_create(*, user, resource=None) -> FeedToken:
    """The owner's feed token (their own bookings, or one resource's busy times); made on first use."""
    with transaction.atomic():
        token = FeedToken.objects.filter(user=user, resource=resource).first()
        if token is not None:
            return token
        try:
            with transaction.atomic():
                return FeedToken.objects.create(user=user, resource=resource, token=_new_token())
        except IntegrityError:
            # Two first uses at once: the other one won; use its token.
            return FeedToken.objects.get(user=user, resource=resource)


def feed_token_rotate(*, feed_token: FeedToken, by) -> FeedToken:
    """Replace the secret: the old URL stops working at once."""
    if by is None or (by.pk != feed_token.user_id and not by.is_superuser):
        raise DomainError("not_permitted")
    feed_token.token = _new_token()
    feed_token.rotated_at = timezone.now()
    feed_token.save(update_fields=["token", "rotated_at"])
    return feed_token


def feed_token_delete(*, feed_token: FeedToken, by) -> None:
    """Withdraw a feed: its URL stops working."""
    if by is None or (by.pk != feed_token.user_id and not by.is_superuser):
        raise DomainError("not_permitted")
    feed_token.delete()
