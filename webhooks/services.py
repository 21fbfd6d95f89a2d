"""Writes for webhooks: subscriptions (made, changed, paused, resumed, rotated), events and deliveries.

The path of an event: a service announces it on ``core.hooks`` inside its transaction;
:mod:`webhooks.handlers` enqueues one ``webhooks.dispatch`` job in that same transaction (so a
rolled-back change sends nothing). The worker runs :func:`event_dispatch`: the event is written
once with its exact body, one delivery per interested subscription, one ``webhooks.deliver`` job
each. Every attempt is :func:`delivery_begin` (a short transaction), the HTTP request (none held),
then :func:`delivery_finish` (the log row and what comes next: done, a retry at the next time of
:data:`RETRY_DELAYS`, or failure, which pauses the subscription). Nothing is ever sent inside a
request or a transaction.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.core.serializers.json import DjangoJSONEncoder
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from bookings.models import Booking
from core.errors import DomainError
from labs import tree
from labs.models import Lab, Organization, Resource
from webhooks import catalogue, jobs, signing, targets
from webhooks.models import Delivery, DeliveryAttempt, Event, Subscription
from webhooks.selectors import may_manage, may_manage_scope
from webhooks.signing import new_message_id

logger = logging.getLogger(__name__)

#: Waits before each retry, counted from the attempt before (the schedule Standard Webhooks'
#: authors use): 5 s, 5 min, 30 min, 2 h, 5 h, 10 h and 10 h — eight attempts over about 27.6 hours.
RETRY_DELAYS = (
    timedelta(seconds=5),
    timedelta(minutes=5),
    timedelta(minutes=30),
    timedelta(hours=2),
    timedelta(hours=5),
    timedelta(hours=10),
    timedelta(hours=10),
)
#: Attempts of one delivery: the first and one per retry. When the last fails, the subscription pauses.
ATTEMPTS = len(RETRY_DELAYS) + 1
#: After a rotation the old secret keeps signing (beside the new one) this long.
ROTATION_OVERLAP = timedelta(hours=24)


# --- Subscriptions ------------------------------------------------------------------------------


def _clean_event_types(event_types) -> list[str]:
    if not isinstance(event_types, (list, tuple)):
        raise DomainError("webhook_event_types_invalid")
    chosen = list(dict.fromkeys(str(t).strip() for t in event_types if str(t).strip()))
    invalid = [t for t in chosen if not catalogue.valid_choice(t)]
    if not chosen or invalid:
        raise DomainError("webhook_event_types_invalid", invalid=invalid)
    return chosen


def _require(user, subscription: Subscription) -> None:
    if not may_manage(user, subscription):
        raise DomainError("webhook_not_permitted")


def subscription_create(
    *,
    by,
    url: str,
    event_types: list[str],
    description: str = "",
    lab: Lab | None = None,
    organization: Organization | None = None,
    owner=None,
) -> Subscription:
    """A new subscription for a lab, an organisation, or (admins only) the whole network.

    The URL is checked now (every address its host resolves to) and again at every delivery.
    """
    if lab is not None and organization is not None:
        raise DomainError("webhook_scope_invalid")
    lab_id = lab.pk if lab is not None else None
    organization_id = organization.pk if organization is not None else None
    if not may_manage_scope(by, lab_id=lab_id, organization_id=organization_id):
        raise DomainError("webhook_not_permitted")
    if owner is not None and owner != by and not by.is_superuser:
        # Only an admin sets up a subscription on an integrator's behalf.
        raise DomainError("webhook_not_permitted")
    chosen = _clean_event_types(event_types)
    targets.check_url(url)
    return Subscription.objects.create(
        url=url.strip(),
        event_types=chosen,
        description=(description or "").strip()[:200],
        lab=lab,
        organization=organization,
        owner=owner,
        created_by=by,
        secret=signing.new_secret(),
    )


def subscription_update(
    *, subscription: Subscription, by, url: str | None = None, event_types=None, description: str | None = None
) -> Subscription:
    """Change a subscription's URL (checked again), event types or description."""
    _require(by, subscription)
    fields = []
    if url is not None and url.strip() != subscription.url:
        targets.check_url(url)
        subscription.url = url.strip()
        fields.append("url")
    if event_types is not None:
        subscription.event_types = _clean_event_types(event_types)
        fields.append("event_types")
    if description is not None:
        subscription.description = description.strip()[:200]
        fields.append("description")
    if fields:
        subscription.save(update_fields=[*fields, "updated_at"])
    return subscription


