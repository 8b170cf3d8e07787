"""Background tasks of the scoring context (queue "scoring")."""

from django.tasks import task

from leadrelay.scoring import services


@task(queue_name="scoring")
def score_leads(*, lead_ids: list[int]) -> list[int]:
    """Recompute these leads' scores from their events and apply the MQL rule."""
    return services.leads_score(lead_ids=lead_ids)


@task(queue_name="scoring")
def score_account(*, account_id: int) -> list[int]:
    """Recompute one account's company score and apply the MQL rule to its leads."""
    return services.account_score(account_id=account_id)


@task(queue_name="scoring")
def run_rescore(*, job_id: int) -> None:
    services.rescore_job_run(job_id=job_id)
