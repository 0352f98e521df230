"""Celery shells: ids in, alerts.actions does the work."""

from celery import shared_task

from . import actions


@shared_task(name="alerts.process", acks_late=True, reject_on_worker_lost=True, ignore_result=True)
def process(alert_ids: list[int]) -> int:
    """Apply received alerts to their groups and tickets (idempotent: processed ones are skipped)."""
    return actions.process_alerts(alert_ids)


@shared_task(name="alerts.process_waiting", acks_late=True, reject_on_worker_lost=True, ignore_result=True)
def process_waiting(integration_id: int) -> int:
    """Apply every alert the integration has waiting (what `wake` queues after a webhook)."""
    return actions.process_waiting(integration_id)


@shared_task(name="alerts.sweep", ignore_result=True)
def sweep() -> int:
    """Queue again the alerts a lost task left unprocessed; write the refusals counted in the cache."""
    return actions.sweep()
