"""Shapes of the billing API: statements and their lines, VAT rates, bank notifications."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from billing.models import BankNotification, LateCharge, Statement, StatementLine, VatRate
from billing.pdf import statement_payload
from billing.words import vnd_in_words


class StatementLineSerializer(serializers.ModelSerializer):
    """One line: date, machine, hours, rate, subsidy, amount before VAT, VAT rate and amount."""

    class Meta:
        model = StatementLine
        fields = [
            "position",
            "kind",
            "booking",
            "service_date",
            "description_vi",
            "description_en",
            "booked_by",
            "unit",
            "hours",
            "unit_price_vnd",
            "gross_vnd",
            "subsidy_vnd",
            "amount_vnd",
            "vat_percent",
            "vat_vnd",
            "total_vnd",
        ]


class StatementSerializer(serializers.ModelSerializer):
    """A statement with its totals, the amount in words and, once issued, its VietQR payload."""

    issuer_lab = serializers.IntegerField(source="issuer.lab_id", read_only=True)
    amount_in_words = serializers.SerializerMethodField()
    vietqr = serializers.SerializerMethodField()
    lines = StatementLineSerializer(many=True, read_only=True)

    class Meta:
        model = Statement
        fields = [
            "id",
            "number",
            "status",
            "month",
            "issuer_lab",
            "organization",
            "user",
            "seller_name",
            "seller_tax_code",
            "bank_bin",
            "bank_name",
            "account_number",
            "account_name",
            "buyer_name",
            "buyer_tax_code",
            "buyer_address",
            "subtotal_vnd",
            "vat_vnd",
            "total_vnd",
            "subsidy_vnd",
            "amount_in_words",
            "issued_at",
            "due_date",
            "paid_at",
            "vietqr",
            "lines",
        ]

    def get_amount_in_words(self, obj) -> str:
        return vnd_in_words(obj.total_vnd)

    def get_vietqr(self, obj) -> str | None:
        """The NAPAS VietQR payload (EMVCo) to pay an issued statement; null for drafts."""
        return statement_payload(obj)


class StatementListSerializer(StatementSerializer):
    """A statement without its lines (lists)."""

    class Meta(StatementSerializer.Meta):
        fields = [f for f in StatementSerializer.Meta.fields if f != "lines"]


class PrepareSerializer(serializers.Serializer):
    """Which draft to prepare: the issuing lab, the month and one buyer."""

    lab = serializers.IntegerField(
        min_value=1, max_value=2**62, help_text="A lab; its billing profile (or its center's) issues"
    )
    month = serializers.DateField(help_text="Any day of the month (YYYY-MM-DD)")
    organization = serializers.IntegerField(required=False, min_value=1, max_value=2**62)
    user = serializers.IntegerField(required=False, min_value=1, max_value=2**62)

    def validate(self, attrs):
        if bool(attrs.get("organization")) == bool(attrs.get("user")):
            # A rule between two fields (JSON Schema cannot say "exactly one"): its own code, not "invalid".
            raise serializers.ValidationError(
                {"organization": ["Give an organisation or a user, not both."]}, code="one_buyer"
            )
        return attrs


class CloseMonthSerializer(serializers.Serializer):
    """The issuing lab and the month to close."""

    lab = serializers.IntegerField(min_value=1, max_value=2**62)
    month = serializers.DateField()


class CloseMonthResultSerializer(serializers.Serializer):
    issued = serializers.IntegerField()
    empty = serializers.IntegerField()
    already_closed = serializers.IntegerField()


class MarkPaidSerializer(serializers.Serializer):
    note = serializers.CharField(required=False, allow_blank=True, max_length=300)


class DocumentQuerySerializer(serializers.Serializer):
    export = serializers.ChoiceField(choices=["pdf", "csv", "xlsx"], default="pdf", required=False)
    lang = serializers.ChoiceField(choices=["vi", "en"], required=False)


class EInvoiceQuerySerializer(serializers.Serializer):
    export = serializers.ChoiceField(choices=["json", "csv", "xlsx"], default="json", required=False)


@extend_schema_field({"type": "string", "pattern": r"^(100(\.0{1,2})?|[0-9]{1,2}(\.[0-9]{1,2})?)$", "example": "10.00"})
class PercentField(serializers.DecimalField):
    """A percentage from 0 to 100 with at most two decimals, written as a string ("8.00")."""


class VatRateSerializer(serializers.ModelSerializer):
    """A dated VAT rate for a kind of line."""

    # The generated pattern allowed "-", "-6.3" and "999": the schema now says what is accepted.
    percent = PercentField(max_digits=5, decimal_places=2, min_value=0, max_value=100)

    class Meta:
        model = VatRate
        fields = ["id", "kind", "percent", "valid_from", "valid_until", "note"]


class BankNotificationSerializer(serializers.ModelSerializer):
    """A bank transfer notification as stored, with why it was not matched."""

    class Meta:
        model = BankNotification
        fields = [
            "id",
            "transaction_id",
            "received_at",
            "transacted_at",
            "amount_vnd",
            "description",
            "account_number",
            "status",
            "reason",
            "statement",
        ]


class BankNotificationInSerializer(serializers.Serializer):
    """What the bank posts (signed with HMAC-SHA256 over ``timestamp.body``)."""

    transaction_id = serializers.CharField(max_length=100)
    amount = serializers.IntegerField(min_value=1)
    description = serializers.CharField(required=False, allow_blank=True)
    account_number = serializers.CharField(required=False, allow_blank=True)
    transacted_at = serializers.DateTimeField(required=False)


class ResolveSerializer(serializers.Serializer):
    """Mark ``statement`` paid with the notification, or dismiss it (no statement)."""

    statement = serializers.IntegerField(required=False, min_value=1, max_value=2**62)
    note = serializers.CharField(required=False, allow_blank=True, max_length=300)


class LateChargeSerializer(serializers.ModelSerializer):
    """A person's booking whose amount changed after an issued statement billed it, awaiting a decision."""

    statement_number = serializers.CharField(source="statement.number", read_only=True)
    difference_vnd = serializers.IntegerField(read_only=True)
    resource = serializers.IntegerField(source="booking.resource_id", read_only=True)
    start = serializers.DateTimeField(source="booking.start", read_only=True)

    class Meta:
        model = LateCharge
        fields = [
            "id",
            "booking",
            "resource",
            "start",
            "statement",
            "statement_number",
            "billed_vnd",
            "charge_vnd",
            "difference_vnd",
            "source",
            "noticed_at",
            "decision",
            "decided_at",
            "note",
        ]


class LateChargeDecisionSerializer(serializers.Serializer):
    """Bill the difference on the person's next statement (``bill``: true) or waive it (false)."""

    bill = serializers.BooleanField()
    note = serializers.CharField(required=False, allow_blank=True, max_length=300)
