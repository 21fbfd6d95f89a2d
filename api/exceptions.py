"""One place that turns every error into a stable JSON body and the right HTTP status.

Body: ``{"code", "message", "messages": {"vi", "en"}, "details": {...}}`` (plus ``errors`` per
field for validation). ``message`` is in the request's language (Accept-Language, through
LocaleMiddleware). The status and messages of every code come from the registry in core.errors
(each app declares its codes in its errors.py); an undeclared code is 400 (a refusal, never a crash).
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig, SuspiciousOperation, TooManyFieldsSent, TooManyFilesSent
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import DataError
from django.http import Http404
from django.utils import translation
from rest_framework import exceptions as drf
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import set_rollback

from core.errors import DomainError, messages_for, spec_for, status_for
from ops.metrics import count_refusal


def _language() -> str:
    return "en" if (translation.get_language() or "vi").startswith("en") else "vi"


def error_body(code: str, *, messages: dict[str, str] | None = None, details: dict | None = None, **extra: Any) -> dict:
    """The error body every API error uses."""
    messages = messages or messages_for(code)
    body = {"code": code, "message": messages[_language()], "messages": messages, "details": details or {}}
    body.update(extra)
    return body


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


def domain_error_response(exc: DomainError) -> Response:
    """The response for a DomainError; a lock timeout tells the client when to retry."""
    details = _jsonable(exc.details)
    http_status = status_for(exc.code)
    messages = {"vi": exc.message_in("vi"), "en": exc.message_in("en")}
    extra = {}
    if "conflict" in details:
        # The conflicting interval is also at the top level: it is what a client shows first.
        extra["conflict"] = details["conflict"]
    headers = {}
    if "retry_after" in details:
        headers["Retry-After"] = str(int(details.get("retry_after") or 1))
    return Response(
        error_body(exc.code, messages=messages, details=details, **extra), status=http_status, headers=headers
    )


def _as_items(detail: Any) -> list[dict]:
    if isinstance(detail, drf.ErrorDetail):
        return [{"code": detail.code, "message": str(detail)}]
    return [{"code": "invalid", "message": str(detail)}]


def _field_errors(detail: Any, path: str = "") -> Any:
    """DRF's ErrorDetails as {field: [{"code", "message"}]}, one level deep whatever the nesting.

    A nested field's errors are named by their path (``consents.screen_initials``, ``lines.2.amount``),
    so every value is a list as the schema's ``Error`` says: clients read one shape.
    """
    if isinstance(detail, dict):
        flat: dict[str, list] = {}
        for key, value in detail.items():
            name = f"{path}.{key}" if path else str(key)
            found = _field_errors(value, name)
            flat.update(found if isinstance(found, dict) else {name: found})
        return flat
    if isinstance(detail, list):
        if all(not isinstance(d, (dict, list)) for d in detail):
            return [item for d in detail for item in _as_items(d)]
        flat = {}
        for index, item in enumerate(detail):
            if not item:  # a list serializer's valid entries are empty
                continue
            name = f"{path}.{index}" if path else str(index)
            found = _field_errors(item, name)
            flat.update(found if isinstance(found, dict) else {name: found})
        return flat
    return _as_items(detail)


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
    domain_codes = sorted(c for c in codes if spec_for(c) is not None)
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


def _suspicious_response(exc: SuspiciousOperation) -> Response:
    """413 for a body over the limit, 400 for too many fields or any other malformed request."""
    if isinstance(exc, RequestDataTooBig):
        return Response(
            error_body("request_too_large", details={"limit_bytes": settings.DATA_UPLOAD_MAX_MEMORY_SIZE}),
            status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE,
        )
    if isinstance(exc, (TooManyFieldsSent, TooManyFilesSent)):
        return Response(error_body("too_many_fields"), status=status.HTTP_400_BAD_REQUEST)
    return Response(error_body("bad_request"), status=status.HTTP_400_BAD_REQUEST)


def _as_drf(exc: Exception) -> Exception:
    """Django's own refusals as the DRF exceptions they mean."""
    if isinstance(exc, Http404):
        return drf.NotFound()
    if isinstance(exc, DjangoPermissionDenied):
        return drf.PermissionDenied()
    if isinstance(exc, DjangoValidationError):
        return drf.ValidationError(getattr(exc, "message_dict", None) or {"non_field_errors": exc.messages})
    return exc


def api_exception_response(exc: drf.APIException) -> Response:
    """The body of a DRF exception: its stable code, and Retry-After or WWW-Authenticate when it has one."""
    code = next((c for klass, c in _DRF_CODES.items() if isinstance(exc, klass)), None)
    if code is None:
        code = str(exc.get_codes() if not isinstance(exc.detail, (dict, list)) else "error")
    headers, details = {}, {}
    if getattr(exc, "auth_header", None):
        headers["WWW-Authenticate"] = exc.auth_header
    if getattr(exc, "wait", None) is not None:
        headers["Retry-After"] = str(int(exc.wait))
        if isinstance(exc, drf.Throttled):
            details["retry_after"] = int(exc.wait)
    return Response(error_body(code, details=details), status=exc.status_code, headers=headers)


def handler(exc: Exception, context: dict) -> Response | None:
    """DRF's EXCEPTION_HANDLER: every known error becomes a coded JSON body; the rest stay 500s."""
    if isinstance(exc, DomainError):
        set_rollback()
        count_refusal(exc.code)
        return domain_error_response(exc)
    if isinstance(exc, SuspiciousOperation):
        # Django's refusals of the body itself (too big, too many fields, a broken multipart
        # boundary) would otherwise leave DRF and become Django's HTML 400 page.
        set_rollback()
        return _suspicious_response(exc)
    if isinstance(exc, DataError):
        # PostgreSQL refused a value (out of range, bad encoding): the input's fault, not ours.
        set_rollback()
        return Response(error_body("invalid_value"), status=status.HTTP_400_BAD_REQUEST)
    exc = _as_drf(exc)
    if isinstance(exc, drf.ValidationError):
        set_rollback()
        return validation_response(exc.detail)
    if isinstance(exc, drf.APIException):
        set_rollback()
        return api_exception_response(exc)
    return None
