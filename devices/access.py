"""The access decision: may this member start this machine now? Reads only; devices/services.py applies it.

The rules are the booking engine's own (bookings/rules.py): the calendar check (resource status,
maintenance, closures, opening hours), the required certifications, the check-in window of the
booking (judged by ``booking_check_in`` itself), and for a walk-in every rule of ``booking_request``.
What this module adds is only what a machine needs on top: an unknown badge, a disabled account,
someone else at the machine, no booking.

Reason codes are stable; an engine refusal keeps its engine code, except the few renamed below for
what they mean at a machine (a ban, someone else's booking).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from bookings import rules
from bookings.facts import RequestFacts, read_facts
from bookings.grid import Held, time_rows
from bookings.models import ACTIVE_STATUSES, Booking, BookingStatus
from bookings.policy import EffectivePolicy, policy_for
from bookings.selectors import resource_availability
from core.errors import DomainError, messages_for
from core.formatting import format_time
from devices.models import Device, DeviceSession
from labs import tree
from labs.calendars import Interval
from labs.models import Resource

#: Engine codes renamed for a machine's answer; every other engine code is passed on as it is.
RENAMED = {
    "banned_no_show": "banned",
    "slot_taken": "resource_in_use",
    "capacity_full": "resource_in_use",
    "space_conflict": "resource_in_use",
    "slot_held": "resource_in_use",
    "invalid_transition": "no_booking",
    "not_permitted": "no_booking",
}

#: What an allowed member reads at the machine, by why they were allowed.
ALLOWED = {
    "booking": ("Xin chào {who}! Máy sẵn sàng đến {until}.", "Welcome {who}! The machine is yours until {until}."),
    "walk_in": ("Xin chào {who}! Đã đặt máy cho bạn đến {until}.", "Welcome {who}! Booked for you until {until}."),
    "session": ("{who}: phiên của bạn đang chạy đến {until}.", "{who}: your session runs until {until}."),
    "checked_in": ("Đã nhận máy {resource} đến {until}.", "Checked in: {resource} until {until}."),
}

#: A one-second probe of the calendar at "now" (opening hours, closures, maintenance).
PROBE = timedelta(seconds=1)


def reason_for(code: str) -> str:
    """The reason code a machine gives for an engine refusal."""
    return RENAMED.get(code, code)


@dataclass
class Result:
    """A device's answer: allow or deny, why, until when; and what was done (booking, session)."""

    decision: str
    reason: str
    who: str = ""
    language: str = "vi"
    until: datetime | None = None
    booking_id: int | None = None
    session: DeviceSession | None = None
    walk_in: bool = False
    resource: Resource | None = None
    user_id: int | None = None
    details: dict = field(default_factory=dict)
    lab_ids: list[int] | None = None  # the machine's lab and the centers above, when read (live updates)

    @property
    def allowed(self) -> bool:
        return self.decision == "allow"

    def messages(self, tz) -> dict[str, str]:
        """The message in both languages."""
        if not self.allowed:
            return messages_for(self.reason)
        vi, en = ALLOWED[self.reason]
        until = format_time(self.until, tz) if self.until else "—"
        names = {"vi": "", "en": ""}
        if self.resource is not None:
            names = {"vi": self.resource.name_vi, "en": self.resource.name_en or self.resource.name_vi}
        return {
            "vi": vi.format(who=self.who, until=until, resource=names["vi"]),
            "en": en.format(who=self.who, until=until, resource=names["en"]),
        }

    def as_dict(self, tz, *, event_id, now: datetime) -> dict:
        """The answer as the API sends it (times in the lab's zone)."""
        messages = self.messages(tz)
        session = self.session
        return {
            "decision": self.decision,
            "reason": self.reason,
            "message": messages["en" if self.language == "en" else "vi"],
            "messages": messages,
            "language": self.language,
            "who": self.who,
            "until": self.until.astimezone(tz).isoformat() if self.until else None,
            "booking": self.booking_id,
            "walk_in": self.walk_in,
            "resource": self.resource.pk if self.resource is not None else None,
            "session": (
                {"ref": str(session.ref), "started_at": session.started_at.astimezone(tz).isoformat()}
                if session is not None
                else None
            ),
            "event_id": str(event_id),
            "details": self.details,
            "now": now.astimezone(tz).isoformat(),
        }


def deny(code: str, **details) -> Result:
    return Result(decision="deny", reason=reason_for(code), details=details)


@dataclass
class Plan:
    """What an allowed access needs done: resume a session, check a booking in, or book a walk-in.

    ``booking``: the booking a kiosk checks in (with its resource); ``held``: the member's booking at
    an interlock as the engine's grid read it (its id, status and times), checked in by id.
    ``policy`` and ``lab_ids`` (the machine's lab and the centers above): as the access call read
    them, for the engine's check-in and the live updates.
    """

    kind: str  # "session", "booking", "walk_in", "checked_in" (kiosk)
    booking: Booking | None = None
    held: Held | None = None
    session: DeviceSession | None = None
    start: datetime | None = None
    end: datetime | None = None
    policy: EffectivePolicy | None = None
    lab_ids: list[int] | None = None


# --- The slot grid of a walk-in ------------------------------------------------------------------


