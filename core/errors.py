"""The one domain error type, and the registry of every code: HTTP status, Vietnamese, English.

Each app declares its codes once, in its own ``errors.py``, with :func:`define`; the API reads
the status and the messages from here (``api/exceptions.py`` has no list of its own). Codes are
stable: clients and tests act on them, never on the text.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.utils import translation

# HTTP statuses a refusal may map to, named for what they mean here.
INVALID = 400  # the request is wrong or a rule refuses it
UNAUTHENTICATED = 401
FORBIDDEN = 403  # seen, but not yours to do
NOT_FOUND = 404  # not visible to the caller
CONFLICT = 409  # the state of the world says no (retry later or elsewhere)
TOO_LARGE = 413
UNPROCESSABLE = 422
TOO_MANY = 429


@dataclass(frozen=True)
class ErrorSpec:
    """What a code means: its HTTP status and its message in both languages."""

    code: str
    status: int
    vi: str
    en: str

    def message_in(self, language: str | None) -> str:
        return self.en if (language or "vi").startswith("en") else self.vi


_REGISTRY: dict[str, ErrorSpec] = {}


def define(code: str, status: int, vi: str, en: str) -> str:
    """Declare ``code`` (once; declaring it again the same way is harmless). Returns the code."""
    spec = ErrorSpec(code, status, vi, en)
    existing = _REGISTRY.get(code)
    if existing is not None and existing != spec:
        raise ValueError(f"error code {code!r} is already declared differently: {existing}")
    _REGISTRY[code] = spec
    return code


def define_many(status: int, table: Mapping[str, tuple[str, str]]) -> None:
    """Declare several codes of one status from ``{code: (vi, en)}``."""
    for code, (vi, en) in table.items():
        define(code, status, vi, en)


def spec_for(code: str) -> ErrorSpec | None:
    """The declaration of ``code``, or None for a code nobody declared."""
    return _REGISTRY.get(code)


def registry() -> Mapping[str, ErrorSpec]:
    """Every declared code (read-only view)."""
    return dict(_REGISTRY)


def status_for(code: str) -> int:
    """The HTTP status of ``code``; an undeclared code is a refusal (400), never a crash."""
    spec = _REGISTRY.get(code)
    return spec.status if spec is not None else INVALID


def messages_for(code: str) -> dict[str, str]:
    """The message of ``code`` in both languages (the code itself when undeclared)."""
    spec = _REGISTRY.get(code)
    if spec is None:
        return {"vi": code, "en": code}
    return {"vi": spec.vi, "en": spec.en}


class DomainError(Exception):
    """A refusal a person can understand and a program can act on (``code`` never changes).

    ``details`` are structured facts about the refusal (the conflicting interval, the missing
    certifications, when to retry), sent to API clients as they are.
    """

    def __init__(self, code: str, *, message: str | None = None, **details: Any) -> None:
        self.code = code
        self.details = details
        self._message = message
        super().__init__(f"{code}: {self.message_in('en')}")

    @property
    def status(self) -> int:
        return status_for(self.code)

    def message_in(self, language: str) -> str:
        """The message in ``language`` ('vi' or 'en'); Vietnamese is the default."""
        if self._message:
            return self._message
        return messages_for(self.code)["en" if (language or "vi").startswith("en") else "vi"]

    @property
    def message(self) -> str:
        """The message in the active language."""
        return self.message_in(translation.get_language() or "vi")

    def as_dict(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "message": self.message,
            "messages": {"vi": self.message_in("vi"), "en": self.message_in("en")},
            **self.details,
        }
