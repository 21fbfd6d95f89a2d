"""The devices app's codes: reasons a machine says no (shown on its status line) and refusals of the device API.

A device's answer names a stable reason code; where the booking engine refused, its own code
(``certification_required``, ``outside_opening_hours``, ``resource_unavailable``, …, declared in
bookings/errors.py) is passed on unchanged, except the few the table in devices/access.py renames.
"""

from __future__ import annotations

from core.errors import CONFLICT, FORBIDDEN, INVALID, NOT_FOUND, define_many

#: Reasons a device refuses a member (its answer carries them; the API answers 200 with decision "deny").
DENY_REASONS: dict[str, tuple[str, str]] = {
    "unknown_badge": (
        "Thẻ chưa được đăng ký. Hãy đăng ký thẻ tại quầy hoặc bằng mã QR trong hồ sơ của bạn.",
        "This card is not registered. Register it at the desk or with the QR code of your profile.",
    ),
    "account_inactive": (
        "Tài khoản của bạn đã bị khoá.",
        "Your account is disabled.",
    ),
    "no_booking": (
        "Bạn không có lịch đặt máy này lúc này.",
        "You have no booking for this machine now.",
    ),
    "resource_in_use": (
        "Máy đang được người khác sử dụng hoặc đã có lịch đặt.",
        "Someone else is using or has booked this machine now.",
    ),
    "awaiting_approval": (
        "Lịch đặt của bạn đang chờ quản lý duyệt.",
        "Your booking is still awaiting a manager's approval.",
    ),
    "banned": (
        "Bạn tạm thời không thể sử dụng máy vì đã vắng mặt nhiều lần.",
        "You cannot use machines for a while after repeated no-shows.",
    ),
    "not_listed": (
        "Mất kết nối máy chủ và bạn không có trong danh sách được phép.",
        "The server cannot be reached and you are not on this machine's allow-list.",
    ),
    "allow_list_expired": (
        "Mất kết nối máy chủ và danh sách được phép đã hết hạn.",
        "The server cannot be reached and the allow-list has expired.",
    ),
}

define_many(FORBIDDEN, {code: text for code, text in DENY_REASONS.items() if code != "resource_in_use"})
define_many(CONFLICT, {"resource_in_use": DENY_REASONS["resource_in_use"]})

#: Refusals of the device API and of the device and badge services.
define_many(
    FORBIDDEN,
    {
        "device_wrong_resource": (
            "Thiết bị này chỉ được hoạt động cho máy của chính nó.",
            "This device may act only for its own machine.",
        ),
    },
)
define_many(
    INVALID,
    {
        "device_wrong_kind": (
            "Loại thiết bị này không thực hiện được thao tác đó (ví dụ: đăng ký thẻ chỉ ở ki-ốt).",
            "This kind of device cannot do that (e.g. badges are registered at kiosks only).",
        ),
        "device_target_required": (
            "Bộ khoá máy cần một máy; ki-ốt cần một phòng lab.",
            "An interlock needs a machine; a kiosk needs a lab.",
        ),
        "badge_invalid": (
            "Số thẻ không hợp lệ.",
            "This card number is not valid.",
        ),
        "event_invalid": (
            "Sự kiện của thiết bị không hợp lệ.",
            "The device event is not valid.",
        ),
        "name_required": (
            "Vui lòng đặt tên.",
            "Please give it a name.",
        ),
    },
)
define_many(
    CONFLICT,
    {
        "badge_taken": (
            "Thẻ này đã được đăng ký cho người khác.",
            "This card is already registered to someone else.",
        ),
        "session_conflict": (
            "Phiên sử dụng không khớp với lịch đặt (đã được ghi lại để quản lý xem xét).",
            "The session does not match its booking (recorded for a manager to review).",
        ),
    },
)
define_many(
    NOT_FOUND,
    {
        "unknown_session": (
            "Thiết bị không có phiên sử dụng này.",
            "This device has no such session.",
        ),
    },
)
