"""Writes of billing: prepare and issue statements, mark them paid or overdue, take bank notifications.

Each function owns its transaction. A statement is prepared (a draft, rebuilt as often as
needed), then issued by a manager or the month's closing job: it gets the issuer's next number,
the parties' details as they are that day, and never changes again (see billing/models.py).
Bookings billed on an issued statement whose charge changes later (measured use, a correction)
come back as adjustment lines on the organisation's next statement; a person's wait as a
:class:`~billing.models.LateCharge` until a manager bills or waives the difference.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import re
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F, Max, Q, Sum
from django.utils import timezone

from billing import jobs
from billing.charges import billable_statuses, booking_charge
from billing.models import (
    CLOSED_STATUSES,
    UNPAID_STATUSES,
    BankNotification,
    BillingProfile,
    LateCharge,
    LineKind,
    Payment,
    Statement,
    StatementCounter,
    StatementLine,
    StatementStatus,
    VatRate,
)
from billing.selectors import VatTable, issuer_lab_ids, month_bounds
from bookings.models import Booking
from core import hooks
from core.errors import DomainError
from core.formatting import format_date
from labs.models import Organization

logger = logging.getLogger(__name__)

#: How far back a booking that was never billed (it became billable after its month closed) is still picked up.
LATE_MONTHS = 12


# --- Building lines ---------------------------------------------------------------------------------


def _vat(amount: int, percent: Decimal) -> int:
    return int((Decimal(amount) * percent / Decimal(100)).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def _buyer_q(prefix: str, *, organization, user) -> Q:
    """Bookings (``prefix`` = "") or lines (``prefix`` = "booking__") of one buyer."""
    if organization is not None:
        return Q(**{f"{prefix}organization": organization})
    return Q(**{f"{prefix}user": user, f"{prefix}organization__isnull": True})


def _describe(booking: Booking) -> tuple[str, str]:
    resource, lab = booking.resource, booking.resource.lab
    vi = f"{resource.name_vi} — {lab.name_vi}"
    en = f"{resource.name_en or resource.name_vi} — {lab.name_en or lab.name_vi}"
    return vi[:300], en[:300]


def _booked_by(booking: Booking) -> str:
    return (booking.user.get_full_name() or booking.user.get_username())[:200]


def _new_lines(statement: Statement, labs: list[int], table: VatTable) -> list[StatementLine]:
    """The lines ``statement`` would carry now: its month's billable bookings and late ones not yet
    billed, and adjustments of bookings billed earlier whose charge has changed since."""
    tz = statement.issuer.lab.tz
    _start, end = month_bounds(statement.month, tz)
    earliest, _end = month_bounds((statement.month - timedelta(days=31 * LATE_MONTHS)).replace(day=1), tz)
    buyer = _buyer_q("", organization=statement.organization, user=statement.user)
    bookings = (
        Booking.objects.filter(buyer, resource__lab_id__in=labs, start__gte=earliest, start__lt=end)
        .filter(status__in=billable_statuses())
        .exclude(statement_lines__statement__status__in=CLOSED_STATUSES)
        .exclude(statement_lines__statement__in=Statement.objects.filter(status="draft").exclude(pk=statement.pk))
        .select_related("resource", "resource__lab", "user")
        .order_by("start", "id")
    )
    lines: list[StatementLine] = []
    for booking in bookings:
        charge = booking_charge(booking)
        if charge is None or (charge.gross_vnd == 0 and charge.amount_vnd == 0):
            continue
        day = booking.start.astimezone(tz).date()
        percent = table.percent(LineKind.MACHINE_TIME, day)
        vat = _vat(charge.amount_vnd, percent)
        vi, en = _describe(booking)
        lines.append(
            StatementLine(
                kind=LineKind.MACHINE_TIME,
                booking=booking,
                service_date=day,
                description_vi=vi,
                description_en=en,
                booked_by=_booked_by(booking),
                unit="giờ",
                hours=charge.hours,
                unit_price_vnd=charge.unit_price_vnd,
                gross_vnd=charge.gross_vnd,
                subsidy_vnd=charge.subsidy_vnd,
                amount_vnd=charge.amount_vnd,
                vat_percent=percent,
                vat_vnd=vat,
                total_vnd=charge.amount_vnd + vat,
            )
        )
    lines += _adjustments(statement, labs, table)
    for position, line in enumerate(lines, start=1):
        line.statement = statement
        line.position = position
    return lines


def _adjustments(statement: Statement, labs: list[int], table: VatTable) -> list[StatementLine]:
    """Lines correcting bookings billed on this buyer's issued statements whose charge changed after."""
    tz = statement.issuer.lab.tz
    changed = (
        StatementLine.objects.filter(
            statement__issuer=statement.issuer,
            statement__status__in=CLOSED_STATUSES,
            booking__isnull=False,
            booking__updated_at__gt=F("statement__issued_at"),
        )
        .filter(_buyer_q("booking__", organization=statement.organization, user=statement.user))
        .values("booking_id")
    )
    # What was billed is every closed line of a changed booking, adjustments issued after the
    # change included (else an adjustment already billed would be billed again).
    billed = (
        StatementLine.objects.filter(
            statement__issuer=statement.issuer, statement__status__in=CLOSED_STATUSES, booking_id__in=changed
        )
        .values("booking_id")
        .annotate(billed=Sum("amount_vnd"))
        .order_by("booking_id")
    )
    billed = {row["booking_id"]: row["billed"] for row in billed}
    if not billed:
        return []
    first_lines = {
        line.booking_id: line
        for line in StatementLine.objects.filter(booking_id__in=list(billed), kind=LineKind.MACHINE_TIME)
        .select_related("statement")
        .order_by("-id")
    }
    out = []
    for booking in Booking.objects.filter(pk__in=list(billed)).select_related("resource", "resource__lab", "user"):
        charge = booking_charge(booking)
        now_amount = charge.amount_vnd if charge else 0
        difference = now_amount - billed[booking.pk]
        if difference == 0:
            continue
        original = first_lines.get(booking.pk)
        if statement.organization is None and not _person_may_be_billed(
            booking, original, billed=billed[booking.pk], charge=now_amount
        ):
            continue
        day = original.service_date if original else booking.start.astimezone(tz).date()
        # The correction carries the VAT rate of the service it corrects (its service date).
        percent = original.vat_percent if original else table.percent(LineKind.ADJUSTMENT, day)
        vat = _vat(difference, percent)
        vi, en = _describe(booking)
        number = original.statement.number if original else ""
        out.append(
            StatementLine(
                kind=LineKind.ADJUSTMENT,
                booking=booking,
                service_date=day,
                description_vi=f"Điều chỉnh {number}: {vi}"[:300],
                description_en=f"Adjustment to {number}: {en}"[:300],
                booked_by=_booked_by(booking),
                unit="giờ",
                hours=Decimal(0),
                unit_price_vnd=0,
                gross_vnd=difference,
                subsidy_vnd=0,
                amount_vnd=difference,
                vat_percent=percent,
                vat_vnd=vat,
                total_vnd=difference + vat,
            )
        )
    return out


