"""Building the jobs a booking change needs (status changes at their time, e-mails, waitlist holds).

The jobs are deferred inside the change's transaction, in one statement (:func:`defer_jobs`), so a
rolled-back change leaves no job and a committed one cannot lose its follow-up. Job bodies live
in ``bookings.tasks``; this module names them by their task name only (it imports no task), so
the services that build jobs never import the module that imports the services.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from procrastinate import exceptions as procrastinate_exceptions
from procrastinate import manager as procrastinate_manager
from procrastinate.contrib.django.django_connector import DjangoConnector
from procrastinate.jobs import Job
from procrastinate.tasks import configure_task

from bookings.models import Booking, BookingStatus, WaitlistEntry
from bookings.policy import policy_for
from core import requestid

#: Status transitions and waitlist holds: short jobs that must run on time.
QUEUE_BOOKINGS = "bookings"
#: E-mails: a slow mail server must never delay a no-show or an expiry.
QUEUE_NOTIFICATIONS = "notifications"
#: The queues the labshare worker listens to (PROCRASTINATE_WORKER_DEFAULTS in settings).
QUEUES = (QUEUE_BOOKINGS, QUEUE_NOTIFICATIONS)

# The tasks (bookings.tasks declares each under the same name and queue).
EXPIRE_REQUEST = ("bookings.expire_request", QUEUE_BOOKINGS)
MARK_NO_SHOW = ("bookings.mark_no_show", QUEUE_BOOKINGS)
COMPLETE = ("bookings.complete", QUEUE_BOOKINGS)
EXPIRE_WAITLIST_HOLD = ("bookings.expire_waitlist_hold", QUEUE_BOOKINGS)
SEND_REMINDER = ("bookings.send_reminder", QUEUE_NOTIFICATIONS)
SEND_NOTIFICATION = ("bookings.send_notification", QUEUE_NOTIFICATIONS)
SEND_WAITLIST_OFFER = ("bookings.send_waitlist_offer", QUEUE_NOTIFICATIONS)

#: Reminder kinds and how long before the start each is sent.
REMINDERS = {"reminder_24h": timedelta(hours=24), "reminder_1h": timedelta(hours=1)}

#: The e-mails there are (a template per kind and language in bookings/templates/bookings/email/).
EMAIL_KINDS = (
    "requested",
    "confirmed",
    "rejected",
    "cancelled",
    "rescheduled",
    "reminder_24h",
    "reminder_1h",
    "no_show",
    "expired",
    "approval_needed",
)

#: Jobs are always deferred through Django's connection so they share the caller's transaction.
_django_jobs = procrastinate_manager.JobManager(connector=DjangoConnector())


def new_job(task: tuple[str, str], *, at: datetime | None, queueing_lock: str | None = None, **task_kwargs) -> Job:
    """A job of ``task`` (name, queue) to run at ``at`` (at once when None), not yet deferred."""
    name, queue = task
    return configure_task(
        name=name,
        job_manager=_django_jobs,
        queue=queue,
        schedule_at=at,
        queueing_lock=queueing_lock,
        task_kwargs=task_kwargs,
    ).job


def defer_jobs(jobs: list[Job]) -> None:
    """Enqueue ``jobs`` in the current transaction, in one statement; duplicates still waiting are no-ops.

    The insert runs in a savepoint: a queueing-lock clash (the same job already waiting) is a
    unique violation, which would otherwise abort the caller's whole transaction. After a clash
    the jobs are enqueued one by one, so only the duplicates are skipped. (A new booking's jobs,
    whose queueing locks carry its new id and cannot clash, go in with its audit row instead:
    :func:`deferral_sql`.)
    """
    if not jobs:
        return
    # The request that caused the jobs names them in the worker's logs too (core/requestid.py).
    jobs = requestid.tag_jobs(jobs)
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


#: procrastinate's array parameter in its ``defer_jobs`` query, and what :func:`deferral_sql` puts in its
#: place to leave out the jobs whose queueing lock is already waiting (``skip_waiting``).
_JOBS_PARAM = "%s::procrastinate_job_to_defer_v1[]"
_NOT_WAITING = (
    "ARRAY(SELECT job FROM unnest(%s::procrastinate_job_to_defer_v1[]) AS job "
    "WHERE (job).queueing_lock IS NULL OR NOT EXISTS (SELECT 1 FROM procrastinate_jobs waiting "
    "WHERE waiting.queueing_lock = (job).queueing_lock AND waiting.status = 'todo'))"
)


def deferral_sql(jobs: list[Job], *, skip_waiting: bool = False) -> tuple[str, list]:
    """procrastinate's own insert of ``jobs`` (``batch_defer_jobs``) as SQL with positional parameters,
    to run inside a statement of the caller's (a booking's audit row and jobs go in one statement).
    Like :func:`defer_jobs`, it tags the jobs with the current request's id.

    ``skip_waiting``: a job whose queueing lock is already waiting is left out, as :func:`defer_jobs`
    skips it, without the savepoint a unique violation would need. Sound where no other transaction
    can defer the same lock meanwhile: a booking's jobs carry its id in their lock and are deferred
    only by its status changes, which hold its row lock (bookings/locks.py, 1).

    Uses procrastinate's query text and its Django connector's parameter wrapping, as
    ``batch_defer_jobs`` does; ``tests/bookings/test_jobs.py`` checks that the rows it writes are
    the rows ``batch_defer_jobs`` writes, so an upgrade that changes them fails there.
    """
    kwargs = _django_jobs._defer_jobs_query_kwargs(jobs=requestid.tag_jobs(jobs))
    query = kwargs.pop("query").replace("%(jobs)s", "%s").strip().rstrip(";")
    if skip_waiting:
        if query.count(_JOBS_PARAM) != 1:
            raise RuntimeError(f"procrastinate's defer_jobs query changed: {query!r}")
        query = query.replace(_JOBS_PARAM, _NOT_WAITING)
    wrapped = _django_jobs.connector._wrap_json({"jobs": kwargs["jobs"]})
    return query, [wrapped["jobs"]]


def request_expires_at(booking: Booking) -> datetime:
    """When an unanswered request lapses: the engine's ``expires_at``, else the hold setting, never past the start."""
    if booking.expires_at:
        return booking.expires_at
    return min(booking.created_at + timedelta(hours=settings.LABSHARE_REQUEST_HOLD_HOURS), booking.start)