def subscription_pause(*, subscription: Subscription, by) -> Subscription:
    """Stop sending until the owner resumes; new events are kept (held) and sent on resume."""
    _require(by, subscription)
    with transaction.atomic():
        locked = Subscription.objects.select_for_update().get(pk=subscription.pk)
        if not locked.is_active:
            raise DomainError("webhook_already_paused")
        _pause(locked, reason=Subscription.PauseReason.OWNER)
    return locked


def _pause(subscription: Subscription, *, reason: str) -> None:
    subscription.status = Subscription.Status.PAUSED
    subscription.paused_at = timezone.now()
    subscription.paused_reason = reason
    subscription.save(update_fields=["status", "paused_at", "paused_reason", "updated_at"])


def subscription_resume(*, subscription: Subscription, by) -> Subscription:
    """Start sending again: the held deliveries go out now, each with a full retry schedule."""
    _require(by, subscription)
    with transaction.atomic():
        locked = Subscription.objects.select_for_update().get(pk=subscription.pk)
        if locked.is_active:
            raise DomainError("webhook_not_paused")
        locked.status = Subscription.Status.ACTIVE
        locked.paused_at = None
        locked.paused_reason = ""
        locked.save(update_fields=["status", "paused_at", "paused_reason", "updated_at"])
        now = timezone.now()
        held = list(
            Delivery.objects.select_for_update().filter(subscription=locked, status=Delivery.Status.HELD).order_by("id")
        )
        for delivery in held:
            # A fresh round of attempts; the log keeps numbering on from the earlier ones.
            delivery.status = Delivery.Status.PENDING
            delivery.max_attempts = delivery.attempts + ATTEMPTS
            delivery.next_attempt_at = now
        Delivery.objects.bulk_update(held, ["status", "max_attempts", "next_attempt_at"])
        jobs.defer([jobs.deliver_job(d.pk, d.attempts + 1) for d in held])
    return locked


def subscription_rotate_secret(*, subscription: Subscription, by) -> Subscription:
    """A new secret; the old one keeps signing beside it for a day, so the receiver can switch over."""
    _require(by, subscription)
    with transaction.atomic():
        locked = Subscription.objects.select_for_update().get(pk=subscription.pk)
        locked.previous_secret = locked.secret
        locked.previous_secret_until = timezone.now() + ROTATION_OVERLAP
        locked.secret = signing.new_secret()
        locked.save(update_fields=["secret", "previous_secret", "previous_secret_until", "updated_at"])
    return locked


def subscription_delete(*, subscription: Subscription, by) -> None:
    """Remove a subscription and its log (jobs still queued for it find nothing and stop)."""
    _require(by, subscription)
    subscription.delete()


def subscription_ping(*, subscription: Subscription, by) -> Delivery:
    """Send a ``webhook.ping`` message to the subscription now (also while paused), to test the receiver."""
    _require(by, subscription)
    now = timezone.now()
    uid = new_message_id()
    body = _body(uid=uid, type="webhook.ping", occurred_at=now, data={"subscription_id": subscription.pk})
    with transaction.atomic():
        event = Event.objects.create(
            uid=uid,
            type="webhook.ping",
            occurred_at=now,
            lab_id=subscription.lab_id,
            organization_id=subscription.organization_id,
            body=body,
        )
        delivery = Delivery.objects.create(
            subscription=subscription, event=event, manual=True, max_attempts=1, requested_by=by, next_attempt_at=now
        )
        jobs.defer([jobs.deliver_job(delivery.pk, 1)])
    return delivery


def delivery_replay(*, delivery: Delivery, by) -> Delivery:
    """Send a delivered (or failed) event again, once, with the same ``webhook-id`` and body."""
    _require(by, delivery.subscription)
    now = timezone.now()
    with transaction.atomic():
        replay = Delivery.objects.create(
            subscription_id=delivery.subscription_id,
            event_id=delivery.event_id,
            manual=True,
            max_attempts=1,
            replay_of=delivery,
            requested_by=by,
            next_attempt_at=now,
        )
        jobs.defer([jobs.deliver_job(replay.pk, 1)])
    return replay


# --- Events (run by the worker) -------------------------------------------------------------------


