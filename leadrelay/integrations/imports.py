"""The import engine: every row of a file planned (created, updated, merged or refused) and then written.

A dry run plans and records the report only. The import plans and writes batch by batch, each batch in
one transaction together with the job's progress, so a job that stops keeps exactly what it reported.

Writes are set-based (bulk inserts and updates) for speed on 100k-row files, and write the same history
rows as `leads.services` (`LeadHistory` CREATED/UPDATED, `AccountHistory` created/changes) with the
importing user as the actor; field values are validated by the models' own field validators and the
rules of `leads.services` (a known lead needs an email, a last name or a phone; emails are unique,
case-insensitively). The importer's access is checked with the leads selectors: a row that would change
a record the importer may not edit is refused with that reason.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from itertools import islice

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models.functions import Lower
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from leadrelay.core import hooks
from leadrelay.integrations import fields as F
from leadrelay.integrations.models import ImportJob, ImportRow, ImportTarget
from leadrelay.integrations.readers import SpreadsheetReader
from leadrelay.leads.lifecycle import Stage
from leadrelay.leads.models import Account, AccountHistory, ConsentRecord, Lead, LeadHistory
from leadrelay.leads.normalize import email_domain, normalize_company_name
from leadrelay.leads.selectors import account_is_editable_by, lead_is_editable_by

logger = logging.getLogger(__name__)

BATCH_SIZE = 500
LEAD_MODEL_FIELDS = ("email", "first_name", "last_name", "phone", "title", "source", "consent_email")
ACCOUNT_MODEL_FIELDS = ("industry", "employees", "region", "business_model", "target_tier", "research_notes",
                        "is_customer")
_PARSERS: dict[str, Callable[[str], object]] = {
    "email": F.parse_email,
    "employees": F.parse_employees,
    "domain": F.parse_domain,
    "consent_email": F.parse_bool,
    "is_customer": F.parse_bool,
    "business_model": F.parse_business_model,
    "target_tier": F.parse_tier,
}
A = ImportRow.Action


def _field_error(model, name: str, value) -> str | None:
    """The model field's own validation (lengths, email format, choices), as one message or None."""
    try:
        model._meta.get_field(name).clean(value, None)
    except ValidationError as error:
        return "; ".join(error.messages)
    return None


def _label(model, name: str) -> str:
    return str(model._meta.get_field(name).verbose_name)


@dataclass(slots=True)
class AccountRef:
    """An account a row resolved to: an existing one (pk) or one this run creates (pk once written)."""

    pk: int | None
    name: str
    first_row: int = 0  # the row of this file that created or first updated it; 0 when only matched
    instance: Account | None = None  # while its batch is planned, or until written when it is new


@dataclass(slots=True)
class LeadRef:
    """A lead an earlier row of the file created or updated, so later rows with its email merge into it."""

    pk: int | None
    first_row: int
    values: dict | None  # its importable fields as this run left them; None once written (read it back)
    account: AccountRef | None = None  # the account to link it to when it is written
    instance: Lead | None = None  # while its batch is planned


@dataclass
class RowPlan:
    number: int
    raw: list[str]
    action: str = A.REFUSED
    label: str = ""
    messages: list[str] = field(default_factory=list)
    changes: dict = field(default_factory=dict)
    account: AccountRef | None = None
    account_note: str = ""
    new_account: bool = False  # this row creates its account
    lead: LeadRef | None = None


@dataclass
class BatchWrites:
    """Records of earlier batches or of the database that this batch changes."""

    changed_accounts: dict[int, tuple[Account, dict]] = field(default_factory=dict)  # pk -> (account, changes)
    changed_leads: dict[int, tuple[Lead, dict]] = field(default_factory=dict)


def _chunks(iterable: Iterable, size: int) -> Iterator[list]:
    iterator = iter(iterable)
    while chunk := list(islice(iterator, size)):
        yield chunk


def _merge_changes(into: dict, changes: dict) -> None:
    for name, (old, new) in changes.items():
        into[name] = [into[name][0] if name in into else old, new]


def _lead_values(lead: Lead) -> dict:
    return {name: getattr(lead, name) for name in LEAD_MODEL_FIELDS}


