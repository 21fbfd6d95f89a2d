"""Deferring webhook jobs on Django's own connection, so they belong to the caller's transaction.

A rolled-back change enqueues nothing; a committed one cannot lose its job. Jobs are named by
their task's name (``webhooks.deliver``), so this module needs no import of the task bodies
(``webhooks.tasks`` imports the services, which use this module).
"""

from __future__ import annotations

from datetime import datetime

from procrastinate import manager as procrastinate_manager
from procrastinate.contrib.django.django_connector import DjangoConnector
from procrastinate.jobs import Job
from procrastinate.tasks import configure_task

from core import requestid

#: The queue of every webhook job (PROCRASTINATE_WORKER_DEFAULTS in settings lists it).
QUEUE = "webhooks"

_django_jobs = procrastinate_manager.JobManager(connector=DjangoConnector())


def job(name: str, *, at: datetime | None = None, lock: str | None = None, **kwargs) -> Job:
    """A job of task ``name`` (``webhooks.<…>``) to run at ``at`` (now when None), not yet deferred."""
    return configure_task(
        name=name, job_manager=_django_jobs, queue=QUEUE, schedule_at=at, lock=lock, task_kwargs=kwargs
    ).job


def defer(jobs: list[Job]) -> None:
    """Enqueue ``jobs`` in the current transaction, in one statement (no queueing locks, so no clash)."""
    if jobs:
        # The request that caused them names them in the worker's logs too (core/requestid.py).
        _django_jobs.batch_defer_jobs(jobs=requestid.tag_jobs(jobs))


def deliver_job(delivery_id: int, attempt: int, *, at: datetime | None = None) -> Job:
    """Attempt number ``attempt`` of a delivery. The lock keeps two attempts of one delivery apart."""
    return job(
        "webhooks.deliver", at=at, lock=f"webhook-delivery:{delivery_id}", delivery_id=delivery_id, attempt=attempt
    )
