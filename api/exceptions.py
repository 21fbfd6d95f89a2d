"""One place that turns every error into a stable JSON body and the right HTTP status.

Body: ``{"code", "message", "messages": {"vi", "en"}, "details": {...}}`` (plus ``errors`` per
field for validation). ``message`` is in the request's language (Accept-Language, through
LocaleMiddleware). Domain codes (bookings.errors.BookingError) map to 400/403/404/409 here and
nowhere else; unknown domain codes are 400 (a refusal, never a crash).
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import DataError
from django.http import Http404
from django.utils import translation
from rest_framework import exceptions as drf
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import set_rollback

from bookings.errors import MESSAGES, BookingError

#: Domain codes that are conflicts with the current state of the world (retry later or elsewhere).
CONFLICT_CODES = {
    "slot_taken",
    "capacity_full",
    "space_conflict",
    "slot_held",
    "invalid_transition",
    "lock_timeout",
    "idempotency_key_in_progress",
}
FORBIDDEN_CODES = {"not_permitted"}
NOT_FOUND_CODES = {"not_found"}
UNPROCESSABLE_CODES = {"idempotency_key_reused"}

#: Messages for the API's own codes (the domain's live in bookings.errors.MESSAGES).
API_MESSAGES: dict[str, tuple[str, str]] = {
    "validation_error": ("Dữ liệu gửi lên không hợp lệ.", "The request data is invalid."),
    "parse_error": (
        "Không đọc được nội dung yêu cầu (JSON không hợp lệ).",
        "The request body could not be parsed (malformed JSON).",
    ),
    "not_authenticated": ("Bạn cần đăng nhập.", "Authentication is required."),
    "authentication_failed": ("Thông tin đăng nhập không đúng.", "The credentials are not valid."),
    "permission_denied": ("Bạn không có quyền thực hiện thao tác này.", "You are not allowed to do this."),
    "not_permitted": ("Bạn không có quyền thực hiện thao tác này.", "You are not allowed to do this."),
    "not_found": ("Không tìm thấy.", "Not found."),
    "method_not_allowed": ("Phương thức không được hỗ trợ.", "This HTTP method is not allowed here."),
    "not_acceptable": ("Không thể trả về định dạng được yêu cầu.", "The requested format cannot be produced."),
    "unsupported_media_type": ("Định dạng nội dung không được hỗ trợ.", "The content type is not supported."),
    "throttled": ("Quá nhiều yêu cầu, vui lòng thử lại sau.", "Too many requests; please retry later."),
    "invalid_value": ("Giá trị không hợp lệ.", "A value is out of range or invalid."),
    "naive_datetime": MESSAGES.get(
        "naive_datetime", ("Thời gian phải kèm múi giờ.", "Times must carry a time zone offset.")
    ),
    "idempotency_key_reused": (
        "Khoá Idempotency-Key này đã được dùng cho một yêu cầu khác.",
        "This Idempotency-Key was already used for a different request.",
    ),
    "idempotency_key_in_progress": (
        "Một yêu cầu với cùng Idempotency-Key đang được xử lý.",
        "A request with the same Idempotency-Key is still being processed.",
    ),
    "invalid_credentials": ("Tên đăng nhập hoặc mật khẩu không đúng.", "Wrong username or password."),
}


def messages_for(code: str) -> dict[str, str]:
    """The message of ``code`` in both languages (domain messages first, then the API's)."""
    vi, en = MESSAGES.get(code) or API_MESSAGES.get(code) or (code, code)
    return {"vi": vi, "en": en}


def _language() -> str:
    return "en" if (translation.get_language() or "vi").startswith("en") else "vi"


def error_body(code: str, *, messages: dict[str, str] | None = None, details: dict | None = None, **extra: Any) -> dict:
    """The error body every API error uses."""
    messages = messages or messages_for(code)
    body = {"code": code, "message": messages[_language()], "messages": messages, "details": details or {}}
    body.update(extra)
    return body


def status_for_domain_code(code: str) -> int:
    """The HTTP status of a domain error code (unknown codes are refusals: 400)."""
    if code in CONFLICT_CODES:
        return status.HTTP_409_CONFLICT
    if code in FORBIDDEN_CODES:
        return status.HTTP_403_FORBIDDEN
    if code in NOT_FOUND_CODES:
        return status.HTTP_404_NOT_FOUND
    if code in UNPROCESSABLE_CODES:
        return status.HTTP_422_UNPROCESSABLE_ENTITY
    return status.HTTP_400_BAD_REQUEST


def _jsonable(value: Any) -> Any:
    """Details may carry datetimes or model instances; the body must stay plain JSON."""
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set)):
        return [_jsonable(v) for v in value]
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if hasattr(value, "total_seconds"):
        return int(value.total_seconds())
    return str(value)


