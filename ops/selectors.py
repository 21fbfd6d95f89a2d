"""Reads for health and metrics: the job queues and the e-mail jobs, in one statement each."""

from __future__ import annotations

from datetime import datetime
from typing import NamedTuple

from django.db import connection


class QueueState(NamedTuple):
    """A job queue now: jobs due and waiting, and how long the oldest has waited."""

    queue: str
    due: int
    lag_seconds: float


def job_queues(*, now: datetime) -> list[QueueState]:
    """Every queue with due jobs (``todo`` and scheduled at or before ``now``).

    A job deferred to run at once has no ``scheduled_at``; its wait counts from its ``deferred``
    event. ``now`` is a parameter (the app's clock, not PostgreSQL's).
    """
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT j.queue_name, count(*),
                   coalesce(extract(epoch FROM %(now)s - min(coalesce(j.scheduled_at, e.at))), 0)
            FROM procrastinate_jobs j
            LEFT JOIN procrastinate_events e ON e.job_id = j.id AND e.type = 'deferred' AND j.scheduled_at IS NULL
            WHERE j.status = 'todo' AND (j.scheduled_at IS NULL OR j.scheduled_at <= %(now)s)
            GROUP BY j.queue_name
            """,
            {"now": now},
        )
        return [QueueState(queue, int(due), max(0.0, float(lag))) for queue, due, lag in cursor.fetchall()]


def worker_lag_seconds(*, now: datetime) -> float:
    """The longest any due job has waited, across queues (0 when none waits)."""
    return max((q.lag_seconds for q in job_queues(now=now)), default=0.0)


def email_job_failures() -> list[tuple[str, str, int]]:
    """(task, "failed" | "retrying", count) for the e-mail tasks (their names say ``send_``)."""
    with connection.cursor() as cursor:
        cursor.execute(
            r"""
            SELECT task_name, CASE WHEN status = 'failed' THEN 'failed' ELSE 'retrying' END, count(*)
            FROM procrastinate_jobs
            WHERE task_name LIKE '%%.send\_%%'
              AND (status = 'failed' OR (status = 'todo' AND attempts > 0))
            GROUP BY 1, 2
            """
        )
        return [(task, state, int(n)) for task, state, n in cursor.fetchall()]