def _grid(moment: datetime, resource: Resource, *, up: bool) -> datetime:
    """``moment`` moved to the resource's slot grid (from the lab's local midnight), up or down."""
    tz = resource.lab.tz
    local = moment.astimezone(tz).replace(tzinfo=None)
    midnight = local.replace(hour=0, minute=0, second=0, microsecond=0)
    steps = (local - midnight) / resource.slot_granularity
    whole = math.ceil(steps) if up else math.floor(steps)
    return (midnight + whole * resource.slot_granularity).replace(tzinfo=tz)


def _walk_in_uncut_end(resource: Resource, start: datetime) -> datetime:
    """The end of a walk-in from ``start`` before anything cuts it short: the resource's walk-in length
    (at least its minimum), up to the next grid point, within its maximum."""
    length = max(timedelta(minutes=resource.walk_in_minutes), resource.min_duration)
    return min(_grid(start + length, resource, up=True), _grid(start + resource.max_duration, resource, up=False))


def walk_in_end(resource: Resource, start: datetime, free: list[Interval] | None = None) -> datetime:
    """The end of a walk-in starting at ``start``: the resource's walk-in length (at least its minimum),
    up to the next grid point, cut short by the next booking or closing, within its maximum.

    ``free``: the resource's free time from ``start`` (at least to the uncut end) when the caller read
    it (:func:`judge_interlock`), else read here.
    """
    end = _walk_in_uncut_end(resource, start)
    if free is None:
        free = resource_availability(resource=resource, start=start, end=end)
    if free and free[0][0] <= start < free[0][1]:
        cut = _grid(free[0][1], resource, up=False)
        if start < cut < end:
            end = cut
    # Anything still wrong (too short, taken) the engine refuses with its own code.
    return end


# --- Judging -------------------------------------------------------------------------------------


def _session_plan(session: DeviceSession, user) -> Plan | Result:
    """A session runs on the machine: its own member resumes it, anyone else is refused."""
    if session.user_id == user.pk:
        return Plan("session", booking=session.booking, session=session)
    until = session.booking.end if session.booking is not None else None
    return deny("resource_in_use", until=until.isoformat() if until else None)


def _machine_refusal(resource: Resource, facts: RequestFacts, now: datetime) -> Result | None:
    """The engine's rules of the machine itself at ``now``: calendar (status, maintenance, closures,
    opening hours) and the required certifications, always required at the machine."""
    try:
        rules.check_calendar(resource, now, now + PROBE, chains=facts.chain)
    except DomainError as exc:
        return deny(exc.code, **exc.details)
    missing = facts.missing_certifications
    return deny("certification_required", missing=missing) if missing else None


def _booking_plan(
    resource: Resource, user, now: datetime, held: list[Held], facts: RequestFacts
) -> Plan | Result | None:
    """The member's booking whose check-in window is open, or someone else's booking now; None for neither.

    ``held``: the machine's active bookings around ``now``, as the engine's grid read them.
    """
    around = [b for b in held if b.start <= now + facts.policy.check_in_before and b.end > now]
    others = [b for b in around if b.user_id != user.pk and (b.start <= now or b.status == BookingStatus.CHECKED_IN)]
    if others and resource.is_exclusive:
        return deny("resource_in_use", until=others[0].end.isoformat())
    mine = next((b for b in around if b.user_id == user.pk), None)
    if mine is None:
        return None
    if mine.status == BookingStatus.REQUESTED:
        return deny("awaiting_approval", booking=mine.id)
    return Plan("booking", held=mine, policy=facts.policy, lab_ids=facts.lab_ids_up)


def judge_interlock(*, device: Device, user, now: datetime, session: DeviceSession | None) -> Plan | Result:
    """The plan for ``user`` at ``device``'s machine at ``now``, or a refusal.

    Two reads: the engine's facts of a request at this instant (calendar chain, certifications,
    policy: bookings/facts.py), then the machine's time as the engine's grid sees it from now to as
    far as a check-in window or a walk-in reaches (its bookings, and its free time for the walk-in's end).
    """
    resource = device.resource
    if session is not None:
        return _session_plan(session, user)
    facts = read_facts(resource=resource, user=user, start=now, end=now + PROBE, now=now)
    refusal = _machine_refusal(resource, facts, now)
    if refusal is not None:
        return refusal
    # As far as a booking whose check-in window is open may start, or a walk-in may last.
    horizon = max(now + max(facts.policy.check_in_before, PROBE), _walk_in_uncut_end(resource, now))
    [row] = time_rows([resource], now, horizon, chains=facts.chain)
    booked = _booking_plan(resource, user, now, row.bookings, facts)
    if booked is not None:
        return booked
    if not resource.walk_in_minutes:
        return deny("no_booking")
    return Plan("walk_in", start=now, end=walk_in_end(resource, now, row.free), lab_ids=facts.lab_ids_up)


def judge_kiosk(*, device: Device, user, now: datetime) -> Plan | Result:
    """A kiosk checks a member in for their booking in its lab (or a lab below it) whose window is open now."""
    policy = policy_for(device.lab_id)
    lab_ids = tree.subtree_ids([device.lab_id])
    booking = (
        Booking.objects.filter(user=user, resource__lab_id__in=lab_ids, status__in=ACTIVE_STATUSES)
        .filter(start__lte=now + policy.check_in_before, end__gt=now)
        .select_related("resource__lab")
        .order_by("start", "id")
        .first()
    )
    if booking is None:
        return deny("no_booking")
    if booking.status == BookingStatus.REQUESTED:
        return deny("awaiting_approval", booking=booking.pk)
    return Plan("checked_in", booking=booking)
