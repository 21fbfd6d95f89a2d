"""Serializers for availability: query parameters in, free/busy intervals, lab grids and search options out."""

from __future__ import annotations

import json
from datetime import datetime, time, timedelta
from json.encoder import encode_basestring

from django.utils.translation import get_language
from rest_framework import serializers
from rest_framework.renderers import JSONRenderer

from api.fields import AwareDateTimeField, DurationMinutesField
from labs.calendars import IsoFormatter
from labs.models import Resource

#: The longest range one availability request may cover (keeps every request cheap).
MAX_RANGE = timedelta(days=62)
MAX_GRID_RANGE = timedelta(days=31)
BIG = 2**63 - 1


def _range_error(field: str, message: str, code: str) -> serializers.ValidationError:
    return serializers.ValidationError({field: [serializers.ErrorDetail(message, code=code)]})


class RangeQuerySerializer(serializers.Serializer):
    """A time range [start, end) with offsets, at most 62 days long."""

    start = AwareDateTimeField(help_text="ISO 8601 with an offset, e.g. 2030-03-04T00:00:00+07:00")
    end = AwareDateTimeField(help_text="ISO 8601 with an offset; after start, at most 62 days later")

    max_range = MAX_RANGE

    def validate(self, attrs):
        if attrs["end"] <= attrs["start"]:
            raise _range_error("end", "end must be after start", "invalid_interval")
        if attrs["end"] - attrs["start"] > self.max_range:
            raise _range_error("end", f"The range may cover at most {self.max_range.days} days", "range_too_long")
        return attrs


class GridQuerySerializer(serializers.Serializer):
    """Either a day (or week) in the lab's time zone: ``date`` + ``days``; or an explicit ``start``/``end``."""

    date = serializers.DateField(required=False, help_text="A day in the lab's time zone (YYYY-MM-DD)")
    days = serializers.IntegerField(
        required=False, min_value=1, max_value=31, default=1, help_text="1 for a day, 7 for a week"
    )
    start = AwareDateTimeField(required=False)
    end = AwareDateTimeField(required=False)

    def validate(self, attrs):
        tz = self.context["lab"].tz
        if attrs.get("start") or attrs.get("end"):
            if not (attrs.get("start") and attrs.get("end")):
                raise _range_error("end" if attrs.get("start") else "start", "Give both start and end", "required")
            start, end = attrs["start"], attrs["end"]
        elif attrs.get("date"):
            day = attrs["date"]
            if not (1970 <= day.year <= 2200):
                raise _range_error("date", "Years 1970–2200 only", "out_of_range")
            start = datetime.combine(day, time(0), tzinfo=tz)
            end = datetime.combine(day + timedelta(days=attrs.get("days") or 1), time(0), tzinfo=tz)
        else:
            raise _range_error("date", "Give date (and days) or start and end", "required")
        if end <= start:
            raise _range_error("end", "end must be after start", "invalid_interval")
        if end - start > MAX_GRID_RANGE:
            raise _range_error("end", "A grid covers at most 31 days", "range_too_long")
        attrs["start"], attrs["end"] = start, end
        return attrs


class SearchQuerySerializer(RangeQuerySerializer):
    """Where and when to look for the earliest free slot of ``duration_minutes``."""

    duration_minutes = DurationMinutesField(max_value=60 * 24, help_text="How long the slot must be")
    category = serializers.CharField(
        required=False, max_length=80, help_text="Equipment category slug, e.g. laser-cutter"
    )
    lab = serializers.IntegerField(
        required=False, min_value=1, max_value=BIG, help_text="Only this lab and its sub-labs"
    )
    kind = serializers.ChoiceField(choices=Resource.Kind.choices, required=False)
    limit = serializers.IntegerField(required=False, min_value=1, max_value=100, default=20)

    max_range = timedelta(days=31)


class IntervalSerializer(serializers.Serializer):
    """A half-open interval [start, end) in the lab's time zone."""

    start = AwareDateTimeField()
    end = AwareDateTimeField()

    def to_representation(self, instance):
        if isinstance(instance, (tuple, list)):
            instance = {"start": instance[0], "end": instance[1]}
        return super().to_representation(instance)


class AvailabilitySerializer(serializers.Serializer):
    """The free intervals of one resource in a range."""

    resource = serializers.IntegerField()
    timezone = serializers.CharField()
    start = AwareDateTimeField()
    end = AwareDateTimeField()
    free = IntervalSerializer(many=True)


class GridBusySerializer(serializers.Serializer):
    """A busy interval; who and why only when the viewer may know (their own, or their lab's)."""

    start = AwareDateTimeField()
    end = AwareDateTimeField()
    blocked_until = AwareDateTimeField()
    status = serializers.CharField()
    mine = serializers.BooleanField()
    booking_id = serializers.IntegerField(allow_null=True)
    user = serializers.DictField(allow_null=True)
    organization = serializers.CharField(allow_null=True)
    purpose = serializers.CharField(allow_null=True)


