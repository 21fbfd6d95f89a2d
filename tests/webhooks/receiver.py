"""A webhook receiver for tests: a real HTTP server on 127.0.0.1 that records what it gets and answers as told."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from django.utils import timezone

from tests import ports


@dataclass
class Received:
    """One request as the receiver got it."""

    path: str
    headers: dict[str, str]
    body: bytes
    at: datetime


@dataclass
class Receiver:
    """The running receiver: its URL, what it got, and the status it answers with (``status``)."""

    url: str
    server: ThreadingHTTPServer
    received: list[Received] = field(default_factory=list)
    status: int = 204

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def start_receiver() -> Receiver:
    """Start a receiver on a free port of this run's block (127.0.0.1 only)."""
    holder: dict = {}

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length)
            receiver = holder["receiver"]
            receiver.received.append(
                Received(
                    path=self.path,
                    headers={k.lower(): v for k, v in self.headers.items()},
                    body=body,
                    at=timezone.now(),
                )
            )
            self.send_response(receiver.status)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *args):  # keep the test output clean
            pass

    port = ports.free_port(ports.WEBHOOK_RECEIVER)
    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    server.daemon_threads = True
    receiver = Receiver(url=f"http://127.0.0.1:{port}/hooks", server=server)
    holder["receiver"] = receiver
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return receiver
