"""Background tasks of the core context."""

from django.tasks import task

from leadrelay.core import services


@task(queue_name="email")
def deliver_email(*, email_id: int) -> None:
    services.email_deliver(email_id=email_id)
