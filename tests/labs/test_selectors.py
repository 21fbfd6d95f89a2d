"""Who may manage what: the one-query role lookup agrees with the per-role functions."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import AnonymousUser
from django.db import connection
from django.test.utils import CaptureQueriesContext

from labs.models import LabRole
from labs.selectors import managed_lab_ids, role_lab_ids, staff_lab_ids
from tests.factories import make_lab, make_manager, make_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def tree():
    center = make_lab("center")
    a = make_lab("a", parent=center)
    a1 = make_lab("a1", parent=a)
    b = make_lab("b", parent=center)
    elsewhere = make_lab("elsewhere")
    return {"center": center, "a": a, "a1": a1, "b": b, "elsewhere": elsewhere}


def test_a_manager_of_one_lab_and_staff_of_another_center_gets_both_subtrees_in_one_query(tree):
    user = make_manager(tree["a"])
    LabRole.objects.create(user=user, lab=tree["center"], role=LabRole.Role.STAFF)
    with CaptureQueriesContext(connection) as queries:
        managed, staffed = role_lab_ids(user)
    assert len(queries.captured_queries) == 1
    assert managed == {tree["a"].pk, tree["a1"].pk} == managed_lab_ids(user)
    assert staffed == {tree[k].pk for k in ("center", "a", "a1", "b")} == staff_lab_ids(user)


def test_both_roles_on_one_lab_count_as_managing_it(tree):
    user = make_manager(tree["b"])
    LabRole.objects.create(user=user, lab=tree["b"], role=LabRole.Role.STAFF)
    assert role_lab_ids(user) == ({tree["b"].pk}, {tree["b"].pk})


def test_staff_only_manage_nothing(tree):
    user = make_manager(tree["center"], role=LabRole.Role.STAFF)
    managed, staffed = role_lab_ids(user)
    assert managed == set()
    assert staffed == {tree[k].pk for k in ("center", "a", "a1", "b")}


def test_people_without_roles_anonymous_and_superusers(tree):
    assert role_lab_ids(make_user()) == (set(), set())
    assert role_lab_ids(AnonymousUser()) == (set(), set())
    admin = make_user(is_superuser=True, is_staff=True)
    everything = {lab.pk for lab in tree.values()}
    assert role_lab_ids(admin) == (everything, everything)


def test_a_parent_cycle_in_bad_data_does_not_hang(tree):
    from labs.models import Lab

    # Only raw SQL could write this; the recursion must still end.
    Lab.objects.filter(pk=tree["center"].pk).update(parent=tree["a1"])
    user = make_manager(tree["a"])
    managed, staffed = role_lab_ids(user)
    assert managed == staffed == {tree[k].pk for k in ("center", "a", "a1", "b")}
