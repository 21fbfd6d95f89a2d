"""Django admin for bookings: a manager's queue with approve / reject / cancel actions and the audit trail.

The admin never writes a booking's status itself: the actions call the booking services (which
check the rules, write the audit row, schedule jobs and publish live updates after commit), and
bookings are never deleted (a cancellation or a no-show is a state, not a deletion).
"""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.utils.translation import gettext_lazy as _

from bookings.models import (
    ACTIVE_STATUSES,
    Booking,
    BookingEvent,
    BookingPolicy,
    BookingSeries,
    QuotaRule,
    WaitlistEntry,
)
from bookings.services import booking_approve, booking_cancel, booking_reject
from core.admin import ReadOnlyAdminMixin
from core.errors import DomainError
from labs.admin import LabScopedAdmin


def format_vnd(amount: int | None) -> str:
    """``1250000`` -> ``1.250.000 ₫`` (Vietnamese grouping, no decimals)."""
    if amount is None:
        return "—"
    return f"{amount:,}".replace(",", ".") + "\u00a0₫"


class BookingActionForm(helpers.ActionForm):
    """The changelist's action bar, with a reason for rejections and cancellations."""

    reason = forms.CharField(
        label=_("Reason / Lý do"),
        required=False,
        max_length=500,
        widget=forms.TextInput(attrs={"size": 40, "placeholder": _("required to reject / bắt buộc khi từ chối")}),
    )


class BookingEventInline(ReadOnlyAdminMixin, admin.TabularInline):
    """The audit trail of a booking: read-only, never edited or deleted."""

    model = BookingEvent
    extra = 0
    max_num = 0
    can_delete = False
    fields = ["at", "from_status", "to_status", "actor", "source", "reason"]
    readonly_fields = fields
    ordering = ["at", "id"]

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("actor")


class ActiveFilter(admin.SimpleListFilter):
    """Slot-holding bookings (awaiting approval, confirmed, checked in) or finished ones."""

    title = _("holds its slot")
    parameter_name = "active"

    def lookups(self, request, model_admin):
        return [("yes", _("Active")), ("no", _("Finished"))]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.active()
        if self.value() == "no":
            return queryset.exclude(status__in=ACTIVE_STATUSES)
        return queryset


@admin.register(Booking)
class BookingAdmin(LabScopedAdmin):
    """Bookings of the labs the user manages; decisions go through the booking services."""

    lab_lookup = "resource__lab"
    action_form = BookingActionForm
    actions = ["approve_selected", "reject_selected", "cancel_selected"]
    list_display = ["id", "resource", "lab", "who", "start_local", "end_local", "status", "price"]
    list_display_links = ["id", "resource"]
    list_filter = [
        "status",
        ActiveFilter,
        ("resource__lab", admin.RelatedOnlyFieldListFilter),
        "resource__kind",
    ]
    list_select_related = ["resource__lab", "user", "organization"]
    search_fields = [
        "=id",
        "resource__name_vi",
        "resource__name_en",
        "resource__slug",
        "user__username",
        "user__first_name",
        "user__last_name",
        "user__email",
        "organization__name",
        "purpose",
    ]
    date_hierarchy = "start"
    ordering = ["-start"]
    autocomplete_fields = ["organization"]
    inlines = [BookingEventInline]
    # Everything that the services own is read-only here: status changes go through the actions.
    readonly_fields = [
        "resource",
        "user",
        "start_local",
        "end_local",
        "status",
        "blocked_period",
        "exclusive",
        "price",
        "price_details",
        "expires_at",
        "decided_by",
        "decided_at",
        "reason",
        "cancelled_by",
        "cancelled_at",
        "checked_in_at",
        "checked_in_by",
        "checked_out_at",
        "series",
        "created_at",
        "updated_at",
    ]
    fieldsets = [
        (None, {"fields": [("resource", "user"), ("start_local", "end_local"), "status", "organization", "purpose"]}),
        (_("Price"), {"fields": ["price", "price_details"]}),
        (
            _("Decisions"),
            {"fields": [("decided_by", "decided_at"), "reason", ("cancelled_by", "cancelled_at"), "expires_at"]},
        ),
        (_("At the machine"), {"fields": [("checked_in_at", "checked_in_by"), "checked_out_at"]}),
        (
            _("Record"),
            {
                "fields": ["blocked_period", "exclusive", "series", ("created_at", "updated_at")],
                "classes": ["collapse"],
            },
        ),
    ]

    def has_add_permission(self, request) -> bool:
        # New bookings are made where every rule is checked and the price is quoted: the booking
        # pages and the API (both call bookings.services.booking_request).
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    @admin.display(description=_("lab"), ordering="resource__lab__name_vi")
    def lab(self, obj: Booking) -> str:
        return str(obj.resource.lab)

    @admin.display(description=_("booked by"), ordering="user__username")
    def who(self, obj: Booking) -> str:
        name = obj.user.get_full_name() or obj.user.get_username()
        return f"{name} ({obj.organization})" if obj.organization_id else name

    @admin.display(description=_("start (lab time)"), ordering="start")
    def start_local(self, obj: Booking) -> str:
        return obj.start.astimezone(obj.resource.lab.tz).strftime("%d/%m/%Y %H:%M")

    @admin.display(description=_("end (lab time)"), ordering="end")
    def end_local(self, obj: Booking) -> str:
        return obj.end.astimezone(obj.resource.lab.tz).strftime("%d/%m/%Y %H:%M")

    @admin.display(description=_("price"), ordering="price_vnd")
    def price(self, obj: Booking) -> str:
        return format_vnd(obj.price_vnd)

    # --- Actions: each one calls a service and reports refusals by their code ----------------

    def _run(self, request, queryset, service, *, verb_vi: str, verb_en: str, **kwargs) -> None:
        done, failed = [], []
        for booking in queryset.select_related("resource__lab", "user").order_by("start"):
            try:
                service(booking=booking, by=request.user, **kwargs)
            except DomainError as exc:
                failed.append(f"#{booking.pk}: {exc.message} [{exc.code}]")
            else:
                done.append(f"#{booking.pk}")
        if done:
            self.message_user(request, f"Đã {verb_vi} / {verb_en}: {', '.join(done)}", messages.SUCCESS)
        for line in failed:
            self.message_user(request, line, messages.ERROR)

    @admin.action(description=_("Approve selected requests / Duyệt các yêu cầu đã chọn"), permissions=["change"])
    def approve_selected(self, request, queryset):
        # Imported at call time: the booking engine's services are developed alongside this admin.
        reason = (request.POST.get("reason") or "").strip()
        self._run(request, queryset, booking_approve, verb_vi="duyệt", verb_en="approved", reason=reason)

    @admin.action(description=_("Reject selected requests / Từ chối các yêu cầu đã chọn"), permissions=["change"])
    def reject_selected(self, request, queryset):
        reason = (request.POST.get("reason") or "").strip()
        if not reason:
            self.message_user(
                request,
                "Hãy nhập lý do từ chối vào ô « Lý do » / Enter the reason for the rejection in the Reason box. [reason_required]",
                messages.ERROR,
            )
            return
        self._run(request, queryset, booking_reject, verb_vi="từ chối", verb_en="rejected", reason=reason)

    @admin.action(description=_("Cancel selected bookings / Huỷ các lượt đặt đã chọn"), permissions=["change"])
    def cancel_selected(self, request, queryset):
        reason = (request.POST.get("reason") or "").strip()
        self._run(request, queryset, booking_cancel, verb_vi="huỷ", verb_en="cancelled", reason=reason)


