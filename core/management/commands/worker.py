"""``manage.py worker``: the procrastinate worker, started again by itself when the database goes away.

procrastinate's own ``procrastinate worker`` stops for good when PostgreSQL restarts (a side task
loses its connection: "stopping worker"), and every job then waits for a person to start it again.
This command runs the same worker (same queues and options, ``PROCRASTINATE_WORKER_DEFAULTS``) in a
loop: when the worker stops without being asked, it waits a short, growing pause (0.5 s doubling
to 5 s, ±20 %) and starts it again on fresh connections, so the queue resumes within seconds of
the database. Jobs the lost worker had in hand are retried by ``core.retry_stalled_jobs``.
SIGTERM or Ctrl-C stops it cleanly (running jobs finish, as with procrastinate's command).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import signal

from django.core.management.base import BaseCommand
from procrastinate.contrib.django import app

logger = logging.getLogger("labshare.worker")

#: Pauses before starting the worker again: from FIRST_PAUSE, doubling, never above MAX_PAUSE.
FIRST_PAUSE = 0.5
MAX_PAUSE = 5.0
#: A worker that ran this long before stopping was healthy: the next pause starts small again.
HEALTHY_AFTER = 60.0


def pause_after(failures: int) -> float:
    """The pause before the next start, after ``failures`` quick stops in a row (with ±20 % jitter)."""
    base = min(MAX_PAUSE, FIRST_PAUSE * 2 ** max(0, failures - 1))
    return base * random.uniform(0.8, 1.2)


class Command(BaseCommand):
    help = "Run the job worker; it starts again by itself when the database comes back after an outage."

    def handle(self, *args, **options) -> None:
        asyncio.run(self.serve())

    async def serve(self) -> None:
        loop = asyncio.get_running_loop()
        stopping = asyncio.Event()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stopping.set)
        failures = 0
        while not stopping.is_set():
            began = loop.time()
            reason = await self.run_once(stopping)
            if stopping.is_set():
                break
            failures = 1 if loop.time() - began >= HEALTHY_AFTER else failures + 1
            pause = pause_after(failures)
            logger.warning(
                "worker stopped (%s); starting again in %.1f s / trình xử lý đã dừng, khởi động lại sau %.1f giây",
                reason,
                pause,
                pause,
            )
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stopping.wait(), timeout=pause)
        logger.info("worker stopped on request / trình xử lý đã dừng theo yêu cầu")

    async def run_once(self, stopping: asyncio.Event) -> str:
        """Run one worker until it stops by itself (returns why) or ``stopping`` is set."""
        # A connector of its own each time: its pool is opened afresh, never one left broken.
        with app.replace_connector(app.connector.get_worker_connector()):
            try:
                async with app.open_async():
                    worker = asyncio.create_task(app.run_worker_async(install_signal_handlers=False))
                    asked = asyncio.create_task(stopping.wait())
                    await asyncio.wait({worker, asked}, return_when=asyncio.FIRST_COMPLETED)
                    if stopping.is_set():
                        # Cancelling run_worker_async is procrastinate's graceful stop: jobs finish.
                        worker.cancel()
                        with contextlib.suppress(asyncio.CancelledError, Exception):
                            await worker
                        return "asked"
                    asked.cancel()
                    worker.result()
                    return "the worker ended"
            except Exception as exc:  # the database went away: connecting, or inside the worker
                return f"{type(exc).__name__}: {exc}".splitlines()[0]
