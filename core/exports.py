"""Tables as files people open: CSV (UTF-8 with a BOM, so Excel reads Vietnamese) and XLSX, via tablib."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import tablib
from django.http import HttpResponse

from core.errors import DomainError

FORMATS = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


def check_format(value: str | None) -> str:
    """``csv`` or ``xlsx`` (``csv`` when not given); anything else is refused (export_format_invalid)."""
    value = (value or "csv").lower()
    if value not in FORMATS:
        raise DomainError("export_format_invalid", allowed=sorted(FORMATS))
    return value


def dataset(headers: Sequence[str], rows: Iterable[Sequence], *, title: str = "labshare") -> tablib.Dataset:
    """A tablib Dataset of ``rows`` under ``headers`` (sheet name ``title``, at most 31 characters)."""
    data = tablib.Dataset(headers=list(headers), title=title[:31])
    for row in rows:
        data.append(list(row))
    return data


def render(data: tablib.Dataset | tablib.Databook, fmt: str) -> bytes:
    """The file's bytes in ``fmt``."""
    if fmt == "csv":
        # The BOM makes Excel open the file as UTF-8 (Vietnamese letters intact).
        return ("\ufeff" + data.export("csv")).encode("utf-8")
    return data.export("xlsx")


def response(data: tablib.Dataset, fmt: str, filename: str) -> HttpResponse:
    """An attachment response with the table in ``fmt`` (``filename`` without extension)."""
    fmt = check_format(fmt)
    reply = HttpResponse(render(data, fmt), content_type=FORMATS[fmt])
    reply["Content-Disposition"] = f'attachment; filename="{filename}.{fmt}"'
    return reply