class ReadOnlyAdmin(ReadOnlyAdminMixin, LabScopedAdmin):
    """Records written only by the services, in the lab's scope: visible, never added, edited or deleted here."""


@admin.register(BookingEvent)
class BookingEventAdmin(ReadOnlyAdmin):
    """The audit trail of every status change (who, from, to, when, why)."""

    lab_lookup = "booking__resource__lab"
    list_display = ["at_local", "booking_local", "from_status", "to_status", "actor", "source", "reason"]
    list_filter = ["to_status", "source", ("booking__resource__lab", admin.RelatedOnlyFieldListFilter)]
    list_select_related = ["booking__resource__lab", "actor"]

    # Times in the booking's lab's zone, as people there read them (the row's own text is in UTC).
    @admin.display(description=_("when (lab time)"), ordering="at")
    def at_local(self, obj: BookingEvent) -> str:
        return obj.at.astimezone(obj.booking.resource.lab.tz).strftime("%d/%m/%Y %H:%M")

    @admin.display(description=_("booking"), ordering="booking_id")
    def booking_local(self, obj: BookingEvent) -> str:
        booking = obj.booking
        tz = booking.resource.lab.tz
        start, end = booking.start.astimezone(tz), booking.end.astimezone(tz)
        return f"#{booking.pk} {booking.resource} {start:%d/%m/%Y %H:%M}–{end:%H:%M}"

    search_fields = ["=booking__id", "booking__resource__name_vi", "actor__username", "reason"]
    date_hierarchy = "at"
    ordering = ["-at", "-id"]


@admin.register(BookingSeries)
class BookingSeriesAdmin(ReadOnlyAdmin):
    """Recurring bookings and their per-occurrence report."""

    lab_lookup = "resource__lab"
    list_display = ["resource", "user", "first_start", "duration", "rrule", "mode", "created_at", "cancelled_at"]
    list_filter = ["mode", ("resource__lab", admin.RelatedOnlyFieldListFilter)]
    list_select_related = ["resource", "user"]
    search_fields = ["resource__name_vi", "user__username", "purpose", "rrule"]
    date_hierarchy = "first_start"


@admin.register(WaitlistEntry)
class WaitlistEntryAdmin(ReadOnlyAdmin):
    """Who waits for which resource, and the holds they were offered."""

    lab_lookup = "resource__lab"
    list_display = [
        "resource",
        "user",
        "window_start",
        "window_end",
        "duration",
        "status",
        "offered_start",
        "offer_expires_at",
    ]
    list_filter = ["status", ("resource__lab", admin.RelatedOnlyFieldListFilter)]
    list_select_related = ["resource", "user"]
    search_fields = ["resource__name_vi", "user__username"]
    date_hierarchy = "window_start"


class QuotaRuleInline(admin.TabularInline):
    """Quotas by audience (and optionally equipment category)."""

    model = QuotaRule
    extra = 0
    autocomplete_fields = ["category"]


@admin.register(BookingPolicy)
class BookingPolicyAdmin(LabScopedAdmin):
    """Cut-offs, check-in window, no-show bans and quotas of a lab (inherited by its sub-labs)."""

    list_display = [
        "lab",
        "request_hold_hours",
        "cancel_cutoff",
        "check_in_before",
        "check_in_after",
        "no_show_grace",
        "no_show_ban_threshold",
    ]
    list_select_related = ["lab"]
    search_fields = ["lab__name_vi", "lab__name_en"]
    autocomplete_fields = ["lab"]
    inlines = [QuotaRuleInline]