class ImportRunner:
    """Runs one ImportJob. `progress(job)` is called after each batch (the CLI draws a bar with it)."""

    def __init__(self, job: ImportJob, *, batch_size: int = BATCH_SIZE, progress: Callable | None = None):
        self.job = job
        self.upload = job.upload
        self.user = job.created_by
        self.target = self.upload.target
        self.batch_size = batch_size
        self.progress = progress
        self.reader = SpreadsheetReader(
            self.upload.data, filename=self.upload.filename, encoding=self.upload.encoding,
            file_format=self.upload.file_format,
        )
        index = {header: i for i, header in enumerate(self.reader.headers)}
        self.columns = [(index[h], key) for h, key in job.mapping.items() if key and h in index]
        self.reason = ""
        self.leads_by_email: dict[str, LeadRef] = {}
        self.accounts_by_domain: dict[str, AccountRef] = {}
        self.accounts_by_name: dict[str, AccountRef] = {}
        self._secondary_domains: dict[str, int] | None = None
        self._editable_accounts: dict[int, bool] = {}
        self._batch = BatchWrites()
        self._touched: list[LeadRef | AccountRef] = []  # refs holding a model instance for this batch

    # Running ------------------------------------------------------------------------------------------

    def run(self) -> ImportJob:
        job = self.job
        with translation.override(job.language or settings.LANGUAGE_CODE):
            if job.status == ImportJob.Status.DONE:
                return job
            self.reason = _("Imported from %(file)s (import #%(job)s)") % {"file": self.upload.filename, "job": job.pk}
            job.status = ImportJob.Status.RUNNING
            job.started_at = job.started_at or timezone.now()
            job.heartbeat_at = timezone.now()
            job.total = self.reader.count_rows()
            job.save(update_fields=["status", "started_at", "heartbeat_at", "total"])
            rows = islice(self.reader.rows(), job.processed, None)  # a resumed job continues after its last batch
            for batch in _chunks(rows, self.batch_size):
                if job.dry_run:
                    plans = self.plan(batch, lock=False)
                    with transaction.atomic():
                        self.record(plans)
                else:
                    with transaction.atomic():
                        plans = self.plan(batch, lock=True)
                        self.apply(plans)
                        self.record(plans)
                self._end_batch()
                if self.progress:
                    self.progress(job)
            job.status = ImportJob.Status.DONE
            job.finished_at = timezone.now()
            job.save(update_fields=["status", "finished_at"])
        return job

    def _end_batch(self) -> None:
        """Forget the model instances of the batch (memory stays flat over 100k rows)."""
        self._batch = BatchWrites()
        for ref in self._touched:
            if isinstance(ref, LeadRef):
                ref.instance = None
                if ref.pk is not None and not self.job.dry_run:
                    ref.values = None  # written: a later repeat of its email reads it back
            elif ref.pk is not None:
                ref.instance = None  # a new account of a dry run keeps its instance: later rows may fill it
        self._touched = []

    # Planning -----------------------------------------------------------------------------------------

    def _parse(self, plan: RowPlan, cells: list[str], overflow: bool) -> dict | None:
        """The row's values by field key, parsed; None (with reasons on the plan) when a value is bad."""
        values: dict[str, object] = {}
        errors: list[str] = []
        if overflow:
            errors.append(_("The row has more values than the header has columns."))
        for index, key in self.columns:
            text = F.clean_cell(cells[index])
            if not text or key in values:
                continue  # several columns may feed one field: the first non-empty one wins
            if key == "source":
                values[key], note = F.parse_source(text)
                if note:
                    plan.messages.append(note)
                continue
            parser = _PARSERS.get(key)
            try:
                values[key] = parser(text) if parser else text
            except F.CellError as error:
                errors.append(f"{F.FIELDS_BY_KEY[key].label}: {error}")
        if "full_name" in values:
            last, first = F.split_full_name(str(values.pop("full_name")))
            values.setdefault("last_name", last)
            if first:
                values.setdefault("first_name", first)
        checks = [(Lead, name) for name in LEAD_MODEL_FIELDS] + [(Account, name) for name in ACCOUNT_MODEL_FIELDS]
        for model, name in checks:
            if name in values and (message := _field_error(model, name, values[name])):
                errors.append(f"{_label(model, name)}: {message}")
        if "company" in values and (message := _field_error(Account, "name", values["company"])):
            errors.append(f"{F.FIELDS_BY_KEY['company'].label}: {message}")
        if errors:
            plan.messages = errors + plan.messages
            return None
        return values

    def plan(self, batch: list[tuple[int, list[str], bool]], *, lock: bool) -> list[RowPlan]:
        """What each row of the batch does, given the database and the rows before it."""
        plans, parsed = [], []
        for number, cells, overflow in batch:
            plan = RowPlan(number=number, raw=cells)
            plans.append(plan)
            values = self._parse(plan, cells, overflow)
            if values is None:
                plan.label = self._raw_label(cells)
            parsed.append(values)
        existing_accounts = self._load_accounts(parsed, lock=lock and self.target == ImportTarget.ACCOUNTS)
        if self.target == ImportTarget.LEADS:
            existing_leads = self._load_leads(parsed, lock=lock)
            for plan, values in zip(plans, parsed, strict=True):
                if values is not None:
                    self._plan_lead(plan, values, existing_leads, existing_accounts)
        else:
            for plan, values in zip(plans, parsed, strict=True):
                if values is not None:
                    self._plan_account_row(plan, values, existing_accounts)
        return plans

    def _raw_label(self, cells: list[str]) -> str:
        """How a refused row is recognised in the report: its email, name or company as written."""
        by_key = {key: F.clean_cell(cells[index]) for index, key in reversed(self.columns)}
        for key in ("email", "full_name", "last_name", "company", "phone"):
            if by_key.get(key):
                return by_key[key]
        return ""

    def _load_leads(self, parsed: list[dict | None], *, lock: bool) -> dict[str, Lead]:
        emails = {v["email"] for v in parsed if v and v.get("email") and v["email"] not in self.leads_by_email}
        if not emails:
            return {}
        qs = Lead.objects.annotate(email_lower=Lower("email")).filter(email_lower__in=emails)
        if lock:
            qs = qs.select_for_update()
        return {lead.email_lower: lead for lead in qs}

    def _secondary(self) -> dict[str, int]:
        """Every domain an account lists beyond its primary one (loaded once per run)."""
        if self._secondary_domains is None:
            self._secondary_domains = {}
            for pk, domains in Account.objects.values_list("pk", "domains").order_by("pk").iterator(chunk_size=5000):
                for domain in (domains or [])[1:]:
                    self._secondary_domains.setdefault(str(domain).lower(), pk)
        return self._secondary_domains

    def _row_domain(self, values: dict) -> str:
        if values.get("domain"):
            return str(values["domain"])
        return email_domain(str(values.get("email") or "")) if self.target == ImportTarget.LEADS else ""

    def _load_accounts(self, parsed: list[dict | None], *, lock: bool) -> dict[str, dict]:
        """{"domain": {domain: Account}, "name": {normalized: Account}} for keys this run has not resolved yet."""
        domains, names = set(), set()
        for values in parsed:
            if not values:
                continue
            domain = self._row_domain(values)
            if domain and domain not in self.accounts_by_domain:
                domains.add(domain)
            if values.get("company"):
                key = normalize_company_name(str(values["company"]))
                if key and key not in self.accounts_by_name:
                    names.add(key)
        found: dict[str, dict] = {"domain": {}, "name": {}}
        base = Account.objects.select_for_update() if lock else Account.objects.all()
        if domains:
            for account in base.filter(primary_domain__in=domains).order_by("pk"):
                found["domain"].setdefault(account.primary_domain, account)
            missing = {d: pk for d in domains - set(found["domain"]) if (pk := self._secondary().get(d))}
            if missing:
                by_pk = base.in_bulk(set(missing.values()))
                for domain, pk in missing.items():
                    if pk in by_pk:
                        found["domain"][domain] = by_pk[pk]
        if names:
            for account in base.filter(normalized_name__in=names).order_by("pk"):
                found["name"].setdefault(account.normalized_name, account)
        return found

    def _account_instance(self, ref: AccountRef, lock: bool = False) -> Account | None:
        if ref.instance is None and ref.pk is not None:
            qs = Account.objects.select_for_update() if lock and not self.job.dry_run else Account.objects.all()
            ref.instance = qs.filter(pk=ref.pk).first()
            self._touched.append(ref)
        return ref.instance

    def _resolve_account(self, plan: RowPlan, values: dict, existing: dict, *, create: bool) -> tuple[AccountRef | None, bool]:
        """The account for the row: matched by domain, then by normalised name, else a new one (if `create`).

        Returns (ref, created_by_this_row) and notes on the plan how it was found.
        """
        domain = self._row_domain(values)
        key = normalize_company_name(str(values.get("company") or ""))
        ref = None
        if domain:
            ref = self.accounts_by_domain.get(domain)
            if ref is None and domain in existing["domain"]:
                account = existing["domain"][domain]
                ref = AccountRef(pk=account.pk, name=account.name, instance=account)
            if ref is not None:
                plan.account_note = self._match_note(ref, _("matched by domain %(domain)s") % {"domain": domain})
        if ref is None and key:
            ref = self.accounts_by_name.get(key)
            if ref is None and key in existing["name"]:
                account = existing["name"][key]
                ref = AccountRef(pk=account.pk, name=account.name, instance=account)
            if ref is not None:
                plan.account_note = self._match_note(ref, _("matched by name"))
        if ref is not None:
            self._remember_account(ref, domain, key)
            return ref, False
        if not create or not values.get("company"):
            return None, False
        account = Account(name=str(values["company"]).strip(), normalized_name=key)
        account.domains = [domain] if domain else []
        account.primary_domain = domain
        for name in ACCOUNT_MODEL_FIELDS:
            if name in values:
                setattr(account, name, values[name])
        ref = AccountRef(pk=None, name=account.name, first_row=plan.number, instance=account)
        self._remember_account(ref, domain, key)
        plan.account_note = _("new account")
        plan.new_account = True
        return ref, True

    @staticmethod
    def _match_note(ref: AccountRef, how: str) -> str:
        if ref.pk is None:
            return _("the new account of row %(row)s, %(how)s") % {"row": ref.first_row, "how": how}
        return _("existing account “%(name)s”, %(how)s") % {"name": ref.name, "how": how}

    def _remember_account(self, ref: AccountRef, domain: str, key: str) -> None:
        self._touched.append(ref)
        if domain:
            self.accounts_by_domain.setdefault(domain, ref)
        if key:
            self.accounts_by_name.setdefault(key, ref)

    def _may_edit_account(self, account: Account) -> bool:
        if account.pk not in self._editable_accounts:
            self._editable_accounts[account.pk] = account_is_editable_by(self.user, account)
        return self._editable_accounts[account.pk]

    # Lead rows ----------------------------------------------------------------------------------------

    def _plan_lead(self, plan: RowPlan, values: dict, existing_leads: dict[str, Lead], existing_accounts: dict) -> None:
        email = values.get("email")
        name = " ".join(str(values.get(k, "")) for k in ("last_name", "first_name")).strip()
        plan.label = str(email or name or values.get("phone") or "")
        if email and email in self.leads_by_email:
            return self._plan_lead_merge(plan, values, self.leads_by_email[email], existing_accounts)
        if email and email in existing_leads:
            return self._plan_lead_update(plan, values, existing_leads[email], existing_accounts)
        if not (email or values.get("last_name") or values.get("phone")):
            plan.messages.insert(0, _("Give at least an email, a last name or a phone number."))
            return
        lead = Lead(stage=Stage.KNOWN, source=Lead.Source.IMPORT)
        for field_name in LEAD_MODEL_FIELDS:
            if field_name in values:
                setattr(lead, field_name, values[field_name])
        account_ref, _created = self._resolve_account(plan, values, existing_accounts, create=True)
        plan.action = A.CREATED
        plan.account = account_ref
        plan.changes = {n: values[n] for n in LEAD_MODEL_FIELDS if n in values}
        if account_ref is not None:
            plan.changes["account"] = account_ref.name
        plan.lead = LeadRef(pk=None, first_row=plan.number, values=_lead_values(lead), account=account_ref,
                            instance=lead)
        self._touched.append(plan.lead)
        if email:
            self.leads_by_email[email] = plan.lead

    def _plan_lead_update(self, plan: RowPlan, values: dict, lead: Lead, existing_accounts: dict) -> None:
        """An existing lead with the row's email: the row's non-empty values replace the lead's."""
        if lead.erased_at is not None or not lead_is_editable_by(self.user, lead):
            plan.messages.insert(0, _("This lead already exists and you may not change it."))
            return
        changes = {}
        for name in LEAD_MODEL_FIELDS:
            # the email matched already; where a known lead first came from is history an import keeps
            if name in values and name not in ("email", "source") and getattr(lead, name) != values[name]:
                changes[name] = [getattr(lead, name), values[name]]
                setattr(lead, name, values[name])
        ref = LeadRef(pk=lead.pk, first_row=plan.number, values=_lead_values(lead), instance=lead)
        self._touched.append(ref)
        if lead.account_id is None:
            ref.account, _created = self._resolve_account(plan, values, existing_accounts, create=True)
            if ref.account is not None:
                plan.account = ref.account
                changes["account"] = [None, ref.account.pk]  # a new account's id is known once it is written
        elif values.get("company") or values.get("domain"):
            plan.account_note = _("the lead keeps its account")
        plan.action = A.UPDATED
        plan.changes = _shown(changes, ref.account)
        plan.lead = ref
        self.leads_by_email[lead.email.lower()] = ref
        if changes:
            self._lead_changed(lead, changes)
        else:
            plan.messages.append(_("No changes."))

    def _plan_lead_merge(self, plan: RowPlan, values: dict, ref: LeadRef, existing_accounts: dict) -> None:
        """A repeat of an earlier row's email: it fills what the earlier rows left blank; their values win."""
        plan.action = A.MERGED
        plan.lead = ref
        plan.messages.append(_("Same email as row %(row)s.") % {"row": ref.first_row})
        lead = ref.instance
        if lead is None and ref.pk is not None:
            qs = Lead.objects.all() if self.job.dry_run else Lead.objects.select_for_update()
            lead = ref.instance = qs.filter(pk=ref.pk).first()
            self._touched.append(ref)
        if ref.values is None:
            ref.values = _lead_values(lead) if lead is not None else {}
        changes, kept = {}, []
        for name in LEAD_MODEL_FIELDS:
            if name not in values or name in ("email", "source", "consent_email"):
                continue
            current = ref.values.get(name)
            if current in ("", None):
                changes[name] = [current, values[name]]
                ref.values[name] = values[name]
            elif current != values[name]:
                kept.append(_label(Lead, name))
        has_account = ref.account is not None or (lead is not None and lead.account_id is not None)
        if not has_account and (values.get("company") or values.get("domain")):
            ref.account, _created = self._resolve_account(plan, values, existing_accounts, create=True)
            if ref.account is not None:
                plan.account = ref.account
                changes["account"] = [None, ref.account.pk]
        if kept:
            plan.messages.append(_("Kept the earlier row's %(fields)s.") % {"fields": ", ".join(kept)})
        plan.changes = _shown(changes, ref.account)
        if lead is not None:
            for name, (_old, new) in changes.items():
                if name != "account":
                    setattr(lead, name, new)
            if changes and ref.pk is not None:
                self._lead_changed(lead, changes)

    def _lead_changed(self, lead: Lead, changes: dict) -> None:
        current = self._batch.changed_leads.get(lead.pk)
        if current is None:
            self._batch.changed_leads[lead.pk] = (lead, dict(changes))
        else:
            _merge_changes(current[1], changes)

    # Account rows -------------------------------------------------------------------------------------

    def _plan_account_row(self, plan: RowPlan, values: dict, existing: dict) -> None:
        plan.label = str(values.get("company") or values.get("domain") or "")
        if not values.get("company"):
            plan.messages.insert(0, _("The company name is empty."))
            return
        ref, created = self._resolve_account(plan, values, existing, create=True)
        plan.account = ref
        domain = self._row_domain(values)
        if created:
            plan.action = A.CREATED
            plan.changes = {"name": ref.name, **({"domains": [domain]} if domain else {}),
                            **{n: values[n] for n in ACCOUNT_MODEL_FIELDS if n in values}}
            return
        if ref.first_row:
            # the company of an earlier row of this file: fill what that row left blank
            plan.action = A.MERGED
            plan.messages.append(_("Same company as row %(row)s.") % {"row": ref.first_row})
            account = self._account_instance(ref, lock=True)
            if account is not None:
                plan.changes = self._account_changes(account, values, domain, fill_only=True)
            return
        account = self._account_instance(ref, lock=True)
        if account is None or not self._may_edit_account(account):
            plan.messages.insert(0, _("This account already exists and you may not change it."))
            plan.account = None
            return
        ref.first_row = plan.number
        plan.action = A.UPDATED
        plan.changes = self._account_changes(account, values, domain, fill_only=False)
        if not plan.changes:
            plan.messages.append(_("No changes."))

    def _account_changes(self, account: Account, values: dict, domain: str, *, fill_only: bool) -> dict:
        changes = {}
        name = str(values["company"]).strip()
        if not fill_only and normalize_company_name(name) != account.normalized_name:
            changes["name"] = [account.name, name]
            account.name = name
            account.normalized_name = normalize_company_name(name)
        if domain and domain not in account.domains:
            new_domains = [*account.domains, domain]
            changes["domains"] = [list(account.domains), new_domains]
            account.domains = new_domains
            account.primary_domain = new_domains[0]
        for field_name in ACCOUNT_MODEL_FIELDS:
            if field_name not in values:
                continue
            current = getattr(account, field_name)
            if fill_only and current not in ("", None, False):
                continue
            if current != values[field_name]:
                changes[field_name] = [current, values[field_name]]
                setattr(account, field_name, values[field_name])
        if changes and account.pk is not None:
            current = self._batch.changed_accounts.get(account.pk)
            if current is None:
                self._batch.changed_accounts[account.pk] = (account, dict(changes))
            else:
                _merge_changes(current[1], changes)
        return changes

    # Writing ------------------------------------------------------------------------------------------

    def apply(self, plans: list[RowPlan]) -> None:
        """Write one planned batch (inside the caller's transaction), with the history rows."""
        now = timezone.now()
        user = self.user
        new_accounts = [plan.account for plan in plans if plan.new_account and plan.account is not None]
        if new_accounts:
            for ref in new_accounts:
                ref.instance.created_at = ref.instance.updated_at = now
            Account.objects.bulk_create([ref.instance for ref in new_accounts])
            for ref in new_accounts:
                ref.pk = ref.instance.pk
            AccountHistory.objects.bulk_create([
                AccountHistory(account_id=ref.pk, actor=user, at=now, changes={"created": True}, reason=self.reason)
                for ref in new_accounts
            ])
        changed_accounts = self._batch.changed_accounts
        if changed_accounts:
            accounts = [account for account, _changes in changed_accounts.values()]
            for account in accounts:
                account.updated_at = now
            Account.objects.bulk_update(accounts, [
                "name", "normalized_name", "domains", "primary_domain", *ACCOUNT_MODEL_FIELDS, "updated_at",
            ])
            AccountHistory.objects.bulk_create([
                AccountHistory(account_id=pk, actor=user, at=now, changes=_jsonable(changes), reason=self.reason)
                for pk, (_account, changes) in changed_accounts.items()
            ])
        created_leads, relinked = [], []
        if self.target == ImportTarget.LEADS:
            created_leads, relinked = self._apply_leads(plans, now)
        emits = _Emits(
            changed_accounts=list(changed_accounts), relinked_leads=relinked,
            imported_leads=created_leads + [pk for pk in self._batch.changed_leads if pk not in relinked],
            imported_accounts=[ref.pk for ref in new_accounts] + list(changed_accounts),
        )
        transaction.on_commit(emits.send)

    def _apply_leads(self, plans: list[RowPlan], now) -> tuple[list[int], list[int]]:
        user = self.user
        creates = [(plan, plan.lead.instance) for plan in plans
                   if plan.action == A.CREATED and plan.lead is not None and plan.lead.instance is not None]
        for plan, lead in creates:
            lead.stage_changed_at = now
            lead.created_at = lead.updated_at = now
            if plan.lead.account is not None:
                lead.account_id = plan.lead.account.pk
        created = self._create_leads(creates)
        if created:
            LeadHistory.objects.bulk_create([
                LeadHistory(lead=lead, kind=LeadHistory.Kind.CREATED, to_stage=Stage.KNOWN, actor=user, at=now,
                            reason=self.reason, data={"source": lead.source, "owner": None, "import_job": self.job.pk})
                for _plan, lead in created
            ])
            ConsentRecord.objects.bulk_create([  # the file says the person agreed to email
                ConsentRecord(lead=lead, kind=ConsentRecord.Kind.EMAIL, granted=True,
                              source=ConsentRecord.Source.IMPORT, actor=user, at=now, note=str(self.reason)[:300])
                for _plan, lead in created if lead.consent_email
            ])
            for plan, lead in created:
                plan.lead.pk = lead.pk
        changed_leads = self._batch.changed_leads
        relinked = []
        if changed_leads:
            refs = {plan.lead.pk: plan.lead for plan in plans if plan.lead is not None and plan.lead.pk}
            for pk, (lead, changes) in changed_leads.items():
                lead.updated_at = now
                if "account" in changes and refs.get(pk) is not None and refs[pk].account is not None:
                    lead.account_id = refs[pk].account.pk
                    changes["account"] = [None, lead.account_id]
                    relinked.append(pk)
            Lead.objects.bulk_update([lead for lead, _c in changed_leads.values()],
                                     [*LEAD_MODEL_FIELDS, "account", "updated_at"])
            LeadHistory.objects.bulk_create([
                LeadHistory(lead_id=pk, kind=LeadHistory.Kind.UPDATED, actor=user, at=now, reason=self.reason,
                            data={"changes": _jsonable(changes), "import_job": self.job.pk})
                for pk, (_lead, changes) in changed_leads.items()
            ])
        return [lead.pk for _plan, lead in created], relinked

    def _create_leads(self, creates: list[tuple[RowPlan, Lead]]) -> list[tuple[RowPlan, Lead]]:
        """Insert the new leads in one statement; if an email was taken meanwhile, row by row instead."""
        if not creates:
            return []
        try:
            with transaction.atomic():
                Lead.objects.bulk_create([lead for _plan, lead in creates])
            return creates
        except IntegrityError:
            pass
        created = []
        for plan, lead in creates:
            lead.pk = None
            try:
                with transaction.atomic():
                    lead.save(force_insert=True)
            except IntegrityError:
                if lead.email:
                    self.leads_by_email.pop(lead.email.lower(), None)
                plan.action = A.REFUSED
                plan.messages.insert(0, _("A lead with this email was created while the import ran; "
                                          "import the file again to update it."))
                plan.lead = None
                continue
            created.append((plan, lead))
        return created

    # Recording ----------------------------------------------------------------------------------------

    def record(self, plans: list[RowPlan]) -> None:
        """The report rows and the job's counts and progress (with the batch's writes, in one transaction)."""
        job = self.job
        rows = []
        for plan in plans:
            refused = plan.action == A.REFUSED
            if plan.new_account:
                job.accounts_created += 1  # written by apply(), or what a dry run would create
            rows.append(ImportRow(
                job=job, number=plan.number, action=plan.action, label=plan.label[:300],
                lead_id=None if refused or plan.lead is None else plan.lead.pk,
                account_id=None if refused or plan.account is None else plan.account.pk,
                account_note="" if refused else plan.account_note[:300],
                changes=_jsonable(plan.changes), messages=[str(m) for m in plan.messages],
                raw=plan.raw if refused else [],
            ))
            counter = f"rows_{plan.action}"
            setattr(job, counter, getattr(job, counter) + 1)
        ImportRow.objects.bulk_create(rows)
        job.processed += len(plans)
        job.heartbeat_at = timezone.now()
        job.save(update_fields=["processed", "rows_created", "rows_updated", "rows_merged", "rows_refused",
                                "accounts_created", "heartbeat_at"])