def _person_may_be_billed(booking: Booking, original: StatementLine | None, *, billed: int, charge: int) -> bool:
    """Whether a manager decided to bill a person the late change of ``booking`` to ``charge``.

    A change no manager has seen yet (made by a path that did not announce it, an admin's edit say)
    is recorded here for review, so that nothing is billed, or forgotten, without a decision.
    """
    decision = LateCharge.objects.filter(booking=booking, charge_vnd=charge).values_list("decision", flat=True).first()
    if decision is None and original is not None:
        _record_late_charge(booking.pk, statement_id=original.statement_id, billed=billed, charge=charge, source="")
    return decision == LateCharge.Decision.BILL


def _fill(statement: Statement) -> list[StatementLine]:
    """Rebuild a draft's lines and totals from the bookings as they are now."""
    labs = issuer_lab_ids(statement.issuer)
    lines = _new_lines(statement, labs, VatTable())
    statement.lines.all().delete()
    StatementLine.objects.bulk_create(lines)
    statement.subtotal_vnd = sum(line.amount_vnd for line in lines)
    statement.vat_vnd = sum(line.vat_vnd for line in lines)
    statement.total_vnd = statement.subtotal_vnd + statement.vat_vnd
    statement.subsidy_vnd = sum(line.subsidy_vnd for line in lines)
    statement.save()
    return lines


# --- Drafts and issuing ---------------------------------------------------------------------------


