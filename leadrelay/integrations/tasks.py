"""Background tasks of the integrations context."""

from django.tasks import task

from leadrelay.integrations import services


@task(queue_name="default")
def run_import(*, job_id: int) -> None:
    services.import_job_run(job_id=job_id)


@task(queue_name="webhooks")
def deliver_webhook(*, delivery_id: int) -> None:
    services.webhook_deliver(delivery_id=delivery_id)
