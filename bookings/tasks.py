"""Time-driven booking jobs on procrastinate: request expiry, no-shows, completion, reminders, waitlist holds.

Two rules make these jobs safe:

* A job that stems from a booking change is enqueued on Django's own database connection, inside
  the transaction that made the change (``schedule_booking_jobs``). A rolled-back change enqueues
  nothing, and a committed one cannot lose its job. This holds in the web process *and* inside
  the worker (where procrastinate's app connector is a separate psycopg pool): we always defer
  through a job manager bound to Django's connection.
* Every job is idempotent: it re-reads its booking under a row lock and acts only if the state
  still calls for it, so a duplicate, a stale job (the booking moved) or a retry does nothing.

A periodic sweep (``bookings.sweep``) catches anything overdue that a job missed (worker down,
job table cleaned by hand), so no transition silently never happens.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from procrastinate import exceptions as procrastinate_exceptions
from procrastinate import manager as procrastinate_manager
from procrastinate.contrib.django import app
from procrastinate.contrib.django.django_connector import DjangoConnector
from procrastinate.jobs import Job
from procrastinate.retry import RetryStrategy
from procrastinate.tasks import configure_task

from bookings.errors import BookingError
from bookings.models import Booking, BookingStatus, WaitlistEntry
from core.once import run_once

logger = logging.getLogger(__name__)

#: Status transitions and waitlist holds: short jobs that must run on time.
QUEUE_BOOKINGS = "bookings"
#: E-mail reminders: a slow mail server must never delay a no-show or an expiry.
QUEUE_NOTIFICATIONS = "notifications"
#: The queues the labshare worker listens to (PROCRASTINATE_WORKER_DEFAULTS in settings).
QUEUES = (QUEUE_BOOKINGS, QUEUE_NOTIFICATIONS)

#: Reminder kinds and how long before the start each is sent.
REMINDERS = {"reminder_24h": timedelta(hours=24), "reminder_1h": timedelta(hours=1)}

#: Engine error codes meaning "the state moved on / not due": a job that meets them does nothing.
_NOTHING_TO_DO = {"invalid_transition", "not_yet_due", "request_expired"}

#: Jobs are always deferred through Django's connection so they share the caller's transaction.
_django_jobs = procrastinate_manager.JobManager(connector=DjangoConnector())


# --- Deferring ------------------------------------------------------------------------------


def new_job(task, *, at: datetime | None, queueing_lock: str | None = None, **task_kwargs) -> Job:
    """A job of ``task`` to run at ``at`` (now when None), not yet deferred."""
    return configure_task(
        name=task.name,
        job_manager=_django_jobs,
        queue=task.queue,
        schedule_at=at,
        queueing_lock=queueing_lock,
        task_kwargs=task_kwargs,
    ).job


def defer_jobs(jobs: list[Job]) -> None:
    """Enqueue ``jobs`` in the current transaction, in one statement; duplicates still waiting are no-ops.

    The insert runs in a savepoint: a queueing-lock clash (the same job already waiting) is a
    unique violation, which would otherwise abort the caller's whole transaction. After a clash
    the jobs are enqueued one by one, so only the duplicates are skipped.
    """
    if not jobs:
        return
    try:
        with transaction.atomic():
            _django_jobs.batch_defer_jobs(jobs=jobs)
        return
    except procrastinate_exceptions.AlreadyEnqueued:
        if len(jobs) == 1:
            return
    for job in jobs:
        try:
            with transaction.atomic():
                _django_jobs.defer_job(job=job)
        except procrastinate_exceptions.AlreadyEnqueued:
            pass


def _no_show_grace(booking: Booking, policy=None) -> timedelta:
    """The lab's no-show grace period (per-lab policy, inherited from the center above)."""
    from bookings.rules import policy_for  # rules imports the waitlist, which imports this module

    return (policy or policy_for(booking.resource.lab)).no_show_grace


def _request_expires_at(booking: Booking) -> datetime:
    """When an unanswered request lapses: the engine's ``expires_at``, else the hold setting, never past the start."""
    if booking.expires_at:
        return booking.expires_at
    return min(booking.created_at + timedelta(hours=settings.LABSHARE_REQUEST_HOLD_HOURS), booking.start)


