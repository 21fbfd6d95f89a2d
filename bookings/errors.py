"""The one domain error type: a stable code, a message in Vietnamese and English, and details."""

from __future__ import annotations

from typing import Any

from django.utils import translation

#: Every error code the domain raises, with its message in both languages. The API maps codes to
#: HTTP statuses in one place (api/exceptions.py); tests assert on codes, never on the text.
MESSAGES: dict[str, tuple[str, str]] = {
    "slot_taken": (
        "Khung giờ này đã có người đặt.",
        "This time slot is already booked.",
    ),
    "invalid_interval": (
        "Thời gian kết thúc phải sau thời gian bắt đầu.",
        "The end must be after the start.",
    ),
    "naive_datetime": (
        "Thời gian phải kèm múi giờ (ISO 8601 có độ lệch, ví dụ +07:00).",
        "Times must carry a time zone (ISO 8601 with an offset, e.g. +07:00).",
    ),
    "lock_timeout": (
        "Hệ thống đang bận xử lý một yêu cầu khác cho tài nguyên này, vui lòng thử lại sau giây lát.",
        "Another request for this resource is being processed; please retry in a moment.",
    ),
}


class BookingError(Exception):
    """A refusal the user can understand and a program can act on (``code`` never changes)."""

    def __init__(self, code: str, *, message: str | None = None, **details: Any) -> None:
        self.code = code
        self.details = details
        self._message = message
        super().__init__(f"{code}: {self.message_in('en')}")

    def message_in(self, language: str) -> str:
        """The message in ``language`` ('vi' or 'en'); Vietnamese is the default."""
        if self._message:
            return self._message
        vi, en = MESSAGES.get(self.code, (self.code, self.code))
        return en if language.startswith("en") else vi

    @property
    def message(self) -> str:
        """The message in the active language."""
        return self.message_in(translation.get_language() or "vi")

    def as_dict(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message, "messages": {"vi": self.message_in("vi"), "en": self.message_in("en")}, **self.details}
