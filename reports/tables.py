"""Reports and lists as tables (tablib): the same columns in the web's and the API's CSV and XLSX.

Headers are in the reader's language; numbers stay numbers (a spreadsheet sums them), hours with
two decimals, money in whole đồng.
"""

from __future__ import annotations

import tablib
from django.db.models import QuerySet
from django.utils import translation

from core.exports import dataset
from labs.models import Audience


def _lang(language: str | None) -> str:
    return "en" if (language or translation.get_language() or "vi").startswith("en") else "vi"


def _name(names: dict | None, language: str) -> str:
    return (names or {}).get(language, "") if names else "—"


MEASURE_HEADERS = {
    "vi": (
        "Giờ mở cửa",
        "Giờ đã đặt",
        "Giờ sử dụng",
        "Hiệu suất sử dụng (%)",
        "Lượt đặt",
        "Vắng mặt",
        "Đã hủy",
        "Tỷ lệ vắng mặt (%)",
        "Tỷ lệ hủy (%)",
    ),
    "en": (
        "Open hours",
        "Booked hours",
        "Used hours",
        "Utilisation (%)",
        "Bookings",
        "No-shows",
        "Cancellations",
        "No-show rate (%)",
        "Cancellation rate (%)",
    ),
}


def _measures(row: dict) -> tuple:
    return (
        row.get("open_hours"),
        row["booked_hours"],
        row["used_hours"],
        row.get("utilisation"),
        row["bookings"],
        row["no_shows"],
        row["cancellations"],
        row.get("no_show_rate"),
        row.get("cancellation_rate"),
    )


def utilisation_book(report: dict, language: str | None = None) -> tablib.Databook:
    """Every table of a utilisation report, one sheet each (XLSX); CSV takes the machines' sheet."""
    lang = _lang(language)
    vi = lang == "vi"
    measures = MEASURE_HEADERS[lang]
    machines = dataset(
        (("Thiết bị", "Phòng lab", "Nhóm thiết bị") if vi else ("Machine", "Lab", "Category")) + measures,
        (
            (_name(r["name"], lang), _name(r["lab"], lang), _name(r["category"], lang), *_measures(r))
            for r in report["by_resource"]
        ),
        title="Thiết bị" if vi else "Machines",
    )
    labs = dataset(
        (("Phòng lab",) if vi else ("Lab",)) + measures,
        ((_name(r["name"], lang), *_measures(r)) for r in report["by_lab"]),
        title="Phòng lab" if vi else "Labs",
    )
    categories = dataset(
        (("Nhóm thiết bị",) if vi else ("Category",)) + measures,
        ((_name(r["name"], lang), *_measures(r)) for r in report["by_category"]),
        title="Nhóm" if vi else "Categories",
    )
    audiences = dataset(
        (("Đối tượng",) if vi else ("Audience",)) + measures[1:],
        ((_name(r["name"], lang), *_measures(r)[1:]) for r in report["by_audience"]),
        title="Đối tượng" if vi else "Audiences",
    )
    orgs = dataset(
        (("Tổ chức",) if vi else ("Organisation",)) + measures[1:],
        ((_name(r["name"], lang) if r["name"] else "—", *_measures(r)[1:]) for r in report["by_organization"]),
        title="Tổ chức" if vi else "Organisations",
    )
    trend = dataset(
        (("Từ ngày",) if vi else ("From",)) + measures,
        ((r["bucket"].isoformat(), *_measures(r)) for r in report["trend"]),
        title="Xu hướng" if vi else "Trend",
    )
    weekdays = WEEKDAYS[lang]
    heat = dataset(
        (("Thứ",) if vi else ("Day",)) + tuple(f"{hour:02d}:00" for hour in range(24)),
        ((weekdays[index], *row) for index, row in enumerate(report["heatmap"])),
        title="Giờ cao điểm" if vi else "Peak hours",
    )
    return tablib.Databook([machines, labs, categories, audiences, orgs, trend, heat])


