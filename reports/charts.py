"""Charts as server-rendered SVG: bars, lines and the weekday × hour heatmap.

Why SVG from the server rather than a charting library from npm: the same markup goes into the
page, the printed page and the PDF (WeasyPrint draws SVG), it needs no JavaScript, scales to a
phone's width (``viewBox`` and ``width: 100%``), and prints crisply. Every chart is
``role="img"`` with a title and a description naming what it shows; the numbers themselves are
in the table next to it, which is what a screen reader reads (the chart says so and points to it).
"""

from __future__ import annotations

from html import escape

from django.utils.safestring import SafeString, mark_safe

PALETTE = ("#0b5cad", "#d9822b", "#1d7a3a", "#8e44ad", "#b3261e", "#4d5560")
WIDTH = 640


def _svg(body: str, *, height: int, title: str, desc: str, chart_id: str) -> SafeString:
    return mark_safe(
        f'<svg class="chart" viewBox="0 0 {WIDTH} {height}" role="img" '
        f'aria-labelledby="{chart_id}-t {chart_id}-d" preserveAspectRatio="xMidYMid meet" '
        f'xmlns="http://www.w3.org/2000/svg" font-family="DejaVu Sans, system-ui, sans-serif" font-size="12">'
        f'<title id="{chart_id}-t">{escape(title)}</title><desc id="{chart_id}-d">{escape(desc)}</desc>'
        f"{body}</svg>"
    )


def _nice_max(value: float) -> float:
    """A round top for an axis at or above ``value``."""
    if value <= 0:
        return 1.0
    magnitude = 10 ** (len(str(int(value))) - 1)
    for step in (1, 2, 2.5, 5, 10):
        top = step * magnitude
        if top >= value:
            return float(top)
    return float(10 * magnitude)


def _number(value: float, lang: str) -> str:
    text = f"{value:,.1f}".rstrip("0").rstrip(".")
    return text.replace(",", "\u2009").replace(".", ",") if lang == "vi" else text


def bar_chart(
    items: list[tuple[str, list[float]]],
    *,
    series: list[str],
    title: str,
    desc: str,
    chart_id: str,
    lang: str = "vi",
    unit: str = "",
    percent: bool = False,
) -> SafeString:
    """Horizontal bars, one group per item, one bar per series (e.g. booked and used hours per machine)."""
    label_width, top_pad, bar_height, gap = 200, 28, 14, 10
    group_height = bar_height * len(series) + gap
    height = top_pad + max(1, len(items)) * group_height + 24
    peak = 100.0 if percent else _nice_max(max([v for _n, values in items for v in values] or [0]))
    plot = WIDTH - label_width - 70
    parts = []
    for index, name in enumerate(series):  # legend
        x = label_width + index * 150
        parts.append(f'<rect x="{x}" y="6" width="12" height="12" fill="{PALETTE[index % len(PALETTE)]}"/>')
        parts.append(f'<text x="{x + 16}" y="16">{escape(name)}</text>')
    for tick in range(5):
        x = label_width + plot * tick / 4
        parts.append(f'<line x1="{x:.1f}" y1="{top_pad - 4}" x2="{x:.1f}" y2="{height - 20}" stroke="#d7dce1"/>')
        parts.append(
            f'<text x="{x:.1f}" y="{height - 6}" text-anchor="middle" fill="#4d5560">'
            f"{_number(peak * tick / 4, lang)}{'%' if percent else ''}</text>"
        )
    for row, (name, values) in enumerate(items):
        y = top_pad + row * group_height
        short = name if len(name) <= 30 else name[:29] + "…"
        parts.append(
            f'<text x="{label_width - 6}" y="{y + bar_height * len(series) / 2 + 4:.1f}" text-anchor="end">'
            f"{escape(short)}</text>"
        )
        for index, value in enumerate(values):
            width = plot * min(value or 0, peak) / peak
            by = y + index * bar_height
            parts.append(
                f'<rect x="{label_width}" y="{by}" width="{width:.1f}" height="{bar_height - 2}" '
                f'fill="{PALETTE[index % len(PALETTE)]}"/>'
            )
            label = "—" if value is None else f"{_number(value, lang)}{'%' if percent else unit}"
            parts.append(f'<text x="{label_width + width + 4:.1f}" y="{by + bar_height - 4}">{escape(label)}</text>')
    return _svg("".join(parts), height=height, title=title, desc=desc, chart_id=chart_id)


