"""Sign-up, confirmation, a minor's guardian, consent per purpose, organisations, export, deletion and retention."""

from __future__ import annotations

import io
import json
import re
import zipfile
from datetime import date, timedelta

import pytest
from django.contrib.auth import get_user_model
from django.core import mail
from django.db import connection
from procrastinate.contrib.django.models import ProcrastinateJob

from accounts import export, services, tasks
from accounts.models import Account, Consent, DomainRule, JoinRequest, OrganizationRegistration, Purpose, RequestStatus
from accounts.selectors import DELETION_BLOCKERS, personal_data
from accounts.tokens import email_verification, guardian_token
from bookings.events import HIDDEN_LABEL, public_label
from bookings.models import Booking, BookingStatus
from bookings.services import booking_request
from core import hooks, requestid
from core.errors import DomainError
from labs.models import Audience, BillingContact, LabRole, Member, Organization
from tests.factories import at, make_lab, make_manager, make_organization, make_user

pytestmark = pytest.mark.django_db

CONSENT_ALL = {Purpose.SERVICE: True, Purpose.EMAIL_REMINDERS: True, Purpose.SCREEN_INITIALS: True}
CONSENT_SERVICE = {Purpose.SERVICE: True}


def run_account_jobs() -> int:
    """Run the queued account e-mails as the worker would."""
    jobs = list(ProcrastinateJob.objects.filter(task_name="accounts.send_account_email", status="todo").order_by("id"))
    for job in jobs:
        tasks.send_account_email(**requestid.untagged(job.args))
        with connection.cursor() as cursor:
            cursor.execute("DELETE FROM procrastinate_jobs WHERE id = %s", [job.id])
    return len(jobs)


def sign_up(username="chi", email="chi@student.eiu.edu.vn", consents=CONSENT_SERVICE, birth=date(2000, 5, 1), **extra):
    return services.signup(
        username=username,
        email=email,
        password="a-long-test-password-42",
        first_name="Chi",
        last_name="Lê Thị",
        birth_date=birth,
        consents=consents,
        **extra,
    )


def link_in(message) -> str:
    return re.search(r"https?://\S+", message.body).group(0)


def test_sign_up_waits_for_the_e_mail_then_the_domain_rule_gives_the_audience(settings):
    university = make_organization(Organization.Kind.UNIVERSITY, name="EIU")
    DomainRule.objects.create(domain="student.eiu.edu.vn", audience=Audience.STUDENT, organization=university)
    user = sign_up()
    assert not user.is_active and Member.objects.get(user=user).audience == Audience.EXTERNAL
    assert run_account_jobs() == 1
    [message] = mail.outbox
    assert message.to == ["chi@student.eiu.edu.vn"] and "/accounts/verify/" in link_in(message)
    uid, token = link_in(message).rstrip("/").split("/")[-2:]
    assert services.email_verify(user_id=int(uid and user.pk), token=token) == "active"
    user.refresh_from_db()
    member = Member.objects.get(user=user)
    assert user.is_active and (member.audience, member.organization) == (Audience.STUDENT, university)
    # The link works once.
    with pytest.raises(DomainError) as again:
        services.email_verify(user_id=user.pk, token=token)
    assert again.value.code == "account_already_verified"


def test_a_forged_or_foreign_verification_link_is_refused():
    user = sign_up()
    other = sign_up(username="dung", email="dung@example.vn")
    with pytest.raises(DomainError) as refused:
        services.email_verify(user_id=user.pk, token=email_verification.make_token(other))
    assert refused.value.code == "verification_link_invalid"
    with pytest.raises(DomainError):
        services.email_verify(user_id=None, token="x")


@pytest.mark.parametrize(
    "kwargs, code",
    [
        ({"consents": {Purpose.SERVICE: False}}, "consent_service_required"),
        ({"consents": {}}, "consent_service_required"),
        ({"birth": date(2100, 1, 1)}, "birth_date_invalid"),
        ({"birth": date(2016, 1, 1)}, "guardian_required"),
        ({"username": "taken"}, "username_taken"),
        ({"email": "TAKEN@example.vn"}, "email_taken"),
    ],
)
def test_sign_up_refusals_have_their_codes(kwargs, code):
    make_user("taken").__class__.objects.filter(username="taken").update(email="taken@example.vn")
    with pytest.raises(DomainError) as refused:
        sign_up(**kwargs)
    assert refused.value.code == code


