"""Account jobs on procrastinate: e-mails (sent after the change commits), the nightly retention
warnings and the retention sweep."""

from __future__ import annotations

from procrastinate.contrib.django import app
from procrastinate.retry import RetryStrategy

from accounts import services
from accounts.emails import send_account_email as send
from accounts.jobs import QUEUE

#: A mail server that refuses or times out is tried again (as bookings' e-mails are).
MAIL_RETRY = RetryStrategy(max_attempts=10, wait=5, exponential_wait=2)


@app.task(name="accounts.send_account_email", queue=QUEUE, retry=MAIL_RETRY)
def send_account_email(*, kind: str, **ids: int) -> int:
    """Send one account e-mail (confirmation link, guardian consent, organisation requests)."""
    return send(kind=kind, **ids)


@app.periodic(cron="31 2 * * *", periodic_id="accounts-retention-warnings")
@app.task(name="accounts.retention_warn", queue=QUEUE, queueing_lock="accounts.retention_warn")
def retention_warn(timestamp: int) -> int:
    """Every night, before the sweep: warn by e-mail those whose accounts the retention period will reach."""
    return services.accounts_retention_warn()


@app.periodic(cron="41 2 * * *", periodic_id="accounts-retention")
@app.task(name="accounts.retention_sweep", queue=QUEUE, queueing_lock="accounts.retention_sweep")
def retention_sweep(timestamp: int) -> dict[str, int]:
    """Every night: anonymise accounts unused past LABSHARE_RETENTION_INACTIVE_DAYS and sign-ups never confirmed."""
    return services.accounts_retention_sweep()