class GridClosureSerializer(serializers.Serializer):
    """A closure, holiday or maintenance window."""

    start = AwareDateTimeField()
    end = AwareDateTimeField()
    kind = serializers.CharField()
    title = serializers.CharField()


class ResourceBriefSerializer(serializers.Serializer):
    """A resource as a grid row or search option shows it."""

    id = serializers.IntegerField()
    slug = serializers.CharField()
    name = serializers.CharField()
    kind = serializers.CharField()
    status = serializers.CharField()
    lab = serializers.IntegerField(source="lab_id")
    lab_name = serializers.CharField(source="lab.name")
    timezone = serializers.CharField(source="lab.timezone")
    capacity = serializers.IntegerField()


class GridRowSerializer(serializers.Serializer):
    """One resource's day or week."""

    resource = ResourceBriefSerializer()
    open = IntervalSerializer(many=True)
    free = IntervalSerializer(many=True)
    busy = GridBusySerializer(many=True)
    closures = GridClosureSerializer(many=True)


class GridSerializer(serializers.Serializer):
    """Every resource of a lab (sub-labs included) over a day or a week."""

    lab = serializers.IntegerField(source="lab.pk")
    timezone = serializers.CharField(source="lab.timezone")
    start = AwareDateTimeField()
    end = AwareDateTimeField()
    resources = GridRowSerializer(many=True)


class SearchOptionSerializer(serializers.Serializer):
    """One ranked option: a resource and the earliest slot it offers."""

    rank = serializers.IntegerField()
    resource = ResourceBriefSerializer()
    start = AwareDateTimeField()
    end = AwareDateTimeField()
    free_until = AwareDateTimeField(help_text="The resource stays free until then")


class SearchResultSerializer(serializers.Serializer):
    """Ranked options across labs."""

    duration_minutes = serializers.IntegerField()
    start = AwareDateTimeField()
    end = AwareDateTimeField()
    options = SearchOptionSerializer(many=True)


class QuoteSerializer(serializers.Serializer):
    """The price of a booking before it is made, in VND."""

    price_vnd = serializers.IntegerField()
    hourly_rate_vnd = serializers.IntegerField(allow_null=True)
    hours = serializers.CharField()
    subsidy_percent = serializers.IntegerField()
    subsidy_vnd = serializers.IntegerField()
    sponsor = serializers.CharField(allow_null=True)


class PartnerUsageRowSerializer(serializers.Serializer):
    """Hours and bookings in one group."""

    hours = serializers.FloatField()
    bookings = serializers.IntegerField()


class PartnerUsageAudienceSerializer(PartnerUsageRowSerializer):
    """Use by one audience (students, SMEs, …)."""

    audience = serializers.CharField()


class PartnerUsageOrganizationSerializer(PartnerUsageRowSerializer):
    """Use billed to one organisation (none: personal bookings)."""

    organization_id = serializers.IntegerField(allow_null=True)
    organization = serializers.CharField(allow_null=True)


class PartnerUsageResourceSerializer(PartnerUsageRowSerializer):
    """Use of one sponsored machine."""

    resource_id = serializers.IntegerField()
    resource = serializers.CharField()


class PartnerUsageSerializer(serializers.Serializer):
    """Aggregated use of a partner's machines: no names, no booking ids."""

    partner = serializers.IntegerField()
    start = AwareDateTimeField()
    end = AwareDateTimeField()
    total_hours = serializers.FloatField()
    bookings = serializers.IntegerField()
    by_audience = PartnerUsageAudienceSerializer(many=True)
    by_organization = PartnerUsageOrganizationSerializer(many=True)
    by_resource = PartnerUsageResourceSerializer(many=True)


class JSONText(str):
    """A JSON document already written out (the lab grid): GridJSONRenderer sends it as it is."""


class GridJSONRenderer(JSONRenderer):
    """DRF's JSONRenderer, except that a :class:`JSONText` is sent as it is (errors render as usual).

    The text is what JSONRenderer would write for the same data (compact, UTF-8, U+2028/U+2029
    escaped); asked for indentation (``; indent=4``, the browsable API), it is parsed and rendered.
    """

    def render(self, data, accepted_media_type=None, renderer_context=None):
        if isinstance(data, JSONText):
            if self.get_indent(accepted_media_type, renderer_context or {}) is None:
                return data.encode()
            data = json.loads(data)
        return super().render(data, accepted_media_type, renderer_context)


_TRUE_FALSE = ("false", "true")
_NO_DETAILS = '"booking_id":null,"user":null,"organization":null,"purpose":null}'


def _text(value) -> str:
    """A JSON string (or null), as json.dumps(ensure_ascii=False) writes it."""
    return "null" if value is None else encode_basestring(value)


class _Quoted(dict):
    """``quoted[value]``: :func:`_text` of strings that repeat (purposes, organisations), remembered."""

    def __missing__(self, value) -> str:
        text = self[value] = _text(value)
        return text


