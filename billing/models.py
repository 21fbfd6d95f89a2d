"""Money: who issues statements (with their bank account), the dated VAT table, statements and their
lines, payments, and the bank's transfer notifications.

A statement is a draft until it is issued; from then on its lines, totals, number and the parties'
details never change (PostgreSQL triggers refuse it, see migration 0002): corrections become
adjustment lines of a later statement.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.postgres.constraints import ExclusionConstraint
from django.contrib.postgres.fields import DateRangeField, RangeOperators
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.db.models import F, Func, Q, Value
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from labs.models import Lab, Organization, tax_code_validator

bank_bin_validator = RegexValidator(
    r"^\d{6}$", _("A bank BIN (NAPAS) has 6 digits / Mã BIN ngân hàng gồm 6 chữ số"), code="invalid_bin"
)
account_validator = RegexValidator(
    r"^[0-9A-Za-z]{1,19}$",
    _("An account number has 1 to 19 letters or digits / Số tài khoản gồm 1–19 chữ hoặc số"),
    code="invalid_account",
)
prefix_validator = RegexValidator(
    r"^[A-Z0-9]{2,10}$",
    _("2 to 10 capital letters or digits / 2–10 chữ in hoa hoặc chữ số"),
    code="invalid_prefix",
)


class BillingProfile(models.Model):
    """A lab or center that issues statements: its legal details, bank account and number prefix.

    A booking is billed by the nearest lab up its lab's tree that has a profile (a sub-lab without
    one is billed by its center).
    """

    lab = models.OneToOneField(Lab, verbose_name=_("lab"), on_delete=models.PROTECT, related_name="billing_profile")
    legal_name = models.CharField(_("legal name"), max_length=200)
    tax_code = models.CharField(_("tax code"), max_length=14, blank=True, validators=[tax_code_validator])
    address = models.CharField(_("address"), max_length=300, blank=True)
    email = models.EmailField(_("billing e-mail"), blank=True)
    bank_bin = models.CharField(_("bank BIN (NAPAS)"), max_length=6, validators=[bank_bin_validator])
    bank_name = models.CharField(_("bank"), max_length=120)
    account_number = models.CharField(_("account number"), max_length=19, validators=[account_validator])
    account_name = models.CharField(_("account holder"), max_length=120)
    number_prefix = models.CharField(
        _("statement number prefix"),
        max_length=10,
        unique=True,
        validators=[prefix_validator],
        help_text=_("e.g. EIUFAB: statements are numbered EIUFAB-2026-00001"),
    )
    payment_days = models.PositiveSmallIntegerField(
        _("days to pay"), null=True, blank=True, help_text=_("Empty: the site's default")
    )

    class Meta:
        verbose_name = _("billing profile")
        verbose_name_plural = _("billing profiles")
        ordering = ["lab__name_vi"]

    def __str__(self) -> str:
        return f"{self.legal_name} ({self.number_prefix})"


class LineKind(models.TextChoices):
    """What a statement line is for; VAT rates are kept per kind."""

    MACHINE_TIME = "machine_time", _("Machine and lab time")
    ADJUSTMENT = "adjustment", _("Adjustment")


class VatRate(models.Model):
    """The VAT rate in force for one kind of line over a span of dates (both included).

    Spans of one kind never overlap (an exclusion constraint); the rate of a line is the one in
    force on its service date, so a month across a change of rate bills each line at its own rate.
    """

    kind = models.CharField(_("line kind"), max_length=20, choices=LineKind.choices, default=LineKind.MACHINE_TIME)
    percent = models.DecimalField(
        _("rate (%)"), max_digits=5, decimal_places=2, validators=[MinValueValidator(0), MaxValueValidator(100)]
    )
    valid_from = models.DateField(_("valid from"))
    valid_until = models.DateField(_("valid until"), null=True, blank=True, help_text=_("Empty: until further notice"))
    note = models.CharField(_("legal basis / note"), max_length=300, blank=True)

    class Meta:
        verbose_name = _("VAT rate")
        verbose_name_plural = _("VAT rates")
        ordering = ["kind", "valid_from"]
        constraints = [
            models.CheckConstraint(
                condition=Q(valid_until__isnull=True) | Q(valid_until__gte=F("valid_from")), name="vat_rate_span_order"
            ),
            models.CheckConstraint(condition=Q(percent__gte=0, percent__lte=100), name="vat_rate_percent_range"),
            ExclusionConstraint(
                name="vat_rate_no_overlap",
                expressions=[
                    ("kind", RangeOperators.EQUAL),
                    (
                        Func(
                            F("valid_from"),
                            F("valid_until"),
                            Value("[]"),
                            function="daterange",
                            output_field=DateRangeField(),
                        ),
                        RangeOperators.OVERLAPS,
                    ),
                ],
            ),
        ]

    def __str__(self) -> str:
        until = self.valid_until.isoformat() if self.valid_until else "…"
        return f"{self.get_kind_display()}: {self.percent}% ({self.valid_from.isoformat()} – {until})"


class StatementStatus(models.TextChoices):
    """draft -> issued -> paid, or issued -> overdue -> paid."""

    DRAFT = "draft", _("Draft")
    ISSUED = "issued", _("Issued")
    PAID = "paid", _("Paid")
    OVERDUE = "overdue", _("Overdue")


#: Statuses of a closed statement (its content is fixed).
CLOSED_STATUSES = (StatementStatus.ISSUED, StatementStatus.PAID, StatementStatus.OVERDUE)
#: Statuses awaiting payment.
UNPAID_STATUSES = (StatementStatus.ISSUED, StatementStatus.OVERDUE)


class Statement(models.Model):
    """One month's bill from one issuing lab to one organisation (or one person for their own bookings)."""

    issuer = models.ForeignKey(
        BillingProfile, verbose_name=_("issued by"), on_delete=models.PROTECT, related_name="statements"
    )
    organization = models.ForeignKey(
        Organization,
        verbose_name=_("organisation"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="statements",
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("person"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="statements",
    )
    month = models.DateField(_("month"), help_text=_("The first day of the month billed"))
    status = models.CharField(
        _("status"), max_length=20, choices=StatementStatus.choices, default=StatementStatus.DRAFT, db_index=True
    )
    number = models.CharField(_("number"), max_length=40, blank=True)
    # The parties as they were when the statement was issued (a later change of address or bank
    # account does not rewrite an issued statement).
    seller_name = models.CharField(_("seller"), max_length=200, blank=True)
    seller_tax_code = models.CharField(_("seller's tax code"), max_length=14, blank=True)
    seller_address = models.CharField(_("seller's address"), max_length=300, blank=True)
    bank_bin = models.CharField(_("bank BIN"), max_length=6, blank=True)
    bank_name = models.CharField(_("bank"), max_length=120, blank=True)
    account_number = models.CharField(_("account number"), max_length=19, blank=True)
    account_name = models.CharField(_("account holder"), max_length=120, blank=True)
    buyer_name = models.CharField(_("buyer"), max_length=200, blank=True)
    buyer_tax_code = models.CharField(_("buyer's tax code"), max_length=14, blank=True)
    buyer_address = models.CharField(_("buyer's address"), max_length=300, blank=True)
    buyer_email = models.EmailField(_("buyer's e-mail"), blank=True)
    subtotal_vnd = models.BigIntegerField(_("amount before VAT (VND)"), default=0)
    vat_vnd = models.BigIntegerField(_("VAT (VND)"), default=0)
    total_vnd = models.BigIntegerField(_("total (VND)"), default=0)
    subsidy_vnd = models.BigIntegerField(_("sponsors' subsidy (VND)"), default=0)
    created_at = models.DateTimeField(_("created at"), default=timezone.now, editable=False)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)
    issued_at = models.DateTimeField(_("issued at"), null=True, blank=True)
    issued_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("issued by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    due_date = models.DateField(_("due date"), null=True, blank=True)
    overdue_at = models.DateTimeField(_("overdue since"), null=True, blank=True)
    paid_at = models.DateTimeField(_("paid at"), null=True, blank=True)

    class Meta:
        verbose_name = _("statement")
        verbose_name_plural = _("statements")
        ordering = ["-month", "issuer_id", "id"]
        constraints = [
            models.CheckConstraint(
                condition=(Q(organization__isnull=False) & Q(user__isnull=True))
                | (Q(organization__isnull=True) & Q(user__isnull=False)),
                name="statement_one_buyer",
            ),
            models.UniqueConstraint(
                fields=["issuer", "organization", "month"],
                condition=Q(organization__isnull=False),
                name="statement_one_per_org_month",
            ),
            models.UniqueConstraint(
                fields=["issuer", "user", "month"], condition=Q(user__isnull=False), name="statement_one_per_user_month"
            ),
            models.UniqueConstraint(fields=["number"], condition=~Q(number=""), name="statement_number_unique"),
            models.CheckConstraint(
                condition=Q(status=StatementStatus.DRAFT) | ~Q(number=""), name="statement_closed_has_number"
            ),
        ]
        indexes = [models.Index(fields=["status", "due_date"], name="statement_status_due")]

    def __str__(self) -> str:
        return self.number or f"#{self.pk} ({self.get_status_display()})"

    @property
    def is_closed(self) -> bool:
        return self.status in CLOSED_STATUSES


class StatementCounter(models.Model):
    """The last number an issuer gave in a year: statements are numbered without gaps, per issuer."""

    issuer = models.ForeignKey(BillingProfile, on_delete=models.CASCADE, related_name="+")
    year = models.PositiveSmallIntegerField()
    last = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["issuer", "year"], name="statement_counter_unique")]

    def __str__(self) -> str:
        return f"{self.issuer_id}/{self.year}: {self.last}"


