"""The web app's own error codes, declared in core.errors."""

from __future__ import annotations

from core.errors import INVALID, define

define("name_required", INVALID, "Vui lòng đặt tên.", "Please give it a name.")
