"""Reports laid out for people: the charts of each report and its PDF, in the reader's language."""

from __future__ import annotations

from django.template.loader import render_to_string
from django.utils import translation
from django.utils.translation import gettext as _

from core.formatting import format_date, format_month
from reports import charts
from reports.tables import WEEKDAYS


def _n(names: dict | None, lang: str) -> str:
    return (names or {}).get(lang) or "—"


def utilisation_charts(report: dict, lang: str) -> dict:
    """Bars per machine (booked and used hours), utilisation per lab, the heatmap and the trend."""
    with translation.override(lang):
        machines = charts.bar_chart(
            [(_n(r["name"], lang), [r["booked_hours"], r["used_hours"]]) for r in report["by_resource"][:30]],
            series=[_("Booked hours"), _("Used hours")],
            title=_("Booked and used hours per machine"),
            desc=_("Bar chart; the numbers are in the table “Per machine” below."),
            chart_id="chart-machines",
            lang=lang,
        )
        labs = charts.bar_chart(
            [(_n(r["name"], lang), [r["utilisation"] or 0]) for r in report["by_lab"]],
            series=[_("Utilisation (used ÷ open)")],
            title=_("Utilisation per lab"),
            desc=_("Bar chart in percent; the numbers are in the table “Per lab”."),
            chart_id="chart-labs",
            lang=lang,
            percent=True,
        )
        heat = charts.heatmap(
            report["heatmap"],
            weekdays=WEEKDAYS[lang],
            title=_("Peak hours: booked hours by weekday and hour"),
            desc=_("Heatmap, darker is busier; the numbers are in the table “Peak hours”."),
            chart_id="chart-heatmap",
            lang=lang,
        )
        labels = [
            format_date(r["bucket"], lang=lang) if report["bucket"] == "week" else format_month(r["bucket"], lang)
            for r in report["trend"]
        ]
        trend = charts.line_chart(
            labels,
            [
                (_("Booked hours"), [r["booked_hours"] for r in report["trend"]]),
                (_("Used hours"), [r["used_hours"] for r in report["trend"]]),
            ],
            title=_("Trend"),
            desc=_("Line chart by period; the numbers are in the table “Trend”."),
            chart_id="chart-trend",
            lang=lang,
        )
    return {"machines": machines, "labs": labs, "heatmap": heat, "trend": trend}


def network_charts(figures: dict, lang: str) -> dict:
    """People served by audience per month, and hours per lab."""
    with translation.override(lang):
        months = [format_month(r["month"], lang) for r in figures["by_month"]]
        trend = charts.line_chart(
            months,
            [
                (_("People served"), [r["people"] for r in figures["by_month"]]),
                (_("Used hours"), [r["used_hours"] for r in figures["by_month"]]),
            ],
            title=_("People served and hours, month by month"),
            desc=_("Line chart; the numbers are in the table “By month”."),
            chart_id="chart-network-trend",
            lang=lang,
        )
        labs = charts.bar_chart(
            [(_n(r["name"], lang), [r["booked_hours"], r["used_hours"]]) for r in figures["by_lab"]],
            series=[_("Booked hours"), _("Used hours")],
            title=_("Hours per lab"),
            desc=_("Bar chart; the numbers are in the table “By lab”."),
            chart_id="chart-network-labs",
            lang=lang,
        )
    return {"trend": trend, "labs": labs}


def sponsor_charts(impact: dict, lang: str) -> dict:
    """Hours by audience, and the monthly trend."""
    with translation.override(lang):
        audiences = charts.bar_chart(
            [(_n(r["name"], lang), [r["booked_hours"], r["used_hours"]]) for r in impact["by_audience"]],
            series=[_("Booked hours"), _("Used hours")],
            title=_("Hours on the sponsored machines by audience"),
            desc=_("Bar chart; the numbers are in the table “By audience”."),
            chart_id="chart-sponsor-audiences",
            lang=lang,
        )
        trend = charts.line_chart(
            [format_month(r["month"], lang) for r in impact["trend"]],
            [
                (_("Used hours"), [r["used_hours"] for r in impact["trend"]]),
                (_("People served"), [r["people"] for r in impact["trend"]]),
            ],
            title=_("Month by month"),
            desc=_("Line chart; the numbers are in the table “By month”."),
            chart_id="chart-sponsor-trend",
            lang=lang,
        )
    return {"audiences": audiences, "trend": trend}


def _pdf(template: str, context: dict, lang: str) -> bytes:
    from weasyprint import HTML

    with translation.override(lang):
        html = render_to_string(template, {**context, "lang": lang, "pdf": True})
    return HTML(string=html).write_pdf()


def network_pdf(figures: dict, *, lang: str, title: str) -> bytes:
    """The network's figures as a PDF an officer attaches to a report to the province."""
    return _pdf(
        "reports/pdf/network.html", {"figures": figures, "charts": network_charts(figures, lang), "title": title}, lang
    )


def sponsor_pdf(impact: dict, *, lang: str) -> bytes:
    """A sponsor's impact for a period as a PDF (for its yearly review)."""
    return _pdf("reports/pdf/sponsor.html", {"impact": impact, "charts": sponsor_charts(impact, lang)}, lang)