def statement_prepare(*, issuer: BillingProfile, month: date, organization=None, user=None) -> Statement | None:
    """The draft statement of ``issuer`` to one buyer for ``month``, rebuilt from the bookings now.

    Returns None (and keeps no empty draft) when there is nothing to bill. Refuses a month whose
    statement is already issued (``statement_closed``).
    """
    if (organization is None) == (user is None):
        raise ValueError("a statement is for an organisation or for a person")
    month = month.replace(day=1)
    with transaction.atomic():
        lookup = {"issuer": issuer, "month": month, "organization": organization, "user": user}
        statement = Statement.objects.select_for_update().filter(**lookup).first()
        if statement is None:
            try:
                with transaction.atomic():
                    statement = Statement.objects.create(**lookup)
            except IntegrityError:
                # Race: another request created the same draft first; work on theirs.
                statement = Statement.objects.select_for_update().get(**lookup)
        if statement.is_closed:
            raise DomainError("statement_closed", statement=statement.pk, number=statement.number)
        lines = _fill(statement)
        if not lines:
            statement.delete()
            return None
    return statement


def _next_number(issuer: BillingProfile, year: int) -> str:
    """The issuer's next statement number for ``year``, without gaps."""
    StatementCounter.objects.get_or_create(issuer=issuer, year=year)
    # Row lock: two statements issued at once by the same lab must not get the same number.
    counter = StatementCounter.objects.select_for_update().get(issuer=issuer, year=year)
    counter.last += 1
    counter.save(update_fields=["last"])
    return f"{issuer.number_prefix}-{year}-{counter.last:05d}"


def _snapshot_parties(statement: Statement) -> None:
    issuer = statement.issuer
    statement.seller_name = issuer.legal_name
    statement.seller_tax_code = issuer.tax_code
    statement.seller_address = issuer.address
    statement.bank_bin = issuer.bank_bin
    statement.bank_name = issuer.bank_name
    statement.account_number = issuer.account_number
    statement.account_name = issuer.account_name
    if statement.organization is not None:
        org = statement.organization
        statement.buyer_name = org.name
        statement.buyer_tax_code = org.tax_code
        statement.buyer_address = org.address
        statement.buyer_email = org.email
    else:
        person = statement.user
        statement.buyer_name = (person.get_full_name() or person.get_username())[:200]
        statement.buyer_email = person.email


def hook_payload(statement: Statement, *, change: str) -> dict:
    """What ``statement.<change>`` tells subscribers (webhooks): no line detail, no personal data."""
    return {
        "v": 1,
        "change": change,
        "statement": {
            "id": statement.pk,
            "number": statement.number,
            "status": statement.status,
            "month": statement.month.isoformat(),
            "issuer_lab_id": statement.issuer.lab_id,
            "organization_id": statement.organization_id,
            "user_id": statement.user_id,
            "total_vnd": statement.total_vnd,
            "due_date": statement.due_date.isoformat() if statement.due_date else None,
        },
    }


def statement_issue(*, statement: Statement, by=None, at: datetime | None = None) -> Statement:
    """Close a draft: rebuild its lines one last time, number it, fix the parties and totals.

    Only once its month is over (``statement_month_open``), never empty (``statement_empty``).
    ``by`` is None when the month's closing job issues it.
    """
    at = at or timezone.now()
    with transaction.atomic():
        locked = Statement.objects.select_for_update().select_related("issuer__lab").get(pk=statement.pk)
        if locked.is_closed:
            raise DomainError("statement_closed", statement=locked.pk, number=locked.number)
        tz = locked.issuer.lab.tz
        _start, end = month_bounds(locked.month, tz)
        if at < end:
            raise DomainError("statement_month_open", month=locked.month.isoformat())
        if not _fill(locked):
            raise DomainError("statement_empty", statement=locked.pk)
        local_day = at.astimezone(tz).date()
        days = locked.issuer.payment_days or settings.LABSHARE_STATEMENT_DUE_DAYS
        locked.number = _next_number(locked.issuer, locked.month.year)
        _snapshot_parties(locked)
        locked.status = StatementStatus.ISSUED
        locked.issued_at = at
        locked.issued_by = by
        locked.due_date = local_day + timedelta(days=days)
        locked.save()
        jobs.defer(jobs.statement_email_job(locked, kind="issued"))
        hooks.announce("statement.issued", hook_payload(locked, change="issued"))
    statement.__dict__.update({k: v for k, v in locked.__dict__.items() if k != "_state"})
    return locked


