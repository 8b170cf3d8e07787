"""Field sales' records: pipelines with configurable stages, opportunities (商談), lost reasons, history."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import translation
from django.utils.translation import gettext_lazy as _


class Bilingual(models.Model):
    """A label kept in English and Japanese; `label` picks the active language."""

    label_en = models.CharField(_("label (English)"), max_length=100)
    label_ja = models.CharField(_("label (Japanese)"), max_length=100)

    class Meta:
        abstract = True

    @property
    def label(self) -> str:
        return self.label_ja if translation.get_language() == "ja" and self.label_ja else self.label_en

    def __str__(self) -> str:
        return self.label


class Pipeline(models.Model):
    name = models.CharField(_("name"), max_length=100, unique=True)
    is_default = models.BooleanField(_("default"), default=False)
    currency = models.CharField(_("currency"), max_length=3, default="JPY")

    class Meta:
        ordering = ["-is_default", "name"]

    def __str__(self) -> str:
        return self.name


class PipelineStage(Bilingual):
    class Kind(models.TextChoices):
        OPEN = "open", _("Open")  # the deal is being worked
        WON = "won", _("Won")  # closes the deal as won
        LOST = "lost", _("Lost")  # closes the deal as lost

    pipeline = models.ForeignKey(Pipeline, on_delete=models.CASCADE, related_name="stages")
    order = models.PositiveIntegerField(default=0)
    kind = models.CharField(max_length=4, choices=Kind.choices, default=Kind.OPEN)
    probability = models.PositiveSmallIntegerField(_("probability %"), default=0)

    class Meta:
        ordering = ["pipeline", "order", "id"]


class LostReason(Bilingual):
    order = models.PositiveIntegerField(default=0)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["order", "id"]


class Opportunity(models.Model):
    class Status(models.TextChoices):
        OPEN = "open", _("Open")
        WON = "won", _("Won")
        LOST = "lost", _("Lost")

    name = models.CharField(_("name"), max_length=200)
    account = models.ForeignKey("leads.Account", verbose_name=_("account"), on_delete=models.PROTECT, related_name="opportunities")
    lead = models.ForeignKey(
        "leads.Lead", verbose_name=_("lead"), null=True, blank=True, on_delete=models.SET_NULL, related_name="opportunities"
    )
    contacts = models.ManyToManyField("leads.Lead", verbose_name=_("other contacts"), blank=True, related_name="+")
    handoff = models.OneToOneField(
        "handoff.Handoff", null=True, blank=True, on_delete=models.SET_NULL, related_name="opportunity"
    )
    is_sourced = models.BooleanField(_("IS-sourced"), default=False)  # came through an IS handoff
    pipeline = models.ForeignKey(Pipeline, on_delete=models.PROTECT, related_name="opportunities")
    stage = models.ForeignKey(PipelineStage, verbose_name=_("stage"), on_delete=models.PROTECT, related_name="+")
    status = models.CharField(_("status"), max_length=4, choices=Status.choices, default=Status.OPEN, db_index=True)
    amount = models.DecimalField(_("amount"), max_digits=14, decimal_places=0, null=True, blank=True)
    currency = models.CharField(_("currency"), max_length=3, default="JPY")
    expected_close = models.DateField(_("expected close"), null=True, blank=True)
    next_step = models.CharField(_("next step"), max_length=300, blank=True)
    fs_owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("FS owner"), on_delete=models.PROTECT, related_name="opportunities"
    )
    is_rep = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("IS rep credited"), null=True, blank=True, on_delete=models.SET_NULL,
        related_name="credited_opportunities",
    )
    lost_reason = models.ForeignKey(
        LostReason, verbose_name=_("lost reason"), null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    lost_notes = models.TextField(_("lost notes"), blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(db_index=True)
    closed_at = models.DateTimeField(null=True, blank=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["fs_owner", "status"]), models.Index(fields=["is_rep", "created_at"]),
                   # KPIs: the IS-sourced opportunities a rep is credited with in a period, from the index alone.
                   models.Index(fields=["is_rep", "is_sourced", "created_at"], name="sales_opportunity_kgi")]

    def __str__(self) -> str:
        return self.name


class OpportunityHistory(models.Model):
    """Append-only: creation, stage moves, field changes, notes for IS, won and lost."""

    class Kind(models.TextChoices):
        CREATED = "created", _("Created")
        STAGE = "stage", _("Stage changed")
        UPDATED = "updated", _("Fields changed")
        NOTE = "note", _("Note")
        WON = "won", _("Won")
        LOST = "lost", _("Lost")

    opportunity = models.ForeignKey(Opportunity, on_delete=models.CASCADE, related_name="history")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    from_stage = models.ForeignKey(PipelineStage, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    to_stage = models.ForeignKey(PipelineStage, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    at = models.DateTimeField(db_index=True)
    text = models.TextField(blank=True)
    for_inside_sales = models.BooleanField(default=False)  # a note FS wrote for IS and marketing
    data = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-at", "-id"]


class SalesSettings(models.Model):
    """The one row of loop-back rules."""

    recycle_follow_up_days = models.PositiveIntegerField(
        _("days until the recycled lead's follow-up"), default=3
    )
