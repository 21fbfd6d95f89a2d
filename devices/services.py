"""Writes of the devices app: devices and their tokens, badges, access decisions, sessions, heartbeats, allow-lists.

Every function owns its transaction. The booking engine is used only through its services
(``booking_request``, ``booking_check_in``, ``booking_check_out``): a device never changes a
booking's status itself. What a device reports is logged once per event id (``DeviceEvent``,
unique per device), claimed first in the transaction, so a retried or replayed event finds its
first answer and changes nothing twice.
"""

from __future__ import annotations

import json
import logging
import secrets
import uuid
from datetime import datetime, timedelta

from django.core.serializers.json import DjangoJSONEncoder
from django.db import IntegrityError, connection, transaction
from django.db.models import Q
from django.utils import timezone

from bookings import jobs as booking_jobs
from bookings import services as booking_services
from bookings.events import public_label
from bookings.models import ACTIVE_STATUSES, Booking, BookingStatus
from core import hooks
from core.errors import DomainError
from core.statements import insert_sql, insert_unless_conflict, run_together, update_sql
from devices import access, allowlists, badges, live, selectors, signing
from devices.models import AllowList, Badge, Device, DeviceEvent, DeviceSession, hash_token
from devices.pricing import Use, measured_price
from labs import tree
from labs.models import Lab, LabRole, Member, PriceBasis, Resource
from labs.selectors import user_manages_lab

logger = logging.getLogger(__name__)

#: Device tokens start with this, so a leaked one is recognisable (and greppable) as a labshare device's.
TOKEN_PREFIX = "lsd_"
#: Allow-lists are kept this long after they expire (audit of replayed decisions), then purged.
ALLOW_LIST_RETENTION = timedelta(days=7)
#: What a walk-in booking's purpose says (shown to managers and in the member's bookings).
WALK_IN_PURPOSE = "Walk-in at the machine / Sử dụng trực tiếp tại máy"


def _new_token() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def _language_of(user) -> str:
    try:
        return user.member.language or "vi"
    except Member.DoesNotExist:
        return "vi"


# --- Devices -----------------------------------------------------------------------------------


def device_register(*, name: str, by, resource: Resource | None = None, lab: Lab | None = None) -> tuple[Device, str]:
    """Register an interlock for ``resource`` or a kiosk for ``lab``; returns the device and its token.

    The token is returned once and never stored (only its hash). Only a manager of the lab (or of
    a center above it) may register. Raises ``not_permitted``, ``device_target_required``, ``name_required``.
    """
    if (resource is None) == (lab is None):
        raise DomainError("device_target_required")
    target_lab = resource.lab if resource is not None else lab
    if not user_manages_lab(by, target_lab):
        raise DomainError("not_permitted", lab_id=target_lab.pk)
    name = (name or "").strip()
    if not name:
        raise DomainError("name_required")
    raw = _new_token()
    with transaction.atomic():
        device = Device.objects.create(
            kind=Device.Kind.INTERLOCK if resource is not None else Device.Kind.KIOSK,
            name=name[:120],
            lab=target_lab,
            resource=resource,
            token_hash=hash_token(raw),
            prefix=raw[: len(TOKEN_PREFIX) + 6],
            created_by=by,
        )
        live.tell(device, "registered", session=None)
    return device, raw


def _lock_device(device: Device) -> Device:
    return Device.objects.select_for_update(of=("self",)).select_related("lab", "resource").get(pk=device.pk)


def device_rotate_token(*, device: Device, by) -> tuple[Device, str]:
    """Give the device a new token (the old one stops working at once); returns the device and the new token."""
    if not user_manages_lab(by, device.lab):
        raise DomainError("not_permitted", lab_id=device.lab_id)
    raw = _new_token()
    with transaction.atomic():
        locked = _lock_device(device)
        if locked.revoked_at is not None:
            raise DomainError("invalid_transition", status="revoked", to="rotated")
        locked.token_hash, locked.prefix, locked.rotated_at = (
            hash_token(raw),
            raw[: len(TOKEN_PREFIX) + 6],
            timezone.now(),
        )
        locked.save(update_fields=["token_hash", "prefix", "rotated_at"])
        live.tell(locked, "token_rotated", screens=False)
    return locked, raw


def device_revoke(*, device: Device, by) -> Device:
    """Revoke a device: its token opens nothing any more, its running session ends now. Twice changes nothing."""
    if not user_manages_lab(by, device.lab):
        raise DomainError("not_permitted", lab_id=device.lab_id)
    with transaction.atomic():
        locked = _lock_device(device)
        if locked.revoked_at is None:
            now = timezone.now()
            locked.revoked_at, locked.revoked_by, locked.online = now, by, False
            locked.save(update_fields=["revoked_at", "revoked_by", "online"])
            session = (
                DeviceSession.objects.select_for_update(of=("self",))
                .select_related("user", "booking")
                .filter(device=locked, ended_at__isnull=True)
                .first()
            )
            if session is not None:
                _end_session(locked, session, at=now, reason="device_revoked")
            live.tell(locked, "revoked", session=None)
    return locked


# --- Badges ------------------------------------------------------------------------------------