def booking_jobs(booking: Booking, *, policy=None) -> list[Job]:
    """The jobs the booking's current status needs.

    ``requested``: its expiry. ``confirmed``: reminders 24 h and 1 h before (those still ahead),
    the no-show check after the lab's grace period (``policy``: the lab's, when the caller has it)
    and completion at the end. ``checked_in``:
    completion at the end. Other statuses need nothing (jobs already queued find nothing to do).
    Queueing locks carry the target time, so deferring them twice enqueues nothing more, and a
    rescheduled booking gets fresh jobs while the stale ones turn into no-ops.
    """
    pk, status, jobs = booking.pk, booking.status, []
    if status == BookingStatus.REQUESTED:
        when = request_expires_at(booking)
        jobs.append(new_job(EXPIRE_REQUEST, at=when, queueing_lock=f"booking:{pk}:expire:{_utc(when)}", booking_id=pk))
    elif status == BookingStatus.CONFIRMED:
        jobs += _reminder_jobs(booking)
        when = booking.start + (policy or policy_for(booking.resource.lab_id)).no_show_grace
        jobs.append(new_job(MARK_NO_SHOW, at=when, queueing_lock=f"booking:{pk}:no_show:{_utc(when)}", booking_id=pk))
        jobs.append(_completion_job(booking))
    elif status == BookingStatus.CHECKED_IN:
        jobs.append(_completion_job(booking))
    return jobs


def _utc(moment: datetime) -> str:
    """An instant in a queueing lock: always in UTC, so the same instant gives the same lock whether it
    came from the caller (in the lab's zone) or from the database (in UTC)."""
    return moment.astimezone(UTC).isoformat()


def _completion_job(booking: Booking) -> Job:
    return new_job(
        COMPLETE,
        at=booking.end,
        queueing_lock=f"booking:{booking.pk}:complete:{_utc(booking.end)}",
        booking_id=booking.pk,
    )


def _reminder_jobs(booking: Booking) -> list[Job]:
    if not settings.LABSHARE_REMINDERS_ENABLED:
        return []
    now, jobs = timezone.now(), []
    start = _utc(booking.start)
    for kind, before in REMINDERS.items():
        when = booking.start - before
        if when > now:
            lock = f"booking:{booking.pk}:{kind}:{start}"
            jobs.append(
                new_job(SEND_REMINDER, at=when, queueing_lock=lock, booking_id=booking.pk, kind=kind, start=start)
            )
    return jobs


def check_email_kind(kind: str) -> None:
    """Refuse an unknown e-mail kind (a programming error, never user input)."""
    if kind not in EMAIL_KINDS:
        raise ValueError(f"unknown notification kind {kind!r}")


def notification_jobs(booking: Booking, *, kinds, reason: str = "") -> list[Job]:
    """The jobs sending the e-mails of ``kinds`` about ``booking`` once the change commits."""
    for kind in kinds:
        check_email_kind(kind)
    return [new_job(SEND_NOTIFICATION, at=None, booking_id=booking.pk, kind=kind, reason=reason) for kind in kinds]


def hold_expiry_job(entry: WaitlistEntry) -> Job:
    """The lapse of a waitlist hold at its expiry time."""
    when = entry.offer_expires_at
    return new_job(
        EXPIRE_WAITLIST_HOLD, at=when, queueing_lock=f"waitlist:{entry.pk}:lapse:{when.isoformat()}", entry_id=entry.pk
    )


def waitlist_offer_job(entry: WaitlistEntry) -> Job:
    """The e-mail offering a held slot to a waitlist entry, sent once the offer commits."""
    return new_job(SEND_WAITLIST_OFFER, at=None, entry_id=entry.pk)
