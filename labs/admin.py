"""Django admin for labs: the lab tree, people and their roles, certifications, resources and calendars.

Lab managers (``is_staff`` but not superusers) see and pick only the objects of the labs they
manage: the labs where they hold the manager role and every lab below them
(``labs.selectors.managed_lab_ids``). Superusers see everything.
"""

from __future__ import annotations

from axes.utils import reset as axes_reset
from django import forms
from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.db import models
from django.db.models import Count, Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from labs.models import (
    CalendarEntry,
    Certification,
    CertificationGrant,
    Lab,
    LabRole,
    Member,
    Organization,
    Resource,
    ResourceRate,
    Space,
)
from labs.selectors import managed_lab_ids

User = get_user_model()

_SCOPE_CACHE_ATTR = "_labshare_managed_lab_ids"


def admin_lab_scope(request) -> set[int] | None:
    """The lab ids the admin user may see, or None for "everything" (superusers).

    Cached on the request: a changelist asks for it once per inline, filter and form field.
    """
    user = request.user
    if user.is_superuser:
        return None
    cached = getattr(request, _SCOPE_CACHE_ATTR, None)
    if cached is None:
        cached = managed_lab_ids(user)
        setattr(request, _SCOPE_CACHE_ATTR, cached)
    return cached


def scoped_choices(model, lab_ids: set[int]):
    """The objects of ``model`` a manager of ``lab_ids`` may pick in a form, or None if unscoped."""
    if issubclass(model, Lab):
        return model.objects.filter(pk__in=lab_ids)
    if issubclass(model, Resource):
        return model.objects.filter(lab_id__in=lab_ids).select_related("lab")
    if issubclass(model, Certification):
        return model.objects.filter(lab_id__in=lab_ids).select_related("lab")
    return None


# The relations through which a person belongs to a lab, as ORM paths from the user. The booking
# engine's relations are named, not imported: labs sits below bookings.
_PEOPLE_PATHS = (
    "lab_roles__lab",
    "certification_grants__certification__lab",
    "bookings__resource__lab",
    "booking_series__resource__lab",
    "waitlist_entries__resource__lab",
)
#: Organisation fields kept to the organisation's own members and admins (README, permission table).
BILLING_FIELDS = ("tax_code", "address", "email", "phone")


def people_of_labs(lab_ids: set[int]):
    """Ids of the users who hold a role, a certification, a booking, a series or a waitlist place in ``lab_ids``."""
    subqueries = [User.objects.filter(**{f"{path}__in": lab_ids}).values("pk") for path in _PEOPLE_PATHS]
    return subqueries[0].union(*subqueries[1:])


def is_autocomplete(request) -> bool:
    """Whether the request is the admin's autocomplete lookup (a picker in a form), not a list or a page."""
    return request.path == reverse("admin:autocomplete")


class PeopleScopeMixin:
    """Lists and pages of people (users, member profiles) limited to the people of the manager's labs.

    A lab manager sees the contact data of the people of their labs (sub-labs included): those who
    book there, hold or held its certifications, hold a role or wait for a slot; they have to
    reach them about a booking. Anyone else is not listed and their page is not found. In a picker
    (granting a certification, adding a role) every active account can be found by username or
    name, and only the username is shown.
    """

    user_lookup = "pk"

    def get_queryset(self, request):
        qs = super().get_queryset(request)
        scope = admin_lab_scope(request)
        if scope is None:
            return qs
        if is_autocomplete(request) and self.user_lookup == "pk":
            return qs.filter(is_active=True)
        return qs.filter(**{f"{self.user_lookup}__in": people_of_labs(scope)})

    def get_search_fields(self, request):
        fields = super().get_search_fields(request)
        if admin_lab_scope(request) is not None and is_autocomplete(request):
            # No lookup by e-mail or phone in a picker: it would tell who owns an address.
            return [f for f in fields if f.endswith(("username", "first_name", "last_name"))]
        return fields


class LabScopeMixin:
    """Restricts querysets and foreign-key choices to the admin user's lab subtree.

    ``lab_lookup`` is the ORM path from the model to its Lab ("lab", "resource__lab", …).
    """

    lab_lookup: str | None = "lab"

    def get_queryset(self, request):
        qs = super().get_queryset(request)
        scope = admin_lab_scope(request)
        if scope is None or self.lab_lookup is None:
            return qs
        return qs.filter(**{f"{self.lab_lookup}__in": scope})

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        scope = admin_lab_scope(request)
        if scope is not None and "queryset" not in kwargs:
            choices = scoped_choices(db_field.related_model, scope)
            if choices is not None:
                kwargs["queryset"] = choices
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def formfield_for_manytomany(self, db_field, request, **kwargs):
        scope = admin_lab_scope(request)
        if scope is not None and "queryset" not in kwargs:
            choices = scoped_choices(db_field.related_model, scope)
            if choices is not None:
                kwargs["queryset"] = choices
        return super().formfield_for_manytomany(db_field, request, **kwargs)


