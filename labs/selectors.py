"""Reads for labs: the lab tree and who may manage what."""

from __future__ import annotations

from django.db import connection

from labs import tree
from labs.models import Audience, BillingContact, Lab, LabRole, Member
from labs.tree import subtree_cte

#: The labs a user manages and the labs they staff (or manage), roles inherited down the tree.
_ROLE_TREE_SQL = f"""
    WITH RECURSIVE
    {subtree_cte("managed", "SELECT lab_id FROM labs_labrole WHERE user_id = %(user)s AND role = %(manager)s")},
    {subtree_cte("staffed", "SELECT lab_id FROM labs_labrole WHERE user_id = %(user)s")}
    SELECT id, true FROM managed UNION ALL SELECT id, false FROM staffed
"""


def role_lab_ids(user) -> tuple[set[int], set[int]]:
    """(labs ``user`` manages, labs ``user`` staffs or manages), sub-labs included, in one query.

    The API's scope asks both on every request; ``managed_lab_ids`` and ``staff_lab_ids`` read one side.
    """
    if user is None or not user.is_authenticated:
        return set(), set()
    if user.is_superuser:
        every = set(Lab.objects.values_list("id", flat=True))
        return every, set(every)
    with connection.cursor() as cursor:
        cursor.execute(_ROLE_TREE_SQL, {"user": user.pk, "manager": LabRole.Role.MANAGER.value})
        rows = cursor.fetchall()
    return {lab_id for lab_id, managed in rows if managed}, {lab_id for lab_id, _managed in rows}


def managed_lab_ids(user) -> set[int]:
    """Ids of the labs ``user`` manages: those with a role, and every lab below them (a center
    manager manages its sub-labs). Superusers manage everything."""
    return role_lab_ids(user)[0]


def staff_lab_ids(user) -> set[int]:
    """Labs where ``user`` is staff or manager, and every lab below them (staff may check people in)."""
    return role_lab_ids(user)[1]


def user_manages_lab(user, lab: Lab) -> bool:
    """Whether ``user`` manages ``lab`` directly or through a center above it."""
    if user is None or not user.is_authenticated:
        return False
    if user.is_superuser:
        return True
    ancestors = tree.ancestor_ids(lab.pk)
    return LabRole.objects.filter(user=user, lab_id__in=ancestors, role=LabRole.Role.MANAGER).exists()


def user_is_staff_of_lab(user, lab: Lab) -> bool:
    """Whether ``user`` is staff or manager of ``lab`` or of a center above it."""
    if user is None or not user.is_authenticated:
        return False
    if user.is_superuser:
        return True
    ancestors = tree.ancestor_ids(lab.pk)
    return LabRole.objects.filter(user=user, lab_id__in=ancestors).exists()


#: Organisations a member's bookings are billed to unless the member says "personal": companies.
#: Students and staff are never billed to their university or school by default.
BILLED_BY_DEFAULT = ("sme", "startup", "partner")


def default_billing(user):
    """The organisation a member's booking is billed to when they do not say: their company, else nobody."""
    try:
        member = user.member
    except Member.DoesNotExist:
        return None
    organization = member.organization
    if organization is not None and organization.kind in BILLED_BY_DEFAULT:
        return organization
    return None


def billing_organization_ids(user) -> set[int]:
    """The organisations ``user`` acts for as billing contact: sees and gets their statements, decides
    who may join them, owns their webhook subscriptions (the one place all of these read)."""
    if user is None or not getattr(user, "is_authenticated", False):
        return set()
    return set(BillingContact.objects.filter(user=user).values_list("organization_id", flat=True))


def billing_contacts_of(organization_id: int):
    """The active people acting for an organisation, with an address (whom its e-mails go to)."""
    return (
        BillingContact.objects.filter(organization_id=organization_id, user__is_active=True)
        .exclude(user__email="")
        .select_related("user__member")
        .order_by("user_id")
    )


def audience_of(user) -> str:
    """The user's audience, for quotas, approval and prices (no member profile: external)."""
    try:
        return user.member.audience
    except Member.DoesNotExist:
        return Audience.EXTERNAL