def _buyers_to_bill(issuer: BillingProfile, month: date) -> list[tuple]:
    """(organisation id, user id) of everyone ``issuer`` has something to bill for ``month``."""
    labs = issuer_lab_ids(issuer)
    tz = issuer.lab.tz
    _start, end = month_bounds(month, tz)
    earliest, _ = month_bounds((month - timedelta(days=31 * LATE_MONTHS)).replace(day=1), tz)
    rows = (
        Booking.objects.filter(resource__lab_id__in=labs, start__gte=earliest, start__lt=end)
        .filter(status__in=billable_statuses())
        .exclude(statement_lines__statement__status__in=CLOSED_STATUSES)
        .values_list("organization_id", "user_id")
        .distinct()
    )
    buyers = {(org_id, None) if org_id else (None, user_id) for org_id, user_id in rows}
    changed = (
        StatementLine.objects.filter(
            statement__issuer=issuer,
            statement__status__in=CLOSED_STATUSES,
            booking__updated_at__gt=F("statement__issued_at"),
        )
        .values_list("statement__organization_id", "statement__user_id")
        .distinct()
    )
    buyers |= set(changed)
    return sorted(buyers, key=lambda b: (b[0] or 0, b[1] or 0))


def statements_close_month(*, month: date, by=None, issuer: BillingProfile | None = None) -> dict[str, int]:
    """Prepare and issue every statement of ``month`` (of one issuer, or all): what a manager's
    "close the month" and the monthly job do. Each statement in its own transaction."""
    from django.contrib.auth import get_user_model

    done = {"issued": 0, "empty": 0, "already_closed": 0}
    issuers = [issuer] if issuer is not None else list(BillingProfile.objects.select_related("lab"))
    for profile in issuers:
        for org_id, user_id in _buyers_to_bill(profile, month):
            organization = Organization.objects.get(pk=org_id) if org_id else None
            person = get_user_model().objects.get(pk=user_id) if user_id else None
            try:
                draft = statement_prepare(issuer=profile, month=month, organization=organization, user=person)
                if draft is None:
                    done["empty"] += 1
                    continue
                statement_issue(statement=draft, by=by)
                done["issued"] += 1
            except DomainError as exc:
                if exc.code == "statement_closed":
                    done["already_closed"] += 1
                elif exc.code == "statement_empty":
                    done["empty"] += 1
                else:
                    raise
    return done


# --- Payment -------------------------------------------------------------------------------------


def statement_mark_paid(
    *, statement: Statement, by=None, notification: BankNotification | None = None, note: str = ""
) -> Statement:
    """Record that a statement is paid (by a manager, or by a matched bank notification)."""
    with transaction.atomic():
        locked = Statement.objects.select_for_update().select_related("issuer").get(pk=statement.pk)
        if locked.status not in UNPAID_STATUSES:
            raise DomainError("statement_not_payable", statement=locked.pk, status=locked.status)
        at = timezone.now()
        Payment.objects.create(
            statement=locked,
            amount_vnd=notification.amount_vnd if notification else locked.total_vnd,
            method=Payment.Method.BANK_TRANSFER if notification else Payment.Method.MANUAL,
            at=at,
            recorded_by=by,
            notification=notification,
            note=note[:300],
        )
        locked.status = StatementStatus.PAID
        locked.paid_at = at
        locked.save(update_fields=["status", "paid_at", "updated_at"])
        hooks.announce("statement.paid", hook_payload(locked, change="paid"))
    statement.__dict__.update({k: v for k, v in locked.__dict__.items() if k != "_state"})
    return locked


def statements_mark_overdue(*, today: date | None = None) -> int:
    """Issued statements past their due date become overdue; each gets its reminder e-mail (a job)."""
    today = today or timezone.localdate()
    count = 0
    with transaction.atomic():
        due = list(
            Statement.objects.select_for_update(skip_locked=True)
            .select_related("issuer")
            .filter(status=StatementStatus.ISSUED, due_date__lt=today)
            .order_by("id")
        )
        for statement in due:
            statement.status = StatementStatus.OVERDUE
            statement.overdue_at = timezone.now()
            statement.save(update_fields=["status", "overdue_at", "updated_at"])
            jobs.defer(jobs.statement_email_job(statement, kind="overdue"))
            hooks.announce("statement.overdue", hook_payload(statement, change="overdue"))
            count += 1
    return count


# --- Bank notifications ---------------------------------------------------------------------------