def _iso_utc(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _body(*, uid: str, type: str, occurred_at: datetime, data: dict) -> str:
    """The JSON body every subscriber gets: ``{"v", "id", "type", "timestamp", "data"}``."""
    message = {
        "v": catalogue.PAYLOAD_VERSION,
        "id": uid,
        "type": type,
        "timestamp": _iso_utc(occurred_at),
        "data": data,
    }
    return json.dumps(message, cls=DjangoJSONEncoder, ensure_ascii=False, separators=(",", ":"))


@dataclass
class _Route:
    """Where an event belongs (for choosing subscribers) and the blocks that describe it."""

    lab: Lab | None = None
    organization_id: int | None = None
    resource: Resource | None = None


def _route(payload: dict) -> _Route:
    """The lab and organisation an announcement concerns, from the ids it carries."""
    route = _Route(organization_id=payload.get("organization_id"))
    resource_id = payload.get("resource_id")
    booking_id = payload.get("booking_id")
    if booking_id and (resource_id is None or "organization_id" not in payload):
        found = Booking.objects.filter(pk=booking_id).values("resource_id", "organization_id").first()
        if found:
            resource_id = resource_id or found["resource_id"]
            if route.organization_id is None:
                route.organization_id = found["organization_id"]
    if resource_id:
        route.resource = Resource.objects.select_related("lab").filter(pk=resource_id).first()
        route.lab = route.resource.lab if route.resource else None
    elif payload.get("lab_id"):
        route.lab = Lab.objects.filter(pk=payload["lab_id"]).first()
    return route


def _data(payload: dict, route: _Route) -> dict:
    """The announcement's fields, plus who-is-what blocks for the resource and lab (no personal data)."""
    data = dict(payload)
    if route.resource is not None:
        resource = route.resource
        data["resource"] = {
            "id": resource.pk,
            "slug": resource.slug,
            "kind": resource.kind,
            "name": {"vi": resource.name_vi, "en": resource.name_en or resource.name_vi},
        }
    if route.lab is not None:
        lab = route.lab
        data["lab"] = {
            "id": lab.pk,
            "slug": lab.slug,
            "name": {"vi": lab.name_vi, "en": lab.name_en or lab.name_vi},
            "timezone": lab.timezone,
        }
    return data


def subscribers(event_type: str, *, lab_id: int | None, organization_id: int | None) -> list[Subscription]:
    """The subscriptions that want this event: network-wide ones, the lab's and every center's above
    it, the organisation's — each only if it chose the type (paused ones included: they hold it)."""
    scope = Q(lab__isnull=True, organization__isnull=True)
    if lab_id is not None:
        scope |= Q(lab_id__in=tree.ancestor_ids(lab_id))
    if organization_id is not None:
        scope |= Q(organization_id=organization_id)
    return [
        s for s in Subscription.objects.filter(scope).order_by("id") if catalogue.matches(s.event_types, event_type)
    ]


def event_dispatch(*, uid: str, type: str, occurred_at: str, payload: dict) -> int:
    """Record an announced event once and queue a delivery to every interested subscription.

    Idempotent by ``uid``: a dispatch job run twice records nothing more. Returns how many
    deliveries were queued now (held ones, for paused subscriptions, are not counted).
    """
    if not catalogue.is_known(type):
        return 0
    moment = datetime.fromisoformat(occurred_at)
    route = _route(payload)
    lab_id = route.lab.pk if route.lab else None
    with transaction.atomic():
        try:
            with transaction.atomic():
                event = Event.objects.create(
                    uid=uid,
                    type=type,
                    occurred_at=moment,
                    lab_id=lab_id,
                    organization_id=route.organization_id,
                    body=_body(uid=uid, type=type, occurred_at=moment, data=_data(payload, route)),
                )
        except IntegrityError:
            return 0  # dispatched already (the job ran twice)
        now = timezone.now()
        deliveries = [
            Delivery(
                subscription=subscription,
                event=event,
                status=Delivery.Status.PENDING if subscription.is_active else Delivery.Status.HELD,
                max_attempts=ATTEMPTS,
                next_attempt_at=now if subscription.is_active else None,
            )
            for subscription in subscribers(type, lab_id=lab_id, organization_id=route.organization_id)
        ]
        Delivery.objects.bulk_create(deliveries)
        pending = [d for d in deliveries if d.status == Delivery.Status.PENDING]
        jobs.defer([jobs.deliver_job(d.pk, 1) for d in pending])
    return len(pending)


# --- Attempts (run by the worker) -----------------------------------------------------------------


@dataclass(frozen=True)
class Prepared:
    """What one attempt sends: where, the message id, the exact body and the secrets that sign it."""

    delivery_id: int
    attempt: int
    url: str
    msg_id: str
    body: bytes
    secrets: list[str]


def delivery_begin(*, delivery_id: int, attempt: int) -> Prepared | None:
    """Whether attempt ``attempt`` of a delivery is still due, and what it sends (None: nothing to do).

    A stale job (the delivery moved on, was delivered, or its subscription was deleted) does
    nothing; a delivery whose subscription is paused is held until the owner resumes it.
    """
    with transaction.atomic():
        delivery = (
            Delivery.objects.select_for_update(of=("self",))
            .select_related("subscription", "event")
            .filter(pk=delivery_id)
            .first()
        )
        if delivery is None or delivery.status != Delivery.Status.PENDING or delivery.attempts != attempt - 1:
            return None
        subscription = delivery.subscription
        if not subscription.is_active and not delivery.manual:
            delivery.status = Delivery.Status.HELD
            delivery.next_attempt_at = None
            delivery.save(update_fields=["status", "next_attempt_at"])
            return None
        now = timezone.now()
        secrets = [subscription.secret]
        if (
            subscription.previous_secret
            and subscription.previous_secret_until
            and subscription.previous_secret_until > now
        ):
            secrets.append(subscription.previous_secret)
        return Prepared(
            delivery_id=delivery.pk,
            attempt=attempt,
            url=subscription.url,
            msg_id=delivery.event.uid,
            body=delivery.event.body.encode(),
            secrets=secrets,
        )


def delivery_send(prepared: Prepared) -> tuple[datetime, targets.Response]:
    """The HTTP request of one attempt (outside any transaction): the target checked again, then POST."""
    sent_at = timezone.now()
    try:
        target = targets.check_url(prepared.url)
    except DomainError as refused:
        return sent_at, targets.Response(status=None, duration_ms=0, error=refused.code)
    headers = signing.headers(
        msg_id=prepared.msg_id, timestamp=sent_at, body=prepared.body, secrets_in_use=prepared.secrets
    )
    return sent_at, targets.post(target, body=prepared.body, headers=headers)


def retry_delay(delivery: Delivery, attempt: int) -> timedelta | None:
    """How long after attempt ``attempt`` the next one is due (None: that was the last)."""
    if attempt >= delivery.max_attempts:
        return None
    # Position in the current round of attempts (a resumed delivery starts a new round).
    position = attempt - (delivery.max_attempts - ATTEMPTS)
    return RETRY_DELAYS[max(0, min(position, len(RETRY_DELAYS)) - 1)]


def delivery_finish(*, delivery_id: int, attempt: int, sent_at: datetime, response: targets.Response) -> str:
    """Log one attempt and decide what follows: ``succeeded``, ``retry`` (queued) or ``failed``.

    A normal delivery that fails its last attempt pauses its subscription (the owner resumes it).
    """
    with transaction.atomic():
        delivery = Delivery.objects.select_for_update(of=("self",)).filter(pk=delivery_id).first()
        if delivery is None or delivery.attempts != attempt - 1 or delivery.status != Delivery.Status.PENDING:
            return "stale"
        DeliveryAttempt.objects.create(
            delivery=delivery,
            number=attempt,
            sent_at=sent_at,
            duration_ms=response.duration_ms,
            status_code=response.status,
            outcome=DeliveryAttempt.Outcome.SUCCEEDED if response.succeeded else DeliveryAttempt.Outcome.FAILED,
            error=response.error[:300],
            response_excerpt=response.excerpt[:1000],
        )
        delivery.attempts = attempt
        delivery.last_attempt_at = sent_at
        delivery.last_status_code = response.status
        if response.succeeded:
            delivery.status = Delivery.Status.SUCCEEDED
            delivery.next_attempt_at = None
            outcome = "succeeded"
        elif (delay := retry_delay(delivery, attempt)) is not None:
            delivery.next_attempt_at = sent_at + delay
            jobs.defer([jobs.deliver_job(delivery.pk, attempt + 1, at=delivery.next_attempt_at)])
            outcome = "retry"
        else:
            delivery.status = Delivery.Status.FAILED
            delivery.next_attempt_at = None
            outcome = "failed"
            if not delivery.manual:
                subscription = Subscription.objects.select_for_update().get(pk=delivery.subscription_id)
                if subscription.is_active:
                    _pause(subscription, reason=Subscription.PauseReason.FAILING)
                    jobs.defer([jobs.job("webhooks.notify_paused", subscription_id=subscription.pk)])
                    logger.warning("webhook subscription %s paused after repeated failure", subscription.pk)
        delivery.save(update_fields=["attempts", "last_attempt_at", "last_status_code", "status", "next_attempt_at"])
    return outcome


def events_purge(*, older_than: datetime) -> int:
    """Forget events (and their deliveries and log) older than ``older_than``; returns how many."""
    deleted, _ = Event.objects.filter(occurred_at__lt=older_than).delete()
    return deleted