def line_chart(
    labels: list[str],
    series: list[tuple[str, list[float]]],
    *,
    title: str,
    desc: str,
    chart_id: str,
    lang: str = "vi",
) -> SafeString:
    """Lines over time (the trend): one line per series, points labelled on the x axis."""
    left, right, top, bottom, height = 48, 16, 28, 40, 260
    plot_w, plot_h = WIDTH - left - right, height - top - bottom
    peak = _nice_max(max([v for _n, values in series for v in values if v is not None] or [0]))
    count = max(1, len(labels) - 1)
    parts = []
    for index, (name, _values) in enumerate(series):
        x = left + index * 160
        parts.append(f'<rect x="{x}" y="6" width="12" height="12" fill="{PALETTE[index % len(PALETTE)]}"/>')
        parts.append(f'<text x="{x + 16}" y="16">{escape(name)}</text>')
    for tick in range(5):
        y = top + plot_h - plot_h * tick / 4
        parts.append(f'<line x1="{left}" y1="{y:.1f}" x2="{WIDTH - right}" y2="{y:.1f}" stroke="#d7dce1"/>')
        parts.append(
            f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end" fill="#4d5560">{_number(peak * tick / 4, lang)}</text>'
        )
    every = max(1, len(labels) // 8)
    for index, label in enumerate(labels):
        if index % every == 0 or index == len(labels) - 1:
            x = left + plot_w * index / count
            parts.append(
                f'<text x="{x:.1f}" y="{height - 18}" text-anchor="middle" fill="#4d5560">{escape(label)}</text>'
            )
    for index, (_name, values) in enumerate(series):
        color = PALETTE[index % len(PALETTE)]
        points = [
            (left + plot_w * i / count, top + plot_h - plot_h * min(v or 0, peak) / peak) for i, v in enumerate(values)
        ]
        if len(points) > 1:
            path = " ".join(f"{x:.1f},{y:.1f}" for x, y in points)
            parts.append(f'<polyline points="{path}" fill="none" stroke="{color}" stroke-width="2.5"/>')
        for x, y in points:
            parts.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3" fill="{color}"/>')
    return _svg("".join(parts), height=height, title=title, desc=desc, chart_id=chart_id)


def heatmap(
    grid: list[list[float]],
    *,
    weekdays: tuple[str, ...],
    title: str,
    desc: str,
    chart_id: str,
    lang: str = "vi",
) -> SafeString:
    """Booked hours per weekday (rows) and hour of the day (columns), darker when busier."""
    left, top, cell_w, cell_h = 70, 22, (WIDTH - 80) / 24, 26
    height = top + 7 * cell_h + 10
    peak = max([v for row in grid for v in row] or [0]) or 1.0
    parts = []
    for hour in range(0, 24, 2):
        x = left + hour * cell_w + cell_w / 2
        parts.append(f'<text x="{x:.1f}" y="{top - 6}" text-anchor="middle" fill="#4d5560">{hour:02d}</text>')
    for day, row in enumerate(grid):
        y = top + day * cell_h
        parts.append(
            f'<text x="{left - 6}" y="{y + cell_h / 2 + 4:.1f}" text-anchor="end">{escape(weekdays[day])}</text>'
        )
        for hour, value in enumerate(row):
            share = value / peak
            # From the page's panel grey to the accent blue: darker is busier (no colour alone:
            # each cell's hours are in its tooltip and in the table).
            red, green, blue = (
                int(244 - (244 - 11) * share),
                int(246 - (246 - 92) * share),
                int(248 - (248 - 173) * share),
            )
            parts.append(
                f'<rect x="{left + hour * cell_w:.1f}" y="{y}" width="{cell_w - 1:.1f}" height="{cell_h - 2}" '
                f'fill="rgb({red},{green},{blue})"><title>{escape(weekdays[day])} {hour:02d}:00 — '
                f"{_number(value, lang)} h</title></rect>"
            )
    return _svg("".join(parts), height=int(height), title=title, desc=desc, chart_id=chart_id)
