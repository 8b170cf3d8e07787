"""`manage.py backup --output FILE`: a consistent copy of the whole database, while the app keeps running."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from leadrelay.audit.backup import BackupError, backup


class Command(BaseCommand):
    help = ("Back up the whole database to FILE: SQLite with its online backup API (a consistent snapshot even "
            "while the app writes), PostgreSQL with pg_dump's custom format. Restore with `manage.py restore FILE`.")

    def add_arguments(self, parser):
        parser.add_argument("--output", "-o", required=True, help="The backup file to write (replaced if it exists).")
        parser.add_argument("--database", default="default", help="The database alias (default: default).")

    def handle(self, *args, output: str, database: str, **options):
        try:
            outcome = backup(Path(output), alias=database)
        except BackupError as error:
            raise CommandError(str(error)) from None
        self.stdout.write(f"Backed up the {outcome.engine} database ({outcome.tables} tables) to {outcome.path} "
                          f"({outcome.size:,} bytes).")
