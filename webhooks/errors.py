"""The webhooks app's error codes, declared in core.errors."""

from __future__ import annotations

from core.errors import CONFLICT, FORBIDDEN, INVALID, define_many

define_many(
    INVALID,
    {
        "webhook_url_invalid": (
            "Địa chỉ webhook không hợp lệ: cần https://tên-máy/đường-dẫn, không kèm tên đăng nhập hay mật khẩu.",
            "The webhook URL is not valid: use https://host/path, without a user name or password.",
        ),
        "webhook_target_unresolvable": (
            "Không tìm thấy địa chỉ của máy chủ nhận webhook (DNS).",
            "The webhook host name does not resolve (DNS).",
        ),
        "webhook_target_not_allowed": (
            "Không được gửi webhook tới địa chỉ nội bộ hoặc loopback.",
            "Webhooks may not be sent to private or loopback addresses.",
        ),
        "webhook_https_required": (
            "Webhook tới máy chủ công cộng phải dùng https://.",
            "Webhooks to public servers must use https://.",
        ),
        "webhook_event_types_invalid": (
            "Hãy chọn ít nhất một loại sự kiện hợp lệ.",
            "Choose at least one valid event type.",
        ),
        "webhook_scope_invalid": (
            "Một đăng ký webhook thuộc về một phòng lab hoặc một tổ chức, không phải cả hai.",
            "A webhook subscription belongs to a lab or an organisation, not both.",
        ),
    },
)
define_many(
    FORBIDDEN,
    {
        "webhook_not_permitted": (
            "Bạn không quản lý webhook ở phạm vi này.",
            "You do not manage webhooks for this scope.",
        ),
    },
)
define_many(
    CONFLICT,
    {
        "webhook_not_paused": ("Đăng ký webhook này không bị tạm dừng.", "This webhook subscription is not paused."),
        "webhook_already_paused": ("Đăng ký webhook này đã tạm dừng.", "This webhook subscription is already paused."),
    },
)
