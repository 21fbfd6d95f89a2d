"""The reference device client against a live server, through an outage and back.

The client (tools/device, run as its own process with the console driver) reads cards from its
standard input like a keyboard-wedge reader. Ân walks in while the server is up: allowed, relay on,
her session measured and billed. Then the server is stopped: Bình, on the allow-list with a booking,
is still let in from the cached list; Chi, not on it (no training), is refused. The server comes
back: the replay creates exactly Bình's session and charge and audits both offline decisions, and a
second full replay changes nothing.
"""

from __future__ import annotations

import os
import queue
import re
import sqlite3
import subprocess
import sys
import threading
import time
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import pytest
from django.utils import timezone

from bookings.models import Booking, BookingPolicy, BookingStatus
from bookings.services import blocked_period_for
from devices import services
from devices.models import Badge, DeviceEvent, DeviceSession
from labs.models import Audience, LabRole, PriceBasis, ResourceRate
from tests import ports
from tests.e2e.conftest import start_live_server
from tests.factories import at, grant, make_certification, make_equipment, make_lab, make_user, open_weekdays

pytestmark = pytest.mark.django_db(transaction=True)

ROOT = Path(__file__).resolve().parents[2]
CLIENT = ROOT / "tools" / "device"
AN, BINH, CHI = "04A1B2C3", "04B2C3D4", "04C3D4E5"
RATE = 120_000


