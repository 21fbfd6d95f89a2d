"""The API's own error codes (protocol errors, authentication, idempotency), declared in core.errors."""

from __future__ import annotations

from core.errors import (
    CONFLICT,
    FORBIDDEN,
    INVALID,
    NOT_FOUND,
    TOO_LARGE,
    TOO_MANY,
    UNAUTHENTICATED,
    UNPROCESSABLE,
    define,
    define_many,
)

define_many(
    INVALID,
    {
        "validation_error": ("Dữ liệu gửi lên không hợp lệ.", "The request data is invalid."),
        "parse_error": (
            "Không đọc được nội dung yêu cầu (JSON không hợp lệ).",
            "The request body could not be parsed (malformed JSON).",
        ),
        "invalid_value": ("Giá trị không hợp lệ.", "A value is out of range or invalid."),
        "invalid_credentials": ("Tên đăng nhập hoặc mật khẩu không đúng.", "Wrong username or password."),
        "json_too_deep": (
            "Nội dung JSON lồng nhau quá sâu.",
            "The JSON body is nested too deeply.",
        ),
        "bad_request": ("Yêu cầu không hợp lệ.", "The request is malformed."),
        "too_many_fields": (
            "Yêu cầu có quá nhiều trường hoặc tệp.",
            "The request has too many fields or files.",
        ),
    },
)
define_many(
    UNAUTHENTICATED,
    {
        "not_authenticated": ("Bạn cần đăng nhập.", "Authentication is required."),
        "authentication_failed": ("Thông tin đăng nhập không đúng.", "The credentials are not valid."),
    },
)
define("permission_denied", FORBIDDEN, "Bạn không có quyền thực hiện thao tác này.", "You are not allowed to do this.")
define("not_found", NOT_FOUND, "Không tìm thấy.", "Not found.")
define("method_not_allowed", 405, "Phương thức không được hỗ trợ.", "This HTTP method is not allowed here.")
define("not_acceptable", 406, "Không thể trả về định dạng được yêu cầu.", "The requested format cannot be produced.")
define("unsupported_media_type", 415, "Định dạng nội dung không được hỗ trợ.", "The content type is not supported.")
define(
    "login_locked",
    TOO_MANY,
    "Quá nhiều lần đăng nhập sai cho tài khoản này hoặc từ địa chỉ này. Hãy thử lại sau, "
    "hoặc nhờ quản trị viên mở khoá.",
    "Too many failed sign-ins for this account or from this address. Try again later, or ask an "
    "administrator to unlock it.",
)
define("throttled", TOO_MANY, "Quá nhiều yêu cầu, vui lòng thử lại sau.", "Too many requests; please retry later.")
define(
    "idempotency_key_reused",
    UNPROCESSABLE,
    "Khoá Idempotency-Key này đã được dùng cho một yêu cầu khác.",
    "This Idempotency-Key was already used for a different request.",
)
define(
    "idempotency_key_in_progress",
    CONFLICT,
    "Một yêu cầu với cùng Idempotency-Key đang được xử lý.",
    "A request with the same Idempotency-Key is still being processed.",
)
define(
    "request_too_large",
    TOO_LARGE,
    "Nội dung yêu cầu quá lớn.",
    "The request body is too large.",
)
