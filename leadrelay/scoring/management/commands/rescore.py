"""Rescore every lead with the active rule set, with a progress bar (the same job the UI shows)."""

from django.core.management.base import BaseCommand, CommandError

from leadrelay.scoring import selectors, services
from leadrelay.scoring.models import RescoreJob


class Command(BaseCommand):
    help = "Recompute every lead's behaviour score and every company score with the active rule set."

    def add_arguments(self, parser):
        parser.add_argument("--chunk", type=int, default=20000, help="Leads per transaction (an id range).")
        parser.add_argument("--no-progress", action="store_true", help="Do not draw the progress bar.")
        parser.add_argument("--changes-only", action="store_true",
                            help="Recompute only the rules whose rows the stored ones can differ from (as applying a "
                                 "rule set in the UI does); by default every contribution is worked out again from "
                                 "the events.")
        parser.add_argument("--workers", type=int, default=None,
                            help="Ranges rescored at once (default: the cores, at most 4; SQLite writes them one at a time).")

    def handle(self, *args, chunk: int, no_progress: bool, workers: int | None, changes_only: bool, **options):
        from leadrelay.core.exceptions import Conflict

        try:
            job = services.rescore_job_create(actor=None, from_scratch=not changes_only)
        except Conflict as error:
            raise CommandError(str(error)) from None
        bar = None
        if not no_progress:
            from tqdm import tqdm

            bar = tqdm(total=job.total, unit="lead", desc=f"rules v{job.ruleset.version}", file=self.stderr._out)

        def progress(processed: int, total: int) -> None:
            if bar is not None:
                bar.total = total
                bar.update(processed - bar.n)

        import time

        cpu_started = time.process_time()
        job = services.rescore_job_run(job_id=job.pk, chunk_size=chunk, progress=progress, workers=workers)
        cpu = time.process_time() - cpu_started
        if bar is not None:
            bar.close()
        if job.status != RescoreJob.Status.DONE:
            raise CommandError(f"rescore failed: {job.error}")
        seconds = (job.finished_at - job.started_at).total_seconds()
        # This process's CPU time is the database's work too on SQLite (it runs in-process): a figure that
        # holds on a busy machine, where the wall time does not.
        labels = selectors.rescore_job_recomputed(job)
        recomputed = "every rule" if labels is None else ", ".join(labels) or "no rule"
        self.stdout.write(f"Rescored {job.total} leads in {seconds:.1f} s (this process's CPU: {cpu:.1f} s; "
                          f"recomputed: {recomputed}); {job.new_mqls} became MQL.")