def _may_register_badges(by) -> bool:
    """Lab staff and managers (any lab) and admins register members' cards at the desk."""
    if by is None or not by.is_authenticated:
        return False
    return by.is_superuser or LabRole.objects.filter(user=by).exists()


def badge_register(*, user, uid: str, by=None, kind: str = Badge.Kind.RFID, label: str = "", via: Device | None = None):
    """Register a card for ``user``: by lab staff (``by``) or by the member at a kiosk (``via``, after their profile QR).

    Registering the same card for the same member again changes nothing; a card active for someone
    else is refused (``badge_taken``) — the unique index decides when two desks race.
    """
    if via is None and not _may_register_badges(by):
        raise DomainError("not_permitted")
    if kind not in (Badge.Kind.RFID, Badge.Kind.STUDENT_CARD) or badges.is_profile_qr(uid or ""):
        raise DomainError("badge_invalid")
    number = badges.normalise(uid)
    with transaction.atomic():
        existing = Badge.objects.active().filter(uid=number).first()
        if existing is not None:
            if existing.user_id == user.pk:
                return existing
            raise DomainError("badge_taken")
        try:
            with transaction.atomic():
                badge = Badge.objects.create(
                    user=user, kind=kind, uid=number, label=(label or "")[:80], created_by=by, created_via=via
                )
        except IntegrityError:
            raise DomainError("badge_taken") from None
    return badge


def badge_revoke(*, badge: Badge, by) -> Badge:
    """Withdraw a badge (lost card): its holder, lab staff or an admin; kept as history. Twice changes nothing."""
    if by is None or (by.pk != badge.user_id and not _may_register_badges(by)):
        raise DomainError("not_permitted")
    with transaction.atomic():
        locked = Badge.objects.select_for_update().get(pk=badge.pk)
        if locked.revoked_at is None:
            locked.revoked_at, locked.revoked_by = timezone.now(), by
            locked.save(update_fields=["revoked_at", "revoked_by"])
    return locked


def profile_qr(*, user) -> Badge:
    """The member's profile QR code (made on first use): shown at a machine like a card, or at a kiosk to register one."""
    current = Badge.objects.active().filter(user=user, kind=Badge.Kind.QR).first()
    if current is not None:
        return current
    try:
        with transaction.atomic():
            return Badge.objects.create(user=user, kind=Badge.Kind.QR, uid=badges.new_profile_qr(), created_by=user)
    except IntegrityError:
        # Two first views at once: the other one made it.
        return Badge.objects.active().get(user=user, kind=Badge.Kind.QR)


def profile_qr_rotate(*, user) -> Badge:
    """A new profile QR code; the old one (a screenshot someone kept) stops working."""
    with transaction.atomic():
        for old in Badge.objects.select_for_update().filter(user=user, kind=Badge.Kind.QR, revoked_at__isnull=True):
            old.revoked_at, old.revoked_by = timezone.now(), user
            old.save(update_fields=["revoked_at", "revoked_by"])
        return Badge.objects.create(user=user, kind=Badge.Kind.QR, uid=badges.new_profile_qr(), created_by=user)


# --- The device log ----------------------------------------------------------------------------


def _claim(device: Device, event_id, **fields) -> DeviceEvent | None:
    """Insert the log row of ``event_id``, or None when the device sent it before.

    Race prevented: a device retrying a call that timed out while the first is still running. The
    second insert waits on the unique index until the first transaction ends, then inserts nothing:
    it returns the first one's answer instead of checking the member in twice. ``INSERT … ON
    CONFLICT DO NOTHING RETURNING id``: one statement, where a savepoint around a failing insert
    costs three (every event of a session goes through here).
    """
    row = DeviceEvent(device=device, event_id=event_id, **fields)
    if not insert_unless_conflict(row):
        return None
    return row


def _clamp(moment: datetime, now: datetime) -> datetime:
    """A device's instant, taken as it is unless it lies in the future (a clock running ahead is "now")."""
    return min(moment, now)


# --- Access --------------------------------------------------------------------------------------


def _carry_out(device: Device, user, plan: access.Plan, *, at: datetime, ref) -> access.Result:
    """Apply an allowed plan through the engine (check-in, walk-in booking) and make the session.

    In the caller's transaction, without a savepoint of ours or of the engine's (``savepoint=False``):
    if the engine refuses anything (a web booking took the machine a moment ago, the check-in
    window closed), it raises :class:`_Refused` and the caller rolls its whole transaction back
    (the walk-in booking and the check-in with it), then logs the refusal. The engine checks in
    with the policy the access call read, and books a walk-in checked in at once. The session is
    made here and written with the access call's log row, in its statement (:func:`_log_access`).
    """
    resource = device.resource
    walk_in = plan.kind == "walk_in"
    session = None
    try:
        if plan.kind == "session":
            session = plan.session
            booking = session.booking
        elif walk_in:
            booking = booking_services.booking_request(
                resource=resource,
                user=user,
                start=plan.start,
                end=plan.end,
                purpose=WALK_IN_PURPOSE,
                walk_in_at=plan.start,
                savepoint=False,
            )
        else:
            booking = plan.booking if plan.booking is not None else plan.held.id
            status = plan.booking.status if plan.booking is not None else plan.held.status
            if status == BookingStatus.CONFIRMED:
                booking = booking_services.booking_check_in(
                    booking=booking, by=user, at=at, policy=plan.policy, savepoint=False, lab_ids=plan.lab_ids
                )
            elif isinstance(booking, int):  # checked in already (at a kiosk, or an earlier session)
                booking = Booking.objects.select_related("resource__lab").get(pk=booking)
        if session is None and device.kind == Device.Kind.INTERLOCK:
            session = DeviceSession(
                device=device,
                resource=resource,
                user=user,
                booking=booking,
                ref=ref,
                started_at=at,
                offline=False,
                walk_in=walk_in,
            )
    except DomainError as exc:
        raise _Refused(access.deny(exc.code, **exc.details)) from exc
    reason = {"session": "session", "walk_in": "walk_in", "checked_in": "checked_in"}.get(plan.kind, "booking")
    return access.Result(
        decision="allow",
        reason=reason,
        until=booking.end if booking is not None else None,
        booking_id=booking.pk if booking is not None else None,
        session=session,
        walk_in=walk_in,
        resource=booking.resource if plan.kind == "checked_in" else None,
        lab_ids=plan.lab_ids,
    )


