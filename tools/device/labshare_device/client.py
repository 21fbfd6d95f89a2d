"""The client's main loop: badge lines in, the server's (or the allow-list's) answer, the relay, the log, the status line.

One thread and ``select``: a line from the reader (a keyboard-wedge reader types the card number
and Enter, a QR scanner types the member's code) is handled at once; between lines the loop sends
heartbeats, replays the log, refreshes the allow-list, watches the busy sensor and ends a session
at its booking's end. The relay is off at start, at exit and on any crash.

Online, the server decides (and checks the member in). When it cannot be reached, the device
decides from its signed allow-list with the same event id it would have sent, logs the decision and
replays it later: if the first call did reach the server after all, the replay is a duplicate there.
"""

from __future__ import annotations

import os
import re
import select
import sys
import time
import uuid
from dataclasses import asdict, dataclass
from datetime import datetime

from labshare_device import drivers
from labshare_device.allowlist import AllowList, BadList, Decision
from labshare_device.api import Api, Clock, Refused, Unreachable
from labshare_device.config import Config
from labshare_device.store import Store

QR_PREFIX = "LSQ1-"
_CARD = re.compile(r"^[0-9A-Z]{4,40}$")
_SEPARATORS = re.compile(r"[\s:\-.]")

#: What the status line says for what the device decides itself (the server's answers carry their own text).
TEXTS = {
    "ready": ("Sẵn sàng — quẹt thẻ để bắt đầu", "Ready — tap your card"),
    "offline": ("Mất kết nối máy chủ — dùng danh sách đã lưu", "Server unreachable — using the saved list"),
    "booking": (
        "Xin chào {who}! Máy sẵn sàng đến {until} (ngoại tuyến)",
        "Welcome {who}! Yours until {until} (offline)",
    ),
    "walk_in": ("Xin chào {who}! Dùng đến {until} (ngoại tuyến)", "Welcome {who}! Until {until} (offline)"),
    "not_listed": (
        "Mất kết nối và bạn không có trong danh sách được phép",
        "Offline, and you are not on the allow-list",
    ),
    "allow_list_expired": ("Mất kết nối và danh sách đã hết hạn", "Offline, and the allow-list has expired"),
    "no_booking": ("Bạn không có lịch đặt máy này lúc này", "You have no booking for this machine now"),
    "resource_in_use": ("Máy đang được {who} sử dụng", "The machine is in use by {who}"),
    "unreadable": ("Không đọc được thẻ, vui lòng quẹt lại", "Card not read, please try again"),
    "ended": ("Đã kết thúc phiên. Cảm ơn {who}!", "Session ended. Thank you, {who}!"),
    "overtime": ("Đã hết giờ — máy tắt khi ngừng chạy", "Time is up — the machine stops when it is idle"),
    "refused": ("Thiết bị chưa được phép kết nối ({code})", "This device is not authorised ({code})"),
    "enrol_qr": (
        "Đăng ký thẻ: đưa mã QR trong hồ sơ labshare của thành viên",
        "Card registration: show the member's labshare profile QR code",
    ),
    "enrol_card": ("Xin chạm thẻ mới cần đăng ký", "Now tap the new card"),
    "enrol_qr_first": ("Cần quét mã QR hồ sơ trước, rồi mới chạm thẻ", "Scan the profile QR code first, then the card"),
    "enrol_card_not_qr": ("Xin chạm thẻ, không phải mã QR", "Tap the card, not a QR code"),
    "enrolled": ("Đã đăng ký thẻ {masked} cho {who}", "Card {masked} registered for {who}"),
    "enrol_offline": (
        "Mất kết nối máy chủ: chỉ đăng ký thẻ được khi có kết nối",
        "Server unreachable: cards can be registered only online",
    ),
    "enrol_cancelled": ("Đã hủy đăng ký thẻ", "Card registration cancelled"),
    "enrol_machine": ("Chỉ quầy kiosk mới đăng ký thẻ", "Cards are registered at a kiosk only"),
}


