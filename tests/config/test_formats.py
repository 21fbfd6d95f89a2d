"""Dates as people in Vietnam write them: 02/12/2026 is the 2nd of December, in the admin and every form."""

from __future__ import annotations

from datetime import date, datetime

import pytest
from django import forms
from django.apps import apps
from django.utils import translation


@pytest.mark.parametrize("language", ["vi", "en"])
def test_a_typed_date_is_read_day_first_in_both_languages(language):
    class Form(forms.Form):
        day = forms.DateField()
        moment = forms.DateTimeField()

    with translation.override(language):
        form = Form({"day": "02/12/2026", "moment": "02/12/2026 14:30"})
        assert form.is_valid(), form.errors
    assert form.cleaned_data["day"] == date(2026, 12, 2)
    moment = form.cleaned_data["moment"]
    assert (moment.day, moment.month, moment.hour, moment.minute) == (2, 12, 14, 30)
    assert isinstance(moment, datetime)


def test_iso_dates_from_native_pickers_are_still_read():
    class Form(forms.Form):
        day = forms.DateField()

    with translation.override("vi"):
        form = Form({"day": "2026-12-02"})
        assert form.is_valid() and form.cleaned_data["day"] == date(2026, 12, 2)


def test_every_admin_section_has_a_name_in_both_languages():
    for label in ("api", "procrastinate", "schedule", "frontend"):
        name = apps.get_app_config(label).verbose_name
        with translation.override("vi"):
            vietnamese = str(name)
        with translation.override("en"):
            english = str(name)
        assert vietnamese != english, label