class LabScopedAdmin(LabScopeMixin, admin.ModelAdmin):
    """A ModelAdmin whose rows and choices are limited to the lab subtree the user manages."""


# --- Inlines ------------------------------------------------------------------------------------


class LabRoleInline(LabScopeMixin, admin.TabularInline):
    """Who manages or staffs a lab (on the lab page and on the user page)."""

    model = LabRole
    extra = 0
    autocomplete_fields = ["user", "lab"]
    verbose_name = _("lab role")
    verbose_name_plural = _("lab roles")

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("user", "lab")


class LabRoleOnLabInline(LabRoleInline):
    """Roles on the lab page: the lab is the page's own, only the user is picked."""

    autocomplete_fields = ["user"]
    fk_name = "lab"


class LabRoleOnUserInline(LabRoleInline):
    """Roles on the user page: the user is the page's own, only the lab is picked."""

    autocomplete_fields = ["lab"]
    fk_name = "user"


class MemberInline(admin.StackedInline):
    """The labshare profile shown on the user page."""

    model = Member
    can_delete = False
    # One blank profile form for users without one (an untouched form is not saved).
    extra = 1
    max_num = 1
    autocomplete_fields = ["organization"]
    # Consent is the person's own choice, logged by accounts (the admin shows it, never sets it).
    readonly_fields = ["shows_initials", "email_reminders"]
    verbose_name = _("labshare profile")
    verbose_name_plural = _("labshare profile")


class ResourceRateInline(admin.TabularInline):
    """Hourly rates per audience, in VND."""

    model = ResourceRate
    extra = 0
    fields = ["audience", "hourly_rate_vnd", "busy_hourly_rate_vnd", "idle_hourly_rate_vnd"]


class CertificationGrantInline(admin.TabularInline):
    """Who holds a certification; revocations stay on the row (never deleted)."""

    model = CertificationGrant
    fk_name = "certification"
    extra = 0
    can_delete = False
    autocomplete_fields = ["user", "granted_by", "revoked_by"]
    fields = ["user", "granted_at", "expires_at", "granted_by", "revoked_at", "revoked_by", "note"]

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("user", "granted_by", "revoked_by")


# --- Labs and people ----------------------------------------------------------------------------


@admin.register(Lab)
class LabAdmin(LabScopedAdmin):
    """Centers and their sub-labs."""

    lab_lookup = "pk"
    list_display = ["name_vi", "name_en", "short_name", "parent", "timezone", "resource_count", "is_active"]
    list_filter = ["is_active", ("parent", admin.RelatedOnlyFieldListFilter)]
    list_select_related = ["parent"]
    search_fields = ["name_vi", "name_en", "short_name", "slug", "address"]
    prepopulated_fields = {"slug": ["name_en"]}
    autocomplete_fields = ["parent"]
    inlines = [LabRoleOnLabInline]
    fieldsets = [
        (None, {"fields": [("name_vi", "name_en"), ("slug", "short_name"), "parent", "is_active"]}),
        (_("Description"), {"fields": ["description_vi", "description_en", "photo"]}),
        (_("Contact"), {"fields": ["address", "timezone", ("contact_name", "contact_email", "contact_phone")]}),
    ]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(_resource_count=Count("resources", distinct=True))

    @admin.display(description=_("resources"), ordering="_resource_count")
    def resource_count(self, obj: Lab) -> int:
        return obj._resource_count

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)
        if admin_lab_scope(request) is None:
            return form

        class ManagerLabForm(form):
            """A manager may only add labs inside the subtree they manage (else they would lose them)."""

            def __init__(self, *args, **kw):
                super().__init__(*args, **kw)
                if "parent" in self.fields and not (self.instance.pk and self.instance.parent_id is None):
                    self.fields["parent"].required = True

        return ManagerLabForm


