"""Celery shells: the escalation beat."""

from celery import shared_task

from . import actions


@shared_task(name="oncall.escalate", ignore_result=True)
def escalate() -> int:
    """Page the next level of every escalation whose delay ran out unacknowledged, and stop
    those whose ticket no longer pages. Idempotent: each step is claimed by its version."""
    return actions.escalate_due()
