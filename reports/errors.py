"""Error codes of the reports: a period or a scope a report cannot be made for."""

from __future__ import annotations

from core.errors import FORBIDDEN, INVALID, define_many

define_many(
    INVALID,
    {
        "report_period_invalid": (
            "Khoảng thời gian của báo cáo không hợp lệ (ngày kết thúc phải sau ngày bắt đầu).",
            "The report's period is not valid (the end must be after the start).",
        ),
        "report_period_too_long": (
            "Khoảng thời gian của báo cáo quá dài (tối đa 3 năm).",
            "The report's period is too long (at most 3 years).",
        ),
        "report_bucket_invalid": (
            "Chỉ có thể xem xu hướng theo tuần hoặc theo tháng.",
            "The trend is by week or by month only.",
        ),
        "export_format_invalid": (
            "Định dạng xuất chỉ có thể là csv hoặc xlsx.",
            "The export format must be csv or xlsx.",
        ),
    },
)
define_many(
    FORBIDDEN,
    {
        "report_not_permitted": (
            "Bạn không có quyền xem báo cáo này.",
            "You are not allowed to see this report.",
        ),
    },
)
