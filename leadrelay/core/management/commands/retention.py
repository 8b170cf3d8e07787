"""`manage.py retention`: delete raw tracking events older than each site's retention (scores are kept)."""

from django.core.management.base import BaseCommand

from leadrelay.audit import services
from leadrelay.audit.selectors import retention_overview


class Command(BaseCommand):
    help = ("Apply every site's data retention now (the worker also does it once a day): raw events older than the "
            "site's months are deleted with the visitor ids not seen since; events that make up a score are kept "
            "without their raw details.")

    def add_arguments(self, parser):
        parser.add_argument("--list", action="store_true", help="Only show each site's retention.")

    def handle(self, *args, list: bool, **options):
        if list:
            for row in retention_overview():
                months = f"{row.policy.months} months" if row.policy else "for ever"
                self.stdout.write(f"{row.name}: {months}")
            return
        results = services.retention_apply()
        if not results:
            self.stdout.write("No site has a retention period; nothing deleted.")
        for result in results:
            self.stdout.write(
                f"policy {result.policy_id} (site {result.site_id or '-'}), before {result.cutoff:%Y-%m-%d}: "
                f"{result.events_deleted} events deleted, {result.events_stripped} kept for scores without raw "
                f"details, {result.visitors_deleted} visitor ids forgotten"
            )
