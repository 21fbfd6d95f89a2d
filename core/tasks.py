"""Jobs of the queue itself: the jobs of a worker that died are found and run again.

A worker killed mid-job (``kill -9``, out of memory, a lost host, a database restart under it)
leaves its job ``doing`` forever: nobody else would touch it. Every worker writes a heartbeat
(``PROCRASTINATE_WORKER_DEFAULTS["update_heartbeat_interval"]``); this periodic job asks
procrastinate for the ``doing`` jobs whose worker's heartbeat is older than
``LABSHARE_STALLED_JOB_SECONDS`` (or whose worker row is gone) and puts them back in the queue,
as procrastinate's documentation recommends. Every job of labshare is safe to run twice
(bookings/tasks.py: transitions re-read their booking under a lock; e-mails are sent once per
job through core.once).
"""

from __future__ import annotations

import logging

from django.conf import settings
from procrastinate.contrib.django import app

logger = logging.getLogger(__name__)

#: The worker listens to these queues only (PROCRASTINATE_WORKER_DEFAULTS); the sweep rides the first.
QUEUE = "bookings"


@app.periodic(cron=settings.LABSHARE_STALLED_JOBS_CRON, periodic_id="retry_stalled_jobs")
@app.task(name="core.retry_stalled_jobs", queue=QUEUE, queueing_lock="core.retry_stalled_jobs", pass_context=True)
async def retry_stalled_jobs(context, timestamp: int) -> int:
    """Put back in the queue every job whose worker stopped sending heartbeats; returns how many."""
    manager = context.app.job_manager
    stalled = await manager.get_stalled_jobs(seconds_since_heartbeat=settings.LABSHARE_STALLED_JOB_SECONDS)
    for job in stalled:
        logger.warning("retrying job %s (%s): its worker stopped sending heartbeats", job.id, job.task_name)
        await manager.retry_job(job)
    return len(stalled)
