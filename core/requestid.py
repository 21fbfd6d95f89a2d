"""The request id: one name for everything a request causes, in its log lines and in the jobs it defers.

The web middleware (``ops.middleware``) binds an id for the length of a request; every log record
carries it (:class:`RequestIdFilter`); jobs deferred while it is bound carry it in their
arguments under :data:`JOB_KEY` (:func:`tag_jobs`, called where the engine defers jobs), and the
worker binds it again around the job (:func:`carry_into_job`, a procrastinate task middleware) and
takes it out of the arguments before the task runs, so task signatures never see it.
"""

from __future__ import annotations

import contextvars
import logging
import re
import uuid
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any

#: The job argument that carries the id (a name no task uses).
JOB_KEY = "_request_id"
#: Ids accepted from a client or a proxy (``X-Request-ID``): short and plain, so logs stay clean.
_ACCEPTED = re.compile(r"^[A-Za-z0-9._:-]{8,64}$")

_current: contextvars.ContextVar[str | None] = contextvars.ContextVar("labshare_request_id", default=None)


def current() -> str | None:
    """The id bound in this context, if any."""
    return _current.get()


def new_id(offered: str | None = None) -> str:
    """The id a request goes by: the one a proxy or client offered when it is well-formed, else a fresh one."""
    if offered and _ACCEPTED.match(offered):
        return offered
    return uuid.uuid4().hex


@contextmanager
def bound(request_id: str | None) -> Iterator[str | None]:
    """Bind ``request_id`` for the ``with`` block (in this thread or task only)."""
    token = _current.set(request_id)
    try:
        yield request_id
    finally:
        _current.reset(token)


def tag_jobs(jobs: Iterable[Any]) -> list[Any]:
    """The procrastinate jobs, each carrying the bound request id in its arguments (unchanged when none is bound)."""
    request_id = _current.get()
    if request_id is None:
        return list(jobs)
    return [job.evolve(task_kwargs={**job.task_kwargs, JOB_KEY: request_id}) for job in jobs]


def untagged(arguments: dict[str, Any]) -> dict[str, Any]:
    """A job's arguments without the request id (for code that runs a stored job itself, as tests do)."""
    return {key: value for key, value in arguments.items() if key != JOB_KEY}


def carry_into_job(call_next: Callable[[], Any], context, worker) -> Any:
    """procrastinate task middleware (sync tasks): bind the job's request id while it runs, hide it from the task."""
    request_id = context.job.task_kwargs.pop(JOB_KEY, None)
    with bound(request_id or f"job-{context.job.id}"):
        return call_next()


class RequestIdFilter(logging.Filter):
    """Adds ``request_id`` to every log record (``-`` outside a request or a job)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = _current.get() or "-"
        return True
