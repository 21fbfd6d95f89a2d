"""The offline decision: the signed allow-list the server issued, checked, and asked "may this card start the machine now?".

The list is verified with the server's Ed25519 public key before every use (on load, so an edited
file on the SD card is refused), and is good only until its ``expires_at``. Members appear as
salted hashes of their card numbers; a member may start inside one of their booking's windows,
or walk in during a free stretch when the machine takes walk-ins.
"""

from __future__ import annotations

import base64
import hashlib
import json
import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey


def unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class BadList(ValueError):
    """The list's signature does not check out, or it is not a list at all."""


@dataclass
class Decision:
    """What the device decided alone."""

    allow: bool
    reason: str
    who: str = ""
    language: str = "vi"
    member: int | None = None
    until: datetime | None = None
    booking: int | None = None
    walk_in: bool = False


class AllowList:
    """A verified list, ready to answer."""

    def __init__(self, envelope: dict, public_key: str) -> None:
        try:
            key = Ed25519PublicKey.from_public_bytes(unb64(public_key))
            payload = unb64(envelope["payload"])
            key.verify(unb64(envelope["signature"]), payload)
            self.data = json.loads(payload)
        except (KeyError, TypeError, ValueError, InvalidSignature) as exc:
            raise BadList(f"allow-list rejected: {exc.__class__.__name__}") from None
        self.envelope = envelope
        self.tz = ZoneInfo(self.data["timezone"])
        self.list_id = self.data["list_id"]
        self.expires_at = datetime.fromisoformat(self.data["expires_at"])
        self.issued_at = datetime.fromisoformat(self.data["issued_at"])
        self._members = {h: member for member in self.data["members"] for h in member["h"]}

    def member_for(self, credential: str) -> dict | None:
        digest = hashlib.sha256((self.data["salt"] + credential).encode()).hexdigest()[:32]
        return self._members.get(digest)

    def _grid(self, moment: datetime, minutes: int, *, up: bool) -> datetime:
        local = moment.astimezone(self.tz).replace(tzinfo=None)
        midnight = local.replace(hour=0, minute=0, second=0, microsecond=0)
        steps = (local - midnight) / timedelta(minutes=minutes)
        whole = math.ceil(steps) if up else math.floor(steps)
        return (midnight + whole * timedelta(minutes=minutes)).replace(tzinfo=self.tz)

    def _walk_in_until(self, at: datetime) -> datetime | None:
        """Until when a walk-in starting at ``at`` may run (the server's rule, as the list describes it), or None."""
        rule = self.data.get("walk_in")
        if not rule:
            return None
        for start, end in rule["free"]:
            start, end = datetime.fromisoformat(start), datetime.fromisoformat(end)
            if not start <= at < end:
                continue
            grid = rule["granularity_minutes"]
            length = timedelta(minutes=max(rule["minutes"], rule["min_minutes"]))
            until = min(
                self._grid(at + length, grid, up=True),
                self._grid(at + timedelta(minutes=rule["max_minutes"]), grid, up=False),
            )
            cut = self._grid(end, grid, up=False)
            if at < cut < until:
                until = cut
            if until - at >= timedelta(minutes=rule["min_minutes"]):
                return until
        return None

    def decide(self, credential: str, at: datetime) -> Decision:
        """May ``credential`` start the machine at ``at`` (the device's server-synced clock)?"""
        if at >= self.expires_at:
            return Decision(False, "allow_list_expired")
        member = self.member_for(credential)
        if member is None:
            return Decision(False, "not_listed")
        base = {"who": member["who"], "language": member.get("lang", "vi"), "member": member["u"]}
        for slot in member["slots"]:
            if datetime.fromisoformat(slot["from"]) <= at < datetime.fromisoformat(slot["start_by"]):
                return Decision(
                    True, "booking", until=datetime.fromisoformat(slot["until"]), booking=slot["booking"], **base
                )
        if member.get("walk_in"):
            until = self._walk_in_until(at)
            if until is not None:
                return Decision(True, "walk_in", until=until, walk_in=True, **base)
        return Decision(False, "no_booking", **base)
