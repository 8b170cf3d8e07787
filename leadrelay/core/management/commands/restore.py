"""`manage.py restore FILE`: load a backup made by `manage.py backup` into an empty database."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from leadrelay.audit.backup import BackupError, restore


class Command(BaseCommand):
    help = ("Restore a backup made by `manage.py backup` into the configured database, which must be empty "
            "(a new SQLite file or a new PostgreSQL database) unless --replace is given. Stop the web processes "
            "and workers first.")

    def add_arguments(self, parser):
        parser.add_argument("file", help="The backup file.")
        parser.add_argument("--database", default="default", help="The database alias (default: default).")
        parser.add_argument("--replace", action="store_true",
                            help="Replace everything in a database that is not empty with the backup.")

    def handle(self, *args, file: str, database: str, replace: bool, **options):
        try:
            outcome = restore(Path(file), alias=database, replace=replace)
        except BackupError as error:
            raise CommandError(str(error)) from None
        self.stdout.write(f"Restored {outcome.path} into the {outcome.engine} database ({outcome.tables} tables). "
                          f"Run `manage.py migrate` if this version of LeadRelay is newer than the backup.")
