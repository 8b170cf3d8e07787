"""People of the organisation: users with roles, teams, the charter and API tokens."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils.functional import cached_property
from django.utils.translation import gettext_lazy as _


class Role(models.TextChoices):
    ADMIN = "admin", _("Admin")  # configures everything, sees everything
    MARKETING = "marketing", _("Marketing")  # tracking and scoring config; all leads read-only
    IS_REP = "is_rep", _("Inside-sales rep")  # works its own leads and the unassigned queue
    IS_MANAGER = "is_manager", _("Inside-sales manager")  # its team's leads; approves handoffs
    FS_REP = "fs_rep", _("Field-sales rep")  # only what is assigned to it
    FS_MANAGER = "fs_manager", _("Field-sales manager")  # its team's records; accepts handoffs


class User(AbstractUser):
    """A member of the organisation. Roles are granted through RoleGrant; a user may hold several."""

    language = models.CharField(
        _("language"), max_length=8, choices=settings.LANGUAGES, default="", blank=True,
        help_text=_("Empty means the browser's language."),
    )
    is_away = models.BooleanField(_("away"), default=False, help_text=_("Away members receive no new leads."))
    lead_capacity = models.PositiveIntegerField(
        _("lead capacity"), default=50, help_text=_("Most open leads this member can own at once."),
    )
    started_on = models.DateField(_("start date"), null=True, blank=True)
    career_path = models.TextField(_("career path wanted"), blank=True)

    class Meta:
        ordering = ["username"]

    @cached_property
    def role_set(self) -> frozenset[str]:
        if not self.pk:
            return frozenset()
        return frozenset(self.role_grants.values_list("role", flat=True))

    def has_role(self, *roles: str) -> bool:
        """True when the user holds any of `roles`."""
        return bool(self.role_set.intersection(roles))

    @property
    def display_name(self) -> str:
        """"Emily Clark", but "佐藤 健": Japanese names read family name first."""
        first, last = self.first_name.strip(), self.last_name.strip()
        if last and any(ord(ch) >= 0x3000 for ch in last + first):
            return f"{last} {first}".strip()
        return self.get_full_name() or self.username


class RoleGrant(models.Model):
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="role_grants")
    role = models.CharField(max_length=20, choices=Role.choices)
    granted_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "role"], name="org_rolegrant_unique")]

    def __str__(self) -> str:
        return f"{self.user} {self.role}"


class Team(models.Model):
    class Function(models.TextChoices):
        INSIDE_SALES = "is", _("Inside sales")
        FIELD_SALES = "fs", _("Field sales")
        MARKETING = "marketing", _("Marketing")

    name = models.CharField(_("name"), max_length=120, unique=True)
    function = models.CharField(_("function"), max_length=20, choices=Function.choices)
    manager = models.ForeignKey(
        User, verbose_name=_("manager"), null=True, blank=True, on_delete=models.SET_NULL, related_name="managed_teams"
    )
    members = models.ManyToManyField(User, verbose_name=_("members"), related_name="teams", blank=True)
    queue_email = models.EmailField(
        _("queue address"), blank=True, help_text=_("Alerts go here when no member can take a lead.")
    )

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class CharterPage(models.Model):
    """The IS mission (kind=mission) or one role's page; its text is the latest CharterVersion."""

    class Kind(models.TextChoices):
        MISSION = "mission", _("Mission")
        ROLE = "role", _("Role")

    kind = models.CharField(max_length=10, choices=Kind.choices)
    role = models.CharField(max_length=20, choices=Role.choices, blank=True)
    current = models.ForeignKey(
        "CharterVersion", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        constraints = [models.UniqueConstraint(fields=["kind", "role"], name="org_charterpage_unique")]

    def __str__(self) -> str:
        return self.role or self.kind


class CharterVersion(models.Model):
    """One saved edit of a charter page, in both languages; never changed after it is written."""

    page = models.ForeignKey(CharterPage, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField()
    title_en = models.CharField(max_length=200)
    title_ja = models.CharField(max_length=200)
    summary_en = models.CharField(max_length=300, help_text=_("One line a newcomer understands."))
    summary_ja = models.CharField(max_length=300)
    body_en = models.TextField(blank=True, help_text=_("Mission text or responsibilities, one per line."))
    body_ja = models.TextField(blank=True)
    edited_by = models.ForeignKey(User, null=True, on_delete=models.SET_NULL, related_name="+")
    edited_at = models.DateTimeField(auto_now_add=True)
    note = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["page", "-number"]
        constraints = [models.UniqueConstraint(fields=["page", "number"], name="org_charterversion_unique")]


class ApiToken(models.Model):
    """A personal API token; only a SHA-256 digest of the secret is stored."""

    class Scope(models.TextChoices):
        READ = "read", _("Read")
        WRITE = "write", _("Write")
        EVENTS = "events", _("Send events")
        IMPORT = "import", _("Import")

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(_("name"), max_length=100)
    prefix = models.CharField(max_length=12, unique=True)
    digest = models.CharField(max_length=64, unique=True)
    scopes = models.JSONField(default=list)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"
