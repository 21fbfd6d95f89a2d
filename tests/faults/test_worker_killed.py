"""A worker killed mid-job: the job is noticed (its worker's heartbeat stops) and run again by another worker.

The confirmation e-mail of a booking is caught mid-send (the SMTP sink hangs the first session),
the worker is killed with SIGKILL, a second worker starts: core.retry_stalled_jobs puts the job
back in the queue and the e-mail arrives, once. Bounded: about 20 s.
"""

from __future__ import annotations

from tests.faults.harness import app_env, query, seed, wait_until, worker


def _job(url: str, booking_id: int) -> tuple[int, str]:
    [(job_id, status)] = query(
        url,
        "SELECT id, status FROM procrastinate_jobs WHERE task_name = 'bookings.send_notification' "
        "AND (args->>'booking_id')::bigint = %s",
        (booking_id,),
    )
    return job_id, status


def test_a_job_whose_worker_was_killed_is_retried_and_done_once(cluster, sink):
    env = app_env(cluster.url, sink.url)
    sink.hang_next.set()
    booking_id = seed(env, "killed", book=True)["booking"]
    first = worker(env)
    second = None
    try:
        wait_until(
            lambda: _job(cluster.url, booking_id)[1] == "doing" and sink.sessions >= 1,
            timeout=30,
            what="the job running",
        )
        first.kill()  # SIGKILL: no goodbye, the job stays "doing"
        job_id, status = _job(cluster.url, booking_id)
        assert status == "doing" and sink.messages == []

        second = worker(env)
        wait_until(lambda: _job(cluster.url, booking_id)[1] == "succeeded", timeout=40, what="the job done again")
        assert len(sink.messages) == 1
        starts = query(
            cluster.url, "SELECT count(*) FROM procrastinate_events WHERE job_id = %s AND type = 'started'", (job_id,)
        )
        assert starts[0][0] == 2, "the job ran twice: once in the killed worker, once in the second"
    except BaseException:
        print("--- first worker ---\n" + first.output() + "\n--- second ---\n" + (second.output() if second else ""))
        raise
    finally:
        first.stop()
        if second is not None:
            second.stop()
