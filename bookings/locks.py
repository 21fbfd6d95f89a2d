"""Every lock the booking engine takes, and the one order in which a transaction takes them.

A transaction takes the locks it needs in this order, never backwards, so two of them can wait
for each other only through rows they both write (which PostgreSQL's exclusion constraint
settles) and never in a cycle of locks:

1. **the booking row** being changed (:func:`lock_booking`). Race prevented: two changes of one
   booking (a manager approving while the user cancels) both reading ``requested`` and both
   writing; the second waits, then sees the first's result.
2. **resource rows, in id order** (:func:`lock_resources`). Races prevented: capacity > 1 (two
   requests both count one free seat and both insert) and space vs machine (a space booked while a
   machine inside it is booked: different rows, so the exclusion constraint cannot see it).
3. **the booker's user row** (:func:`lock_user`). Race prevented: two requests of one user both
   counting below a quota and both inserting.
4. **the resource's waitlist queue**, an advisory lock (:func:`lock_queue`): *exclusive* for
   whoever makes, ends or re-offers a hold (a freed slot, a lapse, someone leaving the line),
   *shared* for writers that check holds after writing their booking row. Race prevented: a
   booking inserted while an offer is being made slipping past the new hold — under the queue
   lock either the offer sees the booking or the booking sees the offer. Writers take it *after*
   writing their row: taken before, a writer would hold it while its insert waits for a
   cancellation that itself waits for the queue (a deadlock). Shared, so that two writers (or a
   holder accepting while others try the held slot) never wait for each other here.
5. **waitlist entry rows, in line order** (created_at, id) (:func:`lock_entries`, or one entry
   with :func:`lock_entry`).

Every lock waits at most ``LABSHARE_LOCK_TIMEOUT_MS`` (a setting of every connection); freeing
capacity (cancel, reject) needs no lock of its own beyond the booking row.
"""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.db import connection

from bookings.models import Booking, WaitlistEntry
from labs.models import Resource

#: First key of the per-resource advisory lock (ASCII "WL"), so it cannot clash with other locks.
QUEUE_NAMESPACE = 0x574C


def lock_booking(booking: Booking | int) -> Booking:
    """(1) The booking re-read under a row lock, with its resource and lab, its member and organisation
    (what the change's checks, price and live message read: no query for them after the lock)."""
    pk = booking if isinstance(booking, int) else booking.pk
    return (
        Booking.objects.select_for_update(of=("self",))
        .select_related("resource__lab", "user__member", "organization")
        .get(pk=pk)
    )


def lock_resources(resource_ids) -> None:
    """(2) Resource rows, in id order."""
    ids = sorted({int(i) for i in resource_ids})
    if ids:
        list(Resource.objects.select_for_update().filter(pk__in=ids).order_by("pk").values_list("pk", flat=True))


def lock_user(user) -> None:
    """(3) The user's row."""
    list(get_user_model().objects.select_for_update().filter(pk=user.pk).values_list("pk", flat=True))


def lock_queue(resource_id: int, *, shared: bool = False) -> None:
    """(4) The resource's waitlist queue until the transaction ends (exclusive, or shared)."""
    function = "pg_advisory_xact_lock_shared" if shared else "pg_advisory_xact_lock"
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {function}(%s, %s)", [QUEUE_NAMESPACE, int(resource_id)])


def lock_entries(queryset) -> list[WaitlistEntry]:
    """(5) Waitlist entries, in line order."""
    return list(queryset.select_for_update(of=("self",)).order_by("created_at", "id"))


def lock_entry(pk: int) -> WaitlistEntry:
    """(5) One waitlist entry, with its resource, lab and user."""
    return WaitlistEntry.objects.select_for_update(of=("self",)).select_related("resource__lab", "user").get(pk=pk)
