"""E-mail notifications: the user's language, after commit only, an .ics that calendars can read."""

from __future__ import annotations

from datetime import date, timedelta

import icalendar
import pytest
from django.db import transaction
from django.utils import timezone

from bookings import jobs, notifications, tasks
from bookings.ical import booking_invitation as booking_ics
from bookings.jobs import EMAIL_KINDS as KINDS
from bookings.jobs import notification_jobs
from bookings.models import Booking, BookingStatus
from bookings.services import booking_request
from core.formatting import format_vnd
from labs.models import Resource
from tests.factories import at, make_lab, make_manager, make_resource, make_space, make_user, open_weekdays


def next_monday(weeks: int = 2) -> date:
    today = timezone.localdate()
    return today + timedelta(days=(7 - today.weekday()) % 7 or 7) + timedelta(weeks=weeks - 1)


def book(resource, user, *, hour: int = 9) -> Booking:
    day = next_monday()
    return booking_request(
        resource=resource,
        user=user,
        start=at(day.year, day.month, day.day, hour),
        end=at(day.year, day.month, day.day, hour + 1),
    )


def ics_of(mail) -> icalendar.Calendar:
    [(name, content, mimetype)] = mail.attachments
    assert name.endswith(".ics")
    assert mimetype.startswith("text/calendar")
    return icalendar.Calendar.from_ical(content)


def test_money_is_written_the_vietnamese_way():
    assert format_vnd(1_250_000) == "1.250.000 ₫"
    assert format_vnd(0) == "0 ₫"
    assert format_vnd(1_250_000, "en") == "1,250,000 VND"


def test_confirmation_is_sent_by_the_worker_in_vietnamese_by_default_with_an_ics(
    lab, resource, student, mailoutbox, run_mail_jobs
):
    booking = book(resource, student)
    assert mailoutbox == []  # never inside the request: the worker sends it
    assert run_mail_jobs() == 1
    [mail] = mailoutbox
    assert mail.to == [student.email]
    assert mail.subject.startswith("Đã xác nhận")
    assert "Thứ Hai" in mail.subject and "09:00–10:00" in mail.subject
    assert "Xin chào" in mail.body and lab.name_vi in mail.body
    calendar = ics_of(mail)
    assert calendar["method"] == "REQUEST"
    [event] = calendar.walk("VEVENT")
    # The same UID whatever address the app is served at (issue 14: a port change must not duplicate events).
    assert event["uid"] == f"booking-{booking.pk}@labshare"
    assert event.decoded("dtstart") == booking.start
    assert event.decoded("dtend") == booking.end
    assert str(event.decoded("dtstart").tzinfo) == "Asia/Ho_Chi_Minh"
    assert event["dtstart"].params["TZID"] == "Asia/Ho_Chi_Minh"
    assert event.decoded("dtstart").hour == 9
    assert [tz["tzid"] for tz in calendar.walk("VTIMEZONE")] == ["Asia/Ho_Chi_Minh"]
    assert lab.name_vi in str(event["location"])


def test_english_speaker_gets_english_and_the_location_of_the_room(lab, mailoutbox, run_mail_jobs):
    room = make_space(lab, name_vi="Phòng CNC", name_en="CNC room")
    machine = make_resource(lab, name_vi="Máy phay", name_en="Milling machine", location=room)
    english = make_user(language="en")
    book(machine, english)
    run_mail_jobs()
    [mail] = mailoutbox
    assert mail.subject.startswith("Confirmed: Milling machine, Monday")
    assert "Hello" in mail.body and "Xin chào" not in mail.body
    [event] = ics_of(mail).walk("VEVENT")
    assert str(event["location"]).startswith("CNC room, Lab ")


def test_nothing_is_sent_when_the_transaction_rolls_back(resource, student, mailoutbox, run_mail_jobs):
    with pytest.raises(RuntimeError):
        with transaction.atomic():
            booking = book(resource, student)
            jobs.defer_jobs(notification_jobs(booking, kinds=("reminder_1h",)))
            raise RuntimeError("rolled back")
    assert run_mail_jobs() == 0
    assert mailoutbox == []
    assert not Booking.objects.exists()


