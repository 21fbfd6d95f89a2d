"""Forms of the web pages: they parse and validate input; services decide and write."""

from __future__ import annotations

import zoneinfo
from datetime import datetime, timedelta

from django import forms
from django.contrib.auth.forms import AuthenticationForm
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core import login_guard
from equipment.models import Category
from labs.models import Lab

DURATION_CHOICES = [
    (30, _("30 minutes")),
    (60, _("1 hour")),
    (90, _("1 hour 30 minutes")),
    (120, _("2 hours")),
    (180, _("3 hours")),
    (240, _("4 hours")),
    (360, _("6 hours")),
    (480, _("8 hours")),
]


class DateInput(forms.DateInput):
    """A native date picker (phones show their own)."""

    input_type = "date"

    def __init__(self, **kwargs):
        super().__init__(format="%Y-%m-%d", **kwargs)


class TimeInput(forms.TimeInput):
    """A native time picker."""

    input_type = "time"

    def __init__(self, **kwargs):
        super().__init__(format="%H:%M", **kwargs)


class FindForm(forms.Form):
    """Find a free machine: a category, how long, between which days, optionally in which lab."""

    category = forms.ModelChoiceField(
        label=_("Kind of machine"),
        queryset=Category.objects.order_by("name_vi"),
        required=False,
        empty_label=_("Any kind"),
    )
    duration = forms.TypedChoiceField(label=_("For how long"), choices=DURATION_CHOICES, coerce=int, initial=60)
    date_from = forms.DateField(label=_("From"), widget=DateInput())
    date_to = forms.DateField(label=_("Until"), widget=DateInput())
    lab = forms.ModelChoiceField(
        label=_("Lab"),
        queryset=Lab.objects.filter(is_active=True).order_by("name_vi"),
        required=False,
        empty_label=_("Any lab"),
    )

    def clean(self):
        data = super().clean()
        start, end = data.get("date_from"), data.get("date_to")
        if start and end:
            if end < start:
                self.add_error("date_to", _("The end date must not be before the start date."))
            elif (end - start).days > 31:
                self.add_error("date_to", _("Search at most 31 days at a time."))
        return data

    @property
    def duration_delta(self) -> timedelta:
        return timedelta(minutes=self.cleaned_data["duration"])


class IntervalForm(forms.Form):
    """A day and a start and end time, read in the lab's time zone."""

    date = forms.DateField(label=_("Date"), widget=DateInput())
    start_time = forms.TimeField(label=_("Start"), widget=TimeInput())
    end_time = forms.TimeField(label=_("End"), widget=TimeInput())

    def __init__(self, *args, tz: zoneinfo.ZoneInfo, **kwargs):
        super().__init__(*args, **kwargs)
        self.tz = tz

    def clean(self):
        data = super().clean()
        day, start, end = data.get("date"), data.get("start_time"), data.get("end_time")
        if day and start and end:
            data["start"] = datetime.combine(day, start, tzinfo=self.tz)
            data["end"] = datetime.combine(day, end, tzinfo=self.tz)
            if data["end"] <= data["start"]:
                self.add_error("end_time", _("The end must be after the start."))
        return data

    @classmethod
    def initial_for(cls, start: datetime | None, end: datetime | None, tz) -> dict:
        """Form initial values from a start and end (e.g. a slot clicked on the timeline)."""
        if start is None:
            return {}
        start = start.astimezone(tz)
        end = (end or start + timedelta(hours=1)).astimezone(tz)
        return {
            "date": start.date(),
            "start_time": start.time().replace(second=0, microsecond=0),
            "end_time": end.time().replace(second=0, microsecond=0),
        }