def signature_for(body: bytes, timestamp: str, secret: str) -> str:
    """The signature a bank (or the tests) sends: ``sha256=`` and the hex HMAC of ``timestamp.body``."""
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def verify_signature(*, body: bytes, timestamp: str, signature: str, now: datetime | None = None) -> None:
    """Refuse (``bad_signature``) a notification whose HMAC is wrong or whose timestamp is stale."""
    secret = settings.LABSHARE_BANK_WEBHOOK_SECRET
    if not secret or not timestamp or not signature or not timestamp.isdigit():
        raise DomainError("bad_signature")
    now = now or timezone.now()
    if abs(now.timestamp() - int(timestamp)) > settings.LABSHARE_BANK_WEBHOOK_TOLERANCE:
        raise DomainError("bad_signature", reason="stale")
    expected = signature_for(body, timestamp, secret)
    if not hmac.compare_digest(expected, signature.strip()):
        raise DomainError("bad_signature")


def _parse_notification(body: bytes) -> dict:
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise DomainError("bank_notification_invalid", reason="not_json") from None
    if not isinstance(data, dict):
        raise DomainError("bank_notification_invalid", reason="not_an_object")
    transaction_id = data.get("transaction_id")
    amount = data.get("amount")
    if not isinstance(transaction_id, str) or not (0 < len(transaction_id) <= 100):
        raise DomainError("bank_notification_invalid", field="transaction_id")
    if not isinstance(amount, int) or isinstance(amount, bool) or amount <= 0 or amount >= 10**15:
        raise DomainError("bank_notification_invalid", field="amount")
    description = data.get("description", "")
    account = data.get("account_number", "")
    if not isinstance(description, str) or not isinstance(account, str):
        raise DomainError("bank_notification_invalid", field="description")
    transacted_at = None
    if data.get("transacted_at"):
        try:
            transacted_at = datetime.fromisoformat(str(data["transacted_at"]))
        except ValueError:
            raise DomainError("bank_notification_invalid", field="transacted_at") from None
        if timezone.is_naive(transacted_at):
            raise DomainError("bank_notification_invalid", field="transacted_at")
    return {
        "transaction_id": transaction_id,
        "amount_vnd": amount,
        "description": description[:500],
        "account_number": account[:40],
        "transacted_at": transacted_at,
        "payload": data,
    }


def _normal(text: str) -> str:
    """Upper case letters and digits only: banks drop or change dashes and spaces in transfer notes."""
    return re.sub(r"[^0-9A-Z]", "", text.upper())


def _match(notification: BankNotification) -> tuple[Statement | None, str]:
    """The statement a notification pays, or why none: no_reference, already_paid, amount_mismatch."""
    note = _normal(notification.description)
    candidates = Statement.objects.filter(status__in=CLOSED_STATUSES).exclude(number="")
    if notification.account_number:
        candidates = candidates.filter(account_number=notification.account_number)
    found = [s for s in candidates.only("id", "number", "status", "total_vnd") if _normal(s.number) in note]
    if len(found) != 1:
        return None, ("no_reference" if not found else "ambiguous_reference")
    statement = found[0]
    if statement.status not in UNPAID_STATUSES:
        return statement, "already_paid"
    if statement.total_vnd != notification.amount_vnd:
        return statement, "amount_mismatch"
    return statement, ""


def bank_notification_receive(*, body: bytes, timestamp: str, signature: str) -> tuple[BankNotification, bool]:
    """Take a bank's transfer notification: verify, store once per transaction id, pay the statement
    it names when the amount matches, else leave it on the review list.

    Returns (notification, created). A replayed transaction id returns the stored one and changes
    nothing; a bad signature or a malformed body stores nothing.
    """
    verify_signature(body=body, timestamp=timestamp, signature=signature)
    data = _parse_notification(body)
    with transaction.atomic():
        existing = BankNotification.objects.filter(transaction_id=data["transaction_id"]).first()
        if existing is not None:
            return existing, False
        try:
            with transaction.atomic():
                notification = BankNotification.objects.create(status=BankNotification.Status.UNMATCHED, **data)
        except IntegrityError:
            # Race: the bank retried while the first delivery was being stored.
            return BankNotification.objects.get(transaction_id=data["transaction_id"]), False
        statement, reason = _match(notification)
        notification.statement = statement
        if statement is not None and not reason:
            statement_mark_paid(statement=statement, notification=notification)
            notification.status = BankNotification.Status.MATCHED
        else:
            notification.reason = reason
            logger.info("bank notification %s not matched: %s", notification.transaction_id, reason)
        notification.save(update_fields=["statement", "status", "reason"])
    return notification, True