def normalise(text: str) -> str | None:
    """A card number as the server stores it (separators and case ignored), a profile QR code as it is."""
    text = text.strip()
    if text.startswith(QR_PREFIX):
        return text
    card = _SEPARATORS.sub("", text).upper()
    return card if _CARD.match(card) else None


@dataclass
class Session:
    """The use running on this machine now."""

    ref: str
    credential: str
    who: str
    until: str | None
    member: int | None
    booking: int | None
    started: str
    language: str = "vi"


class Client:
    """One device: its configuration, driver, log and connection."""

    def __init__(self, config: Config, *, driver=None, stdin=None, out=None) -> None:
        self.config = config
        self.out = out or sys.stdout
        self.stdin = stdin or sys.stdin
        self.store = Store(config.database)
        self.clock = Clock(self.store.get("clock_offset", 0.0))
        self.api = Api(config.url, config.token, timeout=config.timeout, clock=self.clock)
        self.driver = driver or drivers.load(config.driver, {"stream": self.out, **config.driver_options})
        self.public_key = config.public_key or self.store.get("public_key", "")
        self.allow_list: AllowList | None = self._cached_list()
        saved = self.store.get("session")
        self.session: Session | None = Session(**saved) if saved else None
        self.online: bool | None = None
        self.signal: str | None = None
        self.stopping = False
        self.next_heartbeat = 0.0
        self.list_fetched = 0.0
        self.overtime_told = False
        # Card registration at a kiosk: None, or {"step": "qr" | "card", "qr": …, "since": monotonic time}.
        self.enrolling: dict | None = None

    # --- Output -----------------------------------------------------------------------------

    def say(self, line: str) -> None:
        print(line, file=self.out, flush=True)

    def status(self, key: str, language: str | None = None, **values) -> None:
        vi, en = (text.format(**values) for text in TEXTS[key])
        self.status_text({"vi": vi, "en": en}, language)

    def status_text(self, messages: dict, language: str | None = None) -> None:
        """The short line the member reads at the machine, in the configured language(s)."""
        choice = self.config.language if self.config.language != "both" else None
        if choice is None and language in ("vi", "en"):
            text = f"{messages[language]} / {messages['en' if language == 'vi' else 'vi']}"
        elif choice is None:
            text = f"{messages['vi']} / {messages['en']}"
        else:
            text = messages[choice]
        self.say(f"STATUS {text}")

    def _hhmm(self, iso: str | None) -> str:
        if not iso:
            return "—"
        moment = datetime.fromisoformat(iso)
        tz = self.allow_list.tz if self.allow_list else moment.tzinfo
        return moment.astimezone(tz).strftime("%H:%M")

    # --- Connection -------------------------------------------------------------------------

    def set_online(self, online: bool) -> None:
        if online != self.online:
            self.online = online
            self.say("ONLINE" if online else "OFFLINE")
            if not online:
                self.status("offline")
            elif self.session is None:
                self.status("ready")

    def heartbeat(self) -> None:
        """Tell the server we are alive; when it answers, replay the log and keep the allow-list fresh."""
        try:
            self.api.heartbeat(pending=self.store.pending_count())
        except Unreachable:
            self.set_online(False)
            return
        except Refused as refused:
            self.set_online(False)
            self.status("refused", code=refused.code or refused.status)
            return
        self.store.put("clock_offset", self.clock.offset)
        self.set_online(True)
        self.flush()
        self.refresh_list()

    def flush(self) -> None:
        """Send the log, oldest first, in batches; the server applies each event once."""
        sent = conflicts = 0
        while True:
            batch = self.store.pending(100)
            if not batch:
                break
            try:
                answer = self.api.events(batch)
            except Unreachable:
                self.set_online(False)
                break
            except Refused as refused:
                # A batch the server cannot read would block the log for ever: send one by one, drop what it refuses.
                self._flush_one_by_one(batch, refused)
                continue
            self.store.mark_sent([event["id"] for event in batch])
            sent += len(batch)
            conflicts += sum(1 for result in answer.get("results", []) if result.get("outcome") == "conflict")
        if sent:
            self.say(f"REPLAY sent={sent} conflicts={conflicts}")

    def _flush_one_by_one(self, batch: list[dict], refused: Refused) -> None:
        for event in batch:
            try:
                self.api.events([event])
            except Refused as single:
                self.say(f"DROPPED {event['id']} {single.code or single.status}")
            except Unreachable:
                self.set_online(False)
                return
            self.store.mark_sent([event["id"]])

    def _cached_list(self) -> AllowList | None:
        envelope = self.store.get("allow_list")
        if not envelope or not self.public_key:
            return None
        try:
            return AllowList(envelope, self.public_key)
        except BadList as exc:
            self.say(f"WARNING {exc}")
            return None

    def refresh_list(self, *, force: bool = False) -> None:
        """Fetch a fresh list when the cached one is old, nearly expired or missing (online only)."""
        due = time.monotonic() - self.list_fetched >= self.config.allow_list_refresh_minutes * 60
        expiring = self.allow_list is None or (self.allow_list.expires_at.timestamp() - self.clock.now()) < 3600
        if not (force or due or expiring):
            return
        try:
            if not self.public_key:
                # Trust on first use, over HTTPS with the device's token; a key in the configuration is better.
                self.public_key = self.api.key()["public_key"]
                self.store.put("public_key", self.public_key)
            envelope = self.api.allow_list(hours=self.config.allow_list_hours)
        except Unreachable:
            self.set_online(False)
            return
        except Refused:
            return
        try:
            self.allow_list = AllowList(envelope, self.public_key)
        except BadList as exc:
            self.say(f"WARNING {exc}")
            return
        self.store.put("allow_list", envelope)
        self.list_fetched = time.monotonic()
        self.say(
            f"LIST {len(self.allow_list.data['members'])} members until {self._hhmm(self.allow_list.data['expires_at'])}"
        )

    # --- Badges -----------------------------------------------------------------------------

    def handle_line(self, line: str) -> None:
        if not line:
            return
        if line.startswith(":"):
            self.command(line[1:].strip().lower())
            return
        credential = normalise(line)
        if credential is None:
            self.status("unreadable")
            return
        if self.enrolling is not None:
            self.enrol_line(credential)
            return
        if self.session is not None:
            if self._same_member(credential):
                self.end_session("badge")
            else:
                self.say("DECISION deny resource_in_use local")
                self.status("resource_in_use", who=self.session.who)
            return
        self.access(credential)

    def _same_member(self, credential: str) -> bool:
        if credential == self.session.credential:
            return True
        member = self.allow_list.member_for(credential) if self.allow_list else None
        return member is not None and member["u"] == self.session.member

    def access(self, credential: str) -> None:
        event_id = str(uuid.uuid4())
        at = self.clock.now_dt()
        if self.online:
            try:
                answer = self.api.access(
                    credential=credential, is_qr=credential.startswith(QR_PREFIX), event_id=event_id
                )
            except Unreachable:
                self.set_online(False)
            except Refused as refused:
                self.status("refused", code=refused.code or refused.status)
                return
            else:
                self._online_answer(credential, answer, at)
                return
        self._offline_decision(credential, event_id, at)

    def _online_answer(self, credential: str, answer: dict, at: datetime) -> None:
        allowed = answer.get("decision") == "allow"
        self.say(f"DECISION {answer.get('decision')} {answer.get('reason')} online {answer.get('who', '')}".rstrip())
        self.status_text(
            answer.get("messages") or {"vi": answer.get("message", ""), "en": answer.get("message", "")},
            answer.get("language"),
        )
        if allowed and answer.get("session"):
            self.start_session(
                Session(
                    ref=answer["session"]["ref"],
                    credential=credential,
                    who=answer.get("who", ""),
                    until=answer.get("until"),
                    member=None,
                    booking=answer.get("booking"),
                    started=at.isoformat(),
                    language=answer.get("language", "vi"),
                )
            )

    def _offline_decision(self, credential: str, event_id: str, at: datetime) -> None:
        if self.allow_list is None:
            decision = Decision(False, "allow_list_expired")
        else:
            decision = self.allow_list.decide(credential, at)
        self.store.log(
            {
                "id": event_id,
                "type": "access",
                "at": at.isoformat(),
                "qr" if credential.startswith(QR_PREFIX) else "badge": credential,
                "decision": "allow" if decision.allow else "deny",
                "reason": decision.reason,
                "booking": decision.booking,
                "walk_in": decision.walk_in,
                "list_id": self.allow_list.list_id if self.allow_list else None,
                "offline": True,
            }
        )
        self.say(f"DECISION {'allow' if decision.allow else 'deny'} {decision.reason} offline {decision.who}".rstrip())
        until = decision.until.isoformat() if decision.until else None
        self.status(decision.reason, decision.language, who=decision.who, until=self._hhmm(until))
        # A kiosk switches no machine: its allowed decision is a check-in, replayed with the log.
        if decision.allow and self.config.mode == "machine":
            self.start_session(
                Session(
                    ref=event_id,
                    credential=credential,
                    who=decision.who,
                    until=until,
                    member=decision.member,
                    booking=decision.booking,
                    started=at.isoformat(),
                    language=decision.language,
                )
            )

    # --- Card registration at a kiosk ----------------------------------------------------------

    def enrol_start(self) -> None:
        """Wait for a member's profile QR code, then for the card to register (``:enrol``, or always in enrol mode)."""
        if self.config.mode == "machine":
            self.say("WARNING :enrol works at a kiosk only")
            self.status("enrol_machine")
            return
        self.enrolling = {"step": "qr", "qr": None, "since": time.monotonic()}
        self.say("ENROL qr")
        self.status("enrol_qr")

    def enrol_stop(self, why: str) -> None:
        """Leave registration (a kiosk goes back to check-ins; an enrol-only kiosk waits for the next member)."""
        self.enrolling = None
        if why:
            self.say(f"ENROL {why}")
        if self.config.mode == "enrol":
            self.enrol_start()
        elif why in ("cancelled", "timeout"):
            self.status("enrol_cancelled")

    def enrol_line(self, credential: str) -> None:
        """The QR code first (whose card it will be), then the card; the server registers it."""
        step = self.enrolling
        if step["step"] == "qr":
            if not credential.startswith(QR_PREFIX):
                self.status("enrol_qr_first")
                return
            step.update(step="card", qr=credential, since=time.monotonic())
            self.say("ENROL card")
            self.status("enrol_card")
            return
        if credential.startswith(QR_PREFIX):
            self.status("enrol_card_not_qr")
            return
        if not self.online:
            # Registration needs the server (a card may already be someone else's): nothing is queued.
            self.status("enrol_offline")
            self.enrol_stop("offline")
            return
        try:
            answer = self.api.enrol(qr=step["qr"], badge=credential, event_id=str(uuid.uuid4()))
        except Unreachable:
            self.set_online(False)
            self.status("enrol_offline")
            self.enrol_stop("offline")
            return
        except Refused as refused:
            self.say(f"ENROL refused {refused.code or refused.status}")
            messages = refused.body.get("messages") if isinstance(refused.body, dict) else None
            if messages:
                self.status_text(messages)
            else:
                self.status("refused", code=refused.code or refused.status)
            self.enrol_stop("")
            return
        self.say(f"ENROLLED {answer.get('masked', '')} {answer.get('who', '')}".rstrip())
        self.status("enrolled", masked=answer.get("masked", ""), who=answer.get("who", ""))
        self.enrol_stop("")

    # --- Sessions ---------------------------------------------------------------------------

    def start_session(self, session: Session) -> None:
        self.session, self.signal, self.overtime_told = session, None, False
        self.store.put("session", asdict(session))
        self.driver.on()

    def end_session(self, reason: str) -> None:
        session = self.session
        if session is None:
            return
        self.driver.off()
        self._log_session_event("end", reason=reason)
        self.session = None
        self.store.put("session", None)
        self.say(f"SESSION end {reason}")
        self.status("ended", session.language, who=session.who)
        if self.online:
            self.flush()

    def _log_session_event(self, kind: str, **extra) -> None:
        self.store.log(
            {
                "id": str(uuid.uuid4()),
                "type": kind,
                "at": self.clock.iso(),
                "session": self.session.ref,
                "offline": not self.online,
                **extra,
            }
        )

    def set_signal(self, kind: str) -> None:
        """The machine started (busy) or stopped (idle) working: logged once per change."""
        if self.session is None or kind == self.signal:
            return
        self.signal = kind
        self._log_session_event(kind)
        self.say(f"SIGNAL {kind}")
        if self.online:
            self.flush()

    def command(self, name: str) -> None:
        """``:busy``, ``:idle``, ``:end``, ``:status``, ``:replay``, ``:quit``; at a kiosk ``:enrol`` and ``:cancel``
        (a technician's keyboard, a desk's button wired as a key, or tests)."""
        if name == "enrol":
            self.enrol_start()
        elif name == "cancel":
            if self.enrolling is not None:
                self.enrolling = None
                self.say("ENROL cancelled")
                self.status("enrol_cancelled")
        elif name in ("busy", "idle"):
            self.set_signal(name)
        elif name == "end":
            self.end_session("button")
        elif name == "replay":
            self.heartbeat()
        elif name == "status":
            state = "online" if self.online else "offline"
            self.say(
                f"STATE {state} session={self.session.ref if self.session else '-'} pending={self.store.pending_count()}"
            )
        elif name == "quit":
            self.stopping = True

    # --- The loop ---------------------------------------------------------------------------

    def recover(self) -> None:
        """A session open when the device last stopped ended then: the machine lost power with it."""
        if self.session is not None:
            self._log_session_event("end", reason="restart")
            self.session = None
            self.store.put("session", None)

    def tick(self) -> None:
        now = time.monotonic()
        if self.enrolling is not None and now - self.enrolling["since"] >= self.config.enrol_timeout_seconds:
            # Nobody finished: a half-done registration must not catch the next member's card.
            if self.config.mode != "enrol" or self.enrolling["step"] == "card":
                self.enrol_stop("timeout")
            else:
                self.enrolling["since"] = now
        busy = self.driver.busy()
        if busy is not None and self.session is not None:
            self.set_signal("busy" if busy else "idle")
        if self.session is not None and self.session.until and self.config.stop_at_end:
            if self.clock.now() >= datetime.fromisoformat(self.session.until).timestamp():
                if self.signal == "busy":
                    if not self.overtime_told:
                        self.overtime_told = True
                        self.status("overtime")
                else:
                    self.end_session("booking_end")
        if now >= self.next_heartbeat:
            self.next_heartbeat = now + self.config.heartbeat_seconds
            self.heartbeat()

    def run(self) -> int:
        """Until ``:quit`` or the end of input: the relay is off whatever happens."""
        self.driver.off()
        self.recover()
        self.say(f"START {self.config.name}")
        if self.config.mode == "enrol":
            self.enrol_start()
        # Raw reads on the descriptor, split here: a buffered readline could keep a second card's line in
        # Python's buffer, where select() does not see it, until the next card arrives.
        fd, pending = self.stdin.fileno(), b""
        try:
            self.tick()
            while not self.stopping:
                ready, _, _ = select.select([fd], [], [], 0.2)
                if ready:
                    chunk = os.read(fd, 4096)
                    if not chunk:
                        break  # the reader is gone (a test closed its input)
                    pending += chunk
                    while b"\n" in pending and not self.stopping:
                        line, pending = pending.split(b"\n", 1)
                        self.handle_line(line.decode("utf-8", "replace").strip())
                self.tick()
        finally:
            if self.session is not None:
                self.end_session("shutdown")
            self.driver.close()
            self.store.close()
        return 0