def test_a_weak_password_is_refused_with_the_reasons():
    with pytest.raises(DomainError) as refused:
        services.signup(
            username="e",
            email="e@example.vn",
            password="123",
            first_name="E",
            last_name="F",
            birth_date=date(2000, 1, 1),
            consents=CONSENT_SERVICE,
        )
    assert refused.value.code == "password_invalid" and refused.value.details["problems"]


def test_silence_is_not_consent_and_each_choice_is_logged_with_its_version():
    user = sign_up(consents=CONSENT_SERVICE)
    rows = {c.purpose: c for c in Consent.objects.filter(user=user)}
    assert set(rows) == set(Purpose.values)
    assert rows[Purpose.SERVICE].granted and not rows[Purpose.EMAIL_REMINDERS].granted
    assert not rows[Purpose.SCREEN_INITIALS].granted
    assert {c.notice_version for c in rows.values()} == {"2026-01"}
    member = Member.objects.get(user=user)
    assert not member.shows_initials and not member.email_reminders
    services.consents_update(user=user, choices={Purpose.SCREEN_INITIALS: True, Purpose.EMAIL_REMINDERS: False})
    member.refresh_from_db()
    assert member.shows_initials and not member.email_reminders
    # Only what changed is logged.
    assert Consent.objects.filter(user=user).count() == 4
    with pytest.raises(DomainError) as refused:
        services.consents_update(user=user, choices={Purpose.SERVICE: False})
    assert refused.value.code == "consent_service_required"
    with pytest.raises(DomainError) as refused:
        services.consents_update(user=user, choices={"marketing": True})
    assert refused.value.code == "purpose_unknown"


def test_withdrawn_wall_screen_consent_hides_the_initials():
    user = make_user("lan", first_name="Lan", last_name="Phạm Thị")
    assert public_label(user=user) == Member.objects.get(user=user).initials
    services.consents_update(user=user, choices={Purpose.SCREEN_INITIALS: False})
    user = get_user_model().objects.select_related("member").get(pk=user.pk)
    assert public_label(user=user) == HIDDEN_LABEL
    # A booking billed to an organisation shows the organisation, as before.
    company = make_organization(short_name="SÁNG TẠO")
    assert public_label(user=user, organization=company) == "SÁNG TẠO"


def test_reminders_go_only_to_people_who_agreed(clock, resource):
    from bookings.notifications import send_booking_email

    clock.move_to(at(2030, 3, 4, 7))
    agreed = make_user("agreed")
    declined = make_user("declined", consents=False)
    mine = booking_request(resource=resource, user=agreed, start=at(2030, 3, 4, 9), end=at(2030, 3, 4, 10))
    theirs = booking_request(resource=resource, user=declined, start=at(2030, 3, 4, 11), end=at(2030, 3, 4, 12))
    mail.outbox.clear()
    assert send_booking_email(booking_id=mine.pk, kind="reminder_1h") == 1
    assert send_booking_email(booking_id=theirs.pk, kind="reminder_1h") == 0
    assert send_booking_email(booking_id=theirs.pk, kind="cancelled") == 1  # the service's own e-mails still go