def booking_jobs(booking: Booking, *, policy=None) -> list[Job]:
    """The jobs the booking's current status needs (``policy``: the lab's, when the caller has it).

    ``requested``: its expiry. ``confirmed``: reminders 24 h and 1 h before (those still ahead),
    the no-show check after the grace period and completion at the end. ``checked_in``:
    completion at the end. Other statuses need nothing (jobs already queued find nothing to do).
    Queueing locks carry the target time, so deferring them twice enqueues nothing more, and a
    rescheduled booking gets fresh jobs while the stale ones turn into no-ops.
    """
    now = timezone.now()
    pk = booking.pk
    status = booking.status
    jobs = []
    if status == BookingStatus.REQUESTED:
        when = _request_expires_at(booking)
        jobs.append(
            new_job(expire_request, at=when, queueing_lock=f"booking:{pk}:expire:{when.isoformat()}", booking_id=pk)
        )
    elif status == BookingStatus.CONFIRMED:
        for kind, before in REMINDERS.items():
            when = booking.start - before
            if when > now and settings.LABSHARE_REMINDERS_ENABLED:
                start = booking.start.astimezone(UTC).isoformat()
                jobs.append(
                    new_job(
                        send_reminder,
                        at=when,
                        queueing_lock=f"booking:{pk}:{kind}:{start}",
                        booking_id=pk,
                        kind=kind,
                        start=start,
                    )
                )
        when = booking.start + _no_show_grace(booking, policy)
        jobs.append(
            new_job(mark_no_show, at=when, queueing_lock=f"booking:{pk}:no_show:{when.isoformat()}", booking_id=pk)
        )
        jobs.append(
            new_job(
                complete_booking,
                at=booking.end,
                queueing_lock=f"booking:{pk}:complete:{booking.end.isoformat()}",
                booking_id=pk,
            )
        )
    elif status == BookingStatus.CHECKED_IN:
        jobs.append(
            new_job(
                complete_booking,
                at=booking.end,
                queueing_lock=f"booking:{pk}:complete:{booking.end.isoformat()}",
                booking_id=pk,
            )
        )
    return jobs


def schedule_booking_jobs(booking: Booking, *, policy=None) -> None:
    """Enqueue, inside the caller's transaction, the jobs the booking's current status needs (see ``booking_jobs``)."""
    defer_jobs(booking_jobs(booking, policy=policy))


def notification_job(booking: Booking, *, kind: str, reason: str = "") -> Job:
    """The e-mail of ``kind`` about ``booking``, sent by the worker once the change commits."""
    return new_job(send_notification, at=None, booking_id=booking.pk, kind=kind, reason=reason)


def hold_expiry_job(entry: WaitlistEntry) -> Job:
    """The lapse of a waitlist hold at its expiry time."""
    when = entry.offer_expires_at
    return new_job(
        expire_waitlist_hold, at=when, queueing_lock=f"waitlist:{entry.pk}:lapse:{when.isoformat()}", entry_id=entry.pk
    )


# --- Jobs -----------------------------------------------------------------------------------


def _transition(booking_id: int, *, due, service: str) -> str:
    """Lock the booking, and if ``due(booking, now)`` call the engine ``service`` on it.

    Returns what happened ("done", "not_due", "missing") so tests and logs can tell.
    """
    from bookings import services  # services imports this module: import late to avoid a cycle

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
            getattr(services, service)(booking=booking)
        except BookingError as exc:
            if exc.code in _NOTHING_TO_DO:
                return "not_due"
            raise
    logger.info("job %s: booking %s", service, booking_id)
    return "done"


def _request_overdue(booking: Booking, now: datetime) -> bool:
    return booking.status == BookingStatus.REQUESTED and (_request_expires_at(booking) <= now or booking.start <= now)


def _no_show_due(booking: Booking, now: datetime) -> bool:
    return booking.status == BookingStatus.CONFIRMED and booking.start + _no_show_grace(booking) <= now


def _completion_due(booking: Booking, now: datetime) -> bool:
    return booking.status == BookingStatus.CHECKED_IN and booking.end <= now


@app.task(name="bookings.expire_request", queue=QUEUE_BOOKINGS)
def expire_request(*, booking_id: int) -> str:
    """A request nobody answered in time expires and frees its slot (the waitlist is then offered it)."""
    return _transition(booking_id, due=_request_overdue, service="booking_expire")


@app.task(name="bookings.mark_no_show", queue=QUEUE_BOOKINGS)
def mark_no_show(*, booking_id: int) -> str:
    """A confirmed booking not checked in by the end of the grace period becomes a no-show (kept, counted)."""
    return _transition(booking_id, due=_no_show_due, service="booking_mark_no_show")


@app.task(name="bookings.complete", queue=QUEUE_BOOKINGS)
def complete_booking(*, booking_id: int) -> str:
    """A checked-in booking is completed at its end."""
    return _transition(booking_id, due=_completion_due, service="booking_complete")


def _reminder_already_handled(context, *, booking_id: int, kind: str, start: str) -> bool:
    """Whether another job for the very same reminder already ran or is running.

    The procrastinate job table is the record of sent reminders: a duplicate job (enqueued again
    after the first left the queue) sees the first one ``doing`` or ``succeeded`` and stays quiet.
    """
    if context is None or context.job is None:
        return False
    from procrastinate.contrib.django.models import ProcrastinateJob

    return (
        ProcrastinateJob.objects.filter(
            task_name=send_reminder.name,
            args={"booking_id": booking_id, "kind": kind, "start": start},
            status__in=("doing", "succeeded"),
        )
        .exclude(id=context.job.id)
        .exists()
    )


#: A mail server that refuses or times out is tried again, waiting 7 s, 9 s, 13 s, 21 s, … 17 min
#: (5 s + 2^n): ten attempts over about 35 minutes, then the job is marked failed.
MAIL_RETRY = RetryStrategy(max_attempts=10, wait=5, exponential_wait=2)


