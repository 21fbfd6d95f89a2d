"""OpenAPI helpers: the error body, and per-endpoint error responses with one example per code."""

from __future__ import annotations

from collections import defaultdict

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse
from rest_framework import serializers

from core.errors import messages_for, status_for


class ErrorMessagesSerializer(serializers.Serializer):
    """The message in both languages."""

    vi = serializers.CharField()
    en = serializers.CharField()


class FieldErrorSerializer(serializers.Serializer):
    """One problem with one field."""

    code = serializers.CharField()
    message = serializers.CharField()


class ErrorSerializer(serializers.Serializer):
    """Every error: a stable ``code``, the message in the request's language and in both, and details."""

    code = serializers.CharField(help_text="Stable machine-readable code, e.g. slot_taken")
    message = serializers.CharField(help_text="In the language of Accept-Language (vi by default)")
    messages = ErrorMessagesSerializer()
    details = serializers.DictField(help_text="Structured details, e.g. the conflicting interval")
    errors = serializers.DictField(
        child=serializers.ListField(child=FieldErrorSerializer()),
        required=False,
        help_text="Per-field errors (validation only)",
    )
    conflict = serializers.DictField(required=False, help_text="The interval that holds the slot (slot_taken)")


_EXAMPLE_DETAILS = {
    "slot_taken": {
        "conflict": {
            "start": "2030-03-04T09:00:00+07:00",
            "end": "2030-03-04T10:00:00+07:00",
            "blocked_until": "2030-03-04T10:15:00+07:00",
        }
    },
    "lock_timeout": {"retry_after": 1},
    "validation_error": {"fields": ["start"]},
    "naive_datetime": {"fields": ["start"]},
    "throttled": {"retry_after": 30},
}

#: Codes every endpoint may answer, by kind of endpoint.
AUTH_CODES = ("not_authenticated", "authentication_failed")


def _example(code: str) -> dict:
    messages = messages_for(code)
    body = {"code": code, "message": messages["vi"], "messages": messages, "details": _EXAMPLE_DETAILS.get(code, {})}
    if code == "slot_taken":
        body["conflict"] = _EXAMPLE_DETAILS["slot_taken"]["conflict"]
    if code in ("validation_error", "naive_datetime"):
        body["errors"] = {
            "start": [{"code": "naive_datetime" if code == "naive_datetime" else "required", "message": "…"}]
        }
    return body


def errors(*codes: str) -> dict:
    """OpenAPI responses for the given error codes, grouped by HTTP status, one example per code."""
    by_status: dict[int, list[str]] = defaultdict(list)
    for code in dict.fromkeys((*codes, "throttled")):
        by_status[status_for(code)].append(code)
    responses = {}
    for http_status, status_codes in sorted(by_status.items()):
        responses[http_status] = OpenApiResponse(
            response=ErrorSerializer,
            description="Error codes: " + ", ".join(status_codes),
            examples=[
                OpenApiExample(name=code, value=_example(code), response_only=True, status_codes=[str(http_status)])
                for code in status_codes
            ],
        )
    return responses


def ok(serializer, *, description: str = "", example: dict | None = None, status_code: int = 200) -> dict:
    """An OpenAPI success response with an example."""
    examples = (
        [OpenApiExample(name="example", value=example, response_only=True, status_codes=[str(status_code)])]
        if example
        else []
    )
    return {status_code: OpenApiResponse(response=serializer, description=description, examples=examples)}


IDEMPOTENCY_KEY = OpenApiParameter(
    name="Idempotency-Key",
    location=OpenApiParameter.HEADER,
    required=False,
    type=str,
    description="A unique key per intended booking (e.g. a UUID). A retried POST with the same key and body "
    "returns the first answer instead of booking twice; the same key with a different body is refused "
    "with idempotency_key_reused (422).",
)

LANGUAGE = OpenApiParameter(
    name="Accept-Language",
    location=OpenApiParameter.HEADER,
    required=False,
    type=str,
    enum=["vi", "en"],
    description="Language of error messages (vi by default).",
)

