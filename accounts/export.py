"""A person's data as files: one JSON document, or a ZIP of CSV files (one per kind of record).

CSV files start with a UTF-8 byte-order mark so spreadsheet programs read Vietnamese correctly.
"""

from __future__ import annotations

import csv
import io
import json
import zipfile

from django.core.serializers.json import DjangoJSONEncoder
from django.utils import timezone

#: The sections of the export, in order, as the CSV files are named.
SECTIONS = ("profile", "bookings", "certifications", "consents", "waitlist", "organization_requests")


def as_json(data: dict) -> bytes:
    """The whole export as one indented JSON document."""
    document = {"generated_at": timezone.now(), "format": "labshare-personal-data/1", **data}
    return json.dumps(document, cls=DjangoJSONEncoder, ensure_ascii=False, indent=2).encode()


def _csv(rows: list[dict]) -> bytes:
    buffer = io.StringIO()
    if rows:
        writer = csv.DictWriter(buffer, fieldnames=list(rows[0]))
        writer.writeheader()
        for row in rows:
            writer.writerow(
                {k: ("" if v is None else v.isoformat() if hasattr(v, "isoformat") else v) for k, v in row.items()}
            )
    return ("\ufeff" + buffer.getvalue()).encode()


def as_csv_zip(data: dict) -> bytes:
    """The export as a ZIP with one CSV per section (the profile as one row)."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for section in SECTIONS:
            rows = data.get(section)
            rows = [rows] if isinstance(rows, dict) else list(rows or [])
            archive.writestr(f"{section}.csv", _csv(rows))
    return out.getvalue()