def _identify(credential: str) -> tuple[Badge | None, access.Result | None]:
    """The badge (with its member) of ``credential``, or the refusal that needs no rule: one read."""
    try:
        number = badges.normalise(credential)
    except DomainError:
        return None, access.deny("unknown_badge")
    badge = selectors.badge_for(number)
    if badge is None:
        return None, access.deny("unknown_badge")
    if not badge.user.is_active:
        return badge, _about(access.deny("account_inactive"), badge.user)
    return badge, None


def _about(result: access.Result, user) -> access.Result:
    result.who = public_label(organization=None, user=user)
    result.language = _language_of(user)
    result.user_id = user.pk
    return result


def _decide(device: Device, user, *, now: datetime, ref) -> access.Result:
    """The engine's answer for a known, active member, applied (check-in, walk-in, session): in the caller's transaction."""
    if device.kind == Device.Kind.KIOSK:
        plan = access.judge_kiosk(device=device, user=user, now=now)
    else:
        plan = access.judge_interlock(device=device, user=user, now=now, session=selectors.open_session(device))
    result = plan if isinstance(plan, access.Result) else _carry_out(device, user, plan, at=now, ref=ref)
    return _about(result, user)


def _log_access(device: Device, result: access.Result, badge: Badge | None, *, event_id, now: datetime, jobs) -> dict:
    """Log the answer once, with the jobs its announcements returned and the session it opened (one
    statement); the answer, or ``_AlreadyAnswered``."""
    answer = result.as_dict(device.lab.tz, event_id=event_id, now=now)
    session = result.session
    logged = _log_once(
        device=device,
        event_id=event_id,
        kind=DeviceEvent.Kind.ACCESS,
        at=now,
        user_id=result.user_id,
        badge_id=badge.pk if badge is not None else None,
        session=session,
        decision=result.decision,
        reason=result.reason,
        details={"answer": answer},
        jobs=jobs,
    )
    if not logged:
        raise _AlreadyAnswered
    return answer


def device_access(
    *, device: Device, badge: str | None = None, qr: str | None = None, event_id=None, resource_id: int | None = None
) -> dict:
    """May the member with this badge (or profile QR) start the device's machine now? The answer, as sent.

    Allowed at the start of the member's booking checks it in; with no booking, on a free machine
    that takes walk-ins, books it on the spot (every rule of the engine applies) and checks it in.
    An interlock then opens a session, whose reference the device uses for its later events. A
    retry with the same ``event_id`` gets the first answer. ``resource_id``, when the device names
    one, must be its own machine (``device_wrong_resource``).
    """
    if resource_id is not None and resource_id != device.resource_id:
        raise DomainError("device_wrong_resource", resource=resource_id)
    event_id = event_id or uuid.uuid4()
    now = timezone.now()
    badge_row, refusal = _identify(badge if badge is not None else (qr or ""))
    try:
        if refusal is not None:
            # An unknown card or a disabled account: no rule to read and nothing to change but the
            # log, so no transaction: the log row and its webhook job are one statement.
            return _log_access(
                device, refusal, badge_row, event_id=event_id, now=now, jobs=_tell_access(device, refusal, at=now)
            )
        try:
            with transaction.atomic():
                result = _decide(device, badge_row.user, now=now, ref=event_id)
                jobs = _tell_access(device, result, at=now)
                return _log_access(device, result, badge_row, event_id=event_id, now=now, jobs=jobs)
        except (_Refused, IntegrityError) as refused:
            # The engine refused while applying the plan, or another session opened on this device
            # meanwhile (two badges at the same instant: the session's unique index): everything done
            # is rolled back with the transaction; the refusal is logged like any other, in one statement.
            if isinstance(refused, IntegrityError) and not _session_clash(refused):
                raise
            denial = refused.result if isinstance(refused, _Refused) else access.deny("resource_in_use")
            result = _about(denial, badge_row.user)
            return _log_access(
                device, result, badge_row, event_id=event_id, now=now, jobs=_tell_access(device, result, at=now)
            )
    except _AlreadyAnswered:
        # A retry of a call that was answered (maybe while this one was deciding): everything this one
        # did is rolled back, and the device gets the first answer, so nothing happens twice.
        return DeviceEvent.objects.get(device=device, event_id=event_id).details.get("answer", {})


