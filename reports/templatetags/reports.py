"""Template helpers for reports: bilingual names, hours, percentages and money in the active language."""

from __future__ import annotations

from django import template
from django.utils import translation

from core.formatting import format_month, format_number, format_vnd
from reports.selectors import center_lab_ids, partners_visible, report_lab_ids

register = template.Library()


def _lang() -> str:
    return "en" if (translation.get_language() or "vi").startswith("en") else "vi"


@register.filter
def tr(names) -> str:
    """``{"vi", "en"}`` names in the active language; a dash when there are none."""
    if not names:
        return "—"
    return names.get(_lang()) or names.get("vi") or "—"


@register.filter
def hours(value) -> str:
    """Hours with at most two decimals, as the locale writes numbers."""
    return format_number(value or 0, _lang())


@register.filter
def pct(value) -> str:
    """A percentage, or a dash when undefined."""
    return "—" if value is None else f"{format_number(value, _lang(), digits=1)}%"


@register.filter
def money(value) -> str:
    """VND as the locale writes it."""
    return format_vnd(value or 0, _lang())


@register.filter
def month(value) -> str:
    """A month as the locale writes it."""
    return format_month(value, _lang())


@register.filter
def audience_count(row, key):
    """People of one audience in a network row."""
    return (row.get("people_by_audience") or {}).get(key, 0)


@register.filter
def get_item_index(sequence, index):
    """``{{ list|get_item_index:i }}``: the i-th item."""
    try:
        return sequence[int(index)]
    except (IndexError, TypeError, ValueError):
        return ""


@register.simple_tag(takes_context=True)
def money_nav(context) -> dict:
    """Which report and billing links the menu shows for this user (cached on the request)."""
    request = context.get("request")
    if request is None or not request.user.is_authenticated:
        return {}
    cached = getattr(request, "_labshare_money_nav", None)
    if cached is None:
        cached = {
            "reports": bool(report_lab_ids(request.user)),
            "network": bool(center_lab_ids(request.user)),
            "sponsors": bool(partners_visible(request.user)),
        }
        cached["any"] = any(cached.values())
        request._labshare_money_nav = cached
    return cached
