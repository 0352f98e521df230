"""Celery shells: load by id, call notifications.delivery."""

from celery import shared_task

from . import delivery


@shared_task(name="notifications.deliver", acks_late=True, reject_on_worker_lost=True, ignore_result=True)
def deliver(notification_id: int) -> str:
    """Send one outbox row (idempotent: a row already claimed or sent is skipped)."""
    return delivery.deliver(notification_id)


@shared_task(name="notifications.sweep", ignore_result=True)
def sweep() -> int:
    """Re-queue outbox rows the broker or a killed worker lost, and retries now due."""
    return delivery.sweep()