WEEKDAYS = {
    "vi": ("Thứ Hai", "Thứ Ba", "Thứ Tư", "Thứ Năm", "Thứ Sáu", "Thứ Bảy", "Chủ Nhật"),
    "en": ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"),
}
AUDIENCE_KEYS = [value for value, _label in Audience.choices]


def _audience_headers(lang: str) -> tuple:
    out = []
    for key in AUDIENCE_KEYS:
        with translation.override(lang):
            out.append(str(dict(Audience.choices)[key]))
    return tuple(out)


def network_book(figures: dict, language: str | None = None) -> tablib.Databook:
    """The network's figures: by lab, by month, sponsors."""
    lang = _lang(language)
    vi = lang == "vi"
    values = (
        ("Người được phục vụ", "Tổ chức", "Giờ đã đặt", "Giờ sử dụng", "Lượt đặt")
        if vi
        else ("People served", "Organisations", "Booked hours", "Used hours", "Bookings")
    )
    audiences = _audience_headers(lang)

    def cells(row):
        return (
            row["people"],
            row["organizations"],
            row["booked_hours"],
            row["used_hours"],
            row["bookings"],
            *(row["people_by_audience"][key] for key in AUDIENCE_KEYS),
        )

    by_lab = dataset(
        (("Phòng lab",) if vi else ("Lab",)) + values + audiences,
        [(_name(r["name"], lang), *cells(r)) for r in figures["by_lab"]]
        + [("Tổng" if vi else "Total", *cells(figures["total"]))],
        title="Theo phòng lab" if vi else "By lab",
    )
    by_month = dataset(
        (("Tháng",) if vi else ("Month",)) + values + audiences,
        ((r["month"].strftime("%m/%Y"), *cells(r)) for r in figures["by_month"]),
        title="Theo tháng" if vi else "By month",
    )
    sponsors = dataset(
        ("Nhà tài trợ", "Tài trợ (₫)", "Giờ trên máy tài trợ", "Số máy")
        if vi
        else ("Sponsor", "Subsidy (VND)", "Hours on sponsored machines", "Machines"),
        ((r["name"], r["subsidy_vnd"], r["booked_hours"], r["machines"]) for r in figures["sponsors"]),
        title="Nhà tài trợ" if vi else "Sponsors",
    )
    return tablib.Databook([by_lab, by_month, sponsors])


def sponsor_book(impact: dict, language: str | None = None) -> tablib.Databook:
    """A sponsor's impact: by audience, by kind of organisation, by month."""
    lang = _lang(language)
    vi = lang == "vi"
    values = (
        ("Giờ đã đặt", "Giờ sử dụng", "Lượt đặt", "Người được phục vụ", "Tổ chức", "Tài trợ (₫)")
        if vi
        else ("Booked hours", "Used hours", "Bookings", "People served", "Organisations", "Subsidy (VND)")
    )

    def cells(row):
        return (
            row["booked_hours"],
            row["used_hours"],
            row["bookings"],
            row["people"],
            row["organizations"],
            row["subsidy_vnd"],
        )

    return tablib.Databook(
        [
            dataset(
                (("Đối tượng",) if vi else ("Audience",)) + values,
                [(_name(r["name"], lang), *cells(r)) for r in impact["by_audience"]]
                + [("Tổng" if vi else "Total", *cells(impact["total"]))],
                title="Đối tượng" if vi else "Audiences",
            ),
            dataset(
                (("Loại tổ chức",) if vi else ("Kind of organisation",)) + values,
                ((_name(r["name"], lang), *cells(r)) for r in impact["by_organization_kind"]),
                title="Tổ chức" if vi else "Organisations",
            ),
            dataset(
                (("Tháng",) if vi else ("Month",)) + values,
                ((r["month"].strftime("%m/%Y"), *cells(r)) for r in impact["trend"]),
                title="Theo tháng" if vi else "By month",
            ),
        ]
    )


