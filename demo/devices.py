"""The devices of the demo: interlocks on four machines (one billed on measured use), a kiosk at the
EIU FabLab's front desk, cards for the demo people, the sessions the interlocks measured in the past
week (busy and idle time, and the measured charge), and one interlock offline with events to replay.

Devices and cards are registered through the devices app's services, as a manager and the desk
would; the past sessions are written like the demo's past bookings (``demo.network._write_history``):
the rows the services would have left, with the device's signals, so that measuring them again gives
the same figures, and the measured machine's charge from the same function the services use
(``devices.pricing.measured_price``). Everything is looked up before it is made: a second run changes
nothing. Run after the network (``demo.network.load_demo``) and before the statements
(``demo.money``), so that statements bill the measured charges.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from bookings.models import Booking, BookingStatus
from demo.money import history_window
from devices import services
from devices.models import Badge, Device, DeviceEvent, DeviceSession
from devices.pricing import Use, measured_price
from labs.models import Lab, PriceBasis, Resource, ResourceRate

#: A fixed namespace: the demo's session and event ids are derived from the booking, the same on every run.
DEMO_NAMESPACE = uuid.UUID("6f1d3a52-93b4-4c57-a5a2-1f0c8e7d9b10")

#: The client version the demo's devices report in their heartbeats.
CLIENT_VERSION = "labshare-device 0.1.0 (demo)"


@dataclass(frozen=True)
class DemoInterlock:
    """One interlock of the demo: its machine, its name, and how it is doing."""

    resource: str
    name: str
    offline_hours: float = 0  # silent for this long (0: heart-beating)
    pending_events: int = 0  # what it still has to replay, as its last heartbeat said


INTERLOCKS = [
    DemoInterlock("eiu-fablab-laser-1", "Máy cắt laser 1, phòng 101 / Laser 1, room 101"),
    DemoInterlock("eiu-fablab-laser-2", "Máy cắt laser 2, phòng 101 / Laser 2, room 101"),
    DemoInterlock("eiu-fablab-fdm-2", "Máy in 3D Prusa 2 / Prusa printer 2"),
    DemoInterlock(
        "vsic-robotics-festo-pneumatics-1",
        "Bàn khí nén Festo 1 / Festo pneumatics bench 1",
        offline_hours=2.25,
        pending_events=3,
    ),
]

#: The machine billed on measured use, and its busy and idle rates as fractions of the audience's hourly rate.
MEASURED = "eiu-fablab-laser-2"
BUSY_SHARE, IDLE_SHARE = 1, 0.25

#: The kiosk at a lab's front desk (members check in and register their cards there).
KIOSK = ("eiu-fablab", "Quầy lễ tân EIU FabLab / EIU FabLab front desk")

#: Cards: (username, kind, number). Students use their student cards; the others were given RFID cards.
BADGES = [
    ("sinhvien.an", Badge.Kind.STUDENT_CARD, "EIU2231045"),
    ("sinhvien.binh", Badge.Kind.STUDENT_CARD, "TDMU2110233"),
    ("sinhvien.cuong", Badge.Kind.STUDENT_CARD, "BDU2050871"),
    ("researcher.dung", Badge.Kind.RFID, "04A1B2C3D4"),
    ("sme.binh", Badge.Kind.RFID, "04B2C3D4E5"),
    ("startup.chi", Badge.Kind.RFID, "04C3D4E5F6"),
]

#: Who registers devices (the labs' manager, or the admin for a lab without one) and cards (the desk).
REGISTRAR = {"eiu-fablab": "manager.fablab", "vsic": "manager.vsic", "cissc": "manager.cissc"}
DESK = "staff.fablab"


def _registrar(lab: Lab, users: dict[str, Any]):
    """The manager who registers a device of ``lab``: the nearest one up its tree, else the admin."""
    while lab is not None:
        if lab.slug in REGISTRAR and REGISTRAR[lab.slug] in users:
            return users[REGISTRAR[lab.slug]]
        lab = lab.parent
    return users["admin"]


def _measured_rates(resource: Resource) -> None:
    """Bill ``resource`` on measured use: busy time at the audience's rate, idle time at a quarter of it."""
    Resource.objects.filter(pk=resource.pk).update(price_basis=PriceBasis.MEASURED)
    resource.price_basis = PriceBasis.MEASURED
    for rate in ResourceRate.objects.filter(resource=resource, busy_hourly_rate_vnd__isnull=True):
        rate.busy_hourly_rate_vnd = int(rate.hourly_rate_vnd * BUSY_SHARE)
        rate.idle_hourly_rate_vnd = int(rate.hourly_rate_vnd * IDLE_SHARE)
        rate.save(update_fields=["busy_hourly_rate_vnd", "idle_hourly_rate_vnd"])


