"""The booking engine's job bodies, run by the job worker (``manage.py worker``).

The jobs are built and deferred by the services (bookings/jobs.py) inside the transaction of the
change that needs them. A job re-checks under a row lock whether it is still due and otherwise
does nothing, so a stale job (the booking moved, was cancelled, was checked in) and a duplicate
(a job run twice after a worker died mid-run) are both harmless. This is the only module of the
engine that imports the services.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from procrastinate.contrib.django import app
from procrastinate.contrib.django.models import ProcrastinateJob
from procrastinate.retry import RetryStrategy

from bookings import jobs, notifications, services
from bookings.models import Booking, BookingStatus, WaitlistEntry
from bookings.policy import policy_for
from core.errors import DomainError
from core.once import run_once

logger = logging.getLogger(__name__)

#: Engine error codes meaning "the state moved on / not due": a job that meets them does nothing.
_NOTHING_TO_DO = {"invalid_transition", "not_yet_due", "request_expired"}

#: A mail server that refuses or times out is tried again, waiting 7 s, 9 s, 13 s, 21 s, … 17 min
#: (5 s + 2^n): ten attempts over about 35 minutes, then the job is marked failed.
MAIL_RETRY = RetryStrategy(max_attempts=10, wait=5, exponential_wait=2)


def _task(spec: tuple[str, str], **options):
    """Declare a task under the name and queue bookings.jobs builds its jobs with."""
    name, queue = spec
    return app.task(name=name, queue=queue, **options)


def _transition(booking_id: int, *, due, service) -> str:
    """Lock the booking, and if ``due(booking, now)`` run the engine ``service`` on it.

    Returns what happened ("done", "not_due", "missing") so tests and logs can tell.
    """
    with transaction.atomic():
        # Row lock: a user checking in (or a manager approving) at the same moment waits for us,
        # or we wait for them and then see their state and do nothing.
        booking = (
            Booking.objects.select_for_update(of=("self",))
            .select_related("resource__lab")
            .filter(pk=booking_id)
            .first()
        )
        if booking is None:
            return "missing"
        if not due(booking, timezone.now()):
            return "not_due"
        try:
            service(booking=booking)
        except DomainError as exc:
            if exc.code in _NOTHING_TO_DO:
                return "not_due"
            raise
    logger.info("job %s: booking %s", service.__name__, booking_id)
    return "done"


def _request_overdue(booking: Booking, now: datetime) -> bool:
    return booking.status == BookingStatus.REQUESTED and (
        jobs.request_expires_at(booking) <= now or booking.start <= now
    )


def _no_show_due(booking: Booking, now: datetime) -> bool:
    return (
        booking.status == BookingStatus.CONFIRMED
        and booking.start + policy_for(booking.resource.lab_id).no_show_grace <= now
    )


def _completion_due(booking: Booking, now: datetime) -> bool:
    return booking.status == BookingStatus.CHECKED_IN and booking.end <= now


@_task(jobs.EXPIRE_REQUEST)
def expire_request(*, booking_id: int) -> str:
    """A request nobody answered in time expires and frees its slot (the waitlist is then offered it)."""
    return _transition(booking_id, due=_request_overdue, service=services.booking_expire)


@_task(jobs.MARK_NO_SHOW)
def mark_no_show(*, booking_id: int) -> str:
    """A confirmed booking not checked in by the end of the grace period becomes a no-show (kept, counted)."""
    return _transition(booking_id, due=_no_show_due, service=services.booking_mark_no_show)


@_task(jobs.COMPLETE)
def complete_booking(*, booking_id: int) -> str:
    """A checked-in booking is completed at its end."""
    return _transition(booking_id, due=_completion_due, service=services.booking_complete)


def _reminder_already_handled(context, *, booking_id: int, kind: str, start: str) -> bool:
    """Whether another job for the very same reminder already ran or is running.

    The procrastinate job table is the record of sent reminders: a duplicate job (enqueued again
    after the first left the queue) sees the first one ``doing`` or ``succeeded`` and stays quiet.
    """
    if context is None or context.job is None:
        return False
    return (
        ProcrastinateJob.objects.filter(
            task_name=jobs.SEND_REMINDER[0],
            # Containment, not equality: a job's arguments may also carry its request id (core/requestid.py).
            args__contains={"booking_id": booking_id, "kind": kind, "start": start},
            status__in=("doing", "succeeded"),
        )
        .exclude(id=context.job.id)
        .exists()
    )


@_task(jobs.SEND_REMINDER, pass_context=True, retry=MAIL_RETRY)
def send_reminder(context=None, *, booking_id: int, kind: str, start: str) -> str:
    """Remind the user of a confirmed booking 24 h / 1 h before; nothing if it moved, ended or was cancelled."""
    if kind not in jobs.REMINDERS:
        return "unknown_kind"
    with transaction.atomic():
        booking = Booking.objects.select_for_update().filter(pk=booking_id).first()
        if booking is None:
            return "missing"
        # Stale reminder: the booking was rescheduled (a new reminder exists) or is no longer confirmed.
        if (
            booking.status != BookingStatus.CONFIRMED
            or booking.start != datetime.fromisoformat(start)
            or booking.start <= timezone.now()
        ):
            return "not_due"
        if _reminder_already_handled(context, booking_id=booking_id, kind=kind, start=start):
            return "duplicate"
    # Once per reminder, whichever job sends it and however often it is retried (core.once).
    sent = run_once(
        f"reminder:{booking_id}:{kind}:{start}",
        lambda: notifications.send_booking_email(booking_id=booking_id, kind=kind),
    )
    return "done" if sent is not None else "duplicate"


def _once_per_job(context, action):
    """Run ``action`` once per job: a job retried after its worker died sends nothing twice (core.once)."""
    if context is None or context.job is None or context.job.id is None:
        return action()  # called directly (tests, shell): no job to key on
    return run_once(f"job:{context.job.id}", action) or 0


@_task(jobs.SEND_NOTIFICATION, retry=MAIL_RETRY, pass_context=True)
def send_notification(context=None, *, booking_id: int, kind: str, reason: str = "") -> int:
    """Send the e-mails of one booking change (enqueued with the change, so none is sent for a rollback).

    Runs in the worker, never in the request: a slow or failing mail server delays nobody's
    booking, and a failure is retried. Returns how many messages were sent.
    """
    return _once_per_job(
        context, lambda: notifications.send_booking_email(booking_id=booking_id, kind=kind, reason=reason)
    )


@_task(jobs.SEND_WAITLIST_OFFER, retry=MAIL_RETRY, pass_context=True)
def send_waitlist_offer(context=None, *, entry_id: int) -> int:
    """Tell the first in line that a slot is held for them, and until when (nothing if the offer is gone)."""
    return _once_per_job(context, lambda: notifications.send_waitlist_offer_email(entry_id=entry_id))


@_task(jobs.EXPIRE_WAITLIST_HOLD)
def expire_waitlist_hold(*, entry_id: int) -> str:
    """A waitlist hold nobody accepted lapses; the next in line is offered the slot."""
    return services.waitlist_hold_lapse(entry_id=entry_id)


# --- The sweep --------------------------------------------------------------------------------


def sweep_overdue(*, limit: int = 500) -> dict[str, int]:
    """Run every overdue transition a job may have missed; each in its own transaction.

    Overdue requests expire, confirmed bookings past their grace period become no-shows,
    checked-in bookings past their end complete, lapsed waitlist holds pass to the next in line
    and waiting entries whose window has passed close. Returns how many of each were done.
    """
    now = timezone.now()
    done = {"expired": 0, "no_show": 0, "completed": 0, "holds_lapsed": 0, "waitlist_closed": 0}
    requested = Booking.objects.filter(_q_request_overdue(now), status=BookingStatus.REQUESTED)
    for pk in list(requested.order_by("id").values_list("id", flat=True)[:limit]):
        done["expired"] += expire_request(booking_id=pk) == "done"
    # The grace period differs per lab; the job decides, the query only narrows to started ones.
    confirmed = Booking.objects.filter(status=BookingStatus.CONFIRMED, start__lte=now)
    for pk in list(confirmed.order_by("id").values_list("id", flat=True)[:limit]):
        done["no_show"] += mark_no_show(booking_id=pk) == "done"
    checked_in = Booking.objects.filter(status=BookingStatus.CHECKED_IN, end__lte=now)
    for pk in list(checked_in.order_by("id").values_list("id", flat=True)[:limit]):
        done["completed"] += complete_booking(booking_id=pk) == "done"
    holds = WaitlistEntry.objects.filter(status=WaitlistEntry.Status.OFFERED, offer_expires_at__lte=now)
    for pk in list(holds.order_by("id").values_list("id", flat=True)[:limit]):
        done["holds_lapsed"] += services.waitlist_hold_lapse(entry_id=pk) == "done"
    done["waitlist_closed"] = services.waitlist_close_passed(now=now)
    if any(done.values()):
        logger.info("sweep: %s", done)
    return done


def _q_request_overdue(now: datetime) -> Q:
    """Requests past their expiry (or their start, whichever comes first)."""
    return (
        Q(expires_at__lte=now)
        | Q(start__lte=now)
        | Q(expires_at__isnull=True, created_at__lte=now - timedelta(hours=settings.LABSHARE_REQUEST_HOLD_HOURS))
    )


@app.periodic(cron=settings.LABSHARE_JOBS_SWEEP_CRON, periodic_id="sweep")
@app.task(name="bookings.sweep", queue=jobs.QUEUE_BOOKINGS, queueing_lock="bookings.sweep")
def sweep(timestamp: int) -> dict[str, int]:
    """Every few minutes: catch every overdue transition (declared in code, started with the worker)."""
    return sweep_overdue()
