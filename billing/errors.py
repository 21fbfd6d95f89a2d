"""Error codes of billing: statements, payments, bank notifications and VAT rates."""

from __future__ import annotations

from core.errors import CONFLICT, FORBIDDEN, INVALID, UNAUTHENTICATED, define_many

define_many(
    INVALID,
    {
        "statement_empty": (
            "Bảng kê không có dòng nào để phát hành.",
            "The statement has no line to issue.",
        ),
        "statement_month_open": (
            "Chỉ có thể chốt bảng kê khi tháng đã kết thúc.",
            "A statement can be closed only once its month is over.",
        ),
        "no_billing_profile": (
            "Phòng lab này (và trung tâm phía trên) chưa có thông tin xuất bảng kê (tài khoản ngân hàng).",
            "This lab (and the centers above it) has no billing profile (bank account) to issue statements.",
        ),
        "vat_rate_missing": (
            "Không có thuế suất GTGT áp dụng cho ngày cung cấp dịch vụ.",
            "No VAT rate is in force on the service date.",
        ),
        "vat_rate_overlap": (
            "Khoảng thời gian của thuế suất trùng với một thuế suất khác cùng loại.",
            "The rate's dates overlap another rate of the same kind.",
        ),
        "amount_mismatch": (
            "Số tiền chuyển khoản không khớp với tổng của bảng kê.",
            "The amount transferred does not match the statement's total.",
        ),
        "vietqr_invalid": (
            "Mã VietQR không hợp lệ.",
            "The VietQR payload is not valid.",
        ),
        "bank_notification_invalid": (
            "Thông báo chuyển khoản thiếu thông tin hoặc sai định dạng.",
            "The transfer notification is incomplete or malformed.",
        ),
    },
)
define_many(
    CONFLICT,
    {
        "late_charge_decided": (
            "Thay đổi này đã được quyết định, hoặc đã có một thay đổi mới hơn.",
            "This change has been decided already, or a newer change replaced it.",
        ),
        "statement_closed": (
            "Bảng kê đã phát hành, không thể thay đổi; điều chỉnh sẽ nằm trong bảng kê kỳ sau.",
            "The statement is issued and cannot change; corrections go on a later statement.",
        ),
        "statement_not_payable": (
            "Bảng kê này không ở trạng thái chờ thanh toán.",
            "This statement is not awaiting payment.",
        ),
        "einvoice_not_configured": (
            "Chưa cấu hình nhà cung cấp hóa đơn điện tử; hãy xuất dữ liệu và nhập vào công cụ hóa đơn.",
            "No e-invoice provider is configured; export the data and import it into the e-invoice tool.",
        ),
        "einvoice_not_issued": (
            "Chỉ bảng kê đã phát hành mới xuất được hóa đơn điện tử.",
            "Only an issued statement can be turned into an e-invoice.",
        ),
        "notification_already_resolved": (
            "Thông báo chuyển khoản này đã được xử lý.",
            "This transfer notification has already been dealt with.",
        ),
    },
)
define_many(
    UNAUTHENTICATED,
    {
        "bad_signature": (
            "Chữ ký của thông báo không hợp lệ hoặc đã quá hạn.",
            "The notification's signature is not valid or has expired.",
        ),
    },
)
define_many(
    FORBIDDEN,
    {
        "statement_not_permitted": (
            "Bạn không có quyền thực hiện thao tác này với bảng kê.",
            "You are not allowed to do this to the statement.",
        ),
    },
)
