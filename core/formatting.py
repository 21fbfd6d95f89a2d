"""How people read money, numbers, dates and names, in Vietnamese and English, through Babel.

One place for every formatter, so e-mails, pages, PDFs and exports agree: ``1.250.000 ₫`` and
``Thứ Hai, 04/03/2030, 09:00`` in Vietnamese, ``1,250,000 VND`` and ``Monday 4 March 2030, 09:00``
in English. Times are always shown in the zone the caller passes (the lab's).
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from babel.dates import format_date as babel_format_date
from babel.dates import format_datetime as babel_format_datetime
from babel.numbers import format_currency, format_decimal
from django.utils import translation

#: Babel locales for our two languages.
LOCALES = {"vi": "vi_VN", "en": "en_GB"}

# Patterns, per language: what Vietnamese and English readers expect on a booking.
_DAY = {"vi": "EEEE, dd/MM/yyyy", "en": "EEEE d MMMM yyyy"}
_SHORT_DATE = {"vi": "dd/MM/yyyy", "en": "d MMM yyyy"}
_MONTH = {"vi": "'tháng' M/yyyy", "en": "MMMM yyyy"}


def language(value: str | None = None) -> str:
    """'vi' or 'en': ``value`` when given, else the active language; Vietnamese by default."""
    value = value or translation.get_language() or "vi"
    return "en" if value.startswith("en") else "vi"


def format_vnd(amount: int | Decimal | None, lang: str | None = None) -> str:
    """Money in VND, no decimals: ``1.250.000 ₫`` (vi), ``1,250,000 VND`` (en); empty for None."""
    if amount is None:
        return ""
    lang = language(lang)
    if lang == "en":
        # The ISO code after the number reads better in English prose than a leading "₫".
        return format_currency(amount, "VND", format="#,##0 ¤¤", locale=LOCALES[lang], currency_digits=False)
    return format_currency(amount, "VND", format="#,##0 ¤", locale=LOCALES[lang], currency_digits=False)


def format_number(value: int | float | Decimal, lang: str | None = None, *, digits: int = 2) -> str:
    """A number as the locale writes it, at most ``digits`` decimals: ``1,5`` (vi), ``1.5`` (en)."""
    pattern = "#,##0." + "#" * digits if digits else "#,##0"
    return format_decimal(value, format=pattern, locale=LOCALES[language(lang)])


def format_percent(value: int | float | Decimal, lang: str | None = None, *, digits: int = 1) -> str:
    """A percentage given as a number of percent (``8`` -> ``8%``, ``12.5`` -> ``12,5%`` in vi)."""
    return f"{format_number(value, lang, digits=digits)}%"


def format_hours(hours: int | float | Decimal, lang: str | None = None) -> str:
    """A duration in hours: ``1,5 giờ`` (vi), ``1.5 h`` (en)."""
    lang = language(lang)
    return f"{format_number(hours, lang)} {'h' if lang == 'en' else 'giờ'}"


def format_day(moment: date | datetime, tz=None, lang: str | None = None) -> str:
    """A day with its weekday: ``Thứ Hai, 04/03/2030`` (vi), ``Monday 4 March 2030`` (en)."""
    lang = language(lang)
    if isinstance(moment, datetime):
        return babel_format_datetime(moment, _DAY[lang], tzinfo=tz or moment.tzinfo, locale=LOCALES[lang])
    return babel_format_date(moment, _DAY[lang], locale=LOCALES[lang])


def format_date(moment: date | datetime, tz=None, lang: str | None = None) -> str:
    """A date without its weekday: ``04/03/2030`` (vi), ``4 Mar 2030`` (en)."""
    lang = language(lang)
    if isinstance(moment, datetime):
        return babel_format_datetime(moment, _SHORT_DATE[lang], tzinfo=tz or moment.tzinfo, locale=LOCALES[lang])
    return babel_format_date(moment, _SHORT_DATE[lang], locale=LOCALES[lang])


def format_month(moment: date | datetime, lang: str | None = None) -> str:
    """A month: ``tháng 3/2030`` (vi), ``March 2030`` (en)."""
    lang = language(lang)
    return babel_format_date(moment, _MONTH[lang], locale=LOCALES[lang])


def format_time(moment: datetime, tz=None) -> str:
    """A time of day on the 24-hour clock, in ``tz``: ``09:00``."""
    return babel_format_datetime(moment, "HH:mm", tzinfo=tz or moment.tzinfo, locale=LOCALES["vi"])


def format_moment(moment: datetime, tz=None, lang: str | None = None) -> str:
    """One instant: ``Thứ Hai, 04/03/2030, 09:00`` (vi), ``Monday 4 March 2030, 09:00`` (en)."""
    return f"{format_day(moment, tz, lang)}, {format_time(moment, tz)}"


def format_when(start: datetime, end: datetime, tz, lang: str | None = None) -> str:
    """An interval as the locale writes it: ``Thứ Hai, 04/03/2030, 09:00–10:00``; both dates over midnight."""
    local_start, local_end = start.astimezone(tz), end.astimezone(tz)
    if local_start.date() == local_end.date():
        return f"{format_day(local_start, tz, lang)}, {format_time(local_start, tz)}–{format_time(local_end, tz)}"
    return f"{format_moment(local_start, tz, lang)} – {format_moment(local_end, tz, lang)}"


def name_in(obj, lang: str | None = None) -> str:
    """A bilingual object's name (``name_vi`` / ``name_en``) in ``lang``; English falls back to Vietnamese."""
    if language(lang) == "en":
        return getattr(obj, "name_en", "") or obj.name_vi
    return obj.name_vi
