"""A refusal in people's words: the rule's message plus the facts that help to try again, never the code.

``explain`` turns a ``DomainError``'s details (the conflicting interval, opening hours, the trainings
missing, quota figures, …) into short sentences in the active language, with times in the lab's zone
and numbers as the locale writes them (``1,5 giờ``).
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from django.utils.translation import gettext as _

from core.errors import DomainError
from core.formatting import format_hours, format_moment, format_time, format_when, name_in
from labs.models import Certification, Resource
from labs.tree import ancestor_ids


def _at(value: str | None) -> datetime | None:
    try:
        return datetime.fromisoformat(value) if value else None
    except (TypeError, ValueError):
        return None


def _interval(item, tz) -> str:
    start, end = _at((item or {}).get("start")), _at((item or {}).get("end"))
    return format_when(start, end, tz) if start and end else ""


def _hours(value) -> str:
    try:
        return format_hours(Decimal(str(value)))
    except (ArithmeticError, ValueError):
        return str(value)


def _trainings(codes, resource: Resource) -> str:
    labs = ancestor_ids(resource.lab_id)
    names = [name_in(c) for c in Certification.objects.filter(code__in=list(codes or []), lab_id__in=labs)]
    return ", ".join(sorted(names)) or ", ".join(codes or [])


def _conflict(d, tz, resource):
    return [_("Already booked: %(when)s.") % {"when": _interval(d["conflict"], tz)}] if d.get("conflict") else []


def _capacity(d, tz, resource):
    return [_("All %(capacity)s places are taken at that time.") % {"capacity": d.get("capacity")}]


def _held(d, tz, resource):
    until = _at(d.get("until"))
    return [_("Held for someone on the waitlist until %(time)s.") % {"time": format_time(until, tz)}] if until else []


def _opening(d, tz, resource):
    hours = [f"{format_time(_at(o['start']), tz)}–{format_time(_at(o['end']), tz)}" for o in d.get("opening") or []]
    if hours:
        return [_("Opening hours that day: %(hours)s.") % {"hours": ", ".join(hours)}]
    return [_("The lab is not open that day.")]


def _closure(d, tz, resource):
    closure = d.get("closure")
    return [f"{closure.get('title') or _('Closed')}: {_interval(closure, tz)}."] if closure else []


def _maintenance(d, tz, resource):
    window = d.get("maintenance")
    return [_("Maintenance: %(when)s.") % {"when": _interval(window, tz)}] if window else []


def _training(d, tz, resource):
    return [_("Training to take first: %(names)s.") % {"names": _trainings(d.get("missing"), resource)}]


def _lead_time(d, tz, resource):
    earliest = _at(d.get("earliest"))
    if not earliest:
        return []
    text = _("Book at least %(hours)s ahead: the earliest start now is %(moment)s.")
    return [text % {"hours": _hours(d.get("lead_time_hours")), "moment": format_moment(earliest, tz)}]


def _horizon(d, tz, resource):
    latest = _at(d.get("latest"))
    return [_("Bookings open up to %(moment)s.") % {"moment": format_moment(latest, tz)}] if latest else []


def _too_short(d, tz, resource):
    return [_("Book at least %(hours)s.") % {"hours": _hours(Decimal(d.get("minimum_minutes", 0)) / 60)}]


def _too_long(d, tz, resource):
    return [_("Book at most %(hours)s.") % {"hours": _hours(Decimal(d.get("maximum_minutes", 0)) / 60)}]


def _grid(d, tz, resource):
    text = _("Start and end on whole steps of %(minutes)s minutes (for example 09:00 or 09:30).")
    return [text % {"minutes": d.get("granularity_minutes")}]


def _quota_hours(d, tz, resource):
    text = _("This week you have booked %(used)s of your %(limit)s; this booking needs %(requested)s.")
    return [
        text
        % {
            "used": _hours(d.get("used_hours")),
            "limit": _hours(d.get("limit_hours")),
            "requested": _hours(d.get("requested_hours")),
        }
    ]


def _quota_active(d, tz, resource):
    text = _("You have %(active)s upcoming bookings; the limit is %(limit)s.")
    return [text % {"active": d.get("active"), "limit": d.get("limit")}]


def _banned(d, tz, resource):
    until = _at(d.get("until"))
    return [_("You can book again from %(moment)s.") % {"moment": format_moment(until, tz)}] if until else []


def _check_in(d, tz, resource):
    opens, closes = _at(d.get("opens")), _at(d.get("closes"))
    if not opens or not closes:
        return []
    text = _("Check-in is open from %(opens)s to %(closes)s.")
    return [text % {"opens": format_time(opens, tz), "closes": format_time(closes, tz)}]


def _cutoff(d, tz, resource):
    deadline = _at(d.get("deadline"))
    return (
        [_("Cancelling was possible until %(moment)s.") % {"moment": format_moment(deadline, tz)}] if deadline else []
    )


#: For each refusal, what its details tell a person.
EXPLAINERS = {
    "slot_taken": _conflict,
    "space_conflict": _conflict,
    "capacity_full": _capacity,
    "slot_held": _held,
    "outside_opening_hours": _opening,
    "closed": _closure,
    "resource_unavailable": _maintenance,
    "certification_required": _training,
    "lead_time": _lead_time,
    "horizon": _horizon,
    "duration_too_short": _too_short,
    "duration_too_long": _too_long,
    "slot_granularity": _grid,
    "quota_hours_exceeded": _quota_hours,
    "quota_active_bookings_exceeded": _quota_active,
    "banned_no_show": _banned,
    "check_in_window": _check_in,
    "cancel_cutoff_passed": _cutoff,
}


def explain(error: DomainError, resource: Resource) -> list[str]:
    """Sentences that say what stands in the way and what to do (empty when the message says it all)."""
    explainer = EXPLAINERS.get(error.code)
    return explainer(error.details, resource.lab.tz, resource) if explainer else []


def next_free(error: DomainError, resource: Resource) -> dict | None:
    """The next free slot the preview found, as {"start", "end", "text"} (lab's zone), or None."""
    slot = error.details.get("next_free")
    start, end = _at((slot or {}).get("start")), _at((slot or {}).get("end"))
    if not start or not end:
        return None
    tz = resource.lab.tz
    return {"start": start.astimezone(tz), "end": end.astimezone(tz), "text": format_when(start, end, tz)}
