"""`manage.py load_demo`: the Bình Dương demo network (labs, machines, people, two weeks of bookings) and
its money (billing profiles, three months of use before those weeks, the last two months' statements)."""

from __future__ import annotations

from django.core.management.base import BaseCommand
from django.db import transaction

from demo.devices import load_devices_demo
from demo.money import load_money_demo
from demo.network import DEMO_PASSWORD, booking_status_counts, demo_counts, load_demo
from labs.models import Lab


class Command(BaseCommand):
    help = (
        "Nạp mạng lưới demo Bình Dương (chạy lại không tạo trùng). / "
        "Load the Bình Dương demo network (running it again duplicates nothing)."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--if-empty",
            action="store_true",
            help="Không làm gì nếu đã có phòng lab / Do nothing when any lab exists (used by `make run`)",
        )

    def handle(self, *args, if_empty=False, **options):
        if if_empty and Lab.objects.exists():
            self.stdout.write("Đã có dữ liệu, bỏ qua demo / Data already present: demo not loaded.")
            return
        verbose = options.get("verbosity", 1) >= 2
        log = self.stdout.write if verbose else (lambda line: None)
        with transaction.atomic():
            load_demo(log=log)
            # Before the statements: they bill the charges the devices measured.
            devices = load_devices_demo(log=log)
            money = load_money_demo(log=log)
        counts = demo_counts()
        statuses = booking_status_counts()
        self.stdout.write(
            self.style.SUCCESS(
                f"Demo sẵn sàng / Demo ready: {counts['labs']} phòng lab / labs, {counts['resources']} tài nguyên / resources, "
                f"{counts['users']} người dùng / users, {counts['bookings']} lượt đặt / bookings."
            )
        )
        self.stdout.write("  " + ", ".join(f"{status}: {n}" for status, n in statuses.items()))
        self.stdout.write(
            f"  Sao kê đã phát hành / Statements issued: {money['issued']} "
            f"({money['already_closed']} đã có / already there)"
        )
        self.stdout.write(
            f"  Thiết bị / Devices: {devices['devices']}, thẻ / cards: {devices['badges']}, "
            f"phiên sử dụng mới / new sessions: {devices['sessions']}"
        )
        self.stdout.write(f"  Mật khẩu mọi tài khoản demo / Password of every demo login: {DEMO_PASSWORD}")
