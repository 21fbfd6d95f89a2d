"""The Django admin on the demo network: every page renders in few queries, managers see only their
labs, booking decisions go through the services, and nothing that is history can be deleted or edited."""

from __future__ import annotations

import pytest
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.db import transaction
from django.test.utils import override_settings
from django.urls import reverse

from bookings.models import Booking, BookingEvent, BookingStatus
from demo.network import DEMO_PASSWORD
from labs import tree
from labs.models import CalendarEntry, Lab, Resource

FAST_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

#: The apps whose admin this suite covers, and Django's user admin (which labshare replaces).
COVERED_APPS = {"labs", "equipment", "bookings"}

#: The most queries any changelist, add or change page may take on the demo network (about 60
#: bookings, 56 resources, 80 calendar entries): a per-row query would blow far past it.
MAX_QUERIES = 20


@pytest.fixture(scope="class")
def demo_network(django_db_setup, django_db_blocker):
    """The demo network, loaded once per class inside a transaction that is rolled back afterwards."""
    with override_settings(PASSWORD_HASHERS=FAST_HASHERS), django_db_blocker.unblock(), transaction.atomic():
        call_command("load_demo", verbosity=0)
        yield
        transaction.set_rollback(True)


@pytest.fixture
def demo(demo_network, db):
    return None


def _login(client, username: str):
    client.force_login(get_user_model().objects.get(username=username))
    return client


def _covered_models():
    models = [m for m in admin.site._registry if m._meta.app_label in COVERED_APPS]
    return sorted([*models, get_user_model()], key=lambda m: m._meta.label)


def _url(model, view: str, *args) -> str:
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{view}", args=args)


def _changelist_ids(response) -> set[int]:
    # Every row the list holds, on all its pages (the demo's months of history fill more than one).
    return set(response.context["cl"].queryset.values_list("pk", flat=True))


def _post_action(client, action: str, bookings, reason: str = ""):
    data = {"action": action, "_selected_action": [b.pk for b in bookings], "index": 0, "reason": reason}
    return client.post(_url(Booking, "changelist"), data, follow=True)


def _messages(response) -> list[str]:
    return [str(m) for m in response.context["messages"]]


def test_every_covered_model_is_registered():
    labels = {m._meta.label for m in _covered_models()}
    expected = {
        "labs.Lab",
        "labs.Organization",
        "labs.Member",
        "labs.LabRole",
        "labs.Certification",
        "labs.CertificationGrant",
        "labs.Resource",
        "labs.Space",
        "labs.CalendarEntry",
        "equipment.Category",
        "equipment.Partner",
        "equipment.Equipment",
        "bookings.Booking",
        "bookings.BookingEvent",
        "auth.User",
    }
    assert expected <= labels


