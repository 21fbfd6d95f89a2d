"""The device's side of the labshare device API (``Authorization: Device <token>``), over the standard library.

Every call either answers (a dict), or raises :class:`Unreachable` (network down, server stopped,
timeout, a 5xx: decide from the allow-list and retry later) or :class:`Refused` (a 4xx: the server
understood and said no, e.g. a revoked token; retrying the same call will not help).
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.parse
import urllib.request
from datetime import UTC, datetime

from labshare_device import __version__


class Unreachable(Exception):
    """The server could not be reached or did not answer in time."""


class Refused(Exception):
    """The server answered with an error (its code is in ``code``)."""

    def __init__(self, status: int, body: dict) -> None:
        self.status, self.body = status, body
        self.code = body.get("code", "") if isinstance(body, dict) else ""
        super().__init__(f"{status} {self.code}")


class Clock:
    """Time kept in step with the server's (a Raspberry Pi has no battery clock: after a power cut it is wrong)."""

    def __init__(self, offset: float = 0.0) -> None:
        self.offset = offset

    def now(self) -> float:
        return time.time() + self.offset

    def now_dt(self) -> datetime:
        return datetime.fromtimestamp(self.now(), tz=UTC)

    def iso(self) -> str:
        return self.now_dt().isoformat()

    def learn(self, server_now: str, sent: float, received: float) -> None:
        """Take the server's clock from an answer: its instant sits halfway through the round trip."""
        try:
            server = datetime.fromisoformat(server_now).timestamp()
        except (TypeError, ValueError):
            return
        self.offset = server - (sent + received) / 2


class Api:
    """Calls to the server for one device."""

    def __init__(self, url: str, token: str, *, timeout: float, clock: Clock) -> None:
        self.url, self.token, self.timeout, self.clock = url.rstrip("/"), token, timeout, clock

    def _call(self, method: str, path: str, body: dict | None = None, query: dict | None = None) -> dict:
        address = f"{self.url}/api/device/{path}"
        if query:
            address += "?" + urllib.parse.urlencode(query)
        request = urllib.request.Request(
            address,
            data=json.dumps(body).encode() if body is not None else None,
            method=method,
            headers={
                "Authorization": f"Device {self.token}",
                "Content-Type": "application/json",
                "Accept": "application/json",
                "User-Agent": f"labshare-device/{__version__}",
            },
        )
        sent = time.time()
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                answer = json.loads(response.read() or b"{}")
        except urllib.error.HTTPError as error:
            try:
                payload = json.loads(error.read() or b"{}")
            except ValueError:
                payload = {}
            if error.code >= 500 or error.code == 429:
                raise Unreachable(f"server answered {error.code}") from None
            raise Refused(error.code, payload) from None
        except (urllib.error.URLError, TimeoutError, ConnectionError, OSError, ValueError) as error:
            raise Unreachable(str(error)) from None
        if isinstance(answer, dict) and answer.get("now"):
            self.clock.learn(answer["now"], sent, time.time())
        return answer

    def access(self, *, credential: str, is_qr: bool, event_id: str) -> dict:
        return self._call("POST", "access/", {"qr" if is_qr else "badge": credential, "event_id": event_id})

    def enrol(self, *, qr: str, badge: str, event_id: str) -> dict:
        return self._call("POST", "enrol/", {"qr": qr, "badge": badge, "event_id": event_id})

    def events(self, events: list[dict]) -> dict:
        return self._call("POST", "events/", {"events": events})

    def heartbeat(self, *, pending: int) -> dict:
        return self._call("POST", "heartbeat/", {"pending": pending, "version": __version__})

    def allow_list(self, *, hours: int) -> dict:
        return self._call("GET", "allow-list/", query={"hours": hours})

    def key(self) -> dict:
        return self._call("GET", "key/")
