"""The outermost middleware: a request id for everything the request does, a log line and the request metrics."""

from __future__ import annotations

import logging
import time

from core import requestid
from ops.metrics import HTTP_REQUESTS, HTTP_SECONDS

logger = logging.getLogger("labshare.request")


class RequestContextMiddleware:
    """Binds the request id (``X-Request-ID`` from the front when well-formed, else a new one) and answers with it."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        began = time.perf_counter()
        with requestid.bound(requestid.new_id(request.headers.get("X-Request-ID"))) as request_id:
            request.request_id = request_id
            response = self.get_response(request)
            seconds = time.perf_counter() - began
            response["X-Request-ID"] = request_id
            HTTP_REQUESTS.labels(method=request.method, status=str(response.status_code)).inc()
            HTTP_SECONDS.labels(method=request.method).observe(seconds)
            if logger.isEnabledFor(logging.INFO):
                logger.info(
                    "%s %s %s",
                    request.method,
                    request.path,
                    response.status_code,
                    extra={"method": request.method, "path": request.path, "status": response.status_code,
                           "ms": round(seconds * 1000, 1)},
                )  # fmt: skip
        return response
