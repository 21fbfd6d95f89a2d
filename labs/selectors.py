"""Reads for labs: the lab tree and who may manage what."""

from __future__ import annotations

from django.db import connection

from labs.models import Lab, LabRole


def managed_lab_ids(user, *, roles: tuple[str, ...] = (LabRole.Role.MANAGER,)) -> set[int]:
    """Ids of the labs ``user`` manages: those with a role, and every lab below them (a center
    manager manages its sub-labs). Superusers manage everything."""
    if user is None or not user.is_authenticated:
        return set()
    if user.is_superuser:
        return set(Lab.objects.values_list("id", flat=True))
    direct = list(LabRole.objects.filter(user=user, role__in=roles).values_list("lab_id", flat=True))
    return set(Lab.objects.subtree_ids(direct))


def staff_lab_ids(user) -> set[int]:
    """Labs where ``user`` is staff or manager (staff may check people in)."""
    return managed_lab_ids(user, roles=(LabRole.Role.MANAGER, LabRole.Role.STAFF))


#: The labs a user staffs, each marked managed or not, roles inherited down the tree. UNION (not
#: UNION ALL) keeps a malformed parent cycle from recursing for ever.
_ROLE_TREE_SQL = """
    WITH RECURSIVE tree(id, managed) AS (
        SELECT lab_id, bool_or(role = %s) FROM labs_labrole WHERE user_id = %s GROUP BY lab_id
        UNION
        SELECT child.id, tree.managed FROM labs_lab child JOIN tree ON child.parent_id = tree.id
    )
    SELECT id, bool_or(managed) FROM tree GROUP BY id
"""


def role_lab_ids(user) -> tuple[set[int], set[int]]:
    """(``managed_lab_ids(user)``, ``staff_lab_ids(user)``) in one query: every API request asks both."""
    if user is None or not user.is_authenticated:
        return set(), set()
    if user.is_superuser:
        every = set(Lab.objects.values_list("id", flat=True))
        return every, set(every)
    with connection.cursor() as cursor:
        cursor.execute(_ROLE_TREE_SQL, [LabRole.Role.MANAGER.value, user.pk])
        rows = cursor.fetchall()
    return {lab_id for lab_id, managed in rows if managed}, {lab_id for lab_id, _managed in rows}


def user_manages_lab(user, lab: Lab) -> bool:
    """Whether ``user`` manages ``lab`` directly or through a center above it."""
    if user is None or not user.is_authenticated:
        return False
    if user.is_superuser:
        return True
    ancestors = Lab.objects.ancestor_ids(lab.pk)
    return LabRole.objects.filter(user=user, lab_id__in=ancestors, role=LabRole.Role.MANAGER).exists()


def user_is_staff_of_lab(user, lab: Lab) -> bool:
    """Whether ``user`` is staff or manager of ``lab`` or of a center above it."""
    if user is None or not user.is_authenticated:
        return False
    if user.is_superuser:
        return True
    ancestors = Lab.objects.ancestor_ids(lab.pk)
    return LabRole.objects.filter(user=user, lab_id__in=ancestors).exists()
