"""Import leads or accounts from a CSV/.xlsx file on the command line, with the same rules as the UI."""

from __future__ import annotations

import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.db.models import Q

from leadrelay.core.exceptions import LeadRelayError
from leadrelay.integrations import selectors, services
from leadrelay.integrations.models import ImportJob, ImportRow
from leadrelay.org.models import Role, User


def parse_mapping(value: str) -> dict[str, str]:
    """A JSON object, a path to a JSON file, or "Header=field;Other header=field" (field empty to skip)."""
    value = (value or "").strip()
    if not value:
        return {}
    if not value.startswith("{") and Path(value).is_file():
        value = Path(value).read_text(encoding="utf-8-sig")
    if value.startswith("{"):
        try:
            mapping = json.loads(value)
        except ValueError as error:
            raise CommandError(f"--mapping is not valid JSON: {error}") from None
        if not isinstance(mapping, dict):
            raise CommandError("--mapping must be a JSON object {\"column\": \"field\"}")
        return {str(k): str(v or "") for k, v in mapping.items()}
    mapping = {}
    for pair in value.split(";"):
        if not pair.strip():
            continue
        if "=" not in pair:
            raise CommandError(f"--mapping entry {pair!r} is not Header=field")
        header, field = pair.split("=", 1)
        mapping[header.strip()] = field.strip()
    return mapping


class Command(BaseCommand):
    help = ("Import leads (or accounts) from a CSV (UTF-8, UTF-8 with BOM, Shift_JIS) or .xlsx file: "
            "the same matching, merging and refusals as the Imports page.")

    def add_arguments(self, parser):
        parser.add_argument("file", help="CSV or .xlsx file")
        parser.add_argument("--target", choices=["leads", "accounts"], default="leads")
        parser.add_argument("--source", default="", help="Source name; its remembered column mapping is used and updated.")
        parser.add_argument("--mapping", default="",
                            help='JSON {"column": "field"}, a JSON file, or "Header=field;Header=field". '
                                 "Columns not named are mapped as recognised.")
        parser.add_argument("--encoding", default="", help="CSV encoding (detected when not given): utf-8, cp932, ...")
        parser.add_argument("--dry-run", action="store_true", help="Report what would happen; change nothing.")
        parser.add_argument("--user", default="", help="Username of the importing member (default: the first admin).")
        parser.add_argument("--errors", default="", help="Write the refused rows with their reasons to this CSV.")
        parser.add_argument("--batch-size", type=int, default=500)
        parser.add_argument("--no-progress", action="store_true")

    def _user(self, username: str) -> User:
        if username:
            user = User.objects.filter(username=username, is_active=True).first()
            if user is None:
                raise CommandError(f"No active user {username!r}.")
            return user
        user = (
            User.objects.filter(Q(is_superuser=True) | Q(role_grants__role=Role.ADMIN), is_active=True)
            .order_by("pk").first()
        )
        if user is None:
            raise CommandError("No admin exists; name the importing member with --user.")
        return user

    def handle(self, *args, file: str, target: str, source: str, mapping: str, encoding: str, dry_run: bool,
               user: str, errors: str, batch_size: int, no_progress: bool, **options):
        path = Path(file)
        if not path.is_file():
            raise CommandError(f"{file}: no such file")
        actor = self._user(user)
        explicit = parse_mapping(mapping)
        try:
            upload = services.import_upload_create(
                actor=actor, filename=path.name, data=path.read_bytes(), target=target, source_name=source,
                encoding=encoding,
            )
            columns = {**selectors.import_mapping_proposal(upload), **explicit}
            job = services.import_job_start(actor=actor, upload=upload, mapping=columns, dry_run=dry_run,
                                            enqueue=False)
        except LeadRelayError as error:
            details = "; ".join(f"{name}: {' '.join(msgs)}" for name, msgs in error.fields.items())
            raise CommandError(f"{error.message} {details}".strip()) from None
        self.stdout.write(f"{'Dry run' if dry_run else 'Import'} #{job.pk} of {path.name} as {actor.username}"
                          f" ({upload.file_format}{', ' + upload.encoding if upload.encoding else ''})")
        for header, field in columns.items():
            self.stdout.write(f"  {header} -> {field or '(not imported)'}")
        job = self._run(job, batch_size=batch_size, progress=not no_progress)
        self.stdout.write(
            f"rows {job.total}: created {job.rows_created}, updated {job.rows_updated}, merged {job.rows_merged}, "
            f"refused {job.rows_refused}; new accounts {job.accounts_created}"
            + (f"; {job.duration_seconds:.1f} s" if job.duration_seconds is not None else "")
        )
        for row in selectors.import_rows(job, action=ImportRow.Action.REFUSED)[:20]:
            self.stdout.write(f"  row {row.number}: {' '.join(row.messages)}")
        if errors:
            self._write_errors(job, Path(errors))
        if job.status == ImportJob.Status.FAILED:
            raise CommandError(f"The import failed: {job.error}")

    def _run(self, job: ImportJob, *, batch_size: int, progress: bool) -> ImportJob:
        if not progress:
            return services.import_job_run(job_id=job.pk, batch_size=batch_size)
        from tqdm import tqdm

        bar = tqdm(unit="rows", file=self.stderr._out, dynamic_ncols=True)

        def advance(current: ImportJob) -> None:
            bar.total = current.total
            bar.update(current.processed - bar.n)

        try:
            return services.import_job_run(job_id=job.pk, batch_size=batch_size, progress=advance)
        finally:
            bar.close()

    def _write_errors(self, job: ImportJob, path: Path) -> None:
        import csv

        from leadrelay.integrations.exports import neutralize

        with path.open("w", encoding="utf-8-sig", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow([*(neutralize(h) for h in job.upload.headers), "Row", "Reason"])
            for row in selectors.import_rows(job, action=ImportRow.Action.REFUSED).iterator():
                writer.writerow([*(neutralize(c) for c in row.raw), row.number, " ".join(row.messages)])
        self.stdout.write(f"refused rows written to {path}")