class BookingForm(IntervalForm):
    """Book a resource: when, why, and whether my organisation pays."""

    purpose = forms.CharField(
        label=_("Purpose"), required=False, max_length=500, widget=forms.Textarea(attrs={"rows": 2})
    )
    bill_organization = forms.BooleanField(label=_("Bill my organisation"), required=False)

    def __init__(self, *args, organization=None, bill_by_default: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        self.organization = organization
        if organization is None:
            del self.fields["bill_organization"]
        else:
            self.fields["bill_organization"].help_text = str(organization)
            # The engine's default (labs.selectors.default_billing): a company pays, a university does not.
            self.fields["bill_organization"].initial = bill_by_default


class ReasonForm(forms.Form):
    """A reason, optional or required (a rejection always says why)."""

    reason = forms.CharField(label=_("Reason"), required=False, max_length=500)

    def __init__(self, *args, required: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["reason"].required = required


class MaintenanceForm(forms.Form):
    """A maintenance window on one resource of my labs."""

    resource = forms.ModelChoiceField(label=_("Resource"), queryset=None)
    start = forms.DateTimeField(
        label=_("Starts"), widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")
    )
    end = forms.DateTimeField(
        label=_("Ends"), widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")
    )
    title = forms.CharField(label=_("What is done"), max_length=200)

    def __init__(self, *args, resources, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["resource"].queryset = resources

    def clean(self):
        data = super().clean()
        resource, start, end = data.get("resource"), data.get("start"), data.get("end")
        if resource and start and end:
            # datetime-local carries no zone: it is the wall clock of the resource's lab.
            tz = resource.lab.tz
            data["start"] = (
                timezone.make_aware(timezone.make_naive(start), tz)
                if timezone.is_aware(start)
                else timezone.make_aware(start, tz)
            )
            data["end"] = (
                timezone.make_aware(timezone.make_naive(end), tz)
                if timezone.is_aware(end)
                else timezone.make_aware(end, tz)
            )
            if data["end"] <= data["start"]:
                self.add_error("end", _("The end must be after the start."))
        return data


class GrantForm(forms.Form):
    """Grant a certification to a user found by user name or e-mail."""

    certification = forms.ModelChoiceField(label=_("Certification"), queryset=None)
    user = forms.CharField(label=_("User name or e-mail"), max_length=150)
    note = forms.CharField(label=_("Note"), max_length=300, required=False)

    def __init__(self, *args, certifications, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["certification"].queryset = certifications

    def clean_user(self):
        from django.contrib.auth import get_user_model

        value = self.cleaned_data["user"].strip()
        users = get_user_model().objects.filter(is_active=True)
        user = users.filter(username__iexact=value).first() or users.filter(email__iexact=value).first()
        if user is None:
            raise forms.ValidationError(_("No active user with this user name or e-mail."))
        return user


class ProfileForm(forms.Form):
    """What a member may change about themselves."""

    first_name = forms.CharField(label=_("Given name"), max_length=150, required=False)
    last_name = forms.CharField(label=_("Family name"), max_length=150, required=False)
    email = forms.EmailField(label=_("E-mail"), required=True)
    phone = forms.RegexField(
        label=_("Phone"),
        regex=r"^[0-9+ ().-]{0,40}$",
        required=False,
        max_length=40,
        error_messages={"invalid": _("Digits, spaces and + ( ) . - only.")},
    )
    language = forms.ChoiceField(label=_("Preferred language"), choices=[("vi", "Tiếng Việt"), ("en", "English")])
    notify_approval_requests = forms.BooleanField(
        label=_("E-mail me when a booking request awaits my approval"), required=False
    )

    def __init__(self, *args, manager: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        if not manager:  # only lab managers decide on requests
            del self.fields["notify_approval_requests"]

    def clean(self):
        data = super().clean()
        if "notify_approval_requests" not in self.fields:
            data["notify_approval_requests"] = None
        return data


class LoginForm(AuthenticationForm):
    """Django's sign-in form, saying so plainly when the login guard refuses (core/login_guard.py)."""

    error_messages = {
        **AuthenticationForm.error_messages,
        "login_locked": _(
            "Too many failed sign-ins for this account or from this address. Try again in %(minutes)d minutes, "
            "or ask a lab manager or an administrator to unlock it."
        ),
    }

    def clean(self):
        try:
            return super().clean()
        except forms.ValidationError:
            if login_guard.locked_out(self.request):
                minutes = max(1, login_guard.retry_after_seconds() // 60)
                raise forms.ValidationError(
                    self.error_messages["login_locked"], code="login_locked", params={"minutes": minutes}
                ) from None
            raise
