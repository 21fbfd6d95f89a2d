"""The reports' roll-up: bookings summed by machine and local day, kept by PostgreSQL in the same transaction.

Five tables, each answering one kind of question over any run of whole days without reading
the bookings (``reports/rollup.py`` reads them, ``reports/migrations/0001_rollup.py`` keeps them):

* :class:`UsageDay` — per machine, local day, status, audience and organisation: how many
  bookings, their booked time, their used time and the subsidy on them. Sums add up across days.
* :class:`ServedDays` — per machine, person, audience, organisation and year: the days on which
  the person came (one bit a day). Distinct people and organisations over a period do not add up
  across days; a bit string per person does (OR them, then look at the period's bits).
  :class:`LabServedDays` is the same per lab (the machines' strings ORed), for the network's
  figures, which count people per lab across a whole network.
* :class:`UsageMonth` — per lab, local month, status and audience: the days table summed over a
  month for the network's figures, which count a year of a whole network in whole months (a period
  that starts or ends inside a month reads those days from the days table).
* :class:`UsageHour` — per lab, local day and hour: the booked time in that hour, for the weekday ×
  hour heatmap.

Triggers on the bookings, members, resources and labs tables keep them up to date in the
transaction that changes those rows, whatever wrote them (a service, the admin, a data migration,
a bulk import), so the roll-up is never behind the bookings. A booking counts on the local day
(in its lab's zone) on which it starts, as in the reports. Used time of a booking still in use
(checked in, not yet out) grows with the clock: the roll-up leaves it out and the reports add it
from the bookings, which are few.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models.functions import Coalesce
from django.utils.translation import gettext_lazy as _

from labs.models import Lab, Organization, Resource


class DayBits(models.Field):
    """One bit per day of a year (bit 0 is 1 January; 366 bits so leap years fit), as PostgreSQL ``bit(366)``."""

    description = "bit(366): one bit per day of a year"

    def db_type(self, connection):
        return "bit(366)"


def _plain_key(model, name: str, **extra):
    # The roll-up is derived from the bookings: no foreign-key constraint (its rows come and go
    # with the bookings, in whatever order a deletion removes them) and no index of its own (each
    # table's key starts with it), but the ORM still joins.
    return models.ForeignKey(
        model,
        verbose_name=name,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        db_index=False,
        related_name="+",
        **extra,
    )


class UsageDay(models.Model):
    """Bookings of one machine that start on one local day, with one status, audience and organisation."""

    resource = _plain_key(Resource, _("resource"))
    day = models.DateField(_("day"))
    status = models.CharField(_("status"), max_length=20)
    audience = models.CharField(_("audience"), max_length=20)
    organization = _plain_key(Organization, _("organisation"), null=True)
    bookings = models.IntegerField(_("bookings"))
    booked = models.DurationField(_("booked time"))
    #: Check-in to check-out (to the end without a check-out); bookings still in use are left out.
    used = models.DurationField(_("used time"))
    subsidy_vnd = models.BigIntegerField(_("subsidy (VND)"))

    class Meta:
        verbose_name = _("day of use")
        verbose_name_plural = _("days of use")
        constraints = [
            models.UniqueConstraint(
                "resource", "day", "status", "audience", Coalesce("organization", 0), name="reports_usageday_key"
            )
        ]
        indexes = [models.Index(fields=["day", "resource"], name="reports_usageday_day")]

    def __str__(self) -> str:
        return f"{self.resource_id} {self.day} {self.status} {self.audience}: {self.bookings}"


class UsageMonth(models.Model):
    """Bookings of one lab's machines that start in one local month, with one status and audience."""

    lab = _plain_key(Lab, _("lab"))
    month = models.DateField(_("month"), help_text=_("The first day of the month"))
    status = models.CharField(_("status"), max_length=20)
    audience = models.CharField(_("audience"), max_length=20)
    bookings = models.IntegerField(_("bookings"))
    booked = models.DurationField(_("booked time"))
    used = models.DurationField(_("used time"))

    class Meta:
        verbose_name = _("month of use")
        verbose_name_plural = _("months of use")
        constraints = [
            models.UniqueConstraint(fields=["lab", "month", "status", "audience"], name="reports_usagemonth_key")
        ]

    def __str__(self) -> str:
        return f"{self.lab_id} {self.month:%Y-%m} {self.status} {self.audience}: {self.bookings}"


class ServedDays(models.Model):
    """The days of one year on which one person came to one machine, with one audience and organisation."""

    resource = _plain_key(Resource, _("resource"))
    user = _plain_key(settings.AUTH_USER_MODEL, _("user"))
    year = models.SmallIntegerField(_("year"))
    audience = models.CharField(_("audience"), max_length=20)
    organization = _plain_key(Organization, _("organisation"), null=True)
    days = DayBits(_("days"))

    class Meta:
        verbose_name = _("days served")
        verbose_name_plural = _("days served")
        constraints = [
            models.UniqueConstraint(
                "resource", "year", "user", "audience", Coalesce("organization", 0), name="reports_serveddays_key"
            )
        ]

    def __str__(self) -> str:
        return f"{self.resource_id} {self.user_id} {self.year}: {str(self.days).count('1')}"


class LabServedDays(models.Model):
    """The days of one year on which one person came to any machine of one lab, with one audience and organisation."""

    lab = _plain_key(Lab, _("lab"))
    user = _plain_key(settings.AUTH_USER_MODEL, _("user"))
    year = models.SmallIntegerField(_("year"))
    audience = models.CharField(_("audience"), max_length=20)
    organization = _plain_key(Organization, _("organisation"), null=True)
    days = DayBits(_("days"))

    class Meta:
        verbose_name = _("days served in a lab")
        verbose_name_plural = _("days served in a lab")
        constraints = [
            models.UniqueConstraint(
                "lab", "year", "user", "audience", Coalesce("organization", 0), name="reports_labserveddays_key"
            )
        ]

    def __str__(self) -> str:
        return f"{self.lab_id} {self.user_id} {self.year}: {str(self.days).count('1')}"


class UsageHour(models.Model):
    """Booked time in one hour of the local day on which the bookings start, for one lab.

    ``hour`` counts from that day's midnight and goes past 23 for bookings that run past midnight.
    """

    lab = _plain_key(Lab, _("lab"))
    day = models.DateField(_("day"))
    hour = models.SmallIntegerField(_("hour"))
    booked = models.DurationField(_("booked time"))

    class Meta:
        verbose_name = _("hour of use")
        verbose_name_plural = _("hours of use")
        constraints = [models.UniqueConstraint(fields=["lab", "day", "hour"], name="reports_usagehour_key")]

    def __str__(self) -> str:
        return f"{self.lab_id} {self.day} +{self.hour}h: {self.booked}"