def _shown(changes: dict, account: AccountRef | None) -> dict:
    """Changes as the report shows them: the account by name rather than by id."""
    if "account" in changes and account is not None:
        return {**changes, "account": [None, account.name]}
    return changes


def _jsonable(value):
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, Account | Lead):
        return value.pk
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return str(value)


@dataclass
class _Emits:
    """What other contexts hear after a batch commits.

    As with `leads.services`, an updated account emits "account_changed" and a lead given an account
    "lead_changed" (the company score and the MQL rule follow). Created records emit nothing one by one
    (neither do `account_create` and `lead_create`); the whole batch is announced once as
    "leads_imported"(lead_ids=..., account_ids=...) so a context can react to 500 records in one go.
    """

    changed_accounts: list[int]
    relinked_leads: list[int]
    imported_leads: list[int]
    imported_accounts: list[int]

    def send(self) -> None:
        calls = [("account_changed", {"account_id": pk}) for pk in self.changed_accounts]
        calls += [("lead_changed", {"lead_id": pk}) for pk in self.relinked_leads]
        if self.imported_leads or self.imported_accounts:
            calls.append(("leads_imported", {"lead_ids": self.imported_leads, "account_ids": self.imported_accounts}))
        for name, kwargs in calls:
            try:
                hooks.emit(name, **kwargs)
            except Exception:  # one reaction failing must not hide the others' or fail the import
                logger.exception("%s handler failed (%s)", name, kwargs)