@admin.register(Organization)
class OrganizationAdmin(admin.ModelAdmin):
    """Universities, start-ups, SMEs, partners and agencies that members belong to and bookings bill."""

    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}

    list_display = ["name", "short_name", "kind", "tax_code", "email", "member_count"]
    list_filter = ["kind"]
    search_fields = ["name", "name_en", "short_name", "tax_code", "email"]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(_member_count=Count("members", distinct=True))

    # Billing data (tax code, address, billing e-mail, phone) only for admins and the organisation's
    # own members, as in the API (README, permission table, note 7): managers see names and kinds.
    def _sees_billing(self, request, obj: Organization | None) -> bool:
        if request.user.is_superuser:
            return True
        member = Member.objects.filter(user=request.user).only("organization_id").first()
        return obj is not None and member is not None and member.organization_id == obj.pk

    def get_list_display(self, request):
        fields = super().get_list_display(request)
        return fields if request.user.is_superuser else [f for f in fields if f not in BILLING_FIELDS]

    def get_search_fields(self, request):
        fields = super().get_search_fields(request)
        return fields if request.user.is_superuser else [f for f in fields if f not in BILLING_FIELDS]

    def get_fields(self, request, obj=None):
        fields = super().get_fields(request, obj)
        return fields if self._sees_billing(request, obj) else [f for f in fields if f not in BILLING_FIELDS]

    @admin.display(description=_("members"), ordering="_member_count")
    def member_count(self, obj: Organization) -> int:
        return obj._member_count


@admin.register(Member)
class MemberAdmin(PeopleScopeMixin, admin.ModelAdmin):
    """Member profiles: audience, organisation, language."""

    list_display = ["user", "full_name", "audience", "organization", "language", "student_id"]
    list_filter = ["audience", "language", ("organization", admin.RelatedOnlyFieldListFilter)]
    list_select_related = ["user", "organization"]
    search_fields = ["user__username", "user__first_name", "user__last_name", "user__email", "student_id", "phone"]
    autocomplete_fields = ["user", "organization"]
    readonly_fields = ["shows_initials", "email_reminders"]
    user_lookup = "user"

    @admin.display(description=_("name"), ordering="user__last_name")
    def full_name(self, obj: Member) -> str:
        return obj.user.get_full_name()


@admin.register(LabRole)
class LabRoleAdmin(LabScopedAdmin):
    """All role assignments, searchable by person or lab."""

    list_display = ["user", "lab", "role"]
    list_filter = ["role", ("lab", admin.RelatedOnlyFieldListFilter)]
    list_select_related = ["user", "lab"]
    search_fields = ["user__username", "user__first_name", "user__last_name", "lab__name_vi", "lab__name_en"]
    autocomplete_fields = ["user", "lab"]


@admin.register(Certification)
class CertificationAdmin(LabScopedAdmin):
    """Trainings a lab grants, with who holds them."""

    list_display = ["name_vi", "name_en", "code", "lab", "validity_days", "holder_count"]
    list_filter = [("lab", admin.RelatedOnlyFieldListFilter)]
    list_select_related = ["lab"]
    search_fields = ["name_vi", "name_en", "code"]
    prepopulated_fields = {"code": ["name_en"]}
    autocomplete_fields = ["lab"]
    inlines = [CertificationGrantInline]

    def get_queryset(self, request):
        now = timezone.now()
        return (
            super()
            .get_queryset(request)
            .annotate(
                _holders=Count(
                    "grants",
                    filter=Q(grants__revoked_at__isnull=True)
                    & (Q(grants__expires_at__isnull=True) | Q(grants__expires_at__gt=now)),
                    distinct=True,
                )
            )
        )

    @admin.display(description=_("valid holders"), ordering="_holders")
    def holder_count(self, obj: Certification) -> int:
        return obj._holders


class GrantValidityFilter(admin.SimpleListFilter):
    """Valid, expired or revoked grants."""

    title = _("validity")
    parameter_name = "validity"

    def lookups(self, request, model_admin):
        return [("valid", _("Valid")), ("expired", _("Expired")), ("revoked", _("Revoked"))]

    def queryset(self, request, queryset):
        now = timezone.now()
        if self.value() == "valid":
            return queryset.valid_at(now)
        if self.value() == "expired":
            return queryset.filter(revoked_at__isnull=True, expires_at__lte=now)
        if self.value() == "revoked":
            return queryset.filter(revoked_at__isnull=False)
        return queryset