def domain_error_response(exc: BookingError) -> Response:
    """The response for a BookingError; a lock timeout tells the client when to retry."""
    details = _jsonable(exc.details)
    http_status = status_for_domain_code(exc.code)
    if exc.code in MESSAGES or getattr(exc, "_message", None):
        messages = {"vi": exc.message_in("vi"), "en": exc.message_in("en")}
    else:
        messages = messages_for(exc.code)
    extra = {}
    if "conflict" in details:
        # The conflicting interval is also at the top level: it is what a client shows first.
        extra["conflict"] = details["conflict"]
    headers = {}
    if exc.code == "lock_timeout":
        headers["Retry-After"] = str(int(details.get("retry_after") or 1))
    return Response(
        error_body(exc.code, messages=messages, details=details, **extra), status=http_status, headers=headers
    )


def _field_errors(detail: Any) -> Any:
    """DRF's nested ErrorDetail lists as {field: [{"code", "message"}]}."""
    if isinstance(detail, dict):
        return {str(k): _field_errors(v) for k, v in detail.items()}
    if isinstance(detail, list):
        if all(isinstance(d, drf.ErrorDetail) for d in detail):
            return [{"code": d.code, "message": str(d)} for d in detail]
        return [_field_errors(d) for d in detail]
    if isinstance(detail, drf.ErrorDetail):
        return [{"code": detail.code, "message": str(detail)}]
    return [{"code": "invalid", "message": str(detail)}]


def _codes_in(errors: Any) -> set[str]:
    if isinstance(errors, dict):
        if "code" in errors and "message" in errors and isinstance(errors["code"], str):
            return {errors["code"]}
        return set().union(*(_codes_in(v) for v in errors.values())) if errors else set()
    if isinstance(errors, list):
        return set().union(*(_codes_in(v) for v in errors)) if errors else set()
    return set()


def validation_response(detail: Any) -> Response:
    """400 naming each field; a naive datetime anywhere makes the code ``naive_datetime``."""
    errors = _field_errors(detail)
    if not isinstance(errors, dict):
        errors = {"non_field_errors": errors}
    codes = _codes_in(errors)
    # A domain-coded field error (e.g. naive_datetime, invalid_interval) becomes the top-level code,
    # so clients can act on one code; the per-field list still names the field.
    domain_codes = sorted(c for c in codes if c in MESSAGES or c in {"naive_datetime"})
    code = domain_codes[0] if len(domain_codes) == 1 and len(codes) == 1 else "validation_error"
    return Response(
        error_body(code, details={"fields": sorted(errors)}, errors=errors), status=status.HTTP_400_BAD_REQUEST
    )


_DRF_CODES = {
    drf.ParseError: "parse_error",
    drf.AuthenticationFailed: "authentication_failed",
    drf.NotAuthenticated: "not_authenticated",
    drf.PermissionDenied: "permission_denied",
    drf.NotFound: "not_found",
    drf.MethodNotAllowed: "method_not_allowed",
    drf.NotAcceptable: "not_acceptable",
    drf.UnsupportedMediaType: "unsupported_media_type",
    drf.Throttled: "throttled",
}


def handler(exc: Exception, context: dict) -> Response | None:
    """DRF's EXCEPTION_HANDLER: every known error becomes a coded JSON body; the rest stay 500s."""
    if isinstance(exc, BookingError):
        set_rollback()
        return domain_error_response(exc)
    if isinstance(exc, Http404):
        exc = drf.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = drf.PermissionDenied()
    elif isinstance(exc, DjangoValidationError):
        exc = drf.ValidationError(getattr(exc, "message_dict", None) or {"non_field_errors": exc.messages})
    elif isinstance(exc, DataError):
        # PostgreSQL refused a value (out of range, bad encoding): the input's fault, not ours.
        set_rollback()
        return Response(error_body("invalid_value"), status=status.HTTP_400_BAD_REQUEST)

    if isinstance(exc, drf.ValidationError):
        set_rollback()
        return validation_response(exc.detail)
    if isinstance(exc, drf.APIException):
        set_rollback()
        code = next((c for klass, c in _DRF_CODES.items() if isinstance(exc, klass)), None)
        headers = {}
        if getattr(exc, "auth_header", None):
            headers["WWW-Authenticate"] = exc.auth_header
        if getattr(exc, "wait", None) is not None:
            headers["Retry-After"] = str(int(exc.wait))
        details = {}
        if isinstance(exc, drf.Throttled) and exc.wait is not None:
            details["retry_after"] = int(exc.wait)
        if code is None:
            detail_code = exc.get_codes() if not isinstance(exc.detail, (dict, list)) else "error"
            code = str(detail_code)
        return Response(error_body(code, details=details), status=exc.status_code, headers=headers)
    return None
