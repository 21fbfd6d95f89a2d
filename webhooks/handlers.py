"""The core.hooks subscriber: every deliverable announcement becomes one dispatch job, in the caller's transaction.

Nothing is read here and nothing is sent. The booking engine defers the jobs its subscribers
return together with its own, in the one insert of the change (core.hooks.announce), so for
``booking.*`` the job is returned and costs the booking no statement; devices do the same for
``device.*`` (devices/live.py defers them, or the access call folds them into its log row's
insert); every other announcer (resources, the waitlist's offers, statements) ignores what
handlers return, so for those the job is deferred here, one INSERT in that transaction. Either way it commits or rolls back with
the change that announced it; the worker then records the event and fans it out
(``webhooks.services.event_dispatch``).
"""

from __future__ import annotations

import json

from django.core.serializers.json import DjangoJSONEncoder
from django.utils import timezone
from procrastinate.jobs import Job

from webhooks import catalogue, jobs
from webhooks.signing import new_message_id

#: Announcers that defer the jobs their subscribers return (bookings.services, in the change's one insert;
#: devices.live and the access call's log row).
RETURNS_JOBS = ("booking.", "device.")


def on_announcement(event_type: str, payload: dict) -> list[Job]:
    """Queue ``webhooks.dispatch`` for an announced event of a type subscribers may choose."""
    if not catalogue.is_known(event_type):
        return []
    # Job arguments are JSON: a payload with dates or decimals is turned into plain JSON here.
    plain = json.loads(json.dumps(payload, cls=DjangoJSONEncoder))
    job = jobs.job(
        "webhooks.dispatch",
        uid=new_message_id(),
        type=event_type,
        occurred_at=timezone.now().isoformat(),
        payload=plain,
    )
    if event_type.startswith(RETURNS_JOBS):
        return [job]
    jobs.defer([job])
    return []
