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
from labs.models import Certification, Lab, Resource


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
    labs = Lab.objects.ancestor_ids(resource.lab_id)
    names = [name_in(c) for c in Certification.objects.filter(code__in=list(codes or []), lab_id__in=labs)]
    return ", ".join(sorted(names)) or ", ".join(codes or [])


def explain(error: DomainError, resource: Resource) -> list[str]:
    """Sentences that say what stands in the way and what to do (empty when the message says it all)."""
    tz = resource.lab.tz
    d = error.details
    lines: list[str] = []
    code = error.code
    if code in ("slot_taken", "space_conflict") and d.get("conflict"):
        lines.append(_("Already booked: %(when)s.") % {"when": _interval(d["conflict"], tz)})
    elif code == "capacity_full":
        lines.append(_("All %(capacity)s places are taken at that time.") % {"capacity": d.get("capacity")})
    elif code == "slot_held" and _at(d.get("until")):
        lines.append(_("Held for someone on the waitlist until %(time)s.") % {"time": format_time(_at(d["until"]), tz)})
    elif code == "outside_opening_hours":
        hours = [f"{format_time(_at(o['start']), tz)}–{format_time(_at(o['end']), tz)}" for o in d.get("opening") or []]
        if hours:
            lines.append(_("Opening hours that day: %(hours)s.") % {"hours": ", ".join(hours)})
        else:
            lines.append(_("The lab is not open that day."))
    elif code == "closed" and d.get("closure"):
        closure = d["closure"]
        lines.append(f"{closure.get('title') or _('Closed')}: {_interval(closure, tz)}.")
    elif code == "resource_unavailable" and d.get("maintenance"):
        lines.append(_("Maintenance: %(when)s.") % {"when": _interval(d["maintenance"], tz)})
    elif code == "certification_required":
        lines.append(_("Training to take first: %(names)s.") % {"names": _trainings(d.get("missing"), resource)})
    elif code == "lead_time" and _at(d.get("earliest")):
        lines.append(
            _("Book at least %(hours)s ahead: the earliest start now is %(moment)s.")
            % {"hours": _hours(d.get("lead_time_hours")), "moment": format_moment(_at(d["earliest"]), tz)}
        )
    elif code == "horizon" and _at(d.get("latest")):
        lines.append(_("Bookings open up to %(moment)s.") % {"moment": format_moment(_at(d["latest"]), tz)})
    elif code == "duration_too_short":
        lines.append(_("Book at least %(hours)s.") % {"hours": _hours(Decimal(d.get("minimum_minutes", 0)) / 60)})
    elif code == "duration_too_long":
        lines.append(_("Book at most %(hours)s.") % {"hours": _hours(Decimal(d.get("maximum_minutes", 0)) / 60)})
    elif code == "slot_granularity":
        lines.append(
            _("Start and end on whole steps of %(minutes)s minutes (for example 09:00 or 09:30).")
            % {"minutes": d.get("granularity_minutes")}
        )
    elif code == "quota_hours_exceeded":
        lines.append(
            _("This week you have booked %(used)s of your %(limit)s; this booking needs %(requested)s.")
            % {
                "used": _hours(d.get("used_hours")),
                "limit": _hours(d.get("limit_hours")),
                "requested": _hours(d.get("requested_hours")),
            }
        )
    elif code == "quota_active_bookings_exceeded":
        lines.append(
            _("You have %(active)s upcoming bookings; the limit is %(limit)s.")
            % {"active": d.get("active"), "limit": d.get("limit")}
        )
    elif code == "banned_no_show" and _at(d.get("until")):
        lines.append(_("You can book again from %(moment)s.") % {"moment": format_moment(_at(d["until"]), tz)})
    elif code == "check_in_window" and _at(d.get("opens")):
        lines.append(
            _("Check-in is open from %(opens)s to %(closes)s.")
            % {"opens": format_time(_at(d["opens"]), tz), "closes": format_time(_at(d["closes"]), tz)}
        )
    elif code == "cancel_cutoff_passed" and _at(d.get("deadline")):
        lines.append(_("Cancelling was possible until %(moment)s.") % {"moment": format_moment(_at(d["deadline"]), tz)})
    return lines


def next_free(error: DomainError, resource: Resource) -> dict | None:
    """The next free slot the preview found, as {"start", "end", "text"} (lab's zone), or None."""
    slot = error.details.get("next_free")
    start, end = _at((slot or {}).get("start")), _at((slot or {}).get("end"))
    if not start or not end:
        return None
    tz = resource.lab.tz
    return {"start": start.astimezone(tz), "end": end.astimezone(tz), "text": format_when(start, end, tz)}