def test_under_16_the_account_waits_for_the_guardian_who_consents_in_their_own_name():
    child = sign_up(
        username="minh",
        email="minh@example.vn",
        birth=date.today() - timedelta(days=365 * 14),
        guardian_name="Phạm Văn Hùng",
        guardian_email="hung@example.vn",
        consents=CONSENT_ALL,
    )
    run_account_jobs()
    token = email_verification.make_token(child)
    assert services.email_verify(user_id=child.pk, token=token) == "awaiting_guardian"
    child.refresh_from_db()
    assert not child.is_active
    run_account_jobs()
    guardian_mail = next(m for m in mail.outbox if m.to == ["hung@example.vn"])
    assert "/accounts/guardian/" in link_in(guardian_mail)
    # A token for another guardian address is refused.
    with pytest.raises(DomainError):
        services.guardian_consent(
            token=guardian_token(user_id=child.pk, guardian_email="x@example.vn"),
            guardian_name="X",
            consents=CONSENT_ALL,
        )
    services.guardian_consent(
        token=link_in(guardian_mail).rstrip("/").split("/")[-1],
        guardian_name="Phạm Văn Hùng",
        consents={Purpose.SERVICE: True, Purpose.SCREEN_INITIALS: False},
    )
    child.refresh_from_db()
    assert child.is_active
    latest = Consent.objects.filter(user=child, source=Consent.Source.GUARDIAN)
    assert {c.purpose: c.granted for c in latest} == {
        Purpose.SERVICE: True,
        Purpose.SCREEN_INITIALS: False,
        Purpose.EMAIL_REMINDERS: False,
    }
    assert {c.given_by_guardian for c in latest} == {"Phạm Văn Hùng"}


def test_joining_an_organisation_is_decided_by_its_billing_contact_or_a_lab_manager():
    company = make_organization(Organization.Kind.STARTUP, name="Công ty Khởi nghiệp Xanh")
    contact = make_user("contact", organization=company)
    BillingContact.objects.create(organization=company, user=contact)
    applicant = make_user("applicant", audience=Audience.EXTERNAL)
    stranger = make_user("stranger")
    request = services.join_request_create(user=applicant, organization=company, message="Em là kỹ sư mới")
    with pytest.raises(DomainError) as twice:
        services.join_request_create(user=applicant, organization=company)
    assert twice.value.code == "join_request_pending"
    run_account_jobs()
    assert [m.to for m in mail.outbox] == [["contact@example.test"]]
    with pytest.raises(DomainError) as refused:
        services.join_request_decide(request=request, by=stranger, approve=True)
    assert refused.value.code == "not_organization_approver"
    services.join_request_decide(request=request, by=contact, approve=True)
    member = Member.objects.get(user=applicant)
    assert member.organization == company and member.audience == Audience.SME
    with pytest.raises(DomainError) as again:
        services.join_request_decide(request=request, by=contact, approve=False)
    assert again.value.code == "request_already_decided"
    # A lab manager may decide too.
    other = services.join_request_create(user=stranger, organization=company)
    services.join_request_decide(request=other, by=make_manager(make_lab()), approve=False, reason="Không quen")
    assert JoinRequest.objects.get(pk=other.pk).status == RequestStatus.REJECTED


def test_an_sme_registers_with_its_tax_code_and_a_manager_approves():
    founder = make_user("founder", audience=Audience.EXTERNAL)
    with pytest.raises(DomainError) as bad:
        services.organization_register(
            by=founder, name="Cơ khí Bình Dương", tax_code="0312345670", address="Thủ Dầu Một", email="kt@ckbd.vn"
        )
    assert bad.value.code == "tax_code_invalid"
    registration = services.organization_register(
        by=founder, name="Cơ khí Bình Dương", tax_code="0312345673", address="Thủ Dầu Một", email="kt@ckbd.vn"
    )
    with pytest.raises(DomainError) as pending:
        services.organization_register(
            by=founder, name="Cơ khí BD 2", tax_code="0312345673", address="x", email="a@b.vn"
        )
    assert pending.value.code == "registration_pending"
    with pytest.raises(DomainError) as refused:
        services.organization_registration_decide(registration=registration, by=founder, approve=True)
    assert refused.value.code == "not_registration_approver"
    services.organization_registration_decide(registration=registration, by=make_manager(make_lab()), approve=True)
    registration.refresh_from_db()
    company = registration.organization
    assert company.tax_code == "0312345673" and company.kind == Organization.Kind.SME
    member = Member.objects.get(user=founder)
    assert member.organization == company and member.audience == Audience.SME
    assert BillingContact.objects.filter(organization=company, user=founder).exists()  # it acts for it
    with pytest.raises(DomainError) as exists:
        services.organization_register(by=founder, name="Khác", tax_code="0312345673", address="x", email="a@b.vn")
    assert exists.value.code == "tax_code_registered"


