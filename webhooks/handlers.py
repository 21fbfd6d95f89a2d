"""The core.hooks subscriber: every deliverable announcement becomes one dispatch job, in the caller's transaction.

Nothing is read here and nothing is sent: one INSERT into the job queue, which commits or rolls
back with the change that announced it. The worker then records the event and fans it out
(``webhooks.services.event_dispatch``).
"""

from __future__ import annotations

import json

from django.core.serializers.json import DjangoJSONEncoder
from django.utils import timezone

from webhooks import catalogue, jobs
from webhooks.signing import new_message_id


def on_announcement(event_type: str, payload: dict) -> None:
    """Queue ``webhooks.dispatch`` for an announced event of a type subscribers may choose."""
    if not catalogue.is_known(event_type):
        return
    # Job arguments are JSON: a payload with dates or decimals is turned into plain JSON here.
    plain = json.loads(json.dumps(payload, cls=DjangoJSONEncoder))
    jobs.defer(
        [
            jobs.job(
                "webhooks.dispatch",
                uid=new_message_id(),
                type=event_type,
                occurred_at=timezone.now().isoformat(),
                payload=plain,
            )
        ]
    )