def first_sheet_or_book(book: tablib.Databook, fmt: str):
    """XLSX takes every sheet; CSV (one table per file) the first."""
    return book if fmt == "xlsx" else book.sheets()[0]


# --- Lists --------------------------------------------------------------------------------------


def bookings_sheet(bookings: QuerySet, language: str | None = None) -> tablib.Dataset:
    """Bookings as a table: when (in the lab's zone), machine, lab, who, organisation, status, price."""
    lang = _lang(language)
    vi = lang == "vi"
    headers = (
        (
            "Mã",
            "Bắt đầu",
            "Kết thúc",
            "Thiết bị",
            "Phòng lab",
            "Người đặt",
            "Tổ chức",
            "Trạng thái",
            "Giá (₫)",
            "Mục đích",
        )
        if vi
        else ("Id", "Start", "End", "Machine", "Lab", "Booked by", "Organisation", "Status", "Price (VND)", "Purpose")
    )
    rows = []
    with translation.override(lang):
        for b in bookings.iterator(chunk_size=2000):
            tz = b.resource.lab.tz
            rows.append(
                (
                    b.pk,
                    b.start.astimezone(tz).strftime("%Y-%m-%d %H:%M"),
                    b.end.astimezone(tz).strftime("%Y-%m-%d %H:%M"),
                    b.resource.name_en if not vi and b.resource.name_en else b.resource.name_vi,
                    b.resource.lab.name_en if not vi and b.resource.lab.name_en else b.resource.lab.name_vi,
                    b.user.get_full_name() or b.user.get_username(),
                    b.organization.name if b.organization else "",
                    str(b.get_status_display()),
                    b.price_vnd,
                    b.purpose,
                )
            )
    return dataset(headers, rows, title="Lượt đặt" if vi else "Bookings")


def members_sheet(members: QuerySet, language: str | None = None) -> tablib.Dataset:
    """Members: name, username, e-mail, audience, organisation, student or staff number."""
    lang = _lang(language)
    vi = lang == "vi"
    headers = (
        ("Họ tên", "Tên đăng nhập", "Email", "Đối tượng", "Tổ chức", "Mã số SV/CB")
        if vi
        else ("Name", "Username", "E-mail", "Audience", "Organisation", "Student / staff number")
    )
    with translation.override(lang):
        rows = [
            (
                m.user.get_full_name(),
                m.user.get_username(),
                m.user.email,
                str(m.get_audience_display()),
                m.organization.name if m.organization else "",
                m.student_id,
            )
            for m in members
        ]
    return dataset(headers, rows, title="Thành viên" if vi else "Members")


def certifications_sheet(grants: QuerySet, language: str | None = None) -> tablib.Dataset:
    """Certification grants: who holds which training, from when to when, revoked or not."""
    lang = _lang(language)
    vi = lang == "vi"
    headers = (
        ("Chứng chỉ", "Phòng lab", "Người được cấp", "Tên đăng nhập", "Ngày cấp", "Hết hạn", "Thu hồi", "Người cấp")
        if vi
        else ("Certification", "Lab", "Holder", "Username", "Granted", "Expires", "Revoked", "Granted by")
    )
    rows = []
    for g in grants:
        tz = g.certification.lab.tz
        rows.append(
            (
                g.certification.name_en if not vi and g.certification.name_en else g.certification.name_vi,
                g.certification.lab.name_en if not vi and g.certification.lab.name_en else g.certification.lab.name_vi,
                g.user.get_full_name(),
                g.user.get_username(),
                g.granted_at.astimezone(tz).date().isoformat(),
                g.expires_at.astimezone(tz).date().isoformat() if g.expires_at else "",
                g.revoked_at.astimezone(tz).date().isoformat() if g.revoked_at else "",
                (g.granted_by.get_full_name() or g.granted_by.get_username()) if g.granted_by else "",
            )
        )
    return dataset(headers, rows, title="Chứng chỉ" if vi else "Certifications")
