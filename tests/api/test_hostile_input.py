"""Hostile and broken request bodies get the documented error body, never a 500 nor Django's HTML page.

Every answer here is ``{"code", "message", "messages": {"vi", "en"}, "details"}`` with the code
declared in api/errors.py and the status declared with it.
"""

from __future__ import annotations

from unittest.mock import ANY

import pytest

from bookings.models import Booking
from core.errors import spec_for
from tests.api.conftest import iso, next_weekday

pytestmark = pytest.mark.django_db

TEN_MB = 10 * 1024 * 1024


def assert_error(response, status: int, code: str | None = None) -> dict:
    """The response is the documented error body with ``status`` (and ``code``, when given)."""
    assert response.status_code == status, response.content[:300]
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert {"code", "message", "messages", "details"} <= set(body), body
    assert set(body["messages"]) == {"vi", "en"} and body["message"] == body["messages"]["vi"]
    assert spec_for(body["code"]) is not None, f"undeclared code {body['code']}"
    assert spec_for(body["code"]).status == status
    if code is not None:
        assert body["code"] == code, body
    return body


def post_raw(client, path: str, body: bytes, content_type: str = "application/json"):
    return client.generic("POST", path, data=body, content_type=content_type)


def booking_body(world, resource_value) -> bytes:
    start = next_weekday(days_ahead=7, hour=9)
    return (
        f'{{"resource": {resource_value}, "start": "{iso(start)}", "end": "{iso(start.replace(hour=10))}"}}'
    ).encode()


# --- JSON nesting ------------------------------------------------------------------------------------


@pytest.mark.parametrize("depth", [33, 5_000, 200_000])
def test_a_deeply_nested_json_array_on_the_anonymous_login_is_a_400(world, depth):
    response = post_raw(world.client("anonymous"), "/api/auth/login/", b"[" * depth + b"]" * depth)
    body = assert_error(response, 400, "json_too_deep")
    assert body["details"] == {"limit": 32}


def test_a_deeply_nested_object_inside_a_booking_is_a_400(world):
    nested = '{"a":' * 40 + "1" + "}" * 40
    start = next_weekday(days_ahead=7, hour=9)
    body = f'{{"resource": {world.machine.pk}, "start": "{iso(start)}", "end": "{iso(start)}", "purpose": {nested}}}'
    assert_error(post_raw(world.client("student"), "/api/bookings/", body.encode()), 400, "json_too_deep")


def test_nesting_within_the_limit_is_parsed_and_validated_as_usual(world):
    response = post_raw(world.client("anonymous"), "/api/auth/login/", b'{"username": [[["x"]]], "password": "y"}')
    assert_error(response, 400, "validation_error")


def test_malformed_and_non_standard_json_is_a_parse_error(world):
    client = world.client("anonymous")
    for raw in (b'{"username": ', b"NaN", b'{"username": "a", "password": Infinity}', b"\xff\xfe"):
        assert_error(post_raw(client, "/api/auth/login/", raw), 400, "parse_error")


# --- Body size ---------------------------------------------------------------------------------------


def test_a_10_mb_json_body_is_a_413(world):
    raw = b'{"username": "' + b"a" * TEN_MB + b'", "password": "x"}'
    body = assert_error(post_raw(world.client("anonymous"), "/api/auth/login/", raw), 413, "request_too_large")
    assert body["details"]["limit_bytes"] == 2_621_440


def test_a_10_mb_body_of_another_type_is_refused_before_it_is_read(world):
    # The API reads JSON only: a form or multipart body is 415 whatever its size, never parsed.
    boundary = "labshareboundary"
    multipart = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="purpose"\r\n\r\n'.encode()
        + b"a" * TEN_MB
        + f"\r\n--{boundary}--\r\n".encode()
    )
    client = world.client("student")
    assert_error(
        post_raw(client, "/api/bookings/", multipart, f"multipart/form-data; boundary={boundary}"),
        415,
        "unsupported_media_type",
    )
    form = b"purpose=" + b"a" * TEN_MB
    assert_error(
        post_raw(client, "/api/bookings/", form, "application/x-www-form-urlencoded"), 415, "unsupported_media_type"
    )


