"""Webhook jobs on procrastinate: fan an event out, deliver it (with retries), tell an owner of a pause, purge the log."""

from __future__ import annotations

import logging
from datetime import timedelta

from django.conf import settings
from django.core.mail import send_mail
from django.utils import timezone
from procrastinate.contrib.django import app

from webhooks import services
from webhooks.jobs import QUEUE
from webhooks.models import Subscription

logger = logging.getLogger(__name__)


@app.task(name="webhooks.dispatch", queue=QUEUE)
def dispatch(*, uid: str, type: str, occurred_at: str, payload: dict) -> int:
    """Record an announced event and queue one delivery per interested subscription."""
    return services.event_dispatch(uid=uid, type=type, occurred_at=occurred_at, payload=payload)


@app.task(name="webhooks.deliver", queue=QUEUE)
def deliver(*, delivery_id: int, attempt: int) -> str:
    """One attempt of one delivery: checked, signed, sent, logged; a failure queues the next attempt.

    The request runs outside any transaction, so a slow receiver holds no lock and no connection
    in a transaction; the job's lock keeps two attempts of one delivery from running together.
    """
    prepared = services.delivery_begin(delivery_id=delivery_id, attempt=attempt)
    if prepared is None:
        return "skipped"
    sent_at, response = services.delivery_send(prepared)
    return services.delivery_finish(delivery_id=delivery_id, attempt=attempt, sent_at=sent_at, response=response)


@app.task(name="webhooks.notify_paused", queue=QUEUE)
def notify_paused(*, subscription_id: int) -> int:
    """E-mail the people responsible for a subscription that it was paused after repeated failure."""
    subscription = Subscription.objects.select_related("owner", "created_by").filter(pk=subscription_id).first()
    if subscription is None:
        return 0
    recipients = sorted({u.email for u in (subscription.owner, subscription.created_by) if u is not None and u.email})
    if not recipients:
        return 0
    link = f"{settings.PUBLIC_URL}/manage/webhooks/{subscription.pk}/"
    subject = "labshare: webhook tạm dừng / webhook paused"
    body = (
        f"Webhook tới {subscription.url} đã bị tạm dừng vì gửi thất bại nhiều lần trong khoảng một ngày.\n"
        f"Sau khi sửa máy chủ nhận, hãy bật lại tại: {link}\n\n"
        f"The webhook to {subscription.url} was paused after failing repeatedly for about a day.\n"
        f"Once the receiver is fixed, resume it at: {link}\n"
    )
    return send_mail(subject, body, None, recipients)


@app.periodic(cron="17 3 * * *", periodic_id="webhooks-purge")
@app.task(name="webhooks.purge", queue=QUEUE, queueing_lock="webhooks.purge")
def purge(timestamp: int) -> int:
    """Every night: forget events older than LABSHARE_WEBHOOK_LOG_DAYS (with their deliveries and log)."""
    return services.events_purge(older_than=timezone.now() - timedelta(days=settings.LABSHARE_WEBHOOK_LOG_DAYS))
