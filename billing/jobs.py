"""Building the billing jobs (statement e-mails), deferred in the transaction of the change that needs them.

Job bodies live in ``billing.tasks``; this module names them by task name only, so the services
that defer jobs never import the module that imports the services (as bookings/jobs.py does).
"""

from __future__ import annotations

from procrastinate.jobs import Job

from bookings.jobs import defer_jobs, new_job

QUEUE_BILLING = "billing"
EMAIL_KINDS = ("issued", "overdue")
SEND_STATEMENT_EMAIL = ("billing.send_statement_email", QUEUE_BILLING)


def defer(job: Job) -> None:
    """Enqueue ``job`` in the current transaction."""
    defer_jobs([job])


def statement_email_job(statement, *, kind: str) -> Job:
    """The e-mail of ``kind`` (issued, overdue) about ``statement``, sent by the worker after commit."""
    if kind not in EMAIL_KINDS:
        raise ValueError(kind)
    return new_job(
        SEND_STATEMENT_EMAIL,
        at=None,
        queueing_lock=f"statement:{statement.pk}:{kind}",
        statement_id=statement.pk,
        kind=kind,
    )