BOOKING_EXAMPLE = {
    "id": 42,
    "resource": 7,
    "resource_name": "Máy cắt laser Epilog Fusion",
    "lab": 3,
    "timezone": "Asia/Ho_Chi_Minh",
    "user": {"id": 12, "username": "an.nguyen", "name": "An Nguyễn"},
    "organization": None,
    "start": "2030-03-04T09:00:00+07:00",
    "end": "2030-03-04T11:00:00+07:00",
    "blocked_until": "2030-03-04T11:15:00+07:00",
    "status": "confirmed",
    "purpose": "Đồ án tốt nghiệp",
    "price_vnd": 0,
    "price_details": {},
    "expires_at": None,
    "reason": "",
    "decided_at": None,
    "cancelled_at": None,
    "checked_in_at": None,
    "checked_out_at": None,
    "series": None,
    "created_at": "2030-03-01T10:12:00+07:00",
}


class TokenSchemeExtension(OpenApiAuthenticationExtension):
    """Document DRF token authentication as ``Authorization: Token <key>``."""

    target_class = "api.authentication.TokenAuthentication"
    name = "tokenAuth"
    priority = 1

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": 'Token authentication: "Authorization: Token <key>" (get a key from POST /api/auth/login/).',
        }


#: What the hook adds where a refusal is possible but the view's own declaration does not say so:
#: the status, what it means, and the codes it carries.
_REFUSALS = {
    "400": (
        "A parameter or the body cannot be read or is out of range",
        ("validation_error", "parse_error", "json_too_deep"),
    ),
    "404": ("No such object visible to you, or a page past the last one", ("not_found",)),
    "413": ("The body is over the size limit", ("request_too_large",)),
    "415": ("The body is not JSON", ("unsupported_media_type",)),
}


#: The media type of each ``export=`` format.
FILE_TYPES = {
    "csv": "text/csv",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "pdf": "application/pdf",
}


def _document_files(operation: dict) -> None:
    """An operation with ``export=`` answers each format in its own media type (not JSON holding a file)."""
    export = next((p for p in operation.get("parameters", []) if p.get("name") == "export"), None)
    ok = operation.get("responses", {}).get("200")
    if export is None or ok is None:
        return
    content = ok.setdefault("content", {})
    json_schema = content.get("application/json", {}).get("schema", {})
    if json_schema.get("format") == "binary":
        content.pop("application/json")  # a file-only operation: there is no JSON answer
    for fmt in export.get("schema", {}).get("enum", []):
        if fmt in FILE_TYPES:
            content.setdefault(FILE_TYPES[fmt], {"schema": {"type": "string", "format": "binary"}})


def _refusals_of(operation: dict) -> set[str]:
    """The statuses DRF may answer for ``operation`` outside its view's declaration."""
    parameters = operation.get("parameters", [])
    places = {parameter.get("in") for parameter in parameters}
    wanted = set()
    if "query" in places or "requestBody" in operation:
        wanted.add("400")
    if "path" in places or any(p.get("name") == "page" for p in parameters):
        wanted.add("404")
    if "requestBody" in operation:
        wanted |= {"413", "415"}
    return wanted


def _refusal_response(status_code: str) -> dict:
    """The error body of ``status_code``, with one example per code it carries."""
    meaning, codes = _REFUSALS[status_code]
    return {
        "description": f"{meaning}. Error codes: {', '.join(codes)}",
        "content": {
            "application/json": {
                "schema": {"$ref": "#/components/schemas/Error"},
                "examples": {code: {"summary": code, "value": _example(code)} for code in codes},
            }
        },
    }


def document_refusals(result: dict, generator, request, public) -> dict:
    """drf-spectacular post-processing hook: every refusal an operation can give is in its responses.

    DRF answers some refusals outside the views' own declarations: a filter or page number it
    cannot read (400), a page past the last one or an id in the path that is not visible (404), a
    body that is not JSON (415) or too large (413). Each operation that takes query parameters,
    path parameters or a body gets the matching statuses with the error body, so a client (and
    schemathesis' status-code check) finds every status in the schema. Exports (``export=csv``, …)
    are documented in their own media types.
    """
    for operations in result.get("paths", {}).values():
        for method, operation in operations.items():
            if method not in {"get", "post", "put", "patch", "delete"}:
                continue
            _document_files(operation)
            for parameter in operation.get("parameters", []):
                if parameter.get("in") == "query" and not parameter.get("required"):
                    # An empty optional parameter (``?status=``) means "not given", as django-filter
                    # reads it and as api.query.given() makes the other views read it.
                    parameter["allowEmptyValue"] = True
            responses = operation.setdefault("responses", {})
            for status_code in sorted(_refusals_of(operation) - set(responses)):
                responses[status_code] = _refusal_response(status_code)
    return result