def _devices(users: dict[str, Any], now: datetime) -> dict[str, Device]:
    """The interlocks and the kiosk, registered once (by name) and heart-beating, but the offline one."""
    made: dict[str, Device] = {}
    resources = {r.slug: r for r in Resource.objects.filter(slug__in=[i.resource for i in INTERLOCKS])}
    for spec in INTERLOCKS:
        resource = resources.get(spec.resource)
        if resource is None:
            continue
        device = Device.objects.filter(resource=resource, name=spec.name).first()
        if device is None:
            # The token is shown once and not kept: a manager gives the device a new one to run a client.
            device, _token = services.device_register(
                name=spec.name, by=_registrar(resource.lab, users), resource=resource
            )
        made[spec.resource] = device
    lab = Lab.objects.filter(slug=KIOSK[0]).first()
    if lab is not None:
        kiosk = Device.objects.filter(lab=lab, kind=Device.Kind.KIOSK, name=KIOSK[1]).first()
        if kiosk is None:
            kiosk, _token = services.device_register(name=KIOSK[1], by=_registrar(lab, users), lab=lab)
        made["kiosk"] = kiosk
    for spec in INTERLOCKS:
        device = made.get(spec.resource)
        if device is None or spec.offline_hours:
            continue
        services.device_heartbeat(device=device, version=CLIENT_VERSION)
    if "kiosk" in made:
        services.device_heartbeat(device=made["kiosk"], version=CLIENT_VERSION)
    for spec in INTERLOCKS:
        device = made.get(spec.resource)
        if device is not None and spec.offline_hours:
            # Its last heartbeat was hours ago (the demo writes it as the periodic job would have found it).
            Device.objects.filter(pk=device.pk).update(
                online=False,
                last_seen_at=now - timedelta(hours=spec.offline_hours),
                pending_events=spec.pending_events,
                client_version=CLIENT_VERSION,
            )
    return made


def _badges(users: dict[str, Any]) -> int:
    """The demo people's cards, registered at the desk (again: nothing changes)."""
    desk = users.get(DESK) or users["admin"]
    count = 0
    for username, kind, number in BADGES:
        if username in users:
            services.badge_register(user=users[username], uid=number, by=desk, kind=kind, label="demo")
            count += 1
    return count


def _signals(start: datetime, end: datetime) -> list[tuple[str, datetime]]:
    """The interlock's signals over a use: idle while the job is set up (5 min), busy for most of it, idle at the end."""
    busy_from = start + timedelta(minutes=5)
    idle_from = start + (end - start) * 3 / 4
    return [(DeviceEvent.Kind.IDLE, start), (DeviceEvent.Kind.BUSY, busy_from), (DeviceEvent.Kind.IDLE, idle_from)]


def _event_id(booking: Booking, what: str) -> uuid.UUID:
    return uuid.uuid5(DEMO_NAMESPACE, f"{booking.pk}:{what}")