class TestPagesRender:
    """Changelist, add and change pages of every covered model, for a superuser, in bounded queries."""

    @pytest.mark.parametrize("model", _covered_models(), ids=lambda m: m._meta.label)
    def test_changelist_renders_in_bounded_queries(self, demo, client, model, django_assert_max_num_queries):
        _login(client, "admin")
        with django_assert_max_num_queries(MAX_QUERIES):
            response = client.get(_url(model, "changelist"))
        assert response.status_code == 200

    @pytest.mark.parametrize("model", _covered_models(), ids=lambda m: m._meta.label)
    def test_change_page_renders_in_bounded_queries(self, demo, client, model, django_assert_max_num_queries):
        obj = model._default_manager.order_by("pk").first()
        assert obj is not None, f"the demo has no {model._meta.label}: give it one, so this page is tested"
        _login(client, "admin")
        with django_assert_max_num_queries(MAX_QUERIES):
            response = client.get(_url(model, "change", obj.pk))
        assert response.status_code == 200

    @pytest.mark.parametrize("model", _covered_models(), ids=lambda m: m._meta.label)
    def test_add_page_renders_or_is_refused(self, demo, client, model, django_assert_max_num_queries):
        _login(client, "admin")
        with django_assert_max_num_queries(MAX_QUERIES):
            response = client.get(_url(model, "add"))
        # Bookings and audit rows are never added here; everything else is.
        expected = (
            403
            if model._meta.label
            in {"bookings.Booking", "bookings.BookingEvent", "bookings.BookingSeries", "bookings.WaitlistEntry"}
            else 200
        )
        assert response.status_code == expected

    @pytest.mark.parametrize("model", _covered_models(), ids=lambda m: m._meta.label)
    def test_manager_changelist_renders_in_bounded_queries(self, demo, client, model, django_assert_max_num_queries):
        _login(client, "manager.vsic")
        with django_assert_max_num_queries(MAX_QUERIES):
            response = client.get(_url(model, "changelist"))
        assert response.status_code == 200

    def test_search_and_filters_work_on_the_booking_list(self, demo, client):
        _login(client, "admin")
        response = client.get(_url(Booking, "changelist"), {"q": "sinhvien.an", "status__exact": "completed"})
        assert response.status_code == 200
        rows = response.context["cl"].result_list
        assert rows and all(b.user.username == "sinhvien.an" and b.status == "completed" for b in rows)

    def test_calendar_entries_filter_by_kind(self, demo, client):
        _login(client, "admin")
        response = client.get(_url(CalendarEntry, "changelist"), {"kind__exact": "holiday"})
        kinds = {e.kind for e in response.context["cl"].result_list}
        assert kinds == {"holiday"}

    def test_booking_list_shows_start_in_lab_time_and_price_in_vnd(self, demo, client):
        _login(client, "admin")
        booking = Booking.objects.filter(price_vnd__gte=100_000).select_related("resource__lab").first()
        response = client.get(_url(Booking, "changelist"), {"q": str(booking.pk)})
        html = response.content.decode()
        assert booking.start.astimezone(booking.resource.lab.tz).strftime("%d/%m/%Y %H:%M") in html
        assert f"{booking.price_vnd:,}".replace(",", ".") + "\u00a0₫" in html


class TestManagerScope:
    """A lab manager (staff, not superuser) sees and picks only the labs they manage and the labs below."""

    def test_fablab_manager_sees_only_fablab_bookings(self, demo, client):
        _login(client, "manager.fablab")
        response = client.get(_url(Booking, "changelist"), {"all": ""})
        assert response.status_code == 200
        expected = set(Booking.objects.filter(resource__lab__slug="eiu-fablab").values_list("pk", flat=True))
        assert expected and _changelist_ids(response) == expected

    def test_center_manager_sees_the_whole_center_subtree_and_nothing_else(self, demo, client):
        _login(client, "manager.vsic")
        response = client.get(_url(Booking, "changelist"))
        subtree = tree.subtree_ids([Lab.objects.get(slug="vsic").pk])
        expected = set(Booking.objects.filter(resource__lab_id__in=subtree).values_list("pk", flat=True))
        assert _changelist_ids(response) == expected
        labs_seen = set(
            Booking.objects.filter(pk__in=_changelist_ids(response)).values_list("resource__lab__slug", flat=True)
        )
        assert "vsic-robotics" in labs_seen and "eiu-fablab" not in labs_seen

    def test_manager_cannot_open_another_labs_booking(self, demo, client):
        foreign = Booking.objects.filter(resource__lab__slug="eiu-fablab").first()
        _login(client, "manager.vsic")
        response = client.get(_url(Booking, "change", foreign.pk))
        assert response.status_code == 302  # the admin's "does not exist" redirect, never the page
        assert response.url == reverse("admin:index")

    def test_manager_sees_only_their_labs_and_resources(self, demo, client):
        _login(client, "manager.fablab")
        labs = client.get(_url(Lab, "changelist"))
        assert {lab.slug for lab in labs.context["cl"].result_list} == {"eiu-fablab"}
        resources = client.get(_url(Resource, "changelist"), {"all": ""})
        assert {r.lab_id for r in resources.context["cl"].result_list} == {Lab.objects.get(slug="eiu-fablab").pk}

    def test_manager_form_offers_only_their_labs(self, demo, client):
        _login(client, "manager.fablab")
        response = client.get(_url(CalendarEntry, "add"))
        assert response.status_code == 200
        form = response.context["adminform"].form
        assert {lab.slug for lab in form.fields["lab"].queryset} == {"eiu-fablab"}
        assert not form.fields["resource"].queryset.exclude(lab__slug="eiu-fablab").exists()

    def test_manager_autocomplete_returns_only_their_resources(self, demo, client):
        _login(client, "manager.fablab")
        response = client.get(
            reverse("admin:autocomplete"),
            {"term": "", "app_label": "labs", "model_name": "resource", "field_name": "location"},
        )
        assert response.status_code == 200
        ids = {int(r["id"]) for r in response.json()["results"]}
        assert ids and set(Resource.objects.filter(pk__in=ids).values_list("lab__slug", flat=True)) == {"eiu-fablab"}

    def test_manager_calendar_entries_are_their_labs_only(self, demo, client):
        _login(client, "manager.fablab")
        response = client.get(_url(CalendarEntry, "changelist"), {"all": ""})
        fablab = Lab.objects.get(slug="eiu-fablab")
        for entry in response.context["cl"].result_list:
            owner = (
                Lab.objects.filter(calendar=entry.calendar).first() or Resource.objects.get(calendar=entry.calendar).lab
            )
            assert owner.pk == fablab.pk, entry.title

    def test_student_cannot_enter_the_admin(self, demo, client):
        _login(client, "sinhvien.an")
        response = client.get(_url(Booking, "changelist"))
        assert response.status_code == 302
        assert "/login/" in response.url