def test_an_empty_multipart_body_is_answered_in_the_error_shape(world):
    client = world.client("student")
    for content_type in ("multipart/form-data; boundary=labshare", "multipart/form-data"):
        # Nothing to parse: the fields are missing.
        assert_error(post_raw(client, "/api/bookings/", b"", content_type), 400, "validation_error")
        assert_error(post_raw(client, "/api/bookings/", b"garbage", content_type), 415, "unsupported_media_type")


def test_an_empty_json_body_is_a_validation_error(world):
    assert_error(post_raw(world.client("student"), "/api/bookings/", b""), 400, "validation_error")


# --- Strict integer ids ------------------------------------------------------------------------------


def test_an_id_of_1e400_is_a_400_not_a_500(world):
    assert_error(post_raw(world.client("student"), "/api/bookings/", booking_body(world, "1e400")), 400, "parse_error")


@pytest.mark.parametrize(
    "value", ["{pk}.5", '"{pk}"', '"{pk}.5"', '" {pk}"', "true", "[{pk}]", "-1", "0", "9223372036854775808"]
)
def test_an_id_that_is_not_a_whole_number_in_range_is_refused(world, value):
    # The machine must not be booked for "<its id>.5" (the ORM rounded it down before).
    value = value.format(pk=world.machine.pk)
    response = post_raw(world.client("student"), "/api/bookings/", booking_body(world, value))
    body = assert_error(response, 400)
    assert "resource" in body["errors"], body
    assert not Booking.objects.exists()


@pytest.mark.parametrize("value", ["{pk}", "{pk}.0", "{pk}e0"])
def test_an_id_written_as_a_whole_number_is_an_id(world, value):
    # JSON Schema counts 7.0 as the integer 7, and so does the API.
    response = post_raw(
        world.client("student"), "/api/bookings/", booking_body(world, value.format(pk=world.machine.pk))
    )
    # Past the id: the engine decides (201, or a rule's code), never a field error on "resource".
    assert response.status_code == 201 or "resource" not in response.json().get("errors", {}), response.json()


@pytest.mark.parametrize("value", ["1e400", "1.5", "-1", "99999999999999999999", "abc"])
def test_ids_in_query_parameters_are_strict(world, value):
    response = world.client("student").get("/api/bookings/", {"resource": value})
    assert_error(response, 400, "validation_error")


@pytest.mark.parametrize("path", ["/api/resources/1e400/", "/api/resources/1.5/", "/api/bookings/1e400/"])
def test_ids_in_paths_that_are_not_ids_are_not_found(world, path):
    assert_error(world.client("student").get(path), 404, "not_found")


@pytest.mark.parametrize("path", ["/api/feeds/ab%0Acd.ics", "/api/nothing%0A/", "/api/labs/%0A"])
def test_a_path_with_an_encoded_newline_is_a_json_404(world, path):
    assert_error(world.client("student").get(path), 404, "not_found")


# --- Times the database cannot hold ------------------------------------------------------------------


@pytest.mark.parametrize(
    "value", ["2030-03-04T09:00:00+17:19", "2030-03-04T09:00:00-16:00", "1323-04-13T16:16:31+07:00"]
)
def test_a_time_filter_beyond_what_postgresql_holds_is_a_400(world, value):
    # +17:19 is a valid Python offset that PostgreSQL refuses: it was a 500 (and poisoned the transaction).
    response = world.client("student").get("/api/bookings/", {"starts_after": value})
    body = assert_error(response, 400, "validation_error")
    assert body["errors"] == {"starts_after": [{"code": "out_of_range", "message": ANY}]}
    assert world.client("student").get("/api/bookings/", {"starts_before": value}).status_code == 400


def test_a_time_filter_with_a_real_offset_is_read(world):
    response = world.client("student").get("/api/bookings/", {"starts_after": "2030-03-04T09:00:00+14:00"})
    assert response.status_code == 200


def test_a_booking_at_an_offset_postgresql_cannot_hold_is_refused_and_nothing_is_written(world):
    body = {"resource": world.machine.pk, "start": "2030-03-04T09:00:00+17:00", "end": "2030-03-04T10:00:00+17:00"}
    response = world.client("student").post("/api/bookings/", body, format="json")
    assert assert_error(response, 400)["errors"]["start"][0]["code"] == "out_of_range"
    assert not Booking.objects.exists()
