"""Template helpers for labshare pages: VND amounts, durations, navigation and the resource timeline."""

from __future__ import annotations

import html
from datetime import timedelta
from decimal import Decimal

from django import template
from django.utils import timezone, translation
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from core.formatting import format_hours, format_moment, format_when
from frontend.selectors_web import navigation_for

register = template.Library()


def format_vnd(amount, language: str | None = None) -> str:
    """An amount in đồng, no decimals: ``1.250.000 ₫`` in Vietnamese, ``1,250,000 ₫`` in English."""
    if amount is None or amount == "":
        return ""
    try:
        value = int(amount)
    except (TypeError, ValueError):
        return str(amount)
    language = language or translation.get_language() or "vi"
    separator = "," if language.startswith("en") else "."
    digits = f"{abs(value):,}".replace(",", separator)
    return f"{'-' if value < 0 else ''}{digits}\u00a0₫"


@register.filter
def vnd(amount) -> str:
    """Template filter: ``{{ price|vnd }}``."""
    return format_vnd(amount)


@register.filter
def duration(value) -> str:
    """A timedelta as hours and minutes in the active language (``1 h 30 min`` / ``1 giờ 30 phút``)."""
    if not isinstance(value, timedelta):
        return ""
    minutes = int(value.total_seconds() // 60)
    hours, minutes = divmod(minutes, 60)
    parts = []
    if hours:
        parts.append(_("%(n)d h") % {"n": hours})
    if minutes or not hours:
        parts.append(_("%(n)d min") % {"n": minutes})
    return " ".join(parts)


@register.filter
def get_item(mapping, key):
    """``{{ mapping|get_item:key }}`` for dictionaries keyed by ids."""
    if not mapping:
        return None
    return mapping.get(key)


@register.simple_tag(takes_context=True)
def nav_flags(context):
    """What the navigation shows for this user (one cached lookup per request)."""
    request = context.get("request")
    if request is None:
        return {}
    cached = getattr(request, "_labshare_nav", None)
    if cached is not None:
        return cached
    cached = navigation_for(request.user)
    request._labshare_nav = cached
    return cached


@register.simple_tag
def timeline(table) -> str:
    """Render a :class:`frontend.selectors_web.Timeline` as HTML.

    Built in Python rather than with template loops: a lab week of 1,000 resources has tens of
    thousands of segments, and this keeps the page well under a second (bench/bench_pages.py).
    """
    return mark_safe(render_timeline(table))


_KIND_LABELS = {
    "open": gettext_noop("Free"),
    "busy": gettext_noop("Booked"),
    "mine": gettext_noop("My booking"),
    "requested": gettext_noop("Awaiting approval"),
    "maintenance": gettext_noop("Maintenance"),
    "closure": gettext_noop("Closed"),
    "down": gettext_noop("Out of order"),
}


def render_timeline(table) -> str:
    """The timeline's HTML: a header of columns (days or hours) and one row per resource."""
    esc = html.escape  # the standard library's: ~3x faster than Django's for tens of thousands of calls
    labels = {kind: esc(_(text)) for kind, text in _KIND_LABELS.items()}
    out = [
        f'<div class="timeline tl-days-{len(table.days)}" tabindex="0" role="table" aria-label="',
        esc(table.caption),
        '"><div class="tl-row tl-header" role="row"><div class="tl-head" role="columnheader">',
        esc(_("Resource")),
        '</div><div class="tl-track tl-scale" role="columnheader">',
    ]
    for tick in table.ticks:
        out.append(
            f'<span class="tl-tick{" tl-tick-major" if tick.major else ""}" style="left:{tick.left:.3f}%">{esc(tick.label)}</span>'
        )
    out.append("</div></div>")
    lines = "".join(
        f'<span class="tl-line" style="left:{tick.left:.3f}%"></span>' for tick in table.ticks if tick.major
    )
    append = out.append
    for row in table.rows:
        append('<div class="tl-row" role="row"><div class="tl-head" role="rowheader">')
        if row.url:
            append(f'<a href="{esc(row.url)}">{esc(row.label)}</a>')
        else:
            append(esc(row.label))
        if row.note:
            append(f'<small class="tl-note">{esc(row.note)}</small>')
        append(f'</div><div class="tl-track{" tl-down" if row.down else ""}" role="cell">')
        append(lines)
        for kind, left, width, text, url in row.segments:
            # Segment text is escaped when built; the title is the accessible name (role="img"
            # for the plain ones), said once to keep a 1,000-row week small.
            title = f"{labels[kind]} {text}" if kind in labels else text
            if url:
                append(
                    f'<a class="tl-seg tl-{kind}" style="left:{left:.3f}%;width:{width:.3f}%" href="{url.replace("&", "&amp;")}" title="{title}"></a>'
                )
            else:
                append(
                    f'<span class="tl-seg tl-{kind}" style="left:{left:.3f}%;width:{width:.3f}%" role="img" title="{title}"></span>'
                )
        append("</div></div>")
    append("</div>")
    return "".join(out)


@register.simple_tag
def when(start, end, tz=None) -> str:
    """``{% when start end lab.tz %}``: an interval as the active language writes it (``Thứ Hai, 04/03/2030, 09:00–10:00``)."""
    if start is None or end is None:
        return ""
    return format_when(start, end, tz or timezone.get_current_timezone())


@register.simple_tag
def moment(value, tz=None) -> str:
    """``{% moment instant lab.tz %}``: one instant with its day (``Thứ Hai, 04/03/2030, 09:00``)."""
    if value is None:
        return ""
    return format_moment(value, tz or timezone.get_current_timezone())


@register.filter
def hours(value) -> str:
    """A number of hours in the active language: ``1,5 giờ`` / ``1.5 h``."""
    if value is None or value == "":
        return ""
    try:
        return format_hours(Decimal(str(value)))
    except (ArithmeticError, ValueError):
        return str(value)


#: Machine specification keys as they are stored (the admin's JSON) and as people read them.
SPEC_LABELS = {
    "bed": ("Kích thước bàn làm việc", "Work area"),
    "power": ("Công suất", "Power"),
    "payload": ("Tải trọng", "Payload"),
    "reach": ("Tầm với", "Reach"),
    "accuracy": ("Độ chính xác", "Accuracy"),
    "resolution": ("Độ phân giải", "Resolution"),
    "spindle": ("Trục chính", "Spindle"),
    "travel": ("Hành trình", "Travel"),
    "width": ("Chiều rộng", "Width"),
    "modules": ("Mô-đun", "Modules"),
    "fibre": ("Sợi quang", "Fibre"),
    "oscilloscope": ("Máy hiện sóng", "Oscilloscope"),
    "build_volume": ("Thể tích in", "Build volume"),
    "nozzle": ("Đầu phun", "Nozzle"),
    "materials": ("Vật liệu", "Materials"),
    "speed": ("Tốc độ", "Speed"),
    "weight": ("Khối lượng", "Weight"),
    "voltage": ("Điện áp", "Voltage"),
    "axes": ("Số trục", "Axes"),
    "bandwidth": ("Băng thông", "Bandwidth"),
    "channels": ("Số kênh", "Channels"),
}


@register.filter
def spec_label(key) -> str:
    """A specification key in the active language (``bed`` -> ``Kích thước bàn làm việc``); an unknown
    key is shown as written, underscores as spaces, capitalised."""
    known = SPEC_LABELS.get(str(key).strip().lower())
    if known:
        return known[1] if (translation.get_language() or "vi").startswith("en") else known[0]
    text = str(key).replace("_", " ").strip()
    return text[:1].upper() + text[1:]