@admin.register(CertificationGrant)
class CertificationGrantAdmin(LabScopedAdmin):
    """Grants of certifications; revoked, never deleted, so the history stays."""

    lab_lookup = "certification__lab"
    list_display = ["user", "certification", "granted_at", "expires_at", "granted_by", "revoked_at"]
    list_filter = [GrantValidityFilter, ("certification", admin.RelatedOnlyFieldListFilter)]
    list_select_related = ["user", "certification", "granted_by"]
    search_fields = [
        "user__username",
        "user__first_name",
        "user__last_name",
        "certification__name_vi",
        "certification__code",
    ]
    date_hierarchy = "granted_at"
    autocomplete_fields = ["user", "certification", "granted_by", "revoked_by"]
    actions = ["revoke"]

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def save_model(self, request, obj, form, change):
        if not change and obj.granted_by_id is None:
            obj.granted_by = request.user
        super().save_model(request, obj, form, change)

    @admin.action(description=_("Revoke selected grants / Thu hồi chứng chỉ đã chọn"), permissions=["change"])
    def revoke(self, request, queryset):
        count = queryset.filter(revoked_at__isnull=True).update(revoked_at=timezone.now(), revoked_by=request.user)
        self.message_user(
            request,
            ngettext(
                "%(n)d grant revoked / Đã thu hồi %(n)d chứng chỉ.",
                "%(n)d grants revoked / Đã thu hồi %(n)d chứng chỉ.",
                count,
            )
            % {"n": count},
            messages.SUCCESS,
        )


# --- Resources ----------------------------------------------------------------------------------


class ResourceAdmin(LabScopedAdmin):
    """Bookable things with their booking rules and rates; equipment and spaces extend it."""

    list_display = ["name_vi", "slug", "lab", "kind", "status", "capacity", "approval_policy"]
    list_filter = ["kind", "status", "approval_policy", ("lab", admin.RelatedOnlyFieldListFilter)]
    list_select_related = ["lab"]
    list_editable = []
    search_fields = ["name_vi", "name_en", "slug", "description_vi", "description_en"]
    prepopulated_fields = {"slug": ["name_en"]}
    autocomplete_fields = ["lab", "location", "required_certifications"]
    inlines = [ResourceRateInline]
    readonly_fields = ["kind", "created_at"]
    rule_fields = [
        ("min_duration", "max_duration", "slot_granularity"),
        ("cleanup_buffer", "lead_time", "horizon"),
        "approval_policy",
        "approval_audiences",
        "required_certifications",
        ("price_basis", "walk_in_minutes"),
    ]

    def get_fieldsets(self, request, obj=None):
        return [
            (None, {"fields": [("name_vi", "name_en"), ("slug", "lab"), ("kind", "status"), "capacity", "location"]}),
            (_("Description"), {"fields": ["description_vi", "description_en", "photo"], "classes": ["collapse"]}),
            *self.extra_fieldsets(),
            (_("Booking rules"), {"fields": self.rule_fields}),
            (_("Record"), {"fields": ["created_at"], "classes": ["collapse"]}),
        ]

    def extra_fieldsets(self) -> list:
        return []

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("lab")


admin.site.register(Resource, ResourceAdmin)


@admin.register(Space)
class SpaceAdmin(ResourceAdmin):
    """Rooms and areas: meeting rooms, workshops, open co-working seats (capacity > 1)."""

    list_display = ["name_vi", "slug", "lab", "status", "capacity", "area_m2", "floor", "approval_policy"]
    list_filter = ["status", "approval_policy", ("lab", admin.RelatedOnlyFieldListFilter)]

    def extra_fieldsets(self) -> list:
        return [(_("Room"), {"fields": [("area_m2", "floor"), "amenities"]})]


# --- Calendars ----------------------------------------------------------------------------------