class TestBookingActions:
    """Approve / reject / cancel go through the booking services; refusals come back by their code."""

    def _request(self):
        return (
            Booking.objects.filter(status=BookingStatus.REQUESTED, resource__lab__slug="eiu-fablab")
            .order_by("start")
            .first()
        )

    def test_approve_action_confirms_through_the_service_and_writes_an_audit_row(self, demo, client):
        request = self._request()
        manager = get_user_model().objects.get(username="manager.fablab")
        _login(client, "manager.fablab")
        response = _post_action(client, "approve_selected", [request])
        assert response.status_code == 200
        request.refresh_from_db()
        assert request.status == BookingStatus.CONFIRMED
        assert request.decided_by == manager
        assert request.price_vnd is not None  # the service fixes the price on approval
        event = request.events.order_by("-id").first()
        assert (event.from_status, event.to_status, event.actor, event.source) == (
            "requested",
            "confirmed",
            manager,
            "manager",
        )
        assert any(f"#{request.pk}" in m for m in _messages(response))

    def test_approving_a_confirmed_booking_reports_the_error_code_and_changes_nothing(self, demo, client):
        confirmed = Booking.objects.filter(status=BookingStatus.CONFIRMED, resource__lab__slug="eiu-fablab").first()
        events_before = confirmed.events.count()
        _login(client, "manager.fablab")
        response = _post_action(client, "approve_selected", [confirmed])
        confirmed.refresh_from_db()
        assert confirmed.status == BookingStatus.CONFIRMED
        assert confirmed.events.count() == events_before
        assert any("[invalid_transition]" in m for m in _messages(response))

    def test_reject_without_a_reason_is_refused(self, demo, client):
        request = self._request()
        _login(client, "manager.fablab")
        response = _post_action(client, "reject_selected", [request], reason="  ")
        request.refresh_from_db()
        assert request.status == BookingStatus.REQUESTED
        assert any("[reason_required]" in m for m in _messages(response))

    def test_reject_with_a_reason_rejects_and_keeps_the_reason(self, demo, client):
        request = self._request()
        _login(client, "manager.fablab")
        _post_action(client, "reject_selected", [request], reason="Máy bảo trì / Machine in service")
        request.refresh_from_db()
        assert request.status == BookingStatus.REJECTED
        assert request.reason == "Máy bảo trì / Machine in service"
        assert request.events.filter(to_status="rejected", reason=request.reason).exists()

    def test_cancel_action_cancels_a_confirmed_booking_with_who_and_why(self, demo, client):
        confirmed = Booking.objects.filter(status=BookingStatus.CONFIRMED, resource__lab__slug="eiu-fablab").first()
        manager = get_user_model().objects.get(username="manager.fablab")
        _login(client, "manager.fablab")
        _post_action(client, "cancel_selected", [confirmed], reason="Mất điện / Power cut")
        confirmed.refresh_from_db()
        assert confirmed.status == BookingStatus.CANCELLED
        assert confirmed.cancelled_by == manager and confirmed.reason == "Mất điện / Power cut"

    def test_manager_cannot_act_on_another_labs_booking(self, demo, client):
        foreign = (
            Booking.objects.filter(status=BookingStatus.REQUESTED).exclude(resource__lab__slug="eiu-fablab").first()
        )
        _login(client, "manager.fablab")
        _post_action(client, "approve_selected", [foreign])
        foreign.refresh_from_db()
        assert foreign.status == BookingStatus.REQUESTED


