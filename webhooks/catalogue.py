"""The event types a subscription may choose, what each means, and the version of the payload.

An event reaches webhooks through ``core.hooks``: a service calls ``hooks.announce(type, payload)``
inside its transaction, and :mod:`webhooks.handlers` queues it. Only the types listed here are
delivered; an app that wants a new type adds one line below (and documents its payload fields in
the README's webhook section). Types announced but not listed are ignored, so a chatty internal
announcement (a device heartbeat every minute) never floods a subscriber.
"""

from __future__ import annotations

from dataclasses import dataclass

#: The payload schema version, sent as ``"v"`` in every body; bumped on an incompatible change.
PAYLOAD_VERSION = 1

#: The prefixes webhooks listens to on core.hooks (one subscription per prefix).
PREFIXES = ("booking.", "waitlist.", "resource.", "device.", "statement.", "webhook.")


@dataclass(frozen=True)
class EventType:
    """One event type: its name, its group and what it means in both languages."""

    name: str
    vi: str
    en: str

    @property
    def group(self) -> str:
        return self.name.split(".", 1)[0]


_TYPES = (
    # Bookings: every status change (bookings.services announces them).
    EventType("booking.requested", "Có yêu cầu đặt chờ duyệt", "A booking request awaits approval"),
    EventType("booking.confirmed", "Lượt đặt được xác nhận", "A booking was confirmed"),
    EventType("booking.rejected", "Yêu cầu đặt bị từ chối", "A booking request was rejected"),
    EventType("booking.cancelled", "Lượt đặt bị huỷ", "A booking was cancelled"),
    EventType("booking.checked_in", "Người đặt đã nhận máy", "The booker checked in"),
    EventType("booking.checked_out", "Người đặt đã trả máy", "The booker checked out"),
    EventType("booking.no_show", "Người đặt không đến", "The booker did not show up"),
    EventType("booking.expired", "Yêu cầu đặt hết hạn", "A booking request expired unanswered"),
    EventType("booking.completed", "Lượt đặt đã kết thúc", "A booking was completed"),
    EventType("booking.rescheduled", "Lượt đặt được dời giờ", "A booking was moved"),
    # The waitlist (bookings.waitlist).
    EventType("waitlist.offered", "Giữ chỗ cho người trong danh sách chờ", "A freed slot is held for a waitlist entry"),
    # Resources (labs.services).
    EventType("resource.status_changed", "Trạng thái thiết bị thay đổi", "A resource's status changed"),
    EventType("resource.maintenance_started", "Lên lịch bảo trì", "A maintenance window was scheduled"),
    EventType("resource.maintenance_ended", "Bỏ lịch bảo trì", "A maintenance window was removed"),
    # Devices at the machines (the devices app announces these).
    EventType("device.state_changed", "Thiết bị tại máy đổi trạng thái", "A machine's device changed state"),
    EventType("device.session_started", "Bắt đầu phiên dùng máy", "A usage session started at a machine"),
    EventType("device.session_ended", "Kết thúc phiên dùng máy", "A usage session ended at a machine"),
    EventType("device.access_denied", "Thiết bị từ chối truy cập", "A device refused access"),
    # Monthly statements (the billing app announces these).
    EventType("statement.issued", "Bảng kê được phát hành", "A statement was issued"),
    EventType("statement.paid", "Bảng kê đã thanh toán", "A statement was paid"),
    EventType("statement.overdue", "Bảng kê quá hạn", "A statement is overdue"),
    # Sent on request by a subscription's owner, to check the receiver.
    EventType("webhook.ping", "Kiểm tra kết nối webhook", "A test message asked for by the subscription's owner"),
)

EVENT_TYPES: dict[str, EventType] = {t.name: t for t in _TYPES}
GROUPS: tuple[str, ...] = tuple(dict.fromkeys(t.group for t in _TYPES))


def is_known(name: str) -> bool:
    """Whether ``name`` is a deliverable event type."""
    return name in EVENT_TYPES


def valid_choice(choice: str) -> bool:
    """A subscription may choose an exact type, a whole group (``booking.*``) or everything (``*``)."""
    if choice == "*":
        return True
    if choice.endswith(".*"):
        return choice[:-2] in GROUPS
    return choice in EVENT_TYPES


def matches(choices: list[str], name: str) -> bool:
    """Whether a subscription that chose ``choices`` wants events of type ``name``."""
    group = name.split(".", 1)[0]
    return any(choice == "*" or choice == name or choice == f"{group}.*" for choice in choices)
