"""Reads for billing: who issues for a lab, the VAT in force, what may be billed, who sees which statement."""

from __future__ import annotations

import zoneinfo
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from django.db.models import Q, QuerySet

from billing.models import (
    UNPAID_STATUSES,
    BankNotification,
    BillingProfile,
    LateCharge,
    LineKind,
    Statement,
    VatRate,
)
from core.errors import DomainError
from labs import tree
from labs.models import Lab
from labs.selectors import billing_organization_ids, role_lab_ids


def month_bounds(month: date, tz: zoneinfo.ZoneInfo) -> tuple[datetime, datetime]:
    """[start, end) of the calendar month starting on ``month``, in ``tz``."""
    first = month.replace(day=1)
    following = date(first.year + (first.month == 12), first.month % 12 + 1, 1)
    return datetime.combine(first, time(0), tzinfo=tz), datetime.combine(following, time(0), tzinfo=tz)


def previous_month(today: date) -> date:
    """The first day of the month before ``today``'s."""
    return (today.replace(day=1) - timedelta(days=1)).replace(day=1)


def issuer_for_lab(lab: Lab | int) -> BillingProfile | None:
    """The profile that bills a lab's bookings: the lab's own, else the nearest center's above it."""
    lab_id = lab if isinstance(lab, int) else lab.pk
    chain = tree.ancestor_ids(lab_id)
    profiles = {p.lab_id: p for p in BillingProfile.objects.filter(lab_id__in=chain).select_related("lab")}
    for ancestor in chain:
        if ancestor in profiles:
            return profiles[ancestor]
    return None


def issuer_lab_ids(issuer: BillingProfile) -> list[int]:
    """Labs whose bookings ``issuer`` bills: its lab's subtree, less the subtrees of labs below it
    that have a profile of their own."""
    subtree = set(tree.subtree_ids([issuer.lab_id]))
    inner = list(
        BillingProfile.objects.filter(lab_id__in=subtree).exclude(pk=issuer.pk).values_list("lab_id", flat=True)
    )
    if inner:
        subtree -= set(tree.subtree_ids(inner))
    return sorted(subtree)


class VatTable:
    """The VAT table, read once: the rate in force for a kind of line on a day."""

    def __init__(self) -> None:
        self.rows = list(VatRate.objects.order_by("kind", "valid_from"))

    def percent(self, kind: str, day: date) -> Decimal:
        """The rate for ``kind`` on ``day``; refuses a day the table does not cover."""
        for row in self.rows:
            if row.kind == kind and row.valid_from <= day and (row.valid_until is None or day <= row.valid_until):
                return row.percent
        if kind != LineKind.MACHINE_TIME:
            return self.percent(LineKind.MACHINE_TIME, day)
        raise DomainError("vat_rate_missing", kind=kind, day=day.isoformat())


def vat_percent_on(kind: str, day: date) -> Decimal:
    """The VAT rate in force for ``kind`` on ``day`` (one query)."""
    return VatTable().percent(kind, day)


# --- Who sees what -----------------------------------------------------------------------------


def issuer_ids_managed(user) -> set[int]:
    """Billing profiles of labs ``user`` manages (they prepare, close and mark those statements paid)."""
    if user is None or not user.is_authenticated:
        return set()
    if user.is_superuser:
        return set(BillingProfile.objects.values_list("id", flat=True))
    managed = role_lab_ids(user)[0]
    return set(BillingProfile.objects.filter(lab_id__in=managed).values_list("id", flat=True)) if managed else set()


def statements_visible(user) -> QuerySet[Statement]:
    """Statements ``user`` may see: their own, their organisations' (as billing contact), those of
    issuers they manage; all for admins. Drafts only for the issuer's managers."""
    qs = Statement.objects.select_related("issuer", "issuer__lab", "organization", "user")
    if user is None or not user.is_authenticated:
        return qs.none()
    if user.is_superuser:
        return qs
    managed = issuer_ids_managed(user)
    buyer = Q(user_id=user.pk) | Q(organization_id__in=billing_organization_ids(user))
    return qs.filter(Q(issuer_id__in=managed) | (buyer & ~Q(status="draft")))


def can_manage_statement(user, statement: Statement) -> bool:
    """Whether ``user`` manages the lab that issues ``statement`` (or is an admin)."""
    return statement.issuer_id in issuer_ids_managed(user)


def user_has_unpaid_statements(user) -> bool:
    """Whether a statement billed to ``user`` personally is issued and unpaid (for account deletion:
    a person cannot erase themselves while they owe a lab money)."""
    return Statement.objects.filter(user=user, status__in=UNPAID_STATUSES).exists()


def notifications_to_review(user) -> QuerySet[BankNotification]:
    """Unmatched bank notifications for the managers of issuers (by credited account) and admins."""
    qs = BankNotification.objects.filter(status=BankNotification.Status.UNMATCHED)
    if user is None or not user.is_authenticated:
        return qs.none()
    if user.is_superuser:
        return qs
    accounts = BillingProfile.objects.filter(pk__in=issuer_ids_managed(user)).values_list("account_number", flat=True)
    return qs.filter(account_number__in=list(accounts))


def late_charges_to_review(user) -> QuerySet[LateCharge]:
    """People's late changes of billed amounts awaiting a decision, for the managers of the issuer that billed them."""
    qs = LateCharge.objects.filter(decision=LateCharge.Decision.PENDING).select_related(
        "booking__resource__lab", "booking__user", "statement"
    )
    if user is None or not user.is_authenticated:
        return qs.none()
    if user.is_superuser:
        return qs
    return qs.filter(statement__issuer_id__in=issuer_ids_managed(user))