#: The session constraints an access call may meet when another call opened a session meanwhile.
_SESSION_CLASHES = frozenset({"devicesession_one_open", "devicesession_ref_unique"})


def _session_clash(exc: IntegrityError) -> bool:
    """Whether ``exc`` is another session (or a retry's) holding this one's place."""
    diag = getattr(exc.__cause__, "diag", None)
    return diag is not None and diag.constraint_name in _SESSION_CLASHES


class _AlreadyAnswered(Exception):
    """The event id is in the log already (raised to roll back a duplicate's work)."""


class _Refused(Exception):
    """The engine refused an allowed plan while applying it (raised to roll back what it had done)."""

    def __init__(self, result: access.Result) -> None:
        super().__init__(result.reason)
        self.result = result


#: The insert of a log row that skips a row already there, without a savepoint (one statement instead of
#: four with the ORM's savepoint, insert and update: bench/bench_devices.py, "SQL" column). The session
#: the access opened goes in with it (``opened``), and its announcements' jobs, only when the row is new
#: (``queued`` runs once per inserted row, so a retry's jobs are not queued twice even outside a
#: transaction; a retry's session is rolled back with its transaction by the caller).
_LOG_ONCE_SQL = """
    WITH opened AS ({session}),
    logged AS (
        INSERT INTO devices_deviceevent
            (device_id, event_id, kind, "at", received_at, offline, session_id, session_ref, user_id, badge_id,
             decision, reason, outcome, details)
        VALUES (%s, %s, %s, %s, %s, false, (SELECT id FROM opened), %s, %s, %s, %s, %s, 'applied', %s::jsonb)
        ON CONFLICT (device_id, event_id) DO NOTHING
        RETURNING id
    ),
    queued AS ({queue})
    SELECT (SELECT id FROM logged), (SELECT id FROM opened), (SELECT count(*) FROM queued)
"""


def _log_once(
    *,
    device: Device,
    event_id,
    kind: str,
    at: datetime,
    user_id,
    badge_id,
    session: DeviceSession | None,
    decision,
    reason,
    details,
    jobs=(),
) -> bool:
    """Log an online access decision once, with ``jobs``; False when the device sent this event id before.

    ``session``: the session the access opened (new: written here, in the same statement) or
    resumed (saved already), else None.
    """
    queue, queue_params = "SELECT NULL::bigint AS id", []
    if jobs:
        defer_sql, queue_params = booking_jobs.deferral_sql(list(jobs))
        queue = f"SELECT q.id FROM logged CROSS JOIN LATERAL ({defer_sql} WHERE logged.id IS NOT NULL) q"
    opened, opened_params = "SELECT NULL::bigint AS id", []
    if session is not None and session.pk is not None:
        opened, opened_params = "SELECT %s::bigint AS id", [session.pk]
    elif session is not None:
        opened, opened_params = insert_sql([session], returning_pk=True)
    with connection.cursor() as cursor:
        cursor.execute(
            _LOG_ONCE_SQL.format(session=opened, queue=queue),
            [
                *opened_params,
                device.pk,
                event_id,
                kind,
                at,
                timezone.now(),
                session.ref if session is not None else None,
                user_id,
                badge_id,
                decision,
                reason[:60],
                json.dumps(details, cls=DjangoJSONEncoder),
                *queue_params,
            ],
        )
        logged, session_id, _queued = cursor.fetchone()
    if session is not None and session.pk is None and session_id is not None:
        session.pk = session_id
        session._state.adding, session._state.db = False, connection.alias
    return logged is not None


def _tell_access(device: Device, result: access.Result, *, at: datetime, offline: bool = False) -> list:
    """Announce an online access answer; returns the subscribers' jobs, for the log row's insert."""
    facts = {
        "user_id": result.user_id,
        "reason": result.reason,
        "booking_id": result.booking_id,
        "offline": offline,
        "at": at,
    }
    if not result.allowed:
        return live.announce(device, "access_denied", defer_jobs=False, **facts)
    jobs = live.announce(device, "access_allowed", defer_jobs=False, **facts, walk_in=result.walk_in)
    if result.session is not None and result.reason != "session":
        jobs += live.tell(
            device,
            "session_started",
            session=result.session,
            defer_jobs=False,
            lab_ids=result.lab_ids,
            **facts,
            session_ref=str(result.session.ref),
            until=result.until,
            walk_in=result.walk_in,
        )
    return jobs


# --- Session events ------------------------------------------------------------------------------


def _measure(session: DeviceSession, *, late_signal: bool = False) -> None:
    """Busy and idle seconds of an ended session from its signals (idle until the first ``busy``).

    A pure function of the distinct events the device sent, so a replay, a duplicate or a late
    signal can only give the same figures or the right ones, never a double count. A device that
    sent no signal (no sensor) has its whole session counted as busy.

    A session opened online that never took a signal (``signal_at`` unset) has none to read: its
    reference reached the device with the access call's answer, so no signal can have come before
    it and been kept aside (a session replayed from offline can: its signals are always read), unless
    a signal arrives after the end (``late_signal``: then every signal is read).
    """
    start, end = session.started_at, session.ended_at
    used = (end - start).total_seconds()
    kept = late_signal or session.offline or session.signal_at is not None
    signals = selectors.signal_events(session) if kept else []
    if not signals:
        busy = used
    else:
        busy, state, since = 0.0, DeviceEvent.Kind.IDLE, start
        for signal in signals:
            moment = min(max(signal.at, start), end)
            if state == DeviceEvent.Kind.BUSY:
                busy += (moment - since).total_seconds()
            state, since = signal.kind, moment
        if state == DeviceEvent.Kind.BUSY:
            busy += (end - since).total_seconds()
    session.busy_seconds = round(busy)
    session.idle_seconds = max(0, round(used) - session.busy_seconds)


