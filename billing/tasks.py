"""Billing jobs on procrastinate: statement e-mails, the month's close and the daily overdue check.

Jobs are enqueued on Django's connection inside the transaction that causes them (through
``bookings.tasks``' job manager), so a rolled-back issue sends no e-mail and a committed one
cannot lose it. Every job is safe to run twice: the close skips statements already issued, the
overdue check only moves issued statements, and an e-mail job re-reads its statement.
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.core.mail import EmailMessage
from django.template.loader import render_to_string
from django.utils import timezone, translation
from procrastinate.contrib.django import app
from procrastinate.retry import RetryStrategy

from billing.jobs import QUEUE_BILLING, SEND_STATEMENT_EMAIL
from billing.models import Statement
from billing.pdf import statement_pdf
from billing.selectors import previous_month
from billing.services import statements_close_month, statements_mark_overdue
from core.formatting import format_date, format_month, format_vnd
from labs.selectors import billing_contacts_of

logger = logging.getLogger(__name__)

#: A mail server that refuses or times out is tried again, as the booking e-mails are (about 35 minutes).
MAIL_RETRY = RetryStrategy(max_attempts=10, wait=5, exponential_wait=2)


def _recipients(statement) -> list[tuple[str, str]]:
    """(e-mail, language) of who receives a statement: its person, or the organisation's billing
    contacts and billing address."""
    out: dict[str, str] = {}
    if statement.user_id:
        member = getattr(statement.user, "member", None)
        if statement.user.email:
            out[statement.user.email] = getattr(member, "language", "vi") or "vi"
    else:
        for contact in billing_contacts_of(statement.organization_id):
            if contact.user.email:
                member = getattr(contact.user, "member", None)
                out[contact.user.email] = getattr(member, "language", "vi") or "vi"
        if statement.buyer_email and statement.buyer_email not in out:
            out[statement.buyer_email] = "vi"
    return sorted(out.items())


def send_statement_mail(*, statement_id: int, kind: str) -> int:
    """Send the e-mails of ``kind`` about a statement, each in its reader's language; how many went."""
    statement = (
        Statement.objects.select_related("issuer__lab", "organization", "user__member").filter(pk=statement_id).first()
    )
    if statement is None or not statement.number:
        return 0
    if kind == "overdue" and statement.status != "overdue":
        return 0  # paid meanwhile: no reminder
    sent = 0
    for address, language in _recipients(statement):
        language = "en" if language.startswith("en") else "vi"
        with translation.override(language):
            context = {
                "statement": statement,
                "month": format_month(statement.month, language),
                "total": format_vnd(statement.total_vnd, language),
                "due": format_date(statement.due_date, lang=language) if statement.due_date else "",
                "url": f"{settings.PUBLIC_URL}/billing/statements/{statement.pk}/",
            }
            text = render_to_string(f"billing/email/{kind}.{language}.txt", context)
            subject, _, body = text.partition("\n")
            message = EmailMessage(subject=subject.strip(), body=body.lstrip("\n"), to=[address])
            message.attach(f"{statement.number}.pdf", statement_pdf(statement, language=language), "application/pdf")
            sent += message.send()
    return sent


@app.task(name=SEND_STATEMENT_EMAIL[0], queue=SEND_STATEMENT_EMAIL[1], retry=MAIL_RETRY)
def send_statement_email(*, statement_id: int, kind: str) -> int:
    """Send a statement's e-mail (issued, or the overdue reminder) with its PDF."""
    return send_statement_mail(statement_id=statement_id, kind=kind)


@app.periodic(cron="0 2 * * *", periodic_id="billing-close-month")
@app.task(name="billing.close_month", queue=QUEUE_BILLING, queueing_lock="billing.close_month")
def close_month(timestamp: int) -> dict:
    """Every night at 02:00; on the configured day of the month, issue last month's statements."""
    today = timezone.localdate()
    day = settings.LABSHARE_STATEMENT_CLOSE_DAY
    if not day or today.day != day:
        return {"skipped": 1}
    done = statements_close_month(month=previous_month(today))
    logger.info("billing: closed %s: %s", previous_month(today), done)
    return done


@app.periodic(cron="30 2 * * *", periodic_id="billing-overdue")
@app.task(name="billing.mark_overdue", queue=QUEUE_BILLING, queueing_lock="billing.mark_overdue")
def mark_overdue(timestamp: int) -> int:
    """Every night: statements past their due date become overdue and their reminders go out."""
    return statements_mark_overdue()
