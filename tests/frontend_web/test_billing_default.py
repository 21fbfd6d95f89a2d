"""Who pays on the web: the form starts from the engine's default, and what the person ticks is what is billed."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse

from bookings.models import Booking
from labs.models import Audience, Organization
from tests.factories import make_equipment, make_organization, make_user
from tests.frontend_web.test_actions import form_data, next_weekday

pytestmark = pytest.mark.django_db


def _checkbox(client, machine) -> str:
    page = client.get(reverse("resource", args=[machine.slug])).content.decode()
    return page[page.index('name="bill_organization"') - 200 : page.index('name="bill_organization"') + 120]


def test_an_sme_member_finds_company_billing_ticked_and_a_student_finds_the_university_unticked(client, lab):
    machine = make_equipment(lab)
    sme = make_user(audience=Audience.SME, organization=make_organization(Organization.Kind.SME))
    student = make_user(audience=Audience.STUDENT, organization=make_organization(Organization.Kind.UNIVERSITY))
    client.force_login(sme)
    assert "checked" in _checkbox(client, machine)
    client.force_login(student)
    assert "checked" not in _checkbox(client, machine)


def test_what_the_person_leaves_unticked_is_a_personal_booking(client, lab):
    machine = make_equipment(lab)
    sme = make_user(audience=Audience.SME, organization=make_organization(Organization.Kind.SME))
    client.force_login(sme)
    start = next_weekday(lab, hour=9)
    response = client.post(
        reverse("resource_book", args=[machine.slug]), {**form_data(start, start + timedelta(hours=1)), "confirm": "1"}
    )
    assert response.status_code == 302
    assert Booking.objects.get(resource=machine).organization is None