@pytest.mark.parametrize(
    "code, valid",
    [("0312345673", True), ("0312345673-001", True), ("0312345670", False), ("12345", False), ("031234567a", False)],
)
def test_tax_codes_are_checked_with_their_check_digit(code, valid):
    assert services.tax_code_valid(code) is valid


def test_download_my_data_as_json_and_csv(clock, resource):
    clock.move_to(at(2030, 3, 4, 7))
    user = make_user("export", first_name="Xuân", last_name="Đỗ")
    booking_request(resource=resource, user=user, start=at(2030, 3, 4, 9), end=at(2030, 3, 4, 10), purpose="Cắt mica")
    services.consents_update(user=user, choices={Purpose.SERVICE: True})
    data = personal_data(user)
    document = json.loads(export.as_json(data))
    assert document["profile"]["email"] == "export@example.test"
    assert document["bookings"][0]["purpose"] == "Cắt mica"
    assert document["consents"][0]["purpose"] == Purpose.SERVICE
    archive = zipfile.ZipFile(io.BytesIO(export.as_csv_zip(data)))
    assert set(archive.namelist()) == {f"{s}.csv" for s in export.SECTIONS}
    bookings_csv = archive.read("bookings.csv").decode("utf-8-sig")
    assert "Cắt mica" in bookings_csv and bookings_csv.splitlines()[0].startswith("id,resource")


def test_delete_my_account_erases_the_person_and_keeps_the_bookings_true(clock, resource):
    clock.move_to(at(2030, 3, 4, 7))
    company = make_organization(short_name="ACME")
    user = make_user("leaving", organization=company, first_name="Quý", last_name="Võ")
    user.member.phone = "0909"
    user.member.save()
    past = booking_request(
        resource=resource, user=user, start=at(2030, 3, 4, 9), end=at(2030, 3, 4, 10), organization=company
    )
    ahead = booking_request(resource=resource, user=user, start=at(2030, 3, 6, 9), end=at(2030, 3, 6, 10))
    clock.move_to(at(2030, 3, 5, 7))
    with pytest.raises(DomainError) as unconfirmed:
        services.account_delete(user=user, confirm_username="someone-else")
    assert unconfirmed.value.code == "deletion_not_confirmed"
    services.account_delete(user=user, confirm_username="leaving")
    user.refresh_from_db()
    assert (user.username, user.email, user.first_name, user.last_name) == (f"deleted-{user.pk}", "", "", "")
    assert not user.is_active and not user.has_usable_password()
    member = Member.objects.get(user=user)
    assert member.phone == "" and member.organization == company and member.audience == Audience.STUDENT
    past.refresh_from_db()
    ahead.refresh_from_db()
    assert past.status == BookingStatus.CONFIRMED and past.organization == company and past.price_vnd == past.price_vnd
    assert ahead.status == BookingStatus.CANCELLED
    assert Booking.objects.filter(user=user).count() == 2
    assert Account.objects.get(user=user).anonymised_at is not None
    assert public_label(user=get_user_model().objects.select_related("member").get(pk=user.pk)) == HIDDEN_LABEL


def test_deletion_is_refused_while_an_unpaid_statement_is_open():
    user = make_user("debtor")

    def unpaid(*, user_id):
        return (
            [{"kind": "unpaid_statement", "number": "VSIC-2030-0007", "amount_vnd": 1_250_000}]
            if user_id == user.pk
            else []
        )

    hooks.answer(DELETION_BLOCKERS, unpaid)
    try:
        with pytest.raises(DomainError) as blocked:
            services.account_delete(user=user, confirm_username="debtor")
        assert blocked.value.code == "account_deletion_blocked"
        assert blocked.value.details["blockers"][0]["number"] == "VSIC-2030-0007"
        user.refresh_from_db()
        assert user.is_active and user.username == "debtor"
    finally:
        hooks.stop_answering(DELETION_BLOCKERS, unpaid)
    services.account_delete(user=user, confirm_username="debtor")