class StatementLine(models.Model):
    """One line of a statement: a booking billed, or an adjustment of one billed earlier."""

    statement = models.ForeignKey(
        Statement, verbose_name=_("statement"), on_delete=models.CASCADE, related_name="lines"
    )
    position = models.PositiveIntegerField(_("position"))
    kind = models.CharField(_("kind"), max_length=20, choices=LineKind.choices, default=LineKind.MACHINE_TIME)
    booking = models.ForeignKey(
        "bookings.Booking",
        verbose_name=_("booking"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="statement_lines",
    )
    service_date = models.DateField(_("service date"))
    description_vi = models.CharField(_("description (Vietnamese)"), max_length=300)
    description_en = models.CharField(_("description (English)"), max_length=300, blank=True)
    booked_by = models.CharField(_("booked by"), max_length=200, blank=True)
    unit = models.CharField(_("unit"), max_length=20, default="giờ")
    hours = models.DecimalField(_("hours"), max_digits=9, decimal_places=2)
    unit_price_vnd = models.BigIntegerField(_("unit price (VND)"), default=0)
    gross_vnd = models.BigIntegerField(_("before subsidy (VND)"), default=0)
    subsidy_vnd = models.BigIntegerField(_("subsidy (VND)"), default=0)
    amount_vnd = models.BigIntegerField(_("amount before VAT (VND)"))
    vat_percent = models.DecimalField(_("VAT (%)"), max_digits=5, decimal_places=2)
    vat_vnd = models.BigIntegerField(_("VAT (VND)"))
    total_vnd = models.BigIntegerField(_("total (VND)"))

    class Meta:
        verbose_name = _("statement line")
        verbose_name_plural = _("statement lines")
        ordering = ["statement_id", "position"]
        constraints = [
            models.UniqueConstraint(fields=["statement", "position"], name="statement_line_position_unique"),
            models.CheckConstraint(
                condition=Q(total_vnd=F("amount_vnd") + F("vat_vnd")), name="statement_line_total_adds_up"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.statement} #{self.position}: {self.description_vi}"


class Payment(models.Model):
    """Money received for a statement: marked by a manager, or matched from a bank notification."""

    class Method(models.TextChoices):
        MANUAL = "manual", _("Marked paid by a manager")
        BANK_TRANSFER = "bank_transfer", _("Bank transfer (notification)")

    statement = models.ForeignKey(
        Statement, verbose_name=_("statement"), on_delete=models.PROTECT, related_name="payments"
    )
    amount_vnd = models.BigIntegerField(_("amount (VND)"))
    method = models.CharField(_("method"), max_length=20, choices=Method.choices)
    at = models.DateTimeField(_("at"), default=timezone.now)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("recorded by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    notification = models.OneToOneField(
        "billing.BankNotification",
        verbose_name=_("bank notification"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="payment",
    )
    note = models.CharField(_("note"), max_length=300, blank=True)

    class Meta:
        verbose_name = _("payment")
        verbose_name_plural = _("payments")
        ordering = ["-at"]

    def __str__(self) -> str:
        return f"{self.statement}: {self.amount_vnd:,} ₫"


class BankNotification(models.Model):
    """A bank's notification of an incoming transfer, kept as received (one per transaction id)."""

    class Status(models.TextChoices):
        MATCHED = "matched", _("Matched: statement paid")
        UNMATCHED = "unmatched", _("To review")
        RESOLVED = "resolved", _("Resolved by hand")
        DISMISSED = "dismissed", _("Dismissed")

    transaction_id = models.CharField(_("bank transaction id"), max_length=100, unique=True)
    received_at = models.DateTimeField(_("received at"), default=timezone.now)
    transacted_at = models.DateTimeField(_("transfer time"), null=True, blank=True)
    amount_vnd = models.BigIntegerField(_("amount (VND)"))
    description = models.CharField(_("transfer note"), max_length=500, blank=True)
    account_number = models.CharField(_("credited account"), max_length=40, blank=True)
    payload = models.JSONField(_("payload as received"), default=dict)
    status = models.CharField(_("status"), max_length=20, choices=Status.choices, db_index=True)
    reason = models.CharField(_("why not matched"), max_length=40, blank=True)
    statement = models.ForeignKey(
        Statement,
        verbose_name=_("statement"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="bank_notifications",
    )
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("resolved by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    resolved_at = models.DateTimeField(_("resolved at"), null=True, blank=True)

    class Meta:
        verbose_name = _("bank notification")
        verbose_name_plural = _("bank notifications")
        ordering = ["-received_at", "-id"]

    def __str__(self) -> str:
        return f"{self.transaction_id}: {self.amount_vnd:,} ₫ ({self.get_status_display()})"


class LateCharge(models.Model):
    """A person's booking whose amount changed after an issued statement billed it, for a manager to decide.

    An organisation's late changes become adjustment lines of its next statement by themselves; a
    person has no running account with the lab, so billing them (or crediting them) a month later
    waits for a manager: bill the difference on their next statement, or waive it. One row per
    booking and amount: a later change of the same booking is a new row and supersedes the open one.
    """

    class Decision(models.TextChoices):
        PENDING = "pending", _("To review")
        BILL = "bill", _("Bill on the next statement")
        WAIVE = "waive", _("Waived")
        SUPERSEDED = "superseded", _("Superseded by a later change")

    booking = models.ForeignKey(
        "bookings.Booking", verbose_name=_("booking"), on_delete=models.PROTECT, related_name="late_charges"
    )
    statement = models.ForeignKey(
        Statement,
        verbose_name=_("statement that billed it"),
        on_delete=models.PROTECT,
        related_name="late_charges",
    )
    billed_vnd = models.BigIntegerField(_("billed (VND)"))
    charge_vnd = models.BigIntegerField(_("amount now (VND)"))
    source = models.CharField(_("what changed it"), max_length=40, blank=True)
    noticed_at = models.DateTimeField(_("noticed at"), default=timezone.now)
    decision = models.CharField(
        _("decision"), max_length=20, choices=Decision.choices, default=Decision.PENDING, db_index=True
    )
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("decided by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    note = models.CharField(_("note"), max_length=300, blank=True)

    class Meta:
        verbose_name = _("late change of a billed amount")
        verbose_name_plural = _("late changes of billed amounts")
        ordering = ["-noticed_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["booking", "charge_vnd"], name="late_charge_one_per_amount")]

    def __str__(self) -> str:
        return f"{self.booking_id}: {self.billed_vnd:,} → {self.charge_vnd:,} ₫ ({self.get_decision_display()})"

    @property
    def difference_vnd(self) -> int:
        """What the next statement would carry if billed (negative: a credit)."""
        return self.charge_vnd - self.billed_vnd
