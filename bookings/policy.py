"""A lab's booking policy: its own, else the nearest center's above it, else the defaults."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from django.conf import settings
from django.db.models.expressions import RawSQL

from bookings.models import BookingPolicy, QuotaRule
from labs import tree

#: The fields an EffectivePolicy takes as they are from a BookingPolicy row (or its defaults).
_COPIED_FIELDS = (
    "cancel_cutoff",
    "check_in_before",
    "check_in_after",
    "no_show_grace",
    "no_show_ban_threshold",
    "no_show_ban_window",
    "no_show_ban_length",
)
_NEAREST_POLICY_SQL = tree.nearest_up_sql("bookings_bookingpolicy")


@dataclass(frozen=True)
class EffectivePolicy:
    """The policy that applies to a lab: cut-offs, check-in window, no-show bans, request holds, quotas."""

    lab_id: int | None
    request_hold: timedelta
    cancel_cutoff: timedelta
    check_in_before: timedelta
    check_in_after: timedelta
    no_show_grace: timedelta
    no_show_ban_threshold: int
    no_show_ban_window: timedelta
    no_show_ban_length: timedelta
    quotas: tuple[QuotaRule, ...] = field(default=())

    def scope(self, fallback_lab_id: int) -> RawSQL:
        """Labs whose bookings count for quotas and bans (the policy's lab and all below it), as a subquery."""
        return tree.subtree_subquery(self.lab_id or fallback_lab_id)


def _effective(source: BookingPolicy, *, lab_id: int | None, request_hold: timedelta, quotas=()) -> EffectivePolicy:
    return EffectivePolicy(
        lab_id=lab_id,
        request_hold=request_hold,
        quotas=tuple(quotas),
        **{name: getattr(source, name) for name in _COPIED_FIELDS},
    )


def policy_for(lab) -> EffectivePolicy:
    """The booking policy of ``lab`` (a Lab or its id): one statement finds the nearest, one more its quotas."""
    lab_id = lab if isinstance(lab, int) else lab.pk
    policy = (
        BookingPolicy.objects.filter(pk__in=RawSQL(_NEAREST_POLICY_SQL, [lab_id])).prefetch_related("quotas").first()
    )
    if policy is None:
        defaults = BookingPolicy()  # the model's field defaults, never saved
        hold_hours = getattr(settings, "LABSHARE_REQUEST_HOLD_HOURS", defaults.request_hold_hours)
        return _effective(defaults, lab_id=None, request_hold=timedelta(hours=hold_hours))
    return _effective(
        policy,
        lab_id=policy.lab_id,
        request_hold=timedelta(hours=policy.request_hold_hours),
        quotas=policy.quotas.all(),
    )