def test_an_admin_cannot_delete_their_own_account():
    admin = make_user("boss", is_superuser=True)
    with pytest.raises(DomainError) as refused:
        services.account_delete(user=admin, confirm_username="boss")
    assert refused.value.code == "account_is_admin"


def test_the_retention_sweep_anonymises_accounts_nobody_used(clock, settings, resource):
    settings.LABSHARE_RETENTION_INACTIVE_DAYS = 365
    settings.LABSHARE_RETENTION_WARNING_DAYS = 0  # the warning first: tests/accounts/test_retention_warning.py
    clock.move_to(at(2030, 3, 4, 7))
    idle = make_user("idle")
    busy = make_user("busy")
    manager = make_manager(resource.lab)
    unconfirmed = sign_up(username="ghost", email="ghost@example.vn")
    booking_request(resource=resource, user=busy, start=at(2030, 3, 4, 9), end=at(2030, 3, 4, 10))
    clock.move_to(at(2031, 2, 1, 7))
    booking_request(resource=resource, user=busy, start=at(2031, 2, 3, 9), end=at(2031, 2, 3, 10))
    clock.move_to(at(2031, 3, 10, 2))
    done = services.accounts_retention_sweep()
    assert done == {"inactive": 1, "unverified": 1, "blocked": 0}
    for person, gone in ((idle, True), (busy, False), (manager, False), (unconfirmed, True)):
        person.refresh_from_db()
        assert person.username.startswith("deleted-") is gone, person
    assert LabRole.objects.filter(user=manager).exists()
    assert services.accounts_retention_sweep() == {"inactive": 0, "unverified": 0, "blocked": 0}
    assert OrganizationRegistration.objects.count() == 0


def test_billing_answers_that_an_unpaid_personal_statement_blocks_the_deletion():
    from datetime import date as day

    from billing.models import BillingProfile, Statement

    lab = make_lab()
    issuer = BillingProfile.objects.create(
        lab=lab,
        legal_name="Trung tâm",
        bank_bin="970436",
        bank_name="VCB",
        account_number="0123456789",
        account_name="TT",
    )
    person = make_user("owes")
    statement = Statement.objects.create(
        issuer=issuer, user=person, month=day(2030, 2, 1), status="issued", number="EIU-2030-0001", total_vnd=540_000
    )
    with pytest.raises(DomainError) as blocked:
        services.account_delete(user=person, confirm_username="owes")
    assert blocked.value.code == "account_deletion_blocked"
    assert blocked.value.details["blockers"] == [
        {"kind": "unpaid_statement", "number": "EIU-2030-0001", "status": "issued", "amount_vnd": 540_000}
    ]
    Statement.objects.filter(pk=statement.pk).update(status="paid")
    services.account_delete(user=person, confirm_username="owes")


def test_the_registration_decision_page_approves_for_a_manager_and_refuses_the_founder(client):
    founder = make_user("founder-web", audience=Audience.EXTERNAL)
    registration = services.organization_register(
        by=founder, name="Cơ khí Thủ Dầu Một", tax_code="0312345673", address="Thủ Dầu Một", email="kt@cktdm.vn"
    )
    url = f"/manage/organisations/registrations/{registration.pk}/"
    client.force_login(founder)
    refused = client.post(url, {"decision": "approve", "reason": ""}, follow=True)
    assert [m.level_tag for m in refused.context["messages"]] == ["error"]
    registration.refresh_from_db()
    assert registration.status == RequestStatus.PENDING
    client.force_login(make_manager(make_lab()))
    approved = client.post(url, {"decision": "approve", "reason": ""}, follow=True)
    assert [m.level_tag for m in approved.context["messages"]] == ["success"]
    registration.refresh_from_db()
    assert registration.status == RequestStatus.APPROVED and registration.organization.tax_code == "0312345673"