def _past_session(device: Device, booking: Booking) -> DeviceSession:
    """The session an interlock measured for a completed booking: from check-in to check-out, with its signals."""
    start, end = booking.checked_in_at, booking.checked_out_at
    signals = _signals(start, end)
    busy = (signals[2][1] - signals[1][1]).total_seconds()
    session = DeviceSession.objects.create(
        device=device,
        resource_id=booking.resource_id,
        user_id=booking.user_id,
        booking=booking,
        ref=_event_id(booking, "session"),
        started_at=start,
        ended_at=end,
        signal=signals[-1][0],
        signal_at=signals[-1][1],
        busy_seconds=round(busy),
        idle_seconds=max(0, round((end - start).total_seconds()) - round(busy)),
        end_reason="end",
    )
    events = [
        DeviceEvent(
            device=device,
            event_id=_event_id(booking, "access"),
            kind=DeviceEvent.Kind.ACCESS,
            at=start,
            received_at=start,
            session=session,
            session_ref=session.ref,
            user_id=booking.user_id,
            decision="allow",
            reason="checked_in",
        ),
        *(
            DeviceEvent(
                device=device,
                event_id=_event_id(booking, f"signal-{n}"),
                kind=kind,
                at=at,
                received_at=at,
                session=session,
                session_ref=session.ref,
                user_id=booking.user_id,
            )
            for n, (kind, at) in enumerate(signals)
        ),
        DeviceEvent(
            device=device,
            event_id=_event_id(booking, "end"),
            kind=DeviceEvent.Kind.END,
            at=end,
            received_at=end,
            session=session,
            session_ref=session.ref,
            user_id=booking.user_id,
        ),
    ]
    DeviceEvent.objects.bulk_create(events, ignore_conflicts=True)
    return session


def _charge_measured(booking: Booking, session: DeviceSession) -> None:
    """The booking's amount from its measured use, as the services write it when a session ends."""
    use = Use(
        used_seconds=session.used_seconds,
        busy_seconds=session.busy_seconds,
        idle_seconds=session.idle_seconds,
        session_ids=(session.pk,),
    )
    details = measured_price(booking=booking, use=use)
    if details is not None:
        Booking.objects.filter(pk=booking.pk).update(
            price_vnd=details["price_vnd"], price_details=details, updated_at=timezone.now()
        )


def _sessions(devices: dict[str, Device], now: datetime) -> int:
    """Sessions for the completed bookings of the interlocked machines in the past two weeks, and the one running now."""
    made = 0
    # The two weeks of the network, not the months of history before them (devices came later).
    since = history_window(now, Lab.objects.get(slug="vsic").tz)[1]
    for slug, device in devices.items():
        if device.kind != Device.Kind.INTERLOCK or device.sessions.exists():
            continue
        bookings = (
            Booking.objects.filter(
                resource_id=device.resource_id,
                status=BookingStatus.COMPLETED,
                start__gte=since,
                checked_in_at__isnull=False,
                checked_out_at__isnull=False,
            )
            .select_related("resource__lab", "user__member", "organization")
            .order_by("start")
        )
        for booking in bookings:
            session = _past_session(device, booking)
            if slug == MEASURED:
                _charge_measured(booking, session)
            made += 1
        running = Booking.objects.filter(resource_id=device.resource_id, status=BookingStatus.CHECKED_IN).first()
        if running is not None and running.checked_in_at is not None:
            DeviceSession.objects.create(
                device=device,
                resource_id=running.resource_id,
                user_id=running.user_id,
                booking=running,
                ref=_event_id(running, "session"),
                started_at=running.checked_in_at,
                signal=DeviceEvent.Kind.BUSY,
                signal_at=running.checked_in_at + timedelta(minutes=5),
            )
            made += 1
    return made


def load_devices_demo(*, now: datetime | None = None, log=lambda line: None) -> dict[str, int]:
    """The demo's devices, cards and past sessions; returns what it made. Safe to run again."""
    now = now or timezone.now()
    with transaction.atomic():
        users = {user.username: user for user in get_user_model().objects.select_related("member")}
        measured = Resource.objects.filter(slug=MEASURED).first()
        if measured is not None:
            _measured_rates(measured)
        devices = _devices(users, now)
        badges = _badges(users)
        log("Thiết bị, thẻ và phiên sử dụng / Devices, cards and sessions …")
        sessions = _sessions(devices, now)
    return {"devices": len(devices), "badges": badges, "sessions": sessions}