#: (zone, busy tuple) -> its JSON text. The text is a pure function of the key (every field of the
#: interval, the user as (id, username, name)), so it is never stale; a grid asked for again (the
#: same week on a wall screen, a web page, an integrator's script) skips most of the writing.
_BUSY_TEXTS: dict[tuple, str] = {}
#: About 10 MB of texts per process at most.
BUSY_TEXTS_LIMIT = 20_000


def _busy_text(entry: tuple, iso: IsoFormatter, quoted: _Quoted) -> str:
    """One busy interval (bookings.selectors.GRID_BUSY_FIELDS) as JSON text."""
    b_start, b_end, until, status, mine, booking_id, user, organization, purpose = entry
    head = (
        f'{{"start":"{iso[b_start]}","end":"{iso[b_end]}","blocked_until":"{iso[until]}",'
        f'"status":{quoted[status]},"mine":{_TRUE_FALSE[mine]},'
    )
    if booking_id is None and user is None and organization is None and purpose is None:
        return head + _NO_DETAILS
    user_text = "null" if user is None else f'{{"id":{user[0]},"username":{quoted[user[1]]},"name":{quoted[user[2]]}}}'
    return (
        f'{head}"booking_id":{"null" if booking_id is None else booking_id},"user":{user_text},'
        f'"organization":{quoted[organization]},"purpose":{quoted[purpose]}}}'
    )


def grid_json_text(grid: dict) -> JSONText:
    """The lab grid (bookings.selectors.lab_grid) in GridSerializer's shape, as JSON text.

    A lab week holds thousands of intervals. DRF's field-by-field serializers, a datetime per
    instant and then json.dumps over ~20,000 small dicts cost several times the database work, so
    the document is written directly: instants go from the selector's epoch microseconds to
    ISO 8601 through one formatter per time zone, strings through json's own escaping. The text is
    byte for byte what JSONRenderer writes for :func:`grid_json` (tests compare both with
    GridSerializer, which documents the shape in the schema).
    """
    formatters: dict[str, IsoFormatter] = {}
    quoted = _Quoted()
    lab_names: dict[int, str] = {}
    opening: dict[int, str] = {}  # the resources of a lab share its opening-hours list
    # BilingualNameMixin.name's choice, made once rather than per resource and lab.
    english = (get_language() or "vi").startswith("en")
    rows = []
    for row in grid["resources"]:
        resource = row["resource"]
        lab = resource.lab
        iso = formatters.get(lab.timezone)
        if iso is None:
            iso = formatters[lab.timezone] = IsoFormatter(row["tz"])
        lab_name = lab_names.get(lab.pk)
        if lab_name is None:
            lab_name = lab_names[lab.pk] = _text(lab.name_en if english and lab.name_en else lab.name_vi)
        name = resource.name_en if english and resource.name_en else resource.name_vi
        busy = []
        for entry in row["busy"]:
            key = (iso.tz, entry)
            text = _BUSY_TEXTS.get(key)
            if text is None:
                text = _busy_text(entry, iso, quoted)
                if len(_BUSY_TEXTS) >= BUSY_TEXTS_LIMIT:
                    _BUSY_TEXTS.clear()
                _BUSY_TEXTS[key] = text
            busy.append(text)
        brief = (
            f'{{"id":{resource.pk},"slug":{_text(resource.slug)},"name":{_text(name)},"kind":{_text(resource.kind)},'
            f'"status":{_text(resource.status)},"lab":{resource.lab_id},"lab_name":{lab_name},'
            f'"timezone":{_text(lab.timezone)},"capacity":{resource.capacity}}}'
        )
        open_text = opening.get(id(row["open"]))
        if open_text is None:
            open_text = opening[id(row["open"])] = ",".join(
                [f'{{"start":"{iso[s]}","end":"{iso[e]}"}}' for s, e in row["open"]]
            )
        free_text = ",".join([f'{{"start":"{iso[s]}","end":"{iso[e]}"}}' for s, e in row["free"]])
        closures_text = ",".join(
            [
                f'{{"start":"{iso[w_start]}","end":"{iso[w_end]}","kind":{_text(kind)},"title":{_text(title)}}}'
                for w_start, w_end, kind, title in row["closures"]
            ]
        )
        rows.append(
            f'{{"resource":{brief},"open":[{open_text}],"free":[{free_text}],"busy":[{",".join(busy)}],"closures":[{closures_text}]}}'
        )
    lab = grid["lab"]
    tz = lab.tz
    text = (
        f'{{"lab":{lab.pk},"timezone":{_text(lab.timezone)},"start":{_text(grid["start"].astimezone(tz).isoformat())},'
        f'"end":{_text(grid["end"].astimezone(tz).isoformat())},"resources":[{",".join(rows)}]}}'
    )
    # JSONRenderer's escaping of the two line separators JavaScript does not allow in strings.
    return JSONText(text.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029"))


def grid_json(grid: dict) -> dict:
    """The lab grid as plain JSON data (parsed from :func:`grid_json_text`, its one writer)."""
    return json.loads(grid_json_text(grid))