def bank_notification_resolve(
    *, notification: BankNotification, by, statement: Statement | None = None, note: str = ""
) -> BankNotification:
    """Deal with a notification on the review list: mark ``statement`` paid with it, or dismiss it."""
    with transaction.atomic():
        locked = BankNotification.objects.select_for_update().get(pk=notification.pk)
        if locked.status != BankNotification.Status.UNMATCHED:
            raise DomainError("notification_already_resolved", notification=locked.pk)
        if statement is not None:
            statement_mark_paid(statement=statement, by=by, notification=locked, note=note)
            locked.statement = statement
            locked.status = BankNotification.Status.RESOLVED
        else:
            locked.status = BankNotification.Status.DISMISSED
        locked.resolved_by, locked.resolved_at = by, timezone.now()
        locked.save()
    return locked


def vat_rate_add(*, kind: str, percent: Decimal, valid_from: date, valid_until: date | None = None, note: str = ""):
    """Add a dated VAT rate; refuses one whose dates overlap a rate of the same kind (``vat_rate_overlap``)."""
    try:
        with transaction.atomic():
            return VatRate.objects.create(
                kind=kind, percent=percent, valid_from=valid_from, valid_until=valid_until, note=note
            )
    except IntegrityError as exc:
        # The exclusion constraint (vat_rate_no_overlap) is the guard; the span-order check too.
        raise DomainError("vat_rate_overlap", kind=kind) from exc


def due_text(statement: Statement, lang: str) -> str:
    """The due date as the locale writes it (for e-mails and pages)."""
    return format_date(statement.due_date, lang=lang) if statement.due_date else ""


# --- Late changes of billed amounts ----------------------------------------------------------------


def _record_late_charge(booking_id: int, *, statement_id: int, billed: int, charge: int, source: str) -> None:
    """Put a person's late change on the review list; a newer amount supersedes the open one."""
    LateCharge.objects.bulk_create(
        [
            LateCharge(
                booking_id=booking_id,
                statement_id=statement_id,
                billed_vnd=billed,
                charge_vnd=charge,
                source=source[:40],
                noticed_at=timezone.now(),
            )
        ],
        # The same amount noticed twice (a replayed signal, a second draft) stays one row.
        ignore_conflicts=True,
    )
    LateCharge.objects.filter(booking_id=booking_id, decision=LateCharge.Decision.PENDING).exclude(
        charge_vnd=charge
    ).update(decision=LateCharge.Decision.SUPERSEDED)


def late_charge_note(*, booking_id: int, source: str = "") -> LateCharge | None:
    """Notice that the amount of a booking changed, in the caller's transaction (the ``charge.changed`` hook).

    Nothing to do while no issued statement billed the booking (its statement will bill the amount
    as it is then), nor for an organisation's booking (its next statement carries the difference as
    an adjustment line). A person's booking billed at another amount goes on the managers' review
    list (:func:`late_charge_decide`); the issued statement itself never changes.
    """
    billed = (
        StatementLine.objects.filter(booking_id=booking_id, statement__status__in=CLOSED_STATUSES)
        .values("booking__organization_id")
        .annotate(billed=Sum("amount_vnd"), last_statement=Max("statement_id"))
        .order_by("booking__organization_id")
        .first()
    )
    if billed is None or billed["booking__organization_id"] is not None:
        return None
    booking = Booking.objects.select_related("resource").get(pk=booking_id)
    charge = booking_charge(booking)
    amount = charge.amount_vnd if charge else 0
    if amount == billed["billed"]:
        return None
    _record_late_charge(
        booking_id, statement_id=billed["last_statement"], billed=billed["billed"], charge=amount, source=source
    )
    return LateCharge.objects.filter(booking_id=booking_id, charge_vnd=amount).first()


def late_charge_decide(*, late_charge: LateCharge, by, bill: bool, note: str = "") -> LateCharge:
    """A manager's decision on a person's late change: bill the difference on their next statement, or waive it.

    Refuses a change already decided or superseded by a later one (``late_charge_decided``).
    """
    with transaction.atomic():
        # Row lock: two managers deciding at once must not both win.
        locked = LateCharge.objects.select_for_update().get(pk=late_charge.pk)
        if locked.decision != LateCharge.Decision.PENDING:
            raise DomainError("late_charge_decided", late_charge=locked.pk, decision=locked.decision)
        locked.decision = LateCharge.Decision.BILL if bill else LateCharge.Decision.WAIVE
        locked.decided_by, locked.decided_at, locked.note = by, timezone.now(), note[:300]
        locked.save(update_fields=["decision", "decided_by", "decided_at", "note"])
    return locked
