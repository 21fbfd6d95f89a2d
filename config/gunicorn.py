"""gunicorn settings of the web service (HTTP): threaded workers, one process per core by default.

Each worker is a process with its own database pool (DATABASE_POOL_MAX) and four threads. Its
metrics are summed with its siblings' by prometheus_client's multiprocess mode (the folder below,
emptied at each start), so /metrics from any worker describes the whole container.
"""

import os
import shutil
import tempfile

bind = os.environ.get("WEB_BIND", "0.0.0.0:8000")
workers = int(os.environ.get("WEB_WORKERS") or os.cpu_count() or 2)
worker_class = "gthread"
threads = 4
# Requests are logged as JSON by ops.middleware (with their request id); gunicorn's own access log
# would say the same thing again.
accesslog = None
timeout = 30
graceful_timeout = 20
keepalive = 5

_metrics = os.environ.setdefault("PROMETHEUS_MULTIPROC_DIR", os.path.join(tempfile.gettempdir(), "labshare-metrics"))
shutil.rmtree(_metrics, ignore_errors=True)
os.makedirs(_metrics, exist_ok=True)


def child_exit(server, worker):
    """A worker that ended leaves its live gauges (open sockets are daphne's; kept for completeness)."""
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)
