"""`manage.py create_display_token <lab-slug> [--name …] [--by …]`: a wall screen's address, for whoever mounts it."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from core.errors import DomainError
from frontend.admin import screen_url
from frontend.services import display_token_create
from labs.models import Lab


class Command(BaseCommand):
    """Create a display token for a lab and print the screen's full address (shown once: the token is not stored)."""

    help = "Create a wall-screen display token for a lab and print the screen's full URL (PUBLIC_URL + /screens/…)."

    def add_arguments(self, parser):
        parser.add_argument("lab", help="the lab's slug (a center's screen shows its sub-labs too)")
        parser.add_argument("--name", default="", help="where the screen hangs, e.g. 'Sảnh tầng 1 / Lobby'")
        parser.add_argument(
            "--by",
            default="",
            help="user name of the manager creating it (default: the first active superuser)",
        )

    def handle(self, *args, lab: str, name: str, by: str, **options):
        target = Lab.objects.filter(slug=lab, is_active=True).first()
        if target is None:
            raise CommandError(f"No active lab with the slug {lab!r}. / Không có phòng lab nào có mã {lab!r}.")
        users = get_user_model().objects.filter(is_active=True)
        creator = users.filter(username=by).first() if by else users.filter(is_superuser=True).order_by("pk").first()
        if creator is None:
            raise CommandError(
                f"No active user {by!r}." if by else "No active superuser: name a manager of the lab with --by."
            )
        try:
            _token, raw = display_token_create(lab=target, name=name or f"{target.name_vi} — màn hình", by=creator)
        except DomainError as exc:
            raise CommandError(f"{exc.message_in('en')} / {exc.message_in('vi')}") from None
        self.stdout.write(screen_url(target, raw))