def _settle(booking: Booking | int) -> int | None:
    """Write the measured-use amount on the booking (when its resource bills on use); returns the price.

    ``booking``: the row as locked already in this transaction (the engine's check-out returns it),
    or its id (then locked here).
    """
    if isinstance(booking, int):
        booking = (
            Booking.objects.select_for_update(of=("self",))
            .select_related("resource__lab", "user__member", "organization")
            .get(pk=booking)
        )
    booking_id = booking.pk
    sessions = list(DeviceSession.objects.filter(booking_id=booking_id, ended_at__isnull=False).order_by("id"))
    use = Use(
        used_seconds=sum(s.used_seconds for s in sessions),
        busy_seconds=sum(s.busy_seconds for s in sessions),
        idle_seconds=sum(s.idle_seconds for s in sessions),
        session_ids=tuple(s.pk for s in sessions),
    )
    details = measured_price(booking=booking, use=use)
    if details is None:
        return booking.price_vnd
    if details["price_vnd"] == booking.price_vnd and details == booking.price_details:
        return booking.price_vnd  # a duplicate or a signal that changes nothing
    # The engine fixes a price at confirmation and has no service for "the use is known now"; the
    # amount of a measured booking is the device's to set, on the row statements read, under the
    # row lock taken above (the check-out that completed it holds it already). ``updated_at`` moves
    # with it: billing finds amounts changed after a statement billed them by it.
    Booking.objects.filter(pk=booking_id).update(
        price_vnd=details["price_vnd"], price_details=details, updated_at=timezone.now()
    )
    if details["price_vnd"] != booking.price_vnd:
        # An issued statement that billed the old amount never changes: billing turns the
        # difference into an adjustment (an organisation) or a change to review (a person).
        hooks.announce(
            "charge.changed",
            {
                "booking_id": booking_id,
                "previous_vnd": booking.price_vnd,
                "price_vnd": details["price_vnd"],
                "source": "measured_use",
            },
        )
    return details["price_vnd"]


def _end_session(
    device: Device, session: DeviceSession, *, at: datetime, reason: str, savepoint: bool = True, defer_jobs=True
) -> list:
    """End a session at ``at``: measure it, check its booking out (the engine), bill measured use.

    ``savepoint``: False when the caller's transaction rolls back whole if the engine refuses the
    check-out (a device's own end event, which the device sends again): two statements fewer. With
    it, a refusal (the booking checked out at the desk meanwhile, a lock timeout) is logged and the
    session still ends (a revoked device, a session superseded by a replayed one).
    ``defer_jobs``: False to get the ``session_ended`` subscribers' jobs back, for a write of the
    caller's (the event's log row) instead of a statement of their own.
    """
    session.ended_at = max(at, session.started_at)
    session.end_reason = reason[:40]
    _measure(session)
    session.save(update_fields=["ended_at", "end_reason", "busy_seconds", "idle_seconds"])
    price, lab_ids = None, None
    booking, locked = session.booking, False
    if booking is not None:
        if booking.status == BookingStatus.CHECKED_IN:
            # The machine's lab and the centers above, read once for both live updates (the booking's, the device's).
            lab_ids = tree.ancestor_ids(device.lab_id)
            # The engine locks the row and checks the status again: the session's read may be stale.
            try:
                booking = booking_services.booking_check_out(
                    booking=booking.pk, by=session.user, at=session.ended_at, savepoint=savepoint, lab_ids=lab_ids
                )
                locked = True
                if booking.user_id == session.user_id:
                    booking.user = session.user  # the same member, read with the session: no read again
            except DomainError as exc:
                if not savepoint:
                    raise
                logger.warning("session %s: booking %s not checked out (%s)", session.pk, booking.pk, exc.code)
        if booking.resource.price_basis == PriceBasis.BOOKED:
            price = booking.price_vnd  # the use changes nothing: no second read of the booking and its sessions
        else:
            # Locked by the check-out: billed from that row (no second lock and read).
            price = _settle(booking if locked else booking.pk)
    return live.tell(
        device,
        "session_ended",
        session=None,
        defer_jobs=defer_jobs,
        lab_ids=lab_ids,
        session_ref=str(session.ref),
        user_id=session.user_id,
        booking_id=session.booking_id,
        at=session.ended_at,
        used_seconds=session.used_seconds,
        busy_seconds=session.busy_seconds,
        idle_seconds=session.idle_seconds,
        price_vnd=price,
        reason=session.end_reason,
    )


