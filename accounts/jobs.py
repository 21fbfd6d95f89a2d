"""Deferring account jobs on Django's own connection, inside the caller's transaction (see webhooks.jobs)."""

from __future__ import annotations

from procrastinate import manager as procrastinate_manager
from procrastinate.contrib.django.django_connector import DjangoConnector
from procrastinate.jobs import Job
from procrastinate.tasks import configure_task

from core import requestid

#: The queue of account jobs (e-mails, the retention sweep); PROCRASTINATE_WORKER_DEFAULTS lists it.
QUEUE = "accounts"

_django_jobs = procrastinate_manager.JobManager(connector=DjangoConnector())


def email_job(kind: str, **ids: int) -> Job:
    """The e-mail of ``kind`` (verify_email, guardian_consent, join_requested, …), sent by the worker."""
    return configure_task(
        name="accounts.send_account_email", job_manager=_django_jobs, queue=QUEUE, task_kwargs={"kind": kind, **ids}
    ).job


def defer(jobs: list[Job]) -> None:
    """Enqueue ``jobs`` in the current transaction (one statement)."""
    if jobs:
        # The request that caused them names them in the worker's logs too (core/requestid.py).
        _django_jobs.batch_defer_jobs(jobs=requestid.tag_jobs(jobs))
