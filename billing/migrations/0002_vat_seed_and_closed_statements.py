"""The VAT table's first rows, and triggers that keep an issued statement as it was issued.

VAT: 10% (the standard rate) until 30 June 2025, 8% from 1 July 2025 to 31 December 2026 (the
reduction of Resolution 204/2025/QH15 and Decree 174/2025/ND-CP), 10% again from 1 January 2027.
Admins keep the table from then on (billing › VAT rates).

Immutability: once a statement leaves ``draft`` its lines may not be inserted, changed or
deleted, and its number, parties and totals may not change; only its status and payment dates
move on (issued -> paid / overdue). Enforced by PostgreSQL, so no code path (admin, shell,
a bug) can rewrite a bill someone has received.
"""

from datetime import date
from decimal import Decimal

from django.db import migrations

SEED = [
    (Decimal("10.00"), date(1999, 1, 1), date(2025, 6, 30), "Luật Thuế GTGT — thuế suất 10%"),
    (
        Decimal("8.00"),
        date(2025, 7, 1),
        date(2026, 12, 31),
        "Giảm 2% thuế GTGT: Nghị quyết 204/2025/QH15, Nghị định 174/2025/NĐ-CP",
    ),
    (Decimal("10.00"), date(2027, 1, 1), None, "Luật Thuế GTGT — thuế suất 10%"),
]


def seed(apps, schema_editor):
    VatRate = apps.get_model("billing", "VatRate")
    for percent, valid_from, valid_until, note in SEED:
        VatRate.objects.get_or_create(
            kind="machine_time",
            valid_from=valid_from,
            defaults={"percent": percent, "valid_until": valid_until, "note": note},
        )
    # Adjustments carry the rate of the line they correct; the table also gives them the
    # rate in force, so an adjustment with no earlier line still gets one.
    for percent, valid_from, valid_until, note in SEED:
        VatRate.objects.get_or_create(
            kind="adjustment",
            valid_from=valid_from,
            defaults={"percent": percent, "valid_until": valid_until, "note": note},
        )


def unseed(apps, schema_editor):
    apps.get_model("billing", "VatRate").objects.all().delete()


TRIGGERS = """
CREATE FUNCTION billing_line_frozen() RETURNS trigger AS $$
DECLARE
    target bigint;
    current_status text;
BEGIN
    target := CASE WHEN TG_OP = 'DELETE' THEN OLD.statement_id ELSE NEW.statement_id END;
    SELECT status INTO current_status FROM billing_statement WHERE id = target;
    IF current_status IS NOT NULL AND current_status <> 'draft' THEN
        RAISE EXCEPTION 'statement % is closed: its lines cannot change', target
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    IF TG_OP = 'UPDATE' AND OLD.statement_id <> NEW.statement_id THEN
        SELECT status INTO current_status FROM billing_statement WHERE id = OLD.statement_id;
        IF current_status <> 'draft' THEN
            RAISE EXCEPTION 'statement % is closed: its lines cannot change', OLD.statement_id
                USING ERRCODE = 'integrity_constraint_violation';
        END IF;
    END IF;
    RETURN CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER billing_line_frozen
    BEFORE INSERT OR UPDATE OR DELETE ON billing_statementline
    FOR EACH ROW EXECUTE FUNCTION billing_line_frozen();

CREATE FUNCTION billing_statement_frozen() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        IF OLD.status <> 'draft' THEN
            RAISE EXCEPTION 'statement % is closed: it cannot be deleted', OLD.id
                USING ERRCODE = 'integrity_constraint_violation';
        END IF;
        RETURN OLD;
    END IF;
    IF OLD.status <> 'draft' AND (
        NEW.status = 'draft'
        OR NEW.number IS DISTINCT FROM OLD.number
        OR NEW.issuer_id IS DISTINCT FROM OLD.issuer_id
        OR NEW.organization_id IS DISTINCT FROM OLD.organization_id
        OR NEW.user_id IS DISTINCT FROM OLD.user_id
        OR NEW.month IS DISTINCT FROM OLD.month
        OR NEW.seller_name IS DISTINCT FROM OLD.seller_name
        OR NEW.seller_tax_code IS DISTINCT FROM OLD.seller_tax_code
        OR NEW.seller_address IS DISTINCT FROM OLD.seller_address
        OR NEW.bank_bin IS DISTINCT FROM OLD.bank_bin
        OR NEW.bank_name IS DISTINCT FROM OLD.bank_name
        OR NEW.account_number IS DISTINCT FROM OLD.account_number
        OR NEW.account_name IS DISTINCT FROM OLD.account_name
        OR NEW.buyer_name IS DISTINCT FROM OLD.buyer_name
        OR NEW.buyer_tax_code IS DISTINCT FROM OLD.buyer_tax_code
        OR NEW.buyer_address IS DISTINCT FROM OLD.buyer_address
        OR NEW.subtotal_vnd IS DISTINCT FROM OLD.subtotal_vnd
        OR NEW.vat_vnd IS DISTINCT FROM OLD.vat_vnd
        OR NEW.total_vnd IS DISTINCT FROM OLD.total_vnd
        OR NEW.subsidy_vnd IS DISTINCT FROM OLD.subsidy_vnd
        OR NEW.issued_at IS DISTINCT FROM OLD.issued_at
        OR NEW.due_date IS DISTINCT FROM OLD.due_date
    ) THEN
        RAISE EXCEPTION 'statement % is closed: only its status and payment may change', OLD.id
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER billing_statement_frozen
    BEFORE UPDATE OR DELETE ON billing_statement
    FOR EACH ROW EXECUTE FUNCTION billing_statement_frozen();
"""

DROP_TRIGGERS = """
DROP TRIGGER IF EXISTS billing_statement_frozen ON billing_statement;
DROP FUNCTION IF EXISTS billing_statement_frozen();
DROP TRIGGER IF EXISTS billing_line_frozen ON billing_statementline;
DROP FUNCTION IF EXISTS billing_line_frozen();
"""


class Migration(migrations.Migration):
    dependencies = [("billing", "0001_initial")]

    operations = [
        migrations.RunPython(seed, unseed),
        migrations.RunSQL(TRIGGERS, DROP_TRIGGERS),
    ]