def test_approval_request_goes_to_the_lab_and_center_managers_only(db, mailoutbox, run_mail_jobs):
    center = make_lab("center")
    lab = make_lab("sub-lab", parent=center)
    open_weekdays(lab)
    other = make_lab("other-lab")
    lab_manager = make_manager(lab)
    center_manager = make_manager(center)
    center_manager.member.language = "en"
    center_manager.member.save()
    make_manager(other)  # must not hear of it
    resource = make_resource(lab, approval_policy=Resource.ApprovalPolicy.MANAGER)
    student = make_user()
    booking = book(resource, student)
    assert run_mail_jobs() == 2  # "requested" to the student, "approval_needed" to the managers
    assert booking.status == BookingStatus.REQUESTED
    approvals = {m.to[0]: m for m in mailoutbox if m.to != [student.email]}
    assert set(approvals) == {lab_manager.email, center_manager.email}
    assert approvals[lab_manager.email].subject.startswith("Cần duyệt")
    assert approvals[center_manager.email].subject.startswith("Approval needed")
    [to_student] = [m for m in mailoutbox if m.to == [student.email]]
    assert to_student.subject.startswith("Đã nhận yêu cầu")
    assert to_student.attachments == []


def test_rescheduled_and_cancelled_calendars_keep_the_uid_and_raise_the_sequence(resource, student):
    booking = book(resource, student)
    confirmed = booking_ics(booking, method="REQUEST")
    booking.events.create(from_status="confirmed", to_status="confirmed", reason="rescheduled")
    cancelled = booking_ics(booking, method="CANCEL")
    [first] = icalendar.Calendar.from_ical(confirmed).walk("VEVENT")
    [second] = icalendar.Calendar.from_ical(cancelled).walk("VEVENT")
    assert first["uid"] == second["uid"]
    assert second["sequence"] > first["sequence"]
    assert second["status"] == "CANCELLED"


@pytest.mark.parametrize("language", ["vi", "en"])
def test_every_kind_renders_in_both_languages(resource, language, mailoutbox, run_mail_jobs):
    user = make_user(language=language)
    booking = book(resource, user)
    Booking.objects.filter(pk=booking.pk).update(price_vnd=1_250_000, expires_at=booking.start - timedelta(hours=1))
    manager = make_manager(resource.lab)
    manager.member.language = language
    manager.member.save()
    run_mail_jobs()
    mailoutbox.clear()
    for kind in KINDS:
        jobs.defer_jobs(notification_jobs(booking, kinds=(kind,), reason="Máy đang bảo trì"))
    run_mail_jobs()
    assert len(mailoutbox) == len(KINDS)
    for mail in mailoutbox:
        assert mail.subject and "{{" not in mail.body and "{%" not in mail.body
        assert ("Xin chào" in mail.body) == (language == "vi")
    price = "1.250.000 ₫" if language == "vi" else "1,250,000 VND"
    [confirmed] = [
        m
        for m in mailoutbox
        if m.attachments and "REQUEST" in m.attachments[0][2] and m.to == [user.email] and price in m.body
    ]
    assert confirmed


def test_unknown_kind_is_a_programming_error(resource, student):
    booking = book(resource, student)
    with pytest.raises(ValueError):
        notification_jobs(booking, kinds=("birthday",))


def test_a_failing_mail_server_never_touches_the_booking_and_the_job_is_retried(
    resource, student, settings, run_mail_jobs
):
    from procrastinate.contrib.django.models import ProcrastinateJob

    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", 1  # nothing listens there
    settings.EMAIL_TIMEOUT = 2
    booking = book(resource, student)  # the request does not wait for the mail server
    assert Booking.objects.get(pk=booking.pk).status == BookingStatus.CONFIRMED
    [job] = ProcrastinateJob.objects.filter(task_name=tasks.send_notification.name, args__booking_id=booking.pk)
    assert job.args == {"booking_id": booking.pk, "kind": "confirmed", "reason": ""}
    with pytest.raises(OSError):
        run_mail_jobs()  # the worker's attempt fails ...
    # ... and procrastinate tries again later, with growing waits.
    strategy = tasks.send_notification.retry_strategy
    attempt = jobs.new_job(jobs.SEND_NOTIFICATION, at=None, **job.args)

    def wait_after(attempts):
        before = timezone.now()
        decision = strategy.get_retry_decision(exception=OSError(), job=attempt.evolve(attempts=attempts))
        return round((decision.retry_at - before).total_seconds()) if decision else None

    assert [wait_after(n) for n in (0, 1, 2)] == [7, 9, 13]
    assert wait_after(9) == 5 + 2**10  # the tenth and last attempt comes about 35 minutes after the first
    assert wait_after(10) is None
    # Reminders and waitlist offers leave by the same road.
    assert tasks.send_reminder.retry_strategy is strategy is tasks.send_waitlist_offer.retry_strategy
    assert Booking.objects.get(pk=booking.pk).status == BookingStatus.CONFIRMED


def test_an_email_job_for_a_booking_that_is_gone_sends_nothing(db, mailoutbox):
    assert tasks.send_notification(booking_id=987654, kind="confirmed") == 0
    assert mailoutbox == []


def test_user_without_member_profile_gets_vietnamese():
    assert notifications.language_of(None) == "vi"