def _signal(device: Device, event: DeviceEvent, *, at: datetime) -> tuple[str, str]:
    session = selectors.session_by_ref(device, event.session_ref)
    if session is None:
        # Kept (with its reference): a session replayed later counts it when it ends.
        return DeviceEvent.Outcome.IGNORED, "unknown_session"
    event.session = session
    if session.ended_at is not None:
        # A late signal of an ended session: measure again from every signal (never counted twice).
        _measure(session, late_signal=True)
        session.save(update_fields=["busy_seconds", "idle_seconds"])
        if session.booking_id is not None:
            _settle(session.booking_id)
        return DeviceEvent.Outcome.APPLIED, ""
    if session.signal_at is None or at >= session.signal_at:
        session.signal, session.signal_at = event.kind, at
        session.save(update_fields=["signal", "signal_at"])
        live.tell(
            device,
            f"session_{event.kind}",
            session=session,
            session_ref=str(session.ref),
            user_id=session.user_id,
            at=at,
        )
    return DeviceEvent.Outcome.APPLIED, ""


def _end(device: Device, event: DeviceEvent, *, at: datetime, reason: str) -> tuple[str, str, list]:
    """A session's end: its outcome, code, and the jobs to queue with the event's log row."""
    session = selectors.session_by_ref(device, event.session_ref)
    if session is None:
        return DeviceEvent.Outcome.IGNORED, "unknown_session", []
    event.session = session
    if session.ended_at is not None:
        return DeviceEvent.Outcome.IGNORED, "already_ended", []
    jobs = _end_session(device, session, at=at, reason=reason or "device", savepoint=False, defer_jobs=False)
    return DeviceEvent.Outcome.APPLIED, "", jobs


def _booking_for_replay(device: Device, user, booking_id, at: datetime) -> Booking | None:
    """The booking a replayed start was for: the one the list named, else the member's booking around ``at``."""
    qs = Booking.objects.select_related("resource__lab").filter(user=user, resource_id=device.resource_id)
    if booking_id:
        named = qs.filter(pk=booking_id).first()
        if named is not None:
            return named
    return (
        qs.filter(status__in=ACTIVE_STATUSES, start__lte=at + timedelta(hours=1), end__gt=at).order_by("start").first()
    )


def _audit_offline(device: Device, event: DeviceEvent, data: dict):
    """Fill the log row of a replayed decision (who, what the device decided, from which list); the member."""
    badge_row = None
    try:
        badge_row = selectors.badge_for(badges.normalise(data.get("badge") or data.get("qr") or ""))
    except DomainError:
        pass
    user = badge_row.user if badge_row is not None else None
    event.badge, event.user = badge_row, user
    event.decision, event.reason = data.get("decision", ""), (data.get("reason") or "")[:60]
    list_id = data.get("list_id")
    event.details = {
        "list_id": str(list_id) if list_id else None,
        "list_known": bool(list_id) and AllowList.objects.filter(device=device, list_id=list_id).exists(),
        "booking": data.get("booking"),
        "walk_in": bool(data.get("walk_in")),
    }
    return user


def _honour_start(device: Device, user, booking: Booking | None, *, walk_in: bool, at: datetime):
    """Check the booking in at ``at`` (booking the walk-in from ``at`` first); returns it and what needs review.

    One savepoint: a walk-in the engine books but then refuses to check in is undone with it.
    """
    review = ""
    try:
        with transaction.atomic():
            if walk_in:
                booking = booking_services.booking_request(
                    resource=device.resource,
                    user=user,
                    start=at,
                    end=access.walk_in_end(device.resource, at),
                    purpose=WALK_IN_PURPOSE,
                    walk_in_at=at,
                )
            if booking is not None and booking.status == BookingStatus.CONFIRMED:
                booking = booking_services.booking_check_in(booking=booking, by=user, at=at)
    except DomainError as exc:
        review = access.reason_for(exc.code)
        booking = None if walk_in else booking
    if not review and booking is None:
        review = "no_booking"
    elif not review and booking.status != BookingStatus.CHECKED_IN:
        review = f"booking_{booking.status}"
    return booking, review


def _end_superseded(device: Device, at: datetime) -> None:
    """A session the device left open (its end lost, or never sent) ended when the next one began."""
    stale = (
        DeviceSession.objects.select_for_update(of=("self",))
        .select_related("user")
        .filter(device=device, ended_at__isnull=True)
        .first()
    )
    if stale is not None:
        _end_session(device, stale, at=at, reason="superseded")


def _end_if_reported_early(device: Device, session: DeviceSession, event: DeviceEvent) -> None:
    """An end of this session that reached the server before its start (a device replaying out of order)."""
    early_end = (
        DeviceEvent.objects.filter(device=device, session_ref=session.ref, kind=DeviceEvent.Kind.END)
        .exclude(pk=event.pk)
        .order_by("at", "id")
        .first()
    )
    if early_end is not None:
        _end_session(device, session, at=early_end.at, reason="device")


