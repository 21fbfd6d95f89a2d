"""Managers are e-mailed when a request awaits them, and can turn it off in their profile."""

from __future__ import annotations

import pytest
from django.core import mail
from django.urls import reverse

from bookings.services import booking_request
from labs.models import Member, Resource
from tests.factories import at, make_equipment, make_manager, make_user

pytestmark = pytest.mark.django_db


def ask(machine, hour):
    return booking_request(resource=machine, user=make_user(), start=at(2030, 3, 5, hour), end=at(2030, 3, 5, hour + 1))


def test_a_request_e_mails_the_labs_managers_unless_they_turned_it_off(client, lab, clock, run_mail_jobs):
    clock.move_to(at(2030, 3, 4, 7))
    machine = make_equipment(lab, approval_policy=Resource.ApprovalPolicy.MANAGER)
    manager = make_manager(lab, "manager.fablab")
    ask(machine, 9)
    run_mail_jobs()
    assert manager.email in [address for message in mail.outbox for address in message.to]

    client.force_login(manager)
    page = client.get(reverse("profile")).content.decode()
    assert 'name="notify_approval_requests"' in page and "checked" in page
    client.post(
        reverse("profile"),
        {"first_name": "Quản", "last_name": "Lý", "email": manager.email, "phone": "", "language": "vi"},
    )
    assert Member.objects.get(user=manager).notify_approval_requests is False
    mail.outbox.clear()
    ask(machine, 11)
    run_mail_jobs()
    assert manager.email not in [address for message in mail.outbox for address in message.to]


def test_a_student_is_not_offered_the_setting_and_keeps_it_on(client):
    student = make_user()
    client.force_login(student)
    assert 'name="notify_approval_requests"' not in client.get(reverse("profile")).content.decode()
    client.post(
        reverse("profile"), {"first_name": "An", "last_name": "Nguyễn", "email": student.email, "language": "vi"}
    )
    assert Member.objects.get(user=student).notify_approval_requests is True