class Device:
    """The client process: write card lines to it, wait for the lines it prints."""

    def __init__(self, config: Path) -> None:
        env = {**os.environ, "PYTHONPATH": str(CLIENT), "PYTHONUNBUFFERED": "1"}
        self.process = subprocess.Popen(
            [sys.executable, "-m", "labshare_device", "run", "--config", str(config)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env=env,
            cwd=CLIENT,
        )
        self.lines: queue.Queue[str] = queue.Queue()
        self.seen: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        for line in self.process.stdout:
            self.lines.put(line.rstrip("\n"))

    def type(self, text: str) -> None:
        self.process.stdin.write(text + "\n")
        self.process.stdin.flush()

    def expect(self, pattern: str, timeout: float = 30.0) -> str:
        """The next line matching ``pattern`` (lines before it are kept in ``seen``)."""
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(
                    f"no line matching {pattern!r} within {timeout} s; the device said: {self.seen[-30:]}"
                )
            try:
                line = self.lines.get(timeout=left)
            except queue.Empty:
                continue
            self.seen.append(line)
            if re.search(pattern, line):
                return line

    def stop(self) -> None:
        if self.process.poll() is None:
            try:
                self.type(":quit")
                self.process.wait(timeout=10)
            except (BrokenPipeError, subprocess.TimeoutExpired):
                self.process.kill()
                self.process.wait(timeout=5)


def _price(seconds: float) -> int:
    return int((Decimal(RATE) * Decimal(int(seconds)) / Decimal(3600)).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def _logged(database: Path) -> list[dict]:
    import json

    with sqlite3.connect(database) as db:
        return [json.loads(body) for (body,) in db.execute("SELECT body FROM events ORDER BY seq")]


def _state() -> dict:
    """What a replay could change: bookings, sessions, the log, prices."""
    return {
        "bookings": sorted(
            Booking.objects.values_list("id", "status", "checked_in_at", "checked_out_at", "price_vnd", "start", "end")
        ),
        "sessions": sorted(
            DeviceSession.objects.values_list("ref", "started_at", "ended_at", "busy_seconds", "idle_seconds")
        ),
        "events": DeviceEvent.objects.count(),
    }


@pytest.fixture
def shop(clock):
    clock.move_to(at(2030, 3, 4, 10, 5))  # a Monday morning
    lab = make_lab("e2e-device-lab")
    open_weekdays(lab)
    # Bình may check in from half an hour before her booking (the lab's policy).
    BookingPolicy.objects.create(lab=lab, check_in_before=timedelta(minutes=30))
    machine = make_equipment(
        lab, slug="e2e-laser", walk_in_minutes=30, min_duration=timedelta(minutes=15), price_basis=PriceBasis.MEASURED
    )
    ResourceRate.objects.create(resource=machine, audience=Audience.STUDENT, hourly_rate_vnd=RATE)
    training = make_certification(lab, code="e2e-laser-safety")
    machine.required_certifications.add(training)
    manager = make_user("e2e-manager", audience=Audience.STAFF)
    LabRole.objects.create(user=manager, lab=lab, role=LabRole.Role.MANAGER)
    an = make_user("e2e-an", first_name="Ân", last_name="Nguyễn")
    binh = make_user("e2e-binh", first_name="Bình", last_name="Trần")
    chi = make_user("e2e-chi", first_name="Chi", last_name="Lê")  # no training: never on the list
    for user in (an, binh):
        grant(user, training, granted_at=timezone.now() - timedelta(days=10))
    for user, card in ((an, AN), (binh, BINH), (chi, CHI)):
        services.badge_register(user=user, uid=card, by=manager)
    booking = Booking.objects.create(
        resource=machine,
        user=binh,
        start=at(2030, 3, 4, 10, 30),
        end=at(2030, 3, 4, 11),
        blocked_period=blocked_period_for(machine, at(2030, 3, 4, 10, 30), at(2030, 3, 4, 11)),
        status=BookingStatus.CONFIRMED,
    )
    device, token = services.device_register(name="Laser e2e", by=manager, resource=machine)
    return {"machine": machine, "booking": booking, "device": device, "token": token, "an": an}


def test_the_client_keeps_the_machine_working_through_an_outage_and_replays_exactly_once(shop, tmp_path):
    server = start_live_server(ports=ports.DEVICE_CLIENT, log_name="daphne-device-e2e.log")
    port = int(server.url.rsplit(":", 1)[1])
    state_dir = tmp_path / "state"
    config = tmp_path / "device.toml"
    config.write_text(
        f'[server]\nurl = "{server.url}"\ntoken = "{shop["token"]}"\ntimeout = 2\n\n'
        f'[device]\nname = "Laser e2e"\ndriver = "console"\nstate_dir = "{state_dir}"\n'
        "heartbeat_seconds = 1\nallow_list_hours = 4\n"
    )
    device = Device(config)
    try:
        device.expect(r"^ONLINE$")
        device.expect(r"^LIST 2 members")  # Ân (walk-in) and Bình (booking); Chi has no training

        # Online: Ân walks in, the machine runs, she badges out.
        device.type(AN)
        device.expect(r"^DECISION allow walk_in online ÂN")
        device.expect(r"^RELAY ON$")
        device.type(":busy")
        device.expect(r"^SIGNAL busy$")
        time.sleep(1.5)
        device.type(AN)
        device.expect(r"^RELAY OFF$")
        device.expect(r"^SESSION end badge$")
        walk_in = Booking.objects.get(user=shop["an"])
        deadline = time.monotonic() + 10
        while walk_in.status != BookingStatus.COMPLETED and time.monotonic() < deadline:
            time.sleep(0.2)
            walk_in.refresh_from_db()
        assert walk_in.status == BookingStatus.COMPLETED
        assert walk_in.price_details["basis"] == "measured" and walk_in.price_vnd is not None

        # The server goes away.
        server.stop()
        device.expect(r"^OFFLINE$")
        device.type(BINH)
        device.expect(r"^DECISION allow booking offline BT")
        device.expect(r"^RELAY ON$")
        device.type(":busy")
        time.sleep(2)
        device.type(BINH)
        device.expect(r"^RELAY OFF$")
        device.expect(r"^SESSION end badge$")
        device.type(CHI)
        device.expect(r"^DECISION deny not_listed offline$")
        assert not Booking.objects.get(pk=shop["booking"].pk).checked_in_at  # nobody told the server yet

        # The server comes back on the same address: the log is replayed.
        server = start_live_server(port=port, log_name="daphne-device-e2e-2.log")
        device.expect(r"^ONLINE$")
        device.expect(r"^REPLAY sent=\d+ conflicts=0$")
        device.stop()
    finally:
        device.stop()
        server.stop()

    logged = _logged(state_dir / "device.sqlite3")
    offline_access = [e for e in logged if e["type"] == "access"]
    assert [(e["decision"], e["reason"]) for e in offline_access] == [("allow", "booking"), ("deny", "not_listed")]
    started = datetime.fromisoformat(offline_access[0]["at"])
    ended = datetime.fromisoformat(
        next(e["at"] for e in logged if e["type"] == "end" and e["session"] == offline_access[0]["id"])
    )

    booking = Booking.objects.get(pk=shop["booking"].pk)
    session = DeviceSession.objects.get(booking=booking)
    assert session.offline and session.ref.hex == offline_access[0]["id"].replace("-", "")
    assert (session.started_at, session.ended_at) == (started, ended)
    assert booking.status == BookingStatus.COMPLETED
    assert (booking.checked_in_at, booking.checked_out_at) == (started, ended)
    assert booking.price_vnd == _price((ended - started).total_seconds())
    assert booking.price_details["charged_on"] == "measured" and booking.price_details["sessions"] == [session.pk]
    audit = DeviceEvent.objects.filter(device=shop["device"], kind="access", offline=True).order_by("at")
    assert [(e.decision, e.reason, e.outcome) for e in audit] == [
        ("allow", "booking", "applied"),
        ("deny", "not_listed", "applied"),
    ]
    assert audit[0].details["list_known"] is True
    assert DeviceSession.objects.count() == 2  # Ân's and Bình's, nothing else

    # A second replay of everything the device ever logged changes nothing.
    before = _state()
    server = start_live_server(port=port, log_name="daphne-device-e2e-3.log")
    try:
        replay = subprocess.run(
            [sys.executable, "-m", "labshare_device", "replay", "--all", "--config", str(config)],
            env={**os.environ, "PYTHONPATH": str(CLIENT)},
            cwd=CLIENT,
            capture_output=True,
            text=True,
            timeout=60,
        )
    finally:
        server.stop()
    assert replay.returncode == 0, replay.stdout + replay.stderr
    assert "REPLAY sent=" in replay.stdout
    assert _state() == before


@pytest.fixture
def desk(clock):
    clock.move_to(at(2030, 3, 4, 10, 5))  # a Monday morning
    lab = make_lab("e2e-desk-lab")
    open_weekdays(lab)
    machine = make_equipment(lab, slug="e2e-printer")
    manager = make_user("e2e-desk-manager", audience=Audience.STAFF)
    LabRole.objects.create(user=manager, lab=lab, role=LabRole.Role.MANAGER)
    an = make_user("e2e-desk-an", first_name="Ân", last_name="Nguyễn")
    chi = make_user("e2e-desk-chi", first_name="Chi", last_name="Lê")
    services.badge_register(user=chi, uid=CHI, by=manager)
    booking = Booking.objects.create(
        resource=machine,
        user=an,
        start=at(2030, 3, 4, 10),
        end=at(2030, 3, 4, 11),
        blocked_period=blocked_period_for(machine, at(2030, 3, 4, 10), at(2030, 3, 4, 11)),
        status=BookingStatus.CONFIRMED,
    )
    kiosk, token = services.device_register(name="Front desk e2e", by=manager, lab=lab)
    qr = services.profile_qr(user=an).uid
    return {"kiosk": kiosk, "token": token, "an": an, "qr": qr, "booking": booking}


def test_staff_at_a_kiosk_register_a_members_card_which_then_checks_her_in(desk, tmp_path):
    server = start_live_server(ports=ports.DEVICE_CLIENT, log_name="daphne-kiosk-e2e.log")
    config = tmp_path / "kiosk.toml"
    config.write_text(
        f'[server]\nurl = "{server.url}"\ntoken = "{desk["token"]}"\ntimeout = 2\n\n'
        f'[device]\nname = "Front desk e2e"\nmode = "kiosk"\ndriver = "console"\n'
        f'state_dir = "{tmp_path / "state"}"\nheartbeat_seconds = 1\n'
    )
    new_card = "04D4E5F6"
    device = Device(config)
    try:
        device.expect(r"^ONLINE$")
        # The desk starts a registration; Ân shows her profile's QR code, then taps her new card.
        device.type(":enrol")
        device.expect(r"^ENROL qr$")
        device.type(desk["qr"])
        device.expect(r"^ENROL card$")
        device.type("04:d4:e5:f6")  # the reader's own format: the server stores it as typed cards are
        device.expect(r"^ENROLLED .*F6 ÂN$")
        device.expect(r"^STATUS .*Card .*F6 registered for ÂN")
        badge = Badge.objects.active().get(uid=new_card)
        assert (badge.user, badge.created_via) == (desk["an"], desk["kiosk"])
        assert DeviceEvent.objects.filter(device=desk["kiosk"], kind="enrol", user=desk["an"]).count() == 1

        # Back at the desk's usual work: the new card checks her in for her booking.
        device.type(new_card)
        device.expect(r"^DECISION allow checked_in online ÂN")
        booking = Booking.objects.get(pk=desk["booking"].pk)
        assert booking.status == BookingStatus.CHECKED_IN

        # Chi's card is Chi's: registering it for Ân is refused, in words the desk can read.
        device.type(":enrol")
        device.type(desk["qr"])
        device.expect(r"^ENROL card$")
        device.type(CHI)
        device.expect(r"^ENROL refused badge_taken$")
        assert Badge.objects.active().get(uid=CHI).user.username == "e2e-desk-chi"

        # Without the server nothing is registered, nor queued for later.
        server.stop()
        device.expect(r"^OFFLINE$")
        device.type(":enrol")
        device.type(desk["qr"])
        device.expect(r"^ENROL card$")
        device.type("04E5F6A7")
        device.expect(r"^ENROL offline$")
        device.stop()
    finally:
        device.stop()
        server.stop()
    assert not Badge.objects.filter(uid="04E5F6A7").exists()
    assert [e for e in _logged(tmp_path / "state" / "device.sqlite3") if e["type"] != "access"] == []