def _replay_access(device: Device, event: DeviceEvent, data: dict, *, at: datetime) -> tuple[str, str]:
    """An access decision the device made offline: audited as offline, and an allow honoured.

    Honoured means: the member's booking is checked in at the instant the device let them in (the
    engine judges its check-in window at that instant), a walk-in is booked from that instant, and
    the session is opened as the device ran it. What the engine refuses now (the slot was booked on
    the web meanwhile, the booking already ended as a no-show) is recorded on the session for a
    manager to review, never silently dropped: the machine was used.
    """
    user = _audit_offline(device, event, data)
    facts = {"user_id": user.pk if user else None, "reason": event.reason, "offline": True, "at": at}
    if event.decision != "allow":
        live.announce(device, "access_denied", **facts, booking_id=None)
        return DeviceEvent.Outcome.APPLIED, ""
    if user is None:
        return DeviceEvent.Outcome.CONFLICT, "unknown_badge"
    booking = _booking_for_replay(device, user, data.get("booking"), at)
    if device.kind == Device.Kind.KIOSK:
        return _replay_kiosk_check_in(device, event, user, booking, at=at, facts=facts)
    _end_superseded(device, at)
    walk_in = booking is None and bool(data.get("walk_in"))
    booking, review = _honour_start(device, user, booking, walk_in=walk_in, at=at)
    session = DeviceSession.objects.create(
        device=device,
        resource=device.resource,
        user=user,
        booking=booking if booking is not None and booking.status == BookingStatus.CHECKED_IN else None,
        ref=event.event_id,
        started_at=at,
        offline=True,
        walk_in=walk_in and not review,
        needs_review=review,
    )
    event.session, event.session_ref = session, session.ref
    live.announce(device, "access_allowed", **facts, booking_id=session.booking_id, walk_in=session.walk_in)
    live.tell(
        device,
        "session_started",
        session=session,
        **facts,
        booking_id=session.booking_id,
        session_ref=str(session.ref),
        walk_in=session.walk_in,
        needs_review=review,
    )
    _end_if_reported_early(device, session, event)
    if review:
        logger.warning("device %s: offline session %s needs review (%s)", device.pk, session.ref, review)
        return DeviceEvent.Outcome.CONFLICT, review
    return DeviceEvent.Outcome.APPLIED, ""


def _replay_kiosk_check_in(device, event, user, booking, *, at, facts) -> tuple[str, str]:
    """A kiosk's offline check-in, replayed: the booking is checked in at that instant if the engine agrees."""
    if booking is None:
        return DeviceEvent.Outcome.CONFLICT, "no_booking"
    if booking.status == BookingStatus.CONFIRMED:
        try:
            with transaction.atomic():
                booking_services.booking_check_in(booking=booking, by=user, at=at)
        except DomainError as exc:
            return DeviceEvent.Outcome.CONFLICT, access.reason_for(exc.code)
    elif booking.status != BookingStatus.CHECKED_IN:
        return DeviceEvent.Outcome.CONFLICT, f"booking_{booking.status}"
    live.announce(device, "access_allowed", **facts, booking_id=booking.pk, walk_in=False)
    return DeviceEvent.Outcome.APPLIED, ""


def device_event_apply(*, device: Device, event: dict) -> dict:
    """Apply one event a device reports (``access`` replayed from offline, ``busy``, ``idle``, ``end``), once.

    ``event``: ``id`` (UUID), ``type``, ``at`` (aware), ``session`` (the session reference, for
    busy/idle/end), ``offline``; for ``access``: ``badge`` or ``qr``, ``decision``, ``reason``,
    ``booking`` and ``walk_in`` (from the allow-list entry), ``list_id``. Returns
    ``{"id", "outcome", "code", "duplicate"}``: a second delivery of an id changes nothing and says so.
    """
    kind = event["type"]
    if kind not in (DeviceEvent.Kind.ACCESS, DeviceEvent.Kind.BUSY, DeviceEvent.Kind.IDLE, DeviceEvent.Kind.END):
        raise DomainError("event_invalid", type=kind)
    if kind != DeviceEvent.Kind.ACCESS and device.kind != Device.Kind.INTERLOCK:
        raise DomainError("device_wrong_kind", type=kind)
    if kind != DeviceEvent.Kind.ACCESS and not event.get("session"):
        raise DomainError("event_invalid", missing="session")
    now = timezone.now()
    at = _clamp(event["at"], now)
    with transaction.atomic():
        row = _claim(
            device,
            event["id"],
            kind=kind,
            at=at,
            received_at=now,
            offline=bool(event.get("offline")) or kind == DeviceEvent.Kind.ACCESS,
            session_ref=event.get("session") if kind != DeviceEvent.Kind.ACCESS else None,
        )
        if row is not None:
            jobs = []
            if kind == DeviceEvent.Kind.ACCESS:
                outcome, code = _replay_access(device, row, event, at=at)
            elif kind == DeviceEvent.Kind.END:
                outcome, code, jobs = _end(device, row, at=at, reason=event.get("reason") or "")
            else:
                outcome, code = _signal(device, row, at=at)
            row.outcome = outcome
            if code:
                row.details = {**row.details, "code": code}
            # The log row's outcome and the end's webhook jobs: one statement.
            run_together(update_sql(row), booking_jobs.deferral_sql(jobs) if jobs else None)
    if row is None:
        stored = DeviceEvent.objects.get(device=device, event_id=event["id"])
        return {
            "id": str(event["id"]),
            "outcome": stored.outcome,
            "code": stored.details.get("code", ""),
            "duplicate": True,
        }
    return {"id": str(event["id"]), "outcome": outcome, "code": code, "duplicate": False}


