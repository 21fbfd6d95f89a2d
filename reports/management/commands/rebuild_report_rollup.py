"""`manage.py rebuild_report_rollup [--from DAY] [--to DAY]`: rebuild the reports' roll-up from the bookings."""

from __future__ import annotations

from datetime import date

from django.core.management.base import BaseCommand, CommandError

from core.errors import DomainError
from reports.services import rollup_rebuild


def _day(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise CommandError(f"Ngày không hợp lệ / Not a date (YYYY-MM-DD): {value}") from exc


class Command(BaseCommand):
    help = (
        "Dựng lại bảng tổng hợp báo cáo từ các lượt đặt (mặc định: toàn bộ). / "
        "Rebuild the reports' roll-up from the bookings (everything unless a period is given)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--from", dest="first", type=_day, help="Ngày đầu / first local day (YYYY-MM-DD)")
        parser.add_argument("--to", dest="last", type=_day, help="Ngày cuối / last local day (YYYY-MM-DD)")

    def handle(self, *args, first=None, last=None, **options):
        try:
            rollup_rebuild(first=first, last=last)
        except DomainError as exc:
            raise CommandError(exc.message) from exc
        period = f"{first or '…'} – {last or '…'}" if first or last else "toàn bộ / everything"
        self.stdout.write(self.style.SUCCESS(f"Đã dựng lại / Rebuilt: {period}"))
