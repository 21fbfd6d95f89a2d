"""`manage.py load_holidays`: Vietnamese public holidays (Tết included) as closures on the labs' calendars."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from labs.models import Lab
from labs.services import holidays_load


class Command(BaseCommand):
    help = (
        "Nạp ngày lễ Việt Nam (cả Tết) thành ngày đóng cửa trên lịch các phòng lab; chạy lại không tạo trùng. / "
        "Load Vietnamese public holidays (Tết included) as closures on the labs' calendars; re-running never duplicates."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--years",
            nargs="+",
            type=int,
            metavar="YEAR",
            help="Các năm cần nạp (mặc định: năm nay và năm sau) / Years to load (default: this year and next)",
        )
        parser.add_argument(
            "--lab",
            action="append",
            dest="labs",
            metavar="SLUG",
            help=(
                "Chỉ nạp cho phòng lab này (lặp lại được; mặc định: các trung tâm cấp cao nhất, áp dụng cho mọi phòng con) / "
                "Only this lab (repeatable; default: the top-level centers, which covers every lab below them)"
            ),
        )

    def handle(self, *args, years=None, labs=None, **options):
        this_year = timezone.localdate().year
        years = sorted(set(years or [this_year, this_year + 1]))
        bad = [y for y in years if not 1990 <= y <= 2100]
        if bad:
            raise CommandError(f"Năm không hợp lệ / Invalid year: {', '.join(map(str, bad))} (1990–2100)")
        targets = None
        if labs:
            found = {lab.slug: lab for lab in Lab.objects.filter(slug__in=labs)}
            missing = [slug for slug in labs if slug not in found]
            if missing:
                raise CommandError(f"Không tìm thấy phòng lab / No lab with slug: {', '.join(missing)}")
            targets = [found[slug] for slug in dict.fromkeys(labs)]
        lab_count = len(targets) if targets is not None else Lab.objects.filter(parent__isnull=True).count()
        if lab_count == 0:
            self.stdout.write(self.style.WARNING("Chưa có phòng lab nào / There are no labs yet: nothing to do."))
            return
        created = holidays_load(years=years, labs=targets)
        year_text = ", ".join(map(str, years))
        self.stdout.write(
            self.style.SUCCESS(
                f"Đã nạp {created} ngày lễ mới cho {lab_count} phòng lab (năm {year_text}). / "
                f"Loaded {created} new holiday closures on {lab_count} labs (years {year_text})."
            )
        )
