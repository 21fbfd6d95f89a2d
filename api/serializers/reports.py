"""Query and answer shapes of the reports and exports API (api/views/reports.py)."""

from __future__ import annotations

from rest_framework import serializers

NAMES = serializers.DictField(child=serializers.CharField(), help_text='{"vi": …, "en": …}')


class ReportQuerySerializer(serializers.Serializer):
    """A lab (its sub-labs included; default: every lab you may see) and a period of local days."""

    lab = serializers.IntegerField(required=False, min_value=1, max_value=2**62)
    start = serializers.DateField(required=False, help_text="First day (YYYY-MM-DD); default: 89 days before end")
    end = serializers.DateField(required=False, help_text="Last day, included (YYYY-MM-DD); default: today")
    bucket = serializers.ChoiceField(choices=["week", "month"], default="month", required=False)
    export = serializers.ChoiceField(
        choices=["csv", "xlsx", "pdf"],
        required=False,
        help_text="A file instead of JSON (pdf: network and sponsor reports)",
    )
    lang = serializers.ChoiceField(choices=["vi", "en"], required=False, help_text="Language of an exported file")


class MeasuresSerializer(serializers.Serializer):
    """The figures of a utilisation row (rates in percent; null where nothing to divide by)."""

    open_hours = serializers.FloatField(required=False)
    booked_hours = serializers.FloatField()
    used_hours = serializers.FloatField()
    utilisation = serializers.FloatField(allow_null=True, required=False)
    booked_share = serializers.FloatField(allow_null=True, required=False)
    bookings = serializers.IntegerField()
    no_shows = serializers.IntegerField()
    cancellations = serializers.IntegerField()
    no_show_rate = serializers.FloatField(allow_null=True)
    cancellation_rate = serializers.FloatField(allow_null=True)
    people = serializers.IntegerField()


class PeriodSerializer(serializers.Serializer):
    first = serializers.DateField()
    last = serializers.DateField()
    timezone = serializers.CharField()


class ResourceRowSerializer(MeasuresSerializer):
    resource_id = serializers.IntegerField()
    name = NAMES
    lab_id = serializers.IntegerField()
    lab = NAMES
    category = serializers.DictField(child=serializers.CharField(), allow_null=True)


class UtilisationSerializer(serializers.Serializer):
    """A utilisation report: totals, per machine, category, lab, audience, organisation, heatmap, trend."""

    period = PeriodSerializer()
    bucket = serializers.CharField()
    labs = serializers.ListField(child=serializers.IntegerField())
    total = MeasuresSerializer()
    by_resource = ResourceRowSerializer(many=True)
    by_category = serializers.ListField(child=serializers.DictField())
    by_lab = serializers.ListField(child=serializers.DictField())
    by_audience = serializers.ListField(child=serializers.DictField())
    by_organization = serializers.ListField(child=serializers.DictField())
    heatmap = serializers.ListField(
        child=serializers.ListField(child=serializers.FloatField()),
        help_text="Booked hours: 7 rows (Monday first) × 24 hours, in the report's zone",
    )
    trend = serializers.ListField(child=serializers.DictField())


class SponsorImpactSerializer(serializers.Serializer):
    """A sponsor's impact: counts, hours and subsidy; never names of people."""

    partner = serializers.DictField()
    period = PeriodSerializer()
    machines = serializers.ListField(child=serializers.DictField())
    total = serializers.DictField()
    by_audience = serializers.ListField(child=serializers.DictField())
    by_organization_kind = serializers.ListField(child=serializers.DictField())
    trend = serializers.ListField(child=serializers.DictField())


class NetworkFiguresSerializer(serializers.Serializer):
    """The network's figures for the province: people served by audience, hours, organisations, sponsors."""

    period = PeriodSerializer()
    total = serializers.DictField()
    by_lab = serializers.ListField(child=serializers.DictField())
    by_month = serializers.ListField(child=serializers.DictField())
    sponsors = serializers.ListField(child=serializers.DictField())


class BookingExportQuerySerializer(serializers.Serializer):
    """Which bookings to export, in which format."""

    scope = serializers.ChoiceField(choices=["mine", "lab", "organization"], default="mine", required=False)
    lab = serializers.IntegerField(required=False, min_value=1, max_value=2**62)
    start = serializers.DateField(required=False)
    end = serializers.DateField(required=False)
    export = serializers.ChoiceField(choices=["csv", "xlsx"], default="csv", required=False)
    lang = serializers.ChoiceField(choices=["vi", "en"], required=False)


class ListExportQuerySerializer(serializers.Serializer):
    """The format of a list export."""

    export = serializers.ChoiceField(choices=["csv", "xlsx"], default="csv", required=False)
    lang = serializers.ChoiceField(choices=["vi", "en"], required=False)