class TestHistoryIsReadOnly:
    """Bookings are never deleted nor their status edited here; audit rows are never changed."""

    def test_delete_is_not_offered_for_bookings(self, demo, client):
        booking = Booking.objects.first()
        _login(client, "admin")
        changelist = client.get(_url(Booking, "changelist"))
        actions = [name for name, _label in changelist.context["action_form"].fields["action"].choices]
        assert "delete_selected" not in actions
        assert {"approve_selected", "reject_selected", "cancel_selected"} <= set(actions)
        change = client.get(_url(Booking, "change", booking.pk))
        assert change.context["has_delete_permission"] is False
        assert client.get(_url(Booking, "delete", booking.pk)).status_code == 403
        assert client.post(_url(Booking, "delete", booking.pk), {"post": "yes"}).status_code == 403
        assert Booking.objects.filter(pk=booking.pk).exists()

    def test_status_cannot_be_edited_in_the_change_form(self, demo, client):
        booking = Booking.objects.filter(status=BookingStatus.CONFIRMED).first()
        _login(client, "admin")
        page = client.get(_url(Booking, "change", booking.pk))
        assert "status" not in page.context["adminform"].form.fields
        client.post(
            _url(Booking, "change", booking.pk),
            {
                "status": "cancelled",
                "purpose": "changed purpose",
                "organization": booking.organization_id or "",
                "events-TOTAL_FORMS": 0,
                "events-INITIAL_FORMS": booking.events.count(),
                "events-MIN_NUM_FORMS": 0,
                "events-MAX_NUM_FORMS": 0,
            },
        )
        booking.refresh_from_db()
        assert booking.status == BookingStatus.CONFIRMED
        assert booking.purpose == "changed purpose"

    def test_audit_rows_are_read_only(self, demo, client):
        event = BookingEvent.objects.first()
        _login(client, "admin")
        page = client.get(_url(BookingEvent, "change", event.pk))
        assert page.status_code == 200
        assert page.context["has_change_permission"] is False
        client.post(_url(BookingEvent, "change", event.pk), {"reason": "rewritten", "to_status": "completed"})
        client.post(_url(BookingEvent, "delete", event.pk), {"post": "yes"})
        event.refresh_from_db()
        assert event.reason != "rewritten"
        assert client.get(_url(BookingEvent, "add")).status_code == 403

    def test_demo_manager_logs_in_with_the_demo_password(self, demo, client):
        with override_settings(PASSWORD_HASHERS=FAST_HASHERS):
            assert client.login(username="manager.fablab", password=DEMO_PASSWORD)
        assert client.get(_url(Booking, "changelist")).status_code == 200
