"""Machines (Equipment as a Resource), their categories and the partners who sponsor them."""

from __future__ import annotations

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import translation
from django.utils.translation import gettext_lazy as _

from labs.models import Audience, BilingualNameMixin, Resource


class Category(BilingualNameMixin):
    """A kind of machine (laser cutter, FDM printer, …): what people search for across labs."""

    slug = models.SlugField(_("slug"), max_length=80, unique=True)
    icon = models.CharField(_("icon"), max_length=40, blank=True)

    class Meta:
        verbose_name = _("category")
        verbose_name_plural = _("categories")
        ordering = ["name_vi"]


class Partner(models.Model):
    """An industrial sponsor (Festo, Philips, …) under the state–university–enterprise model."""

    name = models.CharField(_("name"), max_length=200, unique=True)
    slug = models.SlugField(_("slug"), max_length=80, unique=True)
    logo = models.ImageField(_("logo"), upload_to="partners/", blank=True)
    website = models.URLField(_("website"), blank=True)
    description_vi = models.TextField(_("description (Vietnamese)"), blank=True)
    description_en = models.TextField(_("description (English)"), blank=True)
    agreement_start = models.DateField(_("agreement starts"), null=True, blank=True)
    agreement_end = models.DateField(_("agreement ends"), null=True, blank=True)
    organization = models.OneToOneField(
        "labs.Organization",
        verbose_name=_("organisation"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="partner",
    )

    class Meta:
        verbose_name = _("partner")
        verbose_name_plural = _("partners")
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(agreement_end__isnull=True)
                | models.Q(agreement_start__isnull=True)
                | models.Q(agreement_end__gte=models.F("agreement_start")),
                name="partner_agreement_order",
            )
        ]

    def __str__(self) -> str:
        return self.name

    def agreement_active_on(self, day) -> bool:
        return (self.agreement_start is None or self.agreement_start <= day) and (
            self.agreement_end is None or day <= self.agreement_end
        )

    def subsidy_percent(self, audience: str, day) -> int:
        """The share of the price the partner pays for an audience on a day (0 when none or out of agreement)."""
        if not self.agreement_active_on(day):
            return 0
        for subsidy in self.subsidies.all():
            if subsidy.audience == audience:
                return subsidy.percent
        return 0

    @property
    def description(self) -> str:
        if (translation.get_language() or "vi").startswith("en") and self.description_en:
            return self.description_en
        return self.description_vi


class PartnerSubsidy(models.Model):
    """How much of the price a partner pays for one audience on its sponsored machines."""

    partner = models.ForeignKey(Partner, verbose_name=_("partner"), on_delete=models.CASCADE, related_name="subsidies")
    audience = models.CharField(_("audience"), max_length=20, choices=Audience.choices)
    percent = models.PositiveSmallIntegerField(
        _("subsidy (%)"), validators=[MinValueValidator(1), MaxValueValidator(100)]
    )

    class Meta:
        verbose_name = _("subsidy")
        verbose_name_plural = _("subsidies")
        constraints = [
            models.UniqueConstraint(fields=["partner", "audience"], name="partner_subsidy_unique"),
            models.CheckConstraint(
                condition=models.Q(percent__gte=1, percent__lte=100), name="partner_subsidy_percent_range"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.partner}: {self.percent}% {self.get_audience_display()}"


class Equipment(Resource):
    """A machine: category, maker and model, sponsor, specifications and safety notes."""

    category = models.ForeignKey(
        Category, verbose_name=_("category"), on_delete=models.PROTECT, related_name="equipment"
    )
    manufacturer = models.CharField(_("manufacturer"), max_length=120, blank=True)
    model_number = models.CharField(_("model"), max_length=120, blank=True)
    serial_number = models.CharField(_("serial number"), max_length=120, blank=True)
    sponsor = models.ForeignKey(
        Partner, verbose_name=_("sponsor"), null=True, blank=True, on_delete=models.SET_NULL, related_name="equipment"
    )
    specifications = models.JSONField(
        _("specifications"), default=dict, blank=True, help_text=_('e.g. {"bed": "600×400 mm", "power": "60 W"}')
    )
    safety_notes_vi = models.TextField(_("safety notes (Vietnamese)"), blank=True)
    safety_notes_en = models.TextField(_("safety notes (English)"), blank=True)

    class Meta:
        verbose_name = _("equipment")
        verbose_name_plural = _("equipment")

    @classmethod
    def default_kind(cls) -> str:
        return Resource.Kind.EQUIPMENT

    @property
    def safety_notes(self) -> str:
        if (translation.get_language() or "vi").startswith("en") and self.safety_notes_en:
            return self.safety_notes_en
        return self.safety_notes_vi
