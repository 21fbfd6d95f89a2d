"""Writes of the front end: display tokens for wall screens (create, revoke, touch)."""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone

from bookings.events import publish_token_revoked
from core.errors import DomainError
from frontend.models import DisplayToken, hash_token
from labs import tree
from labs.models import Lab
from labs.selectors import user_manages_lab

#: How often last_seen_at is written for one token (a screen reconnecting in a loop must not hammer the row).
LAST_SEEN_RESOLUTION = timedelta(minutes=1)


def display_token_create(*, lab: Lab, name: str, by) -> tuple[DisplayToken, str]:
    """Create a display token for ``lab``; returns the row and the raw token (shown once, never stored).

    Raises DomainError ``not_permitted`` unless ``by`` manages the lab (directly or through a
    center above it), ``name_required`` for a blank name.
    """
    if not user_manages_lab(by, lab):
        raise DomainError("not_permitted", lab_id=lab.pk)
    name = (name or "").strip()
    if not name:
        raise DomainError("name_required", message="Vui lòng đặt tên cho màn hình. / Please give the screen a name.")
    raw = secrets.token_urlsafe(32)
    with transaction.atomic():
        token = DisplayToken.objects.create(
            lab=lab, name=name[:120], token_hash=hash_token(raw), prefix=raw[:8], created_by=by
        )
    return token, raw


def display_token_revoke(*, token: DisplayToken, by) -> DisplayToken:
    """Revoke a display token: it opens nothing any more, and the screens using it are disconnected.

    Revoking a revoked token changes nothing. Raises DomainError ``not_permitted`` unless ``by``
    manages the token's lab.
    """
    if not user_manages_lab(by, token.lab):
        raise DomainError("not_permitted", lab_id=token.lab_id)
    with transaction.atomic():
        # Lock the row so two managers revoking at once record one revocation, not two.
        locked = DisplayToken.objects.select_for_update().get(pk=token.pk)
        if locked.revoked_at is None:
            locked.revoked_at = timezone.now()
            locked.revoked_by = by
            locked.save(update_fields=["revoked_at", "revoked_by"])
            # After commit: open sockets with this token close with code 4403.
            publish_token_revoked(locked.pk)
    token.revoked_at, token.revoked_by = locked.revoked_at, locked.revoked_by
    return token


def display_token_authenticate(*, raw: str, lab: Lab | None = None, at: datetime | None = None) -> DisplayToken | None:
    """The active token matching ``raw`` (and, when given, valid for ``lab``: the token's lab or a
    center above it), or None. Records when it was last seen, at most once a minute."""
    if not raw or len(raw) > 200:
        return None
    token = DisplayToken.objects.active().select_related("lab").filter(token_hash=hash_token(raw)).first()
    if token is None:
        return None
    if lab is not None and token.lab_id != lab.pk and token.lab_id not in tree.ancestor_ids(lab.pk):
        return None
    moment = at or timezone.now()
    if token.last_seen_at is None or moment - token.last_seen_at >= LAST_SEEN_RESOLUTION:
        DisplayToken.objects.filter(pk=token.pk).update(last_seen_at=moment)
        token.last_seen_at = moment
    return token