@app.task(name="bookings.send_reminder", queue=QUEUE_NOTIFICATIONS, pass_context=True, retry=MAIL_RETRY)
def send_reminder(context=None, *, booking_id: int, kind: str, start: str) -> str:
    """Remind the user of a confirmed booking 24 h / 1 h before; nothing if it moved, ended or was cancelled."""
    from bookings.notifications import send_booking_email

    if kind not in REMINDERS:
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
        f"reminder:{booking_id}:{kind}:{start}", lambda: send_booking_email(booking_id=booking_id, kind=kind)
    )
    return "done" if sent is not None else "duplicate"


def _once_per_job(context, action):
    """Run ``action`` once per job: a job retried after its worker died sends nothing twice (core.once)."""
    if context is None or context.job is None or context.job.id is None:
        return action()  # called directly (tests, shell): no job to key on
    return run_once(f"job:{context.job.id}", action) or 0


@app.task(name="bookings.send_notification", queue=QUEUE_NOTIFICATIONS, retry=MAIL_RETRY, pass_context=True)
def send_notification(context=None, *, booking_id: int, kind: str, reason: str = "") -> int:
    """Send the e-mails of one booking change (enqueued with the change, so none is sent for a rollback).

    Runs in the worker, never in the request: a slow or failing mail server delays nobody's
    booking, and a failure is retried. Returns how many messages were sent.
    """
    from bookings.notifications import send_booking_email

    return _once_per_job(context, lambda: send_booking_email(booking_id=booking_id, kind=kind, reason=reason))


@app.task(name="bookings.send_waitlist_offer", queue=QUEUE_NOTIFICATIONS, retry=MAIL_RETRY, pass_context=True)
def send_waitlist_offer(context=None, *, entry_id: int) -> int:
    """Tell the first in line that a slot is held for them, and until when (nothing if the offer is gone)."""
    from bookings.notifications import send_waitlist_offer_email

    return _once_per_job(context, lambda: send_waitlist_offer_email(entry_id=entry_id))


def waitlist_offer_job(entry: WaitlistEntry) -> Job:
    """The e-mail offering a held slot to a waitlist entry, sent by the worker once the offer commits."""
    return new_job(send_waitlist_offer, at=None, entry_id=entry.pk)


@app.task(name="bookings.expire_waitlist_hold", queue=QUEUE_BOOKINGS)
def expire_waitlist_hold(*, entry_id: int) -> str:
    """A waitlist hold nobody accepted lapses; the next in line is offered the slot."""
    from bookings.waitlist import waitlist_hold_lapse

    return waitlist_hold_lapse(entry_id=entry_id)


# --- The sweep --------------------------------------------------------------------------------


def sweep_overdue(*, limit: int = 500) -> dict[str, int]:
    """Run every overdue transition a job may have missed; each in its own transaction.

    Overdue requests expire, confirmed bookings past their grace period become no-shows,
    checked-in bookings past their end complete, lapsed waitlist holds pass to the next in line
    and waiting entries whose window has passed close. Returns how many of each were done.
    """
    from bookings.waitlist import waitlist_close_passed, waitlist_hold_lapse

    now = timezone.now()
    done = {"expired": 0, "no_show": 0, "completed": 0, "holds_lapsed": 0, "waitlist_closed": 0}
    requested = (
        Booking.objects.filter(_q_request_overdue(now), status=BookingStatus.REQUESTED)
        .order_by("id")
        .values_list("id", flat=True)[:limit]
    )
    for pk in list(requested):
        done["expired"] += expire_request(booking_id=pk) == "done"
    # The grace period differs per lab; the job decides, the query only narrows to started ones.
    confirmed = (
        Booking.objects.filter(status=BookingStatus.CONFIRMED, start__lte=now)
        .order_by("id")
        .values_list("id", flat=True)[:limit]
    )
    for pk in list(confirmed):
        done["no_show"] += mark_no_show(booking_id=pk) == "done"
    checked_in = (
        Booking.objects.filter(status=BookingStatus.CHECKED_IN, end__lte=now)
        .order_by("id")
        .values_list("id", flat=True)[:limit]
    )
    for pk in list(checked_in):
        done["completed"] += complete_booking(booking_id=pk) == "done"
    holds = WaitlistEntry.objects.filter(status=WaitlistEntry.Status.OFFERED, offer_expires_at__lte=now).order_by("id")
    for pk in list(holds.values_list("id", flat=True)[:limit]):
        done["holds_lapsed"] += waitlist_hold_lapse(entry_id=pk) == "done"
    done["waitlist_closed"] = waitlist_close_passed(now=now)
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
@app.task(name="bookings.sweep", queue=QUEUE_BOOKINGS, queueing_lock="bookings.sweep")
def sweep(timestamp: int) -> dict[str, int]:
    """Every few minutes: catch every overdue transition (declared in code, started with the worker)."""
    return sweep_overdue()