class CalendarEntryForm(forms.ModelForm):
    """Pick the lab or the resource an entry belongs to, instead of a raw django-scheduler calendar."""

    lab = forms.ModelChoiceField(Lab.objects.all(), required=False, label=_("lab"))
    resource = forms.ModelChoiceField(Resource.objects.select_related("lab"), required=False, label=_("resource"))

    class Meta:
        model = CalendarEntry
        fields = ["kind", "title", "description", "start", "end", "rule", "end_recurring_period", "color_event"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        calendar = self.instance.calendar if self.instance.calendar_id else None
        if calendar is not None:
            lab = Lab.objects.filter(calendar=calendar).first()
            resource = Resource.objects.filter(calendar=calendar).first()
            self.initial.setdefault("lab", lab.pk if lab else None)
            self.initial.setdefault("resource", resource.pk if resource else None)

    def clean(self):
        data = super().clean()
        lab, resource = data.get("lab"), data.get("resource")
        if bool(lab) == bool(resource):
            raise forms.ValidationError(_("Choose either a lab or a resource / Chọn một phòng lab hoặc một tài nguyên"))
        start, end = data.get("start"), data.get("end")
        if start and end and start >= end:
            self.add_error("end", _("The end must be after the start / Thời gian kết thúc phải sau thời gian bắt đầu"))
        if data.get("kind") == CalendarEntry.Kind.OPEN and resource:
            self.add_error("resource", _("Opening hours belong to a lab / Giờ mở cửa thuộc về phòng lab"))
        self.instance.calendar = (lab or resource).calendar
        return data


class TargetFilter(admin.SimpleListFilter):
    """Entries of labs or of single resources."""

    title = _("applies to")
    parameter_name = "target"

    def lookups(self, request, model_admin):
        return [("lab", _("Labs")), ("resource", _("Resources"))]

    def queryset(self, request, queryset):
        if self.value() == "lab":
            return queryset.filter(calendar__lab__isnull=False)
        if self.value() == "resource":
            return queryset.filter(calendar__resource__isnull=False)
        return queryset


@admin.register(CalendarEntry)
class CalendarEntryAdmin(admin.ModelAdmin):
    """Opening hours, closures, public holidays and maintenance windows."""

    form = CalendarEntryForm
    list_display = ["title", "kind", "target", "start", "end", "rule", "end_recurring_period"]
    list_filter = ["kind", TargetFilter]
    list_select_related = ["calendar__lab", "calendar__resource", "rule"]
    search_fields = ["title", "description", "calendar__lab__name_vi", "calendar__resource__name_vi"]
    date_hierarchy = "start"
    ordering = ["-start"]
    readonly_fields = ["key"]
    fieldsets = [
        (None, {"fields": ["kind", "title", ("lab", "resource"), "description"]}),
        (_("When"), {"fields": [("start", "end"), ("rule", "end_recurring_period")]}),
        (_("Other"), {"fields": ["color_event", "key"], "classes": ["collapse"]}),
    ]

    def get_queryset(self, request):
        qs = super().get_queryset(request)
        scope = admin_lab_scope(request)
        if scope is None:
            return qs
        return qs.filter(Q(calendar__lab__in=scope) | Q(calendar__resource__lab__in=scope))

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)
        scope = admin_lab_scope(request)
        if scope is None:
            return form

        class ScopedCalendarEntryForm(form):
            """Managers attach entries only to their own labs and resources."""

            def __init__(self, *args, **kw):
                super().__init__(*args, **kw)
                self.fields["lab"].queryset = Lab.objects.filter(pk__in=scope)
                self.fields["resource"].queryset = Resource.objects.filter(lab_id__in=scope).select_related("lab")

        return ScopedCalendarEntryForm

    @admin.display(description=_("applies to"))
    def target(self, obj: CalendarEntry) -> str:
        calendar = obj.calendar
        for attr in ("lab", "resource"):
            try:
                return str(getattr(calendar, attr))
            except (Lab.DoesNotExist, Resource.DoesNotExist):
                continue
        return str(calendar)

    def save_model(self, request, obj, form, change):
        if not change and obj.creator_id is None:
            obj.creator = request.user
        super().save_model(request, obj, form, change)


# --- Users --------------------------------------------------------------------------------------


class LabshareUserAdmin(PeopleScopeMixin, BaseUserAdmin):
    """Django's user admin with the labshare profile and the user's lab roles on the same page."""

    inlines = [MemberInline, LabRoleOnUserInline]
    list_display = ["username", "first_name", "last_name", "email", "audience", "organization", "is_staff", "is_active"]
    list_filter = ["is_staff", "is_superuser", "is_active", "member__audience", "lab_roles__role"]
    list_select_related = ["member", "member__organization"]
    search_fields = ["username", "first_name", "last_name", "email", "member__organization__name", "member__student_id"]
    actions = ["unlock_sign_in"]

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("member", "member__organization")

    @admin.action(
        description=_("Unlock sign-in after failed attempts / Mở khoá đăng nhập sau nhiều lần sai"),
        permissions=["change"],
    )
    def unlock_sign_in(self, request, queryset):
        """Clears the failed sign-in counts of the selected accounts (core/login_guard.py)."""
        for username in queryset.values_list("username", flat=True):
            axes_reset(username=username)
        count = queryset.count()
        self.message_user(
            request,
            ngettext(
                "Sign-in unlocked for %(n)d account / Đã mở khoá đăng nhập cho %(n)d tài khoản.",
                "Sign-in unlocked for %(n)d accounts / Đã mở khoá đăng nhập cho %(n)d tài khoản.",
                count,
            )
            % {"n": count},
            messages.SUCCESS,
        )

    @admin.display(description=_("audience"), ordering="member__audience")
    def audience(self, obj) -> str:
        member = getattr(obj, "member", None)
        return member.get_audience_display() if member else "—"

    @admin.display(description=_("organisation"), ordering="member__organization__name")
    def organization(self, obj) -> str:
        member = getattr(obj, "member", None)
        return str(member.organization) if member and member.organization else "—"


if admin.site.is_registered(User):
    admin.site.unregister(User)
admin.site.register(User, LabshareUserAdmin)
