"""Serializer fields for times: ISO 8601 with an offset in, the lab's time zone out."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

#: Far enough for any calendar question, near enough that date arithmetic never overflows.
MIN_YEAR, MAX_YEAR = 1970, 2200
#: PostgreSQL refuses offsets of 16 hours or more (Python takes up to 24): refused here, with the field named.
MAX_OFFSET = timedelta(hours=16)


def offset_in_range(value: datetime) -> bool:
    """Whether ``value``'s offset exists for PostgreSQL (and on Earth: real zones lie within ±14 h)."""
    try:
        offset = value.utcoffset()
    except (OverflowError, ValueError):
        return False
    return offset is None or abs(offset) < MAX_OFFSET


class AwareDateTimeField(serializers.DateTimeField):
    """An ISO 8601 datetime that must carry an offset: a naive one is refused with ``naive_datetime``."""

    default_error_messages = {
        "naive_datetime": "Times must carry a time zone offset (ISO 8601, e.g. 2030-03-04T09:00:00+07:00) / "
        "Thời gian phải kèm múi giờ.",
        "out_of_range": f"Years {MIN_YEAR}–{MAX_YEAR} and offsets under 16 hours only / "
        f"Chỉ nhận năm {MIN_YEAR}–{MAX_YEAR} và độ lệch múi giờ dưới 16 giờ.",
    }

    def to_internal_value(self, value: Any) -> datetime:
        if isinstance(value, str):
            parsed = None
            try:
                parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
            except ValueError:
                self.fail("invalid", format="ISO 8601 with an offset, e.g. 2030-03-04T09:00:00+07:00")
            if timezone.is_naive(parsed):
                self.fail("naive_datetime")
            value = parsed
        elif isinstance(value, datetime):
            if timezone.is_naive(value):
                self.fail("naive_datetime")
        else:
            self.fail("invalid", format="ISO 8601 with an offset")
        if not (MIN_YEAR <= value.year <= MAX_YEAR):
            self.fail("out_of_range")
        if not offset_in_range(value):
            self.fail("out_of_range")
        return value

    def to_representation(self, value: datetime | None) -> str | None:
        if value is None:
            return None
        return value.isoformat()


@extend_schema_field(OpenApiTypes.DATETIME)
class LabDateTimeField(serializers.Field):
    """A stored (UTC) datetime shown in the time zone of the lab the object belongs to.

    ``tz_from`` is a dotted path from the object to a Lab (e.g. ``"resource.lab"``).
    """

    def __init__(self, *, tz_from: str, **kwargs: Any) -> None:
        kwargs["read_only"] = True
        self.tz_from = tz_from
        super().__init__(**kwargs)

    def get_attribute(self, instance: Any) -> Any:
        value = super().get_attribute(instance)
        if value is None:
            return None
        lab = instance
        for part in self.tz_from.split("."):
            lab = getattr(lab, part, None)
            if lab is None:
                return value
        return value.astimezone(lab.tz)

    def to_representation(self, value: datetime | None) -> str | None:
        return None if value is None else value.isoformat()


class DurationMinutesField(serializers.IntegerField):
    """A duration given as whole minutes (bounded, so no overflow), returned as a timedelta."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("min_value", 1)
        kwargs.setdefault("max_value", 60 * 24 * 31)
        super().__init__(**kwargs)

    def run_validation(self, data: Any = serializers.empty) -> timedelta | None:
        # Bounds are checked on the whole minutes first, then the value becomes a timedelta.
        minutes = super().run_validation(data)
        return None if minutes is None else timedelta(minutes=minutes)

    def to_representation(self, value: Any) -> int:
        if isinstance(value, timedelta):
            return int(value.total_seconds() // 60)
        return int(value)


#: The largest id PostgreSQL's bigint holds.
MAX_ID = 2**63 - 1


@extend_schema_field({"type": "integer", "minimum": 1, "maximum": MAX_ID})
class IdField(serializers.PrimaryKeyRelatedField):
    """A related object by its id, strictly: a whole JSON number within bigint.

    DRF's own field hands the value to the ORM as it is, where ``1.5`` became id 1 and an
    infinite float overflowed into a 500. A number written ``7.0`` is the integer 7 (JSON Schema
    counts it as an integer too); strings and booleans are refused (``true`` is not id 1).
    """

    default_error_messages = {
        "incorrect_type": "An id is a whole number, not {data_type} / Mã phải là số nguyên.",
    }

    def run_validation(self, data=serializers.empty):
        # DRF turns "" into null for related fields; the schema says integer (or null), so "" is refused.
        if data == "":
            self.fail("incorrect_type", data_type="str")
        return super().run_validation(data)

    def to_internal_value(self, data: Any):
        if isinstance(data, float) and data.is_integer() and abs(data) <= MAX_ID:
            data = int(data)
        if isinstance(data, bool) or not isinstance(data, int):
            self.fail("incorrect_type", data_type=type(data).__name__)
        if not 1 <= data <= MAX_ID:
            self.fail("does_not_exist", pk_value=data)
        return super().to_internal_value(data)
