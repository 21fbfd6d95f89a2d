"""``python -m tests.faults.seed PREFIX [--book]``: a lab, four machines and four users with API tokens.

Made in DATABASE_URL's database; with ``--book``, also one confirmed booking through the booking
service (which enqueues its confirmation e-mail job in the same transaction).

Run in a child process against the fault tests' throw-away cluster (the test process itself is
bound to the suite's database); prints what the clients need as JSON.
"""

from __future__ import annotations

import json

from tests.clock import follow_parent_clock


def main(prefix: str, book: bool) -> None:
    follow_parent_clock()
    # Imported here, not at the top: Django (and so the models) must start on the parent's clock.
    import django

    django.setup()
    from datetime import datetime, time, timedelta

    from django.utils import timezone

    from bookings.services import booking_request
    from tests.factories import HCM, make_api_token, make_lab, make_resource, make_user, open_weekdays

    lab = make_lab(f"{prefix}-lab")
    open_weekdays(lab, weekdays=(0, 1, 2, 3, 4, 5, 6))
    resources = [make_resource(lab, slug=f"{prefix}-machine-{n}") for n in range(4)]
    users = [make_user(f"{prefix}-client-{n}") for n in range(4)]
    out = {"resources": [r.pk for r in resources], "tokens": [make_api_token(u) for u in users]}
    if book:
        day = timezone.now().astimezone(HCM).date() + timedelta(days=3)
        start = datetime.combine(day, time(9), tzinfo=HCM)
        booking = booking_request(resource=resources[0], user=users[0], start=start, end=start + timedelta(hours=1))
        out["booking"] = booking.pk
    print(json.dumps(out))


if __name__ == "__main__":
    import os

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import sys

    main(sys.argv[1], "--book" in sys.argv[2:])
