"""The move to one notion of billing contact (labs 0007, billing 0003), tested both ways on data:
a member flagged, a contact row, and both for the same person."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from labs.selectors import billing_organization_ids

BEFORE = [("labs", "0006_member_consents_and_billing_contact"), ("billing", "0002_vat_seed_and_closed_statements")]


def migrate(targets):
    """Migrate the test database to ``targets``; the historical apps there."""
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return MigrationExecutor(connection).loader.project_state(targets).apps


def latest():
    return MigrationExecutor(connection).loader.graph.leaf_nodes()


def tables() -> set[str]:
    return set(connection.introspection.table_names())


@pytest.mark.django_db(transaction=True)
def test_flags_become_rows_and_back_without_losing_any():
    old = migrate(BEFORE)
    assert "billing_billingcontact" in tables() and "labs_billingcontact" not in tables()
    User, Member = old.get_model("auth", "User"), old.get_model("labs", "Member")
    Organization, OldContact = old.get_model("labs", "Organization"), old.get_model("billing", "BillingContact")
    shop = Organization.objects.create(name="Cơ khí An Phú", kind="sme")
    studio = Organization.objects.create(name="Xưởng Thiết kế Mộc", kind="startup")
    people = {name: User.objects.create(username=name) for name in ("flagged", "row", "both", "nowhere")}
    Member.objects.create(user=people["flagged"], organization=shop, billing_contact=True)
    Member.objects.create(user=people["row"], organization=shop)
    OldContact.objects.create(organization=shop, user=people["row"])
    Member.objects.create(user=people["both"], organization=studio, billing_contact=True)
    OldContact.objects.create(organization=studio, user=people["both"])
    # A flag without an organisation named nobody's billing: it has nothing to become.
    Member.objects.create(user=people["nowhere"], billing_contact=True)
    ids = {name: user.pk for name, user in people.items()}
    expected = {(shop.pk, ids["flagged"]), (shop.pk, ids["row"]), (studio.pk, ids["both"])}

    new = migrate(latest())
    assert "labs_billingcontact" in tables() and "billing_billingcontact" not in tables()
    Contact = new.get_model("labs", "BillingContact")
    assert set(Contact.objects.values_list("organization_id", "user_id")) == expected  # "both" has one row
    assert "billing_contact" not in {f.name for f in new.get_model("labs", "Member")._meta.get_fields()}
    # The real model reads the same rows (what billing, accounts and webhooks now ask).
    assert billing_organization_ids(get_user_model().objects.get(pk=ids["both"])) == {studio.pk}
    assert billing_organization_ids(get_user_model().objects.get(pk=ids["flagged"])) == {shop.pk}

    old = migrate(BEFORE)
    assert "billing_billingcontact" in tables() and "labs_billingcontact" not in tables()
    OldContact, Member = old.get_model("billing", "BillingContact"), old.get_model("labs", "Member")
    assert set(OldContact.objects.values_list("organization_id", "user_id")) == expected
    flags = dict(Member.objects.values_list("user_id", "billing_contact"))
    assert flags == {ids["flagged"]: True, ids["row"]: True, ids["both"]: True, ids["nowhere"]: False}

    migrate(latest())  # as the other tests expect the database
