"""Forms of the account pages: sign-up, consent, organisations, deletion, webhooks. They parse; services decide."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from accounts.models import OrganizationRegistration, Purpose
from labs.models import Lab, Member, Organization
from webhooks import catalogue


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, **kwargs):
        super().__init__(format="%Y-%m-%d", **kwargs)


class ConsentFields(forms.Form):
    """One box per optional purpose, never ticked in advance (silence is not consent)."""

    consent_email_reminders = forms.BooleanField(
        label=_("Send me booking reminders by e-mail (24 hours and 1 hour before)"), required=False
    )
    consent_screen_initials = forms.BooleanField(
        label=_("Show my initials on the labs' wall screens while I use a machine"), required=False
    )

    def choices(self) -> dict[str, bool]:
        return {
            Purpose.EMAIL_REMINDERS: self.cleaned_data.get("consent_email_reminders", False),
            Purpose.SCREEN_INITIALS: self.cleaned_data.get("consent_screen_initials", False),
        }


class SignupForm(ConsentFields):
    """Sign up: who I am, a password, my choices about my data; a parent's details under 16."""

    first_name = forms.CharField(label=_("Given name"), max_length=150)
    last_name = forms.CharField(label=_("Family name"), max_length=150)
    username = forms.RegexField(
        label=_("User name"),
        max_length=150,
        regex=r"^[\w.@+-]+$",
        help_text=_("Letters, digits and . @ + - _ only"),
    )
    email = forms.EmailField(
        label=_("E-mail"), help_text=_("Your university address gives you your audience (e.g. student)")
    )
    password1 = forms.CharField(label=_("Password"), widget=forms.PasswordInput, strip=False)
    password2 = forms.CharField(label=_("Password again"), widget=forms.PasswordInput, strip=False)
    birth_date = forms.DateField(label=_("Date of birth"), widget=DateInput())
    phone = forms.CharField(label=_("Phone"), max_length=40, required=False)
    language = forms.ChoiceField(label=_("Preferred language"), choices=Member.Language.choices, initial="vi")
    guardian_name = forms.CharField(label=_("Parent or guardian (under 16)"), max_length=150, required=False)
    guardian_email = forms.EmailField(label=_("Parent's or guardian's e-mail (under 16)"), required=False)
    consent_service = forms.BooleanField(
        label=_(
            "I agree that labshare processes my data as the privacy notice describes, to let me book and use the labs"
        ),
        required=False,
    )
    field_order = [
        "first_name",
        "last_name",
        "username",
        "email",
        "password1",
        "password2",
        "birth_date",
        "phone",
        "language",
        "guardian_name",
        "guardian_email",
        "consent_service",
        "consent_email_reminders",
        "consent_screen_initials",
    ]

    def clean(self):
        data = super().clean()
        if data.get("password1") and data.get("password1") != data.get("password2"):
            self.add_error("password2", _("The two passwords differ."))
        return data

    def choices(self) -> dict[str, bool]:
        return {Purpose.SERVICE: self.cleaned_data.get("consent_service", False), **super().choices()}


class GuardianForm(ConsentFields):
    """A parent or guardian answers for a member under 16."""

    guardian_name = forms.CharField(label=_("Your name"), max_length=150)
    consent_service = forms.BooleanField(
        label=_("I agree that labshare processes my child's data as the privacy notice describes"), required=False
    )

    def choices(self) -> dict[str, bool]:
        return {Purpose.SERVICE: self.cleaned_data.get("consent_service", False), **super().choices()}


class PrivacyForm(ConsentFields):
    """My choices in the profile (and, on a first university sign-in, consent to the service)."""

    consent_service = forms.BooleanField(
        label=_("I agree that labshare processes my data as the privacy notice describes"), required=False
    )


class EmailForm(forms.Form):
    email = forms.EmailField(label=_("E-mail"))


class DeleteForm(forms.Form):
    confirm_username = forms.CharField(label=_("Type your user name to confirm"), max_length=150)


class JoinForm(forms.Form):
    organization = forms.ModelChoiceField(label=_("Organisation"), queryset=Organization.objects.order_by("name"))
    message = forms.CharField(
        label=_("Message (optional)"), max_length=500, required=False, widget=forms.Textarea(attrs={"rows": 2})
    )


class RegistrationForm(forms.ModelForm):
    """An SME or start-up registering itself."""

    class Meta:
        model = OrganizationRegistration
        fields = ["name", "name_en", "short_name", "kind", "tax_code", "address", "email", "phone", "website"]


class DecisionForm(forms.Form):
    decision = forms.ChoiceField(choices=[("approve", _("Approve")), ("reject", _("Reject"))])
    reason = forms.CharField(label=_("Reason"), max_length=300, required=False)


class WebhookForm(forms.Form):
    """A new webhook subscription: where, what, for which lab or organisation."""

    url = forms.URLField(label=_("Receiver URL"), max_length=500, assume_scheme="https")
    description = forms.CharField(label=_("Description"), max_length=200, required=False)
    event_types = forms.MultipleChoiceField(label=_("Events"), widget=forms.CheckboxSelectMultiple, choices=[])
    lab = forms.ModelChoiceField(label=_("Lab"), queryset=Lab.objects.none(), required=False)
    organization = forms.ModelChoiceField(label=_("Organisation"), queryset=Organization.objects.none(), required=False)

    def __init__(self, *args, labs=None, organizations=None, language="vi", **kwargs):
        super().__init__(*args, **kwargs)
        groups = [(f"{g}.*", f"{g}.* ") for g in catalogue.GROUPS if g != "webhook"]
        types = [
            (t.name, f"{t.name} — {t.en if language == 'en' else t.vi}")
            for t in catalogue.EVENT_TYPES.values()
            if t.group != "webhook"
        ]
        self.fields["event_types"].choices = groups + types
        self.fields["lab"].queryset = labs if labs is not None else Lab.objects.none()
        self.fields["organization"].queryset = (
            organizations if organizations is not None else Organization.objects.none()
        )
