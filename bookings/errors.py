"""The booking engine's error codes, declared once in the registry of core.errors.

Each code has its HTTP status and its message in Vietnamese and English; services raise
``DomainError(code, **details)`` and the API reads the rest from the registry.
"""

from __future__ import annotations

from core.errors import CONFLICT, FORBIDDEN, INVALID, define_many

#: Every code the engine raises, with its message in both languages.
MESSAGES: dict[str, tuple[str, str]] = {
    "slot_taken": (
        "Khung giờ này đã có người đặt.",
        "This time slot is already booked.",
    ),
    "invalid_interval": (
        "Thời gian kết thúc phải sau thời gian bắt đầu.",
        "The end must be after the start.",
    ),
    "naive_datetime": (
        "Thời gian phải kèm múi giờ (ISO 8601 có độ lệch, ví dụ +07:00).",
        "Times must carry a time zone (ISO 8601 with an offset, e.g. +07:00).",
    ),
    # --- Booking rules (bookings/rules.py) ---
    "outside_opening_hours": (
        "Phòng lab không mở cửa trong khung giờ này.",
        "The lab is not open at this time.",
    ),
    "closed": (
        "Phòng lab đóng cửa (nghỉ lễ hoặc tạm đóng) trong khung giờ này.",
        "The lab is closed at this time (public holiday or closure).",
    ),
    "resource_unavailable": (
        "Thiết bị đang bảo trì, hỏng hoặc ngừng sử dụng trong khung giờ này.",
        "The resource is under maintenance, out of order or retired at this time.",
    ),
    "duration_too_short": (
        "Thời lượng đặt ngắn hơn mức tối thiểu cho phép.",
        "The booking is shorter than the minimum duration.",
    ),
    "duration_too_long": (
        "Thời lượng đặt dài hơn mức tối đa cho phép.",
        "The booking is longer than the maximum duration.",
    ),
    "slot_granularity": (
        "Giờ bắt đầu và kết thúc phải khớp với các khung giờ của thiết bị.",
        "The start and end must fall on the resource's time grid.",
    ),
    "lead_time": (
        "Phải đặt trước lâu hơn so với giờ bắt đầu.",
        "This resource must be booked further in advance.",
    ),
    "horizon": (
        "Chưa thể đặt xa đến như vậy trong tương lai.",
        "This is too far ahead to book yet.",
    ),
    "in_the_past": (
        "Không thể đặt cho thời gian đã qua.",
        "A booking cannot start in the past.",
    ),
    "certification_required": (
        "Bạn cần có chứng chỉ còn hiệu lực để sử dụng thiết bị này.",
        "You need a valid certification to use this resource.",
    ),
    "quota_hours_exceeded": (
        "Bạn đã vượt quá số giờ được đặt mỗi tuần.",
        "This would exceed your weekly hours quota.",
    ),
    "quota_active_bookings_exceeded": (
        "Bạn đã có quá nhiều lượt đặt sắp tới.",
        "You already have the maximum number of upcoming bookings.",
    ),
    "banned_no_show": (
        "Bạn tạm thời không thể đặt vì đã vắng mặt nhiều lần.",
        "You cannot book for a while after repeated no-shows.",
    ),
    "seats_per_person": (
        "Bạn đã giữ đủ số chỗ được phép trong khung giờ này.",
        "You already hold as many places as one person may at this time.",
    ),
    "organization_not_yours": (
        "Bạn chỉ có thể tính phí cho tổ chức của chính mình.",
        "You can only bill your own organisation.",
    ),
    "capacity_full": (
        "Khung giờ này đã hết chỗ.",
        "Every place is taken at this time.",
    ),
    "space_conflict": (
        "Phòng chứa thiết bị (hoặc một thiết bị trong phòng) đã được đặt trong khung giờ này.",
        "The room this resource is in (or a machine inside it) is booked at this time.",
    ),
    "waitlist_no_offer": (
        "Không có khung giờ nào đang được giữ cho bạn (hoặc thời gian giữ chỗ đã hết).",
        "No slot is being held for you (or the hold has lapsed).",
    ),
    "waitlist_window_passed": (
        "Khoảng thời gian chờ đã qua.",
        "The waiting window is already over.",
    ),
    "waitlist_window_too_short": (
        "Khoảng thời gian chờ ngắn hơn thời lượng muốn đặt.",
        "The waiting window is shorter than the wanted duration.",
    ),
    "slot_held": (
        "Khung giờ này đang được giữ cho người trong danh sách chờ.",
        "This slot is being held for someone on the waitlist.",
    ),
    # --- Status changes (bookings/services.py) ---
    "invalid_transition": (
        "Không thể thực hiện thao tác này với lượt đặt ở trạng thái hiện tại.",
        "This cannot be done to a booking in its current state.",
    ),
    "not_permitted": (
        "Bạn không có quyền thực hiện thao tác này.",
        "You are not allowed to do this.",
    ),
    "cancel_cutoff_passed": (
        "Đã quá hạn hủy lượt đặt; vui lòng liên hệ quản lý phòng lab.",
        "It is too late to cancel; please contact the lab manager.",
    ),
    "check_in_window": (
        "Chỉ có thể nhận thiết bị trong khoảng thời gian quanh giờ bắt đầu.",
        "Check-in is only possible around the booking's start.",
    ),
    "reason_required": (
        "Vui lòng nêu lý do.",
        "Please give a reason.",
    ),
    "request_expired": (
        "Yêu cầu đặt này đã hết hạn.",
        "This booking request has expired.",
    ),
    "not_yet_due": (
        "Chưa đến thời điểm thực hiện thao tác này.",
        "It is too early for this.",
    ),
    # --- Recurring series ---
    "series_too_long": (
        "Chuỗi lặp lại có quá nhiều lần đặt.",
        "The recurring series has too many occurrences.",
    ),
    "series_invalid_rrule": (
        "Quy tắc lặp lại không hợp lệ.",
        "The recurrence rule is not valid.",
    ),
    "series_empty": (
        "Quy tắc lặp lại không tạo ra lần đặt nào.",
        "The recurrence rule produces no occurrence.",
    ),
    "series_refused": (
        "Không đặt được chuỗi vì có lần đặt bị từ chối; không lần nào được giữ.",
        "The series was refused because some occurrences were; none was kept.",
    ),
    "occurrence_not_found": (
        "Không tìm thấy lần đặt này trong chuỗi.",
        "No such occurrence in this series.",
    ),
    "invalid_mode": (
        "Chế độ đặt chuỗi không hợp lệ.",
        "Unknown series mode.",
    ),
}

#: Codes that say the state of the world is in the way (retry later or elsewhere): 409.
CONFLICT_CODES = frozenset({"slot_taken", "capacity_full", "space_conflict", "slot_held", "invalid_transition"})
#: Codes that say the caller may not do this: 403.
FORBIDDEN_CODES = frozenset({"not_permitted"})

define_many(CONFLICT, {code: text for code, text in MESSAGES.items() if code in CONFLICT_CODES})
define_many(FORBIDDEN, {code: text for code, text in MESSAGES.items() if code in FORBIDDEN_CODES})
define_many(INVALID, {code: text for code, text in MESSAGES.items() if code not in CONFLICT_CODES | FORBIDDEN_CODES})