def device_events_apply(*, device: Device, events: list[dict]) -> list[dict]:
    """Apply a batch of events in the order the device logged them, each in its own transaction."""
    return [device_event_apply(device=device, event=event) for event in events]


# --- Heartbeats and silence ----------------------------------------------------------------------


#: The heartbeat's write: the device is online, seen now, with this many events to replay; returns
#: whether it was online before (the one statement of a heartbeat, with the open session's read).
_HEARTBEAT_SQL = """
    WITH was AS (SELECT id, online FROM devices_device WHERE id = %s FOR NO KEY UPDATE),
    seen AS (
        UPDATE devices_device d
        SET online = true, last_seen_at = %s, pending_events = %s, client_version = %s
        FROM was WHERE d.id = was.id
        RETURNING d.id
    )
    SELECT was.online FROM was JOIN seen ON seen.id = was.id
"""


def device_heartbeat(*, device: Device, pending: int = 0, version: str = "") -> dict:
    """A device says it is alive (every minute): online again if it was not; how many events it still has to replay."""
    now = timezone.now()
    pending = max(0, int(pending))
    with connection.cursor() as cursor:
        # One statement, atomic by itself, so no transaction around it (bench/bench_devices.py: a
        # heartbeat is the call fifty devices make every minute). Race prevented: two heartbeats
        # after an outage both seeing "offline" and announcing "online" twice. The row lock of
        # ``was`` makes the second wait for the first to commit, then read ``online`` as it left it.
        # NO KEY UPDATE, the lock an UPDATE takes: FOR UPDATE would also wait for (and hold up) the
        # access calls whose log and session rows reference the device (their foreign keys take KEY
        # SHARE on it); measured: lock timeouts on check-ins in bench/bench_devices.py.
        cursor.execute(_HEARTBEAT_SQL, [device.pk, now, pending, (version or "")[:60]])
        row = cursor.fetchone()
    came_back = row is not None and not row[0]
    device.online, device.last_seen_at, device.pending_events = True, now, pending
    if came_back:
        with transaction.atomic():
            live.tell(device, "online")
    session = selectors.open_session(device) if device.kind == Device.Kind.INTERLOCK else None
    tz = device.lab.tz
    return {
        "now": now.astimezone(tz).isoformat(),
        "online": True,
        "session": selectors.session_public_dict(session, tz) if session is not None else None,
        "allow_list_max_hours": allowlists.MAX_HOURS,
    }


def devices_mark_silent(*, now: datetime | None = None) -> int:
    """Mark offline every device silent for three minutes (its tile says so); purge old allow-lists. Returns how many."""
    now = now or timezone.now()
    cutoff = now - selectors.SILENCE
    with transaction.atomic():
        silent = list(
            Device.objects.select_for_update(skip_locked=True, of=("self",))
            .filter(online=True)
            .filter(Q(last_seen_at__lt=cutoff) | Q(last_seen_at__isnull=True))
            .select_related("lab")
        )
        if silent:
            Device.objects.filter(pk__in=[d.pk for d in silent]).update(online=False)
        for device in silent:
            device.online = False
            live.tell(device, "offline", last_seen_at=device.last_seen_at)
    AllowList.objects.filter(expires_at__lt=now - ALLOW_LIST_RETENTION).delete()
    return len(silent)


# --- Allow-lists and kiosk enrolment ------------------------------------------------------------


def allow_list_issue(*, device: Device, hours: int = allowlists.DEFAULT_HOURS) -> dict:
    """A signed allow-list for the next ``hours`` (1 to 12): the envelope the device caches, recorded here."""
    hours = max(1, min(int(hours), allowlists.MAX_HOURS))
    now = timezone.now()
    payload, booking_ids, user_ids = allowlists.build(device=device, now=now, hours=hours)
    with transaction.atomic():
        AllowList.objects.create(
            device=device,
            list_id=payload["list_id"],
            issued_at=now,
            expires_at=now + timedelta(hours=hours),
            booking_ids=booking_ids,
            user_ids=user_ids,
        )
    return {
        **signing.sign(allowlists.encode(payload)),
        "list_id": payload["list_id"],
        "expires_at": payload["expires_at"],
    }


def badge_enrol(*, device: Device, qr: str, badge: str, event_id=None) -> dict:
    """At a kiosk: a member shows their profile QR, then taps a new card; the card becomes theirs."""
    if device.kind != Device.Kind.KIOSK:
        raise DomainError("device_wrong_kind")
    try:
        owner = selectors.badge_for(badges.normalise(qr))
    except DomainError:
        owner = None
    if owner is None or owner.kind != Badge.Kind.QR or not owner.user.is_active:
        raise DomainError("unknown_badge")
    registered = badge_register(user=owner.user, uid=badge, via=device)
    now = timezone.now()
    with transaction.atomic():
        row = _claim(
            device,
            event_id or uuid.uuid4(),
            kind=DeviceEvent.Kind.ENROL,
            at=now,
            received_at=now,
            user=owner.user,
            badge=registered,
            decision="allow",
        )
        if row is not None:
            live.announce(device, "badge_enrolled", user_id=owner.user_id, badge_id=registered.pk, at=now)
    return {
        "badge": registered.pk,
        "who": public_label(organization=None, user=owner.user),
        "masked": registered.masked,
    }
