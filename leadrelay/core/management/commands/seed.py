"""`manage.py seed --leads N` (or `python -m leadrelay seed --leads N`): load the demo organisation."""

import time

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from leadrelay.core.demo import BULK_THRESHOLD, seed_demo
from leadrelay.leads.models import Lead
from leadrelay.org.models import RoleGrant


class Command(BaseCommand):
    help = ("Load a demo organisation: members of every role, teams, companies, leads across the lifecycle "
            "with their history, and inside-sales activities.")

    def add_arguments(self, parser):
        parser.add_argument("--leads", type=int, default=300, help="How many leads to make (default 300).")
        parser.add_argument("--seed", type=int, default=42, help="Random seed; the same seed gives the same data.")
        parser.add_argument("--if-empty", action="store_true",
                            help="Do nothing when the database already has members with roles or leads.")
        parser.add_argument("--method", choices=["auto", "services", "bulk"], default="auto",
                            help=f"Write leads one service call at a time, or in bulk (auto: bulk above "
                                 f"{BULK_THRESHOLD} leads).")

    def handle(self, *args, leads: int, seed: int, if_empty: bool, method: str, **options):
        if leads < 0:
            raise CommandError("--leads must be zero or more.")
        if if_empty and (Lead.objects.exists() or RoleGrant.objects.exists()):
            self.stdout.write("The database already has data; nothing seeded.")
            return
        started = time.monotonic()
        quiet = options["verbosity"] == 0
        with tqdm(total=leads, desc="leads", unit="lead", disable=quiet or None) as bar:
            result = seed_demo(leads=leads, seed=seed, method=method, progress=bar.update, stdout=self.stdout)
        elapsed = time.monotonic() - started
        if not quiet:
            self.stdout.write(self.style.SUCCESS(
                f"Seeded {len(result.users)} members, {result.accounts} accounts and {result.leads} leads "
                f"({result.method}) in {elapsed:.1f} s."
            ))
