"""Page views: status codes, language, and the essentials each page shows."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from tests.factories import make_category, make_equipment, make_lab, make_manager, make_user, open_weekdays

pytestmark = pytest.mark.django_db


def test_healthz_answers_ok(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json()["status"] == "ok"  # with each dependency's check (tests/ops/test_observability.py)


def test_home_shows_the_lab_tree_with_sub_labs(client):
    center = make_lab("center", name_vi="Trung tâm đổi mới")
    make_lab("fablab-sub", parent=center, name_vi="FabLab con")
    response = client.get(reverse("home"))
    assert response.status_code == 200
    html = response.content.decode()
    assert "Trung tâm đổi mới" in html and "FabLab con" in html
    assert html.index("Trung tâm đổi mới") < html.index("FabLab con")


def test_pages_are_in_vietnamese_by_default_with_lang_attribute(client):
    response = client.get(reverse("home"))
    assert '<html lang="vi">' in response.content.decode()


def test_language_switch_sets_english(client):
    response = client.post(reverse("set_language"), {"language": "en", "next": "/"})
    assert response.status_code == 302
    page = client.get(reverse("home"))
    assert '<html lang="en">' in page.content.decode()


def test_lab_page_renders_week_and_day_views(client, lab):
    make_equipment(lab, name_vi="Máy cắt laser A")
    for view in ("week", "day"):
        response = client.get(reverse("lab", args=[lab.slug]), {"view": view})
        assert response.status_code == 200
        assert "Máy cắt laser A" in response.content.decode()
        assert 'class="timeline tl-days-' in response.content.decode()


def test_unknown_lab_is_404(client):
    assert client.get(reverse("lab", args=["nope"])).status_code == 404


def test_resource_page_prefills_the_form_from_a_chosen_slot(client, lab):
    machine = make_equipment(lab)
    user = make_user()
    client.force_login(user)
    start = (timezone.now() + timedelta(days=2)).astimezone(lab.tz).replace(hour=10, minute=0, second=0, microsecond=0)
    response = client.get(
        reverse("resource", args=[machine.slug]),
        {"start": start.isoformat(), "end": (start + timedelta(hours=1)).isoformat()},
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert 'value="10:00"' in html and 'value="11:00"' in html


def test_private_pages_send_anonymous_users_to_sign_in(client):
    for name in ("my_bookings", "profile", "manage", "organization"):
        response = client.get(reverse(name))
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("login"))


def test_manager_pages_are_forbidden_to_students(client):
    client.force_login(make_user())
    for name in ("manage", "manage_maintenance", "manage_certifications", "manage_displays"):
        assert client.get(reverse(name)).status_code == 403


def test_manager_pages_render_for_a_manager(client, lab):
    client.force_login(make_manager(lab))
    for name in ("manage", "manage_queue", "manage_maintenance", "manage_certifications", "manage_displays"):
        assert client.get(reverse(name), HTTP_HX_REQUEST="true").status_code == 200, name


def test_my_pages_render_for_a_student(client):
    client.force_login(make_user())
    for name in ("my_bookings", "my_bookings_list", "profile"):
        assert client.get(reverse(name), HTTP_HX_REQUEST="true").status_code == 200, name


def test_organisation_page_is_404_without_an_organisation(client):
    client.force_login(make_user())
    assert client.get(reverse("organization")).status_code == 404


def test_sign_in_page_and_password_reset_pages_render(client):
    assert client.get(reverse("login")).status_code == 200
    assert client.get(reverse("password_reset")).status_code == 200


def test_find_lists_free_laser_cutters_across_labs(client):
    laser = make_category("laser-cutter")
    labs = [make_lab(), make_lab()]
    for lab in labs:
        open_weekdays(lab)
        make_equipment(lab, category=laser)
    today = timezone.localdate()
    response = client.get(
        reverse("find"),
        {
            "category": laser.pk,
            "duration": 60,
            "date_from": today.isoformat(),
            "date_to": (today + timedelta(days=7)).isoformat(),
        },
    )
    assert response.status_code == 200
    options = response.context["options"]
    assert options, "expected free options"
    assert {o.resource.lab_id for o in options} == {lab.pk for lab in labs}
    assert all(o.end - o.start == timedelta(hours=1) for o in options)


def test_find_with_dates_in_wrong_order_shows_an_error_not_a_500(client):
    response = client.get(reverse("find"), {"duration": 60, "date_from": "2030-01-10", "date_to": "2030-01-01"})
    assert response.status_code == 200
    assert response.context["form"].errors


def test_home_speaks_vietnamese_by_default_and_english_on_request(client):
    assert "Tìm máy trống" in client.get(reverse("home")).content.decode()
    client.post(reverse("set_language"), {"language": "en", "next": "/"})
    assert "Find a free machine" in client.get(reverse("home")).content.decode()


def test_vietnamese_translation_has_no_untranslated_or_fuzzy_message():
    import subprocess
    from pathlib import Path

    po = Path(__file__).resolve().parents[2] / "locale" / "vi" / "LC_MESSAGES" / "django.po"
    result = subprocess.run(
        ["msgfmt", "--check", "--statistics", "-o", "/dev/null", str(po)], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    assert "untranslated" not in result.stderr and "fuzzy" not in result.stderr, result.stderr
