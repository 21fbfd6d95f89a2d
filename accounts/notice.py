"""The privacy notice: its version (recorded with every consent) and where its text lives.

The text is in ``accounts/templates/accounts/notice.vi.html`` and ``notice.en.html``. Change
:data:`NOTICE_VERSION` whenever the text changes in substance: choices recorded under an older
version stay as they were made, and the profile shows which version each was given under.
"""

from __future__ import annotations

#: The version of the privacy notice people are shown now.
NOTICE_VERSION = "2026-01"


def template_for(language: str) -> str:
    """The notice's template in ``language`` ('vi' or 'en')."""
    return f"accounts/notice.{'en' if (language or '').startswith('en') else 'vi'}.html"
